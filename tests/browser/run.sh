#!/usr/bin/env bash
# tests/browser/run.sh: the browser test of `pipesim report`.
#
# Builds pipesim, writes the HTML report of two scenarios and checks each one
# in a real headless Chromium with tests/browser/check_report.py (rendered
# charts, accessibility names, key figures equal to the run's summary.csv,
# no console errors or network requests, dark mode, print pagination):
#
#   budget-volume-vs-quality.toml  (segments, quota, two what-ifs)  >= 12 charts
#   v1-volume-vs-quality.toml      (no segments, no quota)          >= 10 charts
#
# and prints each to PDF on A4 and on Letter.
#
# Needs chromium and poppler-utils (pdftotext); installs them with apt-get
# when missing (as root, or with passwordless sudo), else exits 1.
#
# Environment:
#   PIPESIM_SKIP_BROWSER=1  skip the whole test (prints SKIPPED, exits 0)
#   PIPESIM_BIN=PATH        check this pipesim binary instead of building one
#   PIPESIM_BROWSER_OUT=DIR also copy the reports, PDFs and screenshots there
set -euo pipefail

if [[ "${PIPESIM_SKIP_BROWSER:-}" == 1 ]]; then
  echo "######## SKIPPED: browser test of pipesim report (PIPESIM_SKIP_BROWSER=1) ########"
  exit 0
fi

# A relative PIPESIM_BIN is relative to where the script was called from.
bin="${PIPESIM_BIN:-}"
if [[ -n "$bin" && "$bin" == */* ]]; then
  bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
fi
out_copy="${PIPESIM_BROWSER_OUT:-}"
if [[ -n "$out_copy" ]]; then
  mkdir -p "$out_copy"
  out_copy="$(cd "$out_copy" && pwd)"
fi

cd "$(dirname "${BASH_SOURCE[0]}")/../.."  # the repository root

# --- Chromium and pdftotext ------------------------------------------------
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
if ((${#missing[@]})); then
  cannot() {
    local what="${missing[*]}"
    echo "error: the browser test needs ${what// / and } and cannot install it ($1)." >&2
    echo "       Install it with: apt-get install chromium poppler-utils" >&2
    echo "       (or set PIPESIM_SKIP_BROWSER=1 to skip this test)" >&2
    exit 1
  }
  if [[ "$(id -u)" == 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    cannot "not root and no passwordless sudo"
  fi
  command -v apt-get >/dev/null 2>&1 || cannot "no apt-get on this system"
  echo "installing ${missing[*]} with apt-get"
  "${as_root[@]}" apt-get update || cannot "apt-get update failed"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" \
    || cannot "apt-get install failed"
  command -v chromium >/dev/null 2>&1 || cannot "chromium is still not on PATH"
fi

# --- pipesim ---------------------------------------------------------------
if [[ -z "$bin" ]]; then
  # dev profile, with the features `cargo test` built: nothing to rebuild after it
  cargo build --locked --bins --tests
  bin="${CARGO_TARGET_DIR:-target}/debug/pipesim"
fi
[[ -x "$bin" ]] || command -v "$bin" >/dev/null 2>&1 || { echo "error: no pipesim binary at $bin" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# check_scenario NAME SCENARIO MIN_CHARTS [extra report args...]
# Runs the scenario (for its summary.csv), writes its report with the same
# trials and seed, and checks the report against the run.
check_scenario() {
  local name="$1" scenario="$2" min_charts="$3"
  shift 3
  local dir="$tmp/$name"
  mkdir -p "$dir"
  echo "== $scenario"
  # -q only drops the progress bar: the text report goes to a file, not the log
  "$bin" run "$scenario" --trials 4000 --out "$dir/run" -q >"$dir/run.txt" || return 1
  "$bin" report "$scenario" --trials 4000 "$@" --out "$dir/report.html" -q || return 1
  local status=0
  python3 tests/browser/check_report.py "$dir/report.html" --run-dir "$dir/run" \
    --min-charts "$min_charts" --paper a4,letter --pdf "$dir/report.pdf" \
    --screenshot "$dir/report.png" || status=1
  if [[ -n "$out_copy" ]]; then
    for f in report.html report.pdf report-letter.pdf report.png report-dark.png; do
      [[ -e "$dir/$f" ]] && cp "$dir/$f" "$out_copy/$name-$f"
    done
  fi
  return "$status"
}

failed=()
check_scenario budget scenarios/budget-volume-vs-quality.toml 12 --whatif 'sales.reps=7' \
  --whatif 'strategy.*.channel[*].cost_per_lead*=1.25' || failed+=(budget-volume-vs-quality)
check_scenario v1 scenarios/v1-volume-vs-quality.toml 10 || failed+=(v1-volume-vs-quality)

if ((${#failed[@]})); then
  echo "browser test FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "browser test passed: budget-volume-vs-quality, v1-volume-vs-quality"
