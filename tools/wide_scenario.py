#!/usr/bin/env python3
"""Write a wide scenario for memory and time measurements (issue 10):
STRATEGIES strategies, each with one spend channel and one lead channel,
over MONTHS months. Usage: wide_scenario.py STRATEGIES MONTHS [TRIALS] > FILE"""
import sys

n = int(sys.argv[1])
months = int(sys.argv[2])
trials = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
print(f'name = "wide: {n} strategies x {months} months"')
print(f"horizon_months = {months}\ntrials = {trials}\nseed = 7")
print('[market]\ndemand = "0.85 to 1.15"')
print('[revenue]\nchurn_monthly = "beta(mean=0.008, n=1000)"')
print('[sales]\nreps = 6\nmql_capacity_per_rep = 60')
print('[funnel]\nstages = ["lead", "mql", "sql", "won"]\nhandoff = "mql"\npipeline = "sql"')
for s in range(n):
    print(f'[strategy.s{s}]\ndeal_size = "lognormal(median=16000, p90=36000)"')
    print('cycle_days = "gamma(mean=90, sd=35)"')
    print(f'[[strategy.s{s}.channel]]\nname = "search"\nspend_per_month = {20000 + 100 * s}')
    print('cost_per_lead = "lognormal(median=120, p90=180)"')
    print('conversion = { mql = "beta(mean=0.40, n=200)", sql = "beta(mean=0.28, n=150)", won = "beta(mean=0.20, n=120)" }')
    print(f'[[strategy.s{s}.channel]]\nname = "events"\nleads_per_month = "{100 + s} to {200 + s}"')
    print('cost_per_lead = 90')
    print('conversion = { mql = 0.3, sql = "0.1 to 0.3", won = 0.2 }')
