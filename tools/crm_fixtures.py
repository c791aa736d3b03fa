"""Writes tests/fixtures/crm/{maven-like,olist-like-mql,olist-like-closed-deals}.csv:
CRM exports shaped like two public samples (the Maven Analytics "CRM Sales
Opportunities" pipeline and the Olist marketing funnel's MQLs and closed
deals), generated here with a fixed seed; no row of either dataset is used.
Run from the repository root: python3 tools/crm_fixtures.py"""
import csv
import datetime as dt
import random

r = random.Random(7)
out = "tests/fixtures/crm/"
products = {"GTX Basic": (550, 0.63), "MG Special": (55, 0.65), "GTX Pro": (4800, 0.64),
            "MG Advanced": (3400, 0.60), "GTX Plus Pro": (5400, 0.64), "GTK 500": (26700, 0.60)}
start, end = dt.date(2016, 10, 20), dt.date(2017, 12, 31)
rows, i = [], 0
for day in range((end - start).days + 1):
    d = start + dt.timedelta(day)
    for _ in range(r.choice([3, 4, 5, 6, 7])):
        i += 1
        p = r.choice(list(products))
        base, pw = products[p]
        won = r.random() < pw
        cyc = int(r.gammavariate(2.0, 24)) if won else int(r.gammavariate(1.3, 25))
        close = d + dt.timedelta(cyc)
        agent = r.choice(["Anna Snelling", "Darcel Schlecht", "Vicki Laflamme", "Moses Frase"])
        if close > end:
            rows.append([f"{i:08X}", agent, p, "", "Engaging", d.isoformat(), "", ""])
        elif won:
            v = round(base * r.uniform(0.9, 1.1))
            rows.append([f"{i:08X}", agent, p, f"Acct{r.randint(1, 80)}", "Won", d.isoformat(), close.isoformat(), str(v)])
        else:
            rows.append([f"{i:08X}", agent, p, f"Acct{r.randint(1, 80)}", "Lost", d.isoformat(), close.isoformat(), "0"])
for k in range(300):
    i += 1
    rows.append([f"{i:08X}", r.choice(["Anna Snelling", "Moses Frase"]), r.choice(list(products)), "", "Prospecting", "", "", ""])
with open(out + "maven-like.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow("opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value".split(","))
    w.writerows(rows)
leads, deals = [], []
origins = ["organic_search", "paid_search", "social", "unknown", "direct_traffic", "email", ""]
s, e = dt.date(2017, 6, 1), dt.date(2018, 5, 31)
for day in range((e - s).days + 1):
    d = s + dt.timedelta(day)
    for _ in range(r.randint(5, 40)):
        mid = "%032x" % r.getrandbits(128)
        o = r.choice(origins)
        leads.append([mid, d.isoformat(), "%032x" % r.getrandbits(128), o])
        if r.random() < 0.105:
            wd = dt.datetime.combine(d, dt.time()) + dt.timedelta(days=int(r.gammavariate(1.2, 40)), seconds=r.randint(0, 86399))
            if wd.date() <= dt.date(2018, 11, 30):
                deals.append([mid, "%032x" % r.getrandbits(128), "s", "r", wd.strftime("%Y-%m-%d %H:%M:%S"),
                              r.choice(["pet", "car_accessories", "home_decor", "health_beauty"]),
                              r.choice(["online_medium", "offline", "industry"]), "cat", "", "", "", "reseller", "", "0"])
with open(out + "olist-like-mql.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["mql_id", "first_contact_date", "landing_page_id", "origin"])
    w.writerows(leads)
with open(out + "olist-like-closed-deals.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow("mql_id,seller_id,sdr_id,sr_id,won_date,business_segment,lead_type,lead_behaviour_profile,has_company,has_gtin,average_stock,business_type,declared_product_catalog_size,declared_monthly_revenue".split(","))
    w.writerows(deals)
print(len(rows), len(leads), len(deals))
