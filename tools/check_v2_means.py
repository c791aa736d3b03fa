#!/usr/bin/env python3
"""An independent re-implementation of docs/MODEL.md's Model v2 for one
fixed-parameter scenario (tools/check_v2_means.toml), written from the page
alone (numpy, vectorised over trials), and a comparison of its means with
pipesim's: nurture with a fixed delay, two segments (one with its own team,
odds ratios, segment deal sizes and cycles, a lost cycle), a warm-up from
one strategy, the existing book, a quota, elasticity and sales cost.

    pipesim run tools/check_v2_means.toml --out /tmp/v2check
    python3 tools/check_v2_means.py /tmp/v2check

Prints, per metric, both means and the difference in standard errors of
the difference (|z| > 4 is flagged). Needs numpy (not used by the tests).
"""

import csv
import math
import sys

import numpy as np

N = 40_000
H = 12
W = 3
DAYS = 30.4375
G = -0.01
ARR0 = 100_000.0
QUOTA = 20_000.0

# per strategy: leads a month, conversions, mix (a, b), nurture
SEG = {
    # deal size, won cycle days, lost cycle days (None: channel's), odds ratio, own capacity
    "a": (1000.0, 45.0, None, 1.5, None),
    "b": (5000.0, 100.0, 20.0, 0.5, 15),
}
STRATEGIES = {
    "s1": dict(lam=150.0, q=(0.5, 0.6, 0.5, 0.4), mix=(0.7, 0.3), recycle=0.4,
               delay=61.0, lost=None, cap=80),
    # spend 8000, cpl 50 x (8000/4000)^0.5
    "s2": dict(lam=8000.0 / (50.0 * math.sqrt(2.0)), q=(0.6, 0.7, 0.5, 0.5),
               mix=(0.4, 0.6), recycle=None, delay=None, lost=10.0, cap=80),
}


def months(days):
    return int(days // DAYS)


def run(rng, st, span, first_month):
    """One strategy's run of `span` months for all N trials; returns counts
    and a list of deals (trial, created month, segment, size, close months,
    won)."""
    lam, (qm, qs, qq, qw) = st["lam"], st["q"]
    segs = list(SEG.values())
    pend = np.zeros((2, span + 1), dtype=np.int64)[None].repeat(N, axis=0)
    out = {k: np.zeros(N) for k in ["leads", "mqls", "ignored", "rejected",
                                      "recycled", "opps", "sal"]}
    seg = {g: {k: np.zeros(N) for k in ["mqls", "ignored", "opps"]} for g in range(2)}
    deals = []
    for t in range(span):
        leads = rng.poisson(lam, N)
        fresh = rng.binomial(leads, qm)
        to_a = rng.binomial(fresh, st["mix"][0])
        cells = [to_a + pend[:, 0, t], fresh - to_a + pend[:, 1, t]]
        out["recycled"] += pend[:, 0, t] + pend[:, 1, t]
        out["leads"] += leads
        for g in range(2):
            members = cells[g]
            cap = segs[g][4] if segs[g][4] is not None else st["cap"]
            worked = np.minimum(members, cap)
            ignored = members - worked
            sal = rng.binomial(worked, qs)
            opps = rng.binomial(sal, qq)
            rejected = worked - sal
            out["mqls"] += members
            out["ignored"] += ignored
            out["rejected"] += rejected
            out["opps"] += opps
            out["sal"] += sal
            seg[g]["mqls"] += members
            seg[g]["ignored"] += ignored
            seg[g]["opps"] += opps
            if st["recycle"] is not None:
                back = rng.binomial(ignored + rejected, st["recycle"])
                d = max(1, months(st["delay"]))
                if t + d < span:
                    pend[:, g, t + d] += back
            size, won_days, lost_days, odds, _ = segs[g]
            p = qw * odds / (1 - qw + qw * odds)
            lost_days = lost_days if lost_days is not None else st["lost"]
            if lost_days is None:
                lost_days = won_days
            trial = np.repeat(np.arange(N), opps)
            won = rng.random(trial.size) < p
            close = np.where(won, months(won_days), months(lost_days))
            deals.append((trial, first_month + t, g, size, close, won))
    return out, seg, deals


def main(outdir):
    rng = np.random.default_rng(12345)
    nq = math.ceil(H / 3)
    # the warm-up: s1's funnel for months -3..-1, one for all strategies
    _, _, warm_deals = run(rng, STRATEGIES["s1"], W, -W)
    warm_book = np.zeros((N, H))
    warm_q = np.zeros((N, nq + 1))  # value open at 0 by closing quarter
    for trial, m, g, size, close, won in warm_deals:
        c = m + close
        keep = c >= 0
        cq = np.minimum(c, H) // 3
        cq = np.where(c >= H, nq, cq)
        np.add.at(warm_q, (trial[keep], cq[keep]), size)
        inh = keep & (c < H) & won
        np.add.at(warm_book, (trial[inh], c[inh]), size)
    mine = {}
    for name, st in STRATEGIES.items():
        out, seg, deals = run(rng, st, H, 0)
        book = np.zeros((N, H))
        won_n = np.zeros(N)
        pipeline = np.zeros(N)
        quarters = np.zeros((N, nq, nq + 1))  # created quarter x closing quarter
        seg_book = {g: np.zeros(N) for g in range(2)}
        for trial, m, g, size, close, won in deals:
            c = m + close
            np.add.at(pipeline, trial, size)
            inh = (c < H) & won
            np.add.at(book, (trial[inh], c[inh]), size)
            np.add.at(won_n, trial[inh], 1)
            np.add.at(seg_book[g], trial[inh], size)
            cq = np.where(c >= H, nq, c // 3)
            np.add.at(quarters, (trial, m // 3, cq), size)
        mrr = np.zeros(N)
        revenue = np.zeros(N)
        total_prev = np.full(N, ARR0 / 12)
        total_revenue = np.zeros(N)
        wm = np.zeros(N)
        b = ARR0 / 12
        for k in range(H):
            revenue += mrr
            total_revenue += total_prev
            mrr = mrr * (1 + G) + book[:, k] / 12
            wm = wm * (1 + G) + warm_book[:, k] / 12
            b *= 1 + G
            total_prev = mrr + wm + b
        r = {
            "leads": out["leads"], "mqls": out["mqls"], "mqls_ignored": out["ignored"],
            "mqls_rejected": out["rejected"], "mqls_recycled": out["recycled"],
            "opportunities": out["opps"], "pipeline_created": pipeline,
            "won_deals": won_n, "bookings": book.sum(axis=1), "revenue": revenue,
            "arr_end": 12 * mrr, "total_bookings": book.sum(axis=1) + warm_book.sum(axis=1),
            "total_revenue": total_revenue, "total_arr_end": 12 * total_prev,
        }
        for g, gname in enumerate(SEG):
            r[f"{gname}/mqls"] = seg[g]["mqls"]
            r[f"{gname}/mqls_ignored"] = seg[g]["ignored"]
            r[f"{gname}/opportunities"] = seg[g]["opps"]
            r[f"{gname}/bookings"] = seg_book[g]
        for q in range(nq):
            before = quarters[:, :q, :].sum(axis=1) + warm_q
            r[f"Q{q + 1}/coverage"] = before[:, q] / QUOTA
            r[f"Q{q + 1}/open_pipeline_start"] = before[:, q:].sum(axis=1)
            bq = book[:, 3 * q:3 * q + 3].sum(axis=1) + warm_book[:, 3 * q:3 * q + 3].sum(axis=1)
            r[f"Q{q + 1}/bookings"] = bq
            if q + 1 < nq:
                r[f"Q{q + 1}/coverage_next"] = before[:, q + 1] / QUOTA
        mine[name] = {k: (v.mean(), v.std(ddof=1) / math.sqrt(N)) for k, v in r.items()}

    theirs = {}
    with open(f"{outdir}/summary.csv") as f:
        for row in csv.DictReader(f):
            theirs[(row["strategy"], row["metric"])] = (float(row["mean"]), float(row["se"]))
    with open(f"{outdir}/segments.csv") as f:
        for row in csv.DictReader(f):
            theirs[(row["strategy"], f"{row['segment']}/{row['metric']}")] = (
                float(row["mean"]), float(row["se"]))
    with open(f"{outdir}/quarterly.csv") as f:
        for row in csv.DictReader(f):
            # no se in quarterly.csv: use the independent one twice
            theirs[(row["strategy"], f"{row['label']}/{row['metric']}")] = (float(row["mean"]), None)
    worst = 0.0
    for (st, metric), (m, se) in sorted(theirs.items()):
        if (st not in mine) or (metric not in mine[st]):
            continue
        pm, pse = mine[st][metric]
        se = pse if se is None else se
        s = math.sqrt(se * se + pse * pse)
        z = 0.0 if s == 0 else (m - pm) / s
        worst = max(worst, abs(z))
        flag = "  <-- |z| > 4" if abs(z) > 4 else ""
        print(f"{st:3} {metric:28} pipesim {m:14.4f}  independent {pm:14.4f}  z {z:+6.2f}{flag}")
    print(f"worst |z| = {worst:.2f}")
    return 0 if worst <= 4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/v2check"))
