#!/usr/bin/env python3
"""Independent check of `pipesim sensitivity`'s EVPI and EVPPI, from the
per-trial file alone (standard library only).

    pipesim sensitivity SCENARIO --out DIR --per-trial [--metric M]
    python3 tools/check_voi.py DIR [--metric M] [--bins 200]

Reads DIR/trials.csv (every input's draw and every strategy's metrics per
trial) and DIR/sensitivity.csv (pipesim's figures), recomputes

- EVPI = mean_i max_s v_s(i) - max_s mean_i v_s(i) (v = the metric, negated
  when lower is better), with its standard error;
- EVPPI per input by a different estimator from pipesim's spline
  regression: sort the trials by the input, cut them into K equal bins,
  EVPPI = mean over bins of max_s (bin mean of v_s) - max_s mean(v_s);

and prints both beside pipesim's. Binning is biased upwards by noise (of
order sd/sqrt(N/K)) and downwards by coarseness (a bin that straddles the
value where the decision switches averages it away), so it is printed for
three bin counts (--bins K gives K/4, K/2 and K; default 200).
"""

import csv
import math
import sys

LOWER_IS_BETTER = {"cost", "sales_cost", "mqls_ignored", "mqls_rejected"}


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    out = argv[1]
    metric = "bookings"
    bins = 200
    if "--metric" in argv:
        metric = argv[argv.index("--metric") + 1]
    if "--bins" in argv:
        bins = int(argv[argv.index("--bins") + 1])
    with open(f"{out}/sensitivity.csv", newline="") as f:
        sens = list(csv.DictReader(f))
    evppi_pipesim = {}
    evpi_pipesim = None
    for r in sens:
        if r["input"] == "(perfect information)":
            evpi_pipesim = float(r["value_of_information"])
        elif r["value_of_information"]:
            evppi_pipesim[r["input"]] = float(r["value_of_information"])
    with open(f"{out}/trials.csv", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[float(x) if x else math.nan for x in row] for row in reader]
    suffix = "." + metric
    strategies = [h[: -len(suffix)] for h in header if h.endswith(suffix)]
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    cols = {h: i for i, h in enumerate(header)}
    v = [[sign * row[cols[s + suffix]] for row in rows] for s in strategies]
    n = len(rows)
    means = [sum(x) / n for x in v]
    best = max(range(len(v)), key=lambda s: means[s])
    regret = [max(x[i] for x in v) - v[best][i] for i in range(n)]
    evpi = sum(regret) / n
    sd = math.sqrt(sum((r - evpi) ** 2 for r in regret) / (n - 1))
    print(f"{n} trials, strategies {', '.join(strategies)}, metric {metric}")
    print(f"EVPI: independent {evpi:,.1f} +/- {sd / math.sqrt(n):,.1f}; pipesim {evpi_pipesim:,.1f}")
    inputs = [h for h in header[1:] if not any(h == s + "." + m for s in strategies for m in [h.split(".")[-1]])]
    inputs = [h for h in inputs if h in evppi_pipesim]
    ks = (bins // 4, bins // 2, bins)
    print(f"{'input':<55} {'pipesim':>12}" + "".join(f"{'bins=' + str(k):>12}" for k in ks))
    for name in sorted(inputs, key=lambda h: -evppi_pipesim[h]):
        j = cols[name]
        order = sorted(range(n), key=lambda i: rows[i][j])
        res = []
        for k in ks:
            total = 0.0
            for b in range(k):
                idx = order[b * n // k:(b + 1) * n // k]
                total += max(sum(x[i] for i in idx) for x in v)
            res.append(total / n - max(means))
        print(f"{name:<55} {evppi_pipesim[name]:>12,.1f}" + "".join(f"{x:>12,.1f}" for x in res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
