#!/usr/bin/env bash
# tools/shard-check.sh: a sharded run against one process, on this machine.
#
#   bash tools/shard-check.sh [TRIALS [SHARDS [SCENARIO]]]
#
# Runs `pipesim run SCENARIO --trials TRIALS --shard i/SHARDS --out parts`
# for every i (one after another), `pipesim merge parts --out merged`, and
# one `pipesim run SCENARIO --trials TRIALS --out single`, timing each with
# /usr/bin/time (wall time and peak memory), then compares every file and
# the printed report byte for byte. Defaults: 1,000,000 trials (sketch
# mode), 4 shards, scenarios/budget-volume-vs-quality.toml. Uses the release
# build (built if missing) or PIPESIM_BIN; works in a temporary directory
# (PIPESIM_SHARD_CHECK_DIR to keep it). Exit 1 if any file differs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
trials="${1:-1000000}"
shards="${2:-4}"
scenario="$(realpath "${3:-scenarios/budget-volume-vs-quality.toml}")"
bin="${PIPESIM_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --release --locked --bins -q
  bin="$PWD/target/release/pipesim"
fi
bin="$(realpath "$bin")"
dir="${PIPESIM_SHARD_CHECK_DIR:-$(mktemp -d)}"
mkdir -p "$dir"
cd "$dir"
rm -rf parts merged single
timed() {
  local what="$1" t0
  shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f "$what: %e s, peak %M KiB" "$@"
  else  # Debian's `time` package is not installed: wall time only
    t0=$SECONDS
    "$@"
    echo "$what: $((SECONDS - t0)) s" >&2
  fi
}
for ((i = 0; i < shards; i++)); do
  timed "shard $i/$shards" "$bin" run "$scenario" --trials "$trials" --shard "$i/$shards" --out parts -q
done
timed merge "$bin" merge parts --out merged -q >merged.txt
timed "one process" "$bin" run "$scenario" --trials "$trials" --out single -q >single.txt
ls -l parts
status=0
for f in single/* single/.pipesim-manifest.json; do
  name="$(basename "$f")"
  if cmp -s "$f" "merged/$name"; then echo "identical $name"; else echo "DIFFERENT $name"; status=1; fi
done
if cmp -s single.txt merged.txt; then echo "identical report on stdout"; else echo "DIFFERENT report"; status=1; fi
grep quantiles merged/run.csv
[[ -n "${PIPESIM_SHARD_CHECK_DIR:-}" ]] || rm -rf "$dir"
exit "$status"
