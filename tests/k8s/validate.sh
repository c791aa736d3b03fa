#!/usr/bin/env bash
# tests/k8s/validate.sh: checks the cluster files in deploy/ without a
# cluster.
#
#   1. Schema: each manifest in deploy/k8s/ against the official Kubernetes
#      schema, with kubernetes-validate (PyPI), which bundles the JSON
#      schemas generated from each release's OpenAPI spec and so works
#      offline. Strict: an unknown or misplaced field is an error. For
#      Kubernetes 1.29, the oldest these manifests support
#      (backoffLimitPerIndex), and 1.37, the newest it bundles. A negative
#      control first: a copy of the shards Job with an unknown field must be
#      rejected, so a validator that passes everything fails the test.
#   2. Consistency (tests/k8s/check_manifests.py): what a schema cannot see,
#      e.g. `--shard auto/N` equal to completions, the merge reading the
#      claim and subPath the shards write.
#   3. deploy/slurm/: `bash -n` on the sbatch scripts and submit.sh, and,
#      when it is installed, ShellCheck.
#
# Not kubectl: `kubectl apply --dry-run=client` (and `create --dry-run=client
# -o yaml`) needs an API server even then, for discovery and for the OpenAPI
# schema it validates with; `--validate=false` still needs discovery. So
# does Debian's kubernetes-client (1.20).
#
# kubernetes-validate is installed once into a virtualenv (PIPESIM_K8S_TOOLS)
# with python3 and pip, about 10 s; after that the whole check takes a few
# seconds. When it cannot be installed (no python3 venv or pip, no PyPI) the
# script falls back to a WEAKER check, YAML parsing and the consistency
# checks only, and says so loudly (PIPESIM_K8S_REQUIRE_SCHEMA=1 makes that a
# failure instead).
#
# Environment:
#   PIPESIM_SKIP_K8S=1             skip the whole check (prints SKIPPED, exits 0)
#   PIPESIM_K8S_TOOLS=DIR          the virtualenv [~/.cache/pipesim/k8s-validate]
#   PIPESIM_K8S_VERSIONS="A B"     Kubernetes versions to validate for [1.29.0 1.37.0]
#   PIPESIM_K8S_REQUIRE_SCHEMA=1   fail rather than fall back to the weaker check
set -euo pipefail

if [[ "${PIPESIM_SKIP_K8S:-}" == 1 ]]; then
  echo "######## SKIPPED: check of deploy/k8s and deploy/slurm (PIPESIM_SKIP_K8S=1) ########"
  exit 0
fi

validator_version=1.37.0
versions="${PIPESIM_K8S_VERSIONS:-1.29.0 1.37.0}"
tools="${PIPESIM_K8S_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/pipesim/k8s-validate}"
started=$SECONDS

cd "$(dirname "${BASH_SOURCE[0]}")/../.."  # the repository root

manifests=(deploy/k8s/pipesim-pvc.yaml deploy/k8s/pipesim-shards.yaml deploy/k8s/pipesim-merge.yaml)
slurm_scripts=(deploy/slurm/pipesim-shards.sbatch deploy/slurm/pipesim-merge.sbatch deploy/slurm/submit.sh)
failed=()

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- the validator ----------------------------------------------------------
py=""
if command -v python3 >/dev/null 2>&1; then
  stamp="$tools/.kubernetes-validate-$validator_version"
  if [[ ! -e "$stamp" ]]; then
    echo "installing kubernetes-validate==$validator_version into $tools"
    rm -rf "$tools"
    mkdir -p "$(dirname "$tools")"
    if python3 -m venv "$tools" >"$tmp/install.log" 2>&1 \
      && "$tools/bin/python" -m pip install --disable-pip-version-check -q \
        "kubernetes-validate==$validator_version" >>"$tmp/install.log" 2>&1; then
      touch "$stamp"
    else
      echo "warning: could not install kubernetes-validate:" >&2
      tail -n 5 "$tmp/install.log" | sed 's/^/  /' >&2
    fi
  fi
  [[ -e "$stamp" ]] && py="$tools/bin/python"
fi

if [[ -n "$py" ]]; then
  mode="schema"
  echo "== schema: kubernetes-validate $validator_version --strict, Kubernetes ${versions// /, }"
  # Negative control: an unknown field in the Job's spec must be rejected.
  sed 's/^spec:$/spec:\n  notAJobField: true/' deploy/k8s/pipesim-shards.yaml >"$tmp/broken.yaml"
  if "$py" -m kubernetes_validate --strict --quiet "$tmp/broken.yaml" >"$tmp/control.txt" 2>&1; then
    failed+=("negative control: a Job with an unknown field passed the validator")
  elif grep -q notAJobField "$tmp/control.txt"; then
    echo "  ok   negative control: an unknown field is rejected"
  else
    failed+=("negative control: the validator failed for another reason: $(head -n 1 "$tmp/control.txt")")
  fi
  for v in $versions; do
    for f in "${manifests[@]}"; do
      if out="$("$py" -m kubernetes_validate --strict --kubernetes-version "$v" "$f" 2>&1)"; then
        echo "  ok   $out"
      else
        echo "  FAIL $out"
        failed+=("$f for Kubernetes $v")
      fi
    done
  done
  consistency_py="$py"
else
  if [[ "${PIPESIM_K8S_REQUIRE_SCHEMA:-}" == 1 ]]; then
    echo "error: kubernetes-validate is not available and PIPESIM_K8S_REQUIRE_SCHEMA=1" >&2
    exit 1
  fi
  mode="WEAKER (no schema)"
  echo "######## WARNING: kubernetes-validate unavailable: NOT validating against the Kubernetes schema;"
  echo "######## only YAML parsing and the consistency checks run ########"
  consistency_py=python3
fi

# --- consistency --------------------------------------------------------------
echo "== consistency of the manifests (tests/k8s/check_manifests.py)"
if command -v "$consistency_py" >/dev/null 2>&1 && "$consistency_py" -c 'import yaml' 2>/dev/null; then
  "$consistency_py" tests/k8s/check_manifests.py "${manifests[@]}" || failed+=("consistency of deploy/k8s")
else
  failed+=("no python3 with PyYAML for the consistency checks")
fi

# --- deploy/slurm ---------------------------------------------------------------
echo "== deploy/slurm: bash -n"
for f in "${slurm_scripts[@]}"; do
  if bash -n "$f"; then echo "  ok   $f"; else failed+=("bash -n $f"); fi
done
if command -v shellcheck >/dev/null 2>&1; then
  echo "== deploy/slurm: shellcheck ($(shellcheck --version | sed -n 's/^version: //p'))"
  if shellcheck -s bash "${slurm_scripts[@]}"; then echo "  ok   no findings"; else failed+=("shellcheck deploy/slurm"); fi
else
  echo "   (shellcheck not installed: skipped)"
fi

if ((${#failed[@]})); then
  echo "######## FAIL: deploy/ check ($mode) ########" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "######## PASS: deploy/ check: $mode, consistency, bash -n ($((SECONDS - started)) s) ########"
