#!/usr/bin/env bash
# deploy/slurm/submit.sh: submits a sharded pipesim run to Slurm: the job
# array pipesim-shards.sbatch (one task per shard), then
# pipesim-merge.sbatch, which Slurm starts only once every task of the
# array has succeeded (--dependency=afterok) and cancels if one failed
# (--kill-on-invalid-dep=yes).
#
#   PIPESIM_SCENARIO=scenarios/budget-volume-vs-quality.toml \
#     deploy/slurm/submit.sh --partition=compute --account=myproject
#
# Arguments: sbatch options for both jobs (partition, account, QOS, time,
# --cpus-per-task, ...); they override the #SBATCH lines of the scripts.
#
# Environment:
#   PIPESIM_SCENARIO  the scenario file (required)
#   PIPESIM_SHARDS    number of shards, the size of the array [4]
#   PIPESIM_PARTS     directory for the .part files [parts]; on a file system
#                     every node sees, and with no .part files in it yet
#   PIPESIM_OUT       directory for the merged CSVs [results]
#   PIPESIM_BIN       the pipesim binary on the compute nodes [pipesim]
#   PIPESIM_TRIALS    trials of the whole run [the scenario's `trials`]
#   PIPESIM_SEED      master seed [the scenario's `seed`]
#
# Relative paths are taken from the current directory and passed to the
# jobs as absolute paths. Prints the two job ids as shards_job=ID and
# merge_job=ID; the merged CSVs are in PIPESIM_OUT once the merge job is
# COMPLETED (squeue -j ID, or scontrol show job ID).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { echo "submit.sh: $*" >&2; exit 1; }
abs() { if [[ "$1" == /* ]]; then printf '%s\n' "$1"; else printf '%s\n' "$PWD/$1"; fi; }

[[ -n "${PIPESIM_SCENARIO:-}" ]] || die "set PIPESIM_SCENARIO to the scenario file"
[[ -f "$PIPESIM_SCENARIO" ]] || die "no scenario file $PIPESIM_SCENARIO"
shards="${PIPESIM_SHARDS:-4}"
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || die "PIPESIM_SHARDS must be a positive integer, not '$shards'"
command -v sbatch >/dev/null 2>&1 || die "sbatch not found (run this on a Slurm login node)"

PIPESIM_SCENARIO="$(abs "$PIPESIM_SCENARIO")"
PIPESIM_PARTS="$(abs "${PIPESIM_PARTS:-parts}")"
PIPESIM_OUT="$(abs "${PIPESIM_OUT:-results}")"
# A path is made absolute; a bare name is looked up on PATH on the node.
bin="${PIPESIM_BIN:-pipesim}"
[[ "$bin" == */* ]] && bin="$(abs "$bin")"
PIPESIM_BIN="$bin"
# The jobs' environment (sbatch --export=ALL); an unset PIPESIM_TRIALS,
# PIPESIM_SEED or PIPESIM_SHARD stays unset.
export PIPESIM_SCENARIO PIPESIM_PARTS PIPESIM_OUT PIPESIM_BIN

# Parts of an earlier run would make the merge refuse (or, with the same
# shard count, be mixed in): start from an empty parts directory.
if compgen -G "$PIPESIM_PARTS/*.part" >/dev/null; then
  die "$PIPESIM_PARTS already holds .part files of an earlier run; remove them or set PIPESIM_PARTS"
fi
mkdir -p "$PIPESIM_PARTS"

# --parsable prints "jobid" or "jobid;cluster".
array_job="$(sbatch --parsable --export=ALL --array="0-$((shards - 1))" "$@" \
  "$here/pipesim-shards.sbatch")" || die "sbatch of the shards failed"
array_job="${array_job%%;*}"
echo "shards_job=$array_job (array 0-$((shards - 1)): pipesim run $PIPESIM_SCENARIO --shard auto -> $PIPESIM_PARTS)"

if ! merge_job="$(sbatch --parsable --export=ALL --dependency="afterok:$array_job" \
  --kill-on-invalid-dep=yes "$@" "$here/pipesim-merge.sbatch")"; then
  scancel "$array_job" || true
  die "sbatch of the merge failed; cancelled the shards (job $array_job)"
fi
merge_job="${merge_job%%;*}"
echo "merge_job=$merge_job (after afterok:$array_job: pipesim merge $PIPESIM_PARTS -> $PIPESIM_OUT)"
