#!/usr/bin/env python3
"""Check pipesim's sketched quantiles against an exact computation.

Usage: tools/check_quantiles.py OUT_DIR

OUT_DIR is the output of `pipesim run ... --per-trial --out OUT_DIR` (a run
large enough for quantiles to come from the sketch: run.csv says so). From
trials.csv this computes every exact type-7 quantile of every strategy and
metric in summary.csv, and of every paired difference in comparison.csv,
and checks the documented bound of src/sketch.rs:

    |estimate - exact| <= 0.004 * max(|x_lo|, |x_hi|)

where x_lo, x_hi are the order statistics the exact quantile interpolates
between. Prints the worst relative error seen; exits 1 if any value breaks
the bound. Needs numpy only.
"""
import csv
import sys
from pathlib import Path

import numpy as np

ALPHA = 0.004
LEVELS = {"p5": 0.05, "p10": 0.10, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p90": 0.90, "p95": 0.95}


def neighbours(sorted_x, p):
    h = (len(sorted_x) - 1) * p
    lo = int(np.floor(h))
    hi = min(lo + 1, len(sorted_x) - 1)
    return sorted_x[lo], sorted_x[hi], sorted_x[lo] + (h - lo) * (sorted_x[hi] - sorted_x[lo])


def main():
    out = Path(sys.argv[1])
    meta = dict(csv.reader(open(out / "run.csv")))
    print(f"trials {meta.get('trials')}, quantiles {meta.get('quantiles')}")
    # Stream trials.csv into one float array per (strategy, metric): memory
    # is 8 bytes per value, whatever the file size.
    from array import array
    with open(out / "trials.csv", newline="") as f:
        r = csv.reader(f)
        header = next(r)
        metrics = header[2:]
        cols = {}
        for row in r:
            per = cols.get(row[1])
            if per is None:
                per = cols[row[1]] = [array("d") for _ in metrics]
            for k, cell in enumerate(row[2:]):
                per[k].append(float(cell) if cell else float("nan"))
    values = {}
    for st, per in cols.items():
        for k, m in enumerate(metrics):
            values[(st, m)] = np.frombuffer(per[k], dtype=float)
    worst, checked, bad = 0.0, 0, 0

    def check(what, x, row, names):
        nonlocal worst, checked, bad
        s = np.sort(x)
        for name, p in names.items():
            if name not in row or row[name] == "":
                continue
            est = float(row[name])
            lo, hi, exact = neighbours(s, p)
            bound = ALPHA * max(abs(lo), abs(hi)) * (1 + 1e-9) + 1e-9
            err = abs(est - exact)
            checked += 1
            if max(abs(lo), abs(hi)) > 0:
                worst = max(worst, err / max(abs(lo), abs(hi)))
            if err > bound:
                bad += 1
                print(f"OUT OF BOUND {what} {name}: sketch {est} exact {exact} bound {bound}")

    for row in csv.DictReader(open(out / "summary.csv")):
        check(f"{row['strategy']}/{row['metric']}", values[(row["strategy"], row["metric"])], row, LEVELS)
    for row in csv.DictReader(open(out / "comparison.csv")):
        d = values[(row["strategy"], row["metric"])] - values[(row["baseline"], row["metric"])]
        names = {"diff_p5": 0.05, "diff_p50": 0.50, "diff_p95": 0.95}
        check(f"{row['strategy']}-{row['baseline']}/{row['metric']}", d, row, names)
    print(f"checked {checked} quantiles; worst |error| / max(|x_lo|,|x_hi|) = {worst:.5f} (bound {ALPHA}); {bad} out of bound")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
