#!/usr/bin/env bash
# tests/slurm/run.sh: the Slurm test of sharded runs (deploy/slurm/).
#
# Starts a one-node Slurm cluster on this machine, entirely from a temporary
# directory it owns (its own slurm.conf, munge key, munged, state, spool and
# logs, on ports of its own; the packages' /etc/munge/munge.key, their
# services and any Slurm already on the machine are left alone), and on it:
#
#   1. deploy/slurm/submit.sh submits pipesim-shards.sbatch as a job array
#      of 4 tasks (`pipesim run SCENARIO --shard auto --out PARTS`) and
#      pipesim-merge.sbatch with --dependency=afterok:<array job>;
#   2. waits for every job to end and checks that each one COMPLETED with
#      exit code 0 (there is no accounting database, so no sacct: the states
#      come from scontrol, which keeps ended jobs for MinJobAge);
#   3. runs the same scenario, trials and seed in one process
#      (`pipesim run SCENARIO --out single`) and compares every file of the
#      merged directory with it byte for byte (cmp).
#
# The cluster is always stopped on exit: the jobs cancelled, slurmd,
# slurmctld and munged stopped, any process left with its working directory
# or an open file in the temporary directory killed, and the directory
# removed.
#
# Needs slurmctld, slurmd, slurm-client and munge (Debian's 22.05 packages
# on bookworm); installs them with apt-get when missing. The daemons run as
# root (slurmd starts jobs as their users): run this as root, or with
# passwordless sudo (it then re-runs itself with sudo after building
# pipesim), else it exits 1.
#
# Environment:
#   PIPESIM_SKIP_SLURM=1        skip the whole test (prints SKIPPED, exits 0)
#   PIPESIM_BIN=PATH            test this pipesim binary instead of building one
#   PIPESIM_SLURM_KEEP=DIR      copy slurm.conf, the daemons' logs and the
#                               jobs' output there before removing the cluster
#   PIPESIM_SLURM_SCENARIO=F    scenario [scenarios/budget-volume-vs-quality.toml]
#   PIPESIM_SLURM_TRIALS=T      trials of the run [20000]
#   PIPESIM_SLURM_SHARDS=N      size of the job array [4]
#   PIPESIM_SLURM_TIMEOUT=S     seconds to wait for the jobs [300]
set -euo pipefail

if [[ "${PIPESIM_SKIP_SLURM:-}" == 1 ]]; then
  echo "######## SKIPPED: Slurm test of sharded runs (PIPESIM_SKIP_SLURM=1) ########"
  exit 0
fi

# Relative paths are relative to where the script was called from.
bin="${PIPESIM_BIN:-}"
if [[ -n "$bin" && "$bin" == */* ]]; then
  bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
fi
keep="${PIPESIM_SLURM_KEEP:-}"
if [[ -n "$keep" ]]; then
  mkdir -p "$keep"
  keep="$(cd "$keep" && pwd)"
fi
scenario="${PIPESIM_SLURM_SCENARIO:-}"
if [[ -n "$scenario" ]]; then
  scenario="$(cd "$(dirname "$scenario")" && pwd)/$(basename "$scenario")"
fi

cd "$(dirname "${BASH_SOURCE[0]}")/../.."  # the repository root
root_dir="$PWD"
scenario="${scenario:-$root_dir/scenarios/budget-volume-vs-quality.toml}"
trials="${PIPESIM_SLURM_TRIALS:-20000}"
shards="${PIPESIM_SLURM_SHARDS:-4}"
timeout_s="${PIPESIM_SLURM_TIMEOUT:-300}"
started=$SECONDS

# --- root: slurmd and munged run as root ------------------------------------
# Checked before building; the sudo itself comes after it, so that cargo
# runs as the calling user.
use_sudo=""
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    use_sudo=1
  else
    echo "error: the Slurm test runs slurmctld, slurmd and munged as root: run it as root" >&2
    echo "       or with passwordless sudo (or set PIPESIM_SKIP_SLURM=1 to skip this test)" >&2
    exit 1
  fi
fi

# --- pipesim ----------------------------------------------------------------
if [[ -z "$bin" ]]; then
  # dev profile, with the features `cargo test` built: nothing to rebuild after it
  cargo build --locked --bins --tests
  target="${CARGO_TARGET_DIR:-target}"
  [[ "$target" == /* ]] || target="$root_dir/$target"
  bin="$target/debug/pipesim"
fi
if [[ "$bin" != */* ]]; then
  bin="$(command -v "$bin")" || { echo "error: no pipesim binary '$PIPESIM_BIN' on PATH" >&2; exit 1; }
fi
[[ -x "$bin" ]] || { echo "error: no pipesim binary at $bin" >&2; exit 1; }
[[ -f "$scenario" ]] || { echo "error: no scenario $scenario" >&2; exit 1; }

if [[ -n "$use_sudo" ]]; then
  echo "re-running as root with sudo (the Slurm daemons run as root)"
  exec sudo -n env PIPESIM_BIN="$bin" PIPESIM_SLURM_KEEP="$keep" \
    PIPESIM_SLURM_SCENARIO="$scenario" PIPESIM_SLURM_TRIALS="$trials" \
    PIPESIM_SLURM_SHARDS="$shards" PIPESIM_SLURM_TIMEOUT="$timeout_s" \
    bash "$root_dir/tests/slurm/run.sh"
fi
export PATH="$PATH:/usr/sbin:/sbin"

# --- Slurm and munge ----------------------------------------------------------
missing=()
command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
command -v munged >/dev/null 2>&1 || missing+=(munge)
if ((${#missing[@]})); then
  cannot() {
    echo "error: the Slurm test needs ${missing[*]} and cannot install them ($1)." >&2
    echo "       Install them with: apt-get install slurmctld slurmd slurm-client munge" >&2
    echo "       (or set PIPESIM_SKIP_SLURM=1 to skip this test)" >&2
    exit 1
  }
  command -v apt-get >/dev/null 2>&1 || cannot "no apt-get on this system"
  echo "installing ${missing[*]} with apt-get"
  t0=$SECONDS
  apt-get update || cannot "apt-get update failed"
  # The packages' own services are not used (and, with no /etc/slurm/slurm.conf,
  # do not start); the cluster below has its own configuration.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    slurmctld slurmd slurm-client munge || cannot "apt-get install failed"
  for c in slurmctld slurmd sbatch munged; do
    command -v "$c" >/dev/null 2>&1 || cannot "$c is still not on PATH"
  done
  echo "installed in $((SECONDS - t0)) s"
fi

# --- the cluster's directory and its teardown ---------------------------------
tmp="$(mktemp -d /tmp/pipesim-slurm.XXXXXX)"
# munged wants every directory above its socket searchable by all, and the
# state/spool/log directories must not be writable by others.
chmod 755 "$tmp"
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/work"
daemons=()        # "name:pid" of the daemons this script started
export SLURM_CONF="$tmp/slurm.conf"

# Processes, other than this shell, with their working directory or an open
# file inside $tmp: the daemons, slurmstepd and the jobs' processes.
procs_in_tmp() {
  local d p f
  for d in /proc/[0-9]*; do
    p="${d#/proc/}"
    [[ "$p" == "$$" || "$p" == "$BASHPID" ]] && continue
    f="$(readlink "$d/cwd" 2>/dev/null)"
    if [[ "$f" == "$tmp" || "$f" == "$tmp"/* ]]; then
      echo "$p"
      continue
    fi
    for f in "$d"/fd/*; do
      if [[ "$(readlink "$f" 2>/dev/null)" == "$tmp"/* ]]; then
        echo "$p"
        break
      fi
    done
  done
}

# stop_pid NAME PID: SIGTERM, up to 15 s, then SIGKILL.
stop_pid() {
  local name="$1" pid="$2" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "warning: $name (pid $pid) did not stop on SIGTERM: SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$? entry i
  local -a left=()
  set +e
  trap - EXIT INT TERM
  echo "== stopping the cluster"
  if ((${#daemons[@]})); then
    # Cancel whatever still runs, so that slurmd ends its job steps.
    if [[ -n "$(timeout 10 squeue -h -o %A 2>/dev/null)" ]]; then
      timeout 10 scancel --full --user=root >/dev/null 2>&1
      for ((i = 0; i < 50; i++)); do
        [[ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ]] && break
        sleep 0.2
      done
    fi
    # Stop them in reverse order of starting: slurmd, slurmctld, munged.
    for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
      entry="${daemons[i]}"
      stop_pid "${entry%%:*}" "${entry#*:}"
    done
  fi
  # Cancelled job steps take a moment to end; then kill whatever is left.
  for ((i = 0; i < 10; i++)); do
    mapfile -t left < <(procs_in_tmp)
    ((${#left[@]})) || break
    sleep 0.5
  done
  if ((${#left[@]})); then
    echo "killing processes left in $tmp:"
    ps -o pid=,comm= -p "$(IFS=,; echo "${left[*]}")" 2>/dev/null | sed 's/^/  /'
    kill -KILL "${left[@]}" 2>/dev/null
  fi
  if [[ -n "$keep" ]]; then
    mkdir -p "$keep"
    cp -r "$tmp/log" "$keep/" 2>/dev/null
    cp "$tmp/slurm.conf" "$keep/" 2>/dev/null
    cp "$tmp"/work/*.out "$keep/" 2>/dev/null
    echo "kept slurm.conf, the logs and the jobs' output in $keep"
  fi
  rm -rf "$tmp"
  echo "cluster stopped, $tmp removed"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
  local f
  for f in "$tmp"/log/*; do
    [[ -f "$f" ]] || continue
    echo "---- $f (last 40 lines)" >&2
    tail -n 40 "$f" >&2
  done
}

# --- munge: a key and a munged of its own -------------------------------------
# The cluster does not use /etc/munge/munge.key or the system's munged (the
# package may have created and started them): it makes its own key and runs
# its own munged on its own socket, which slurm.conf names (AuthInfo).
sock="$tmp/munge/munge.socket"
if command -v mungekey >/dev/null 2>&1; then
  mungekey --create --keyfile="$tmp/munge/munge.key"
else
  (umask 077 && head -c 1024 /dev/urandom >"$tmp/munge/munge.key")
fi
chmod 600 "$tmp/munge/munge.key"
munged --foreground --key-file="$tmp/munge/munge.key" --socket="$sock" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/log/munged.log" \
  --seed-file="$tmp/munge/munged.seed" >>"$tmp/log/munged.out" 2>&1 &
daemons+=("munged:$!")
for ((i = 0; ; i++)); do
  munge -n -S "$sock" 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1 && break
  if ((i >= 100)); then
    echo "error: munged did not start (10 s)" >&2
    show_logs
    exit 1
  fi
  sleep 0.1
done

# --- slurm.conf -----------------------------------------------------------------
# Two free TCP ports on 127.0.0.1 for slurmctld and slurmd (not the default
# 6817/6818, which a real Slurm on this machine may use).
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctld_port=""
for ((p = 16817; p < 17017; p += 2)); do
  if ! port_busy "$p" && ! port_busy "$((p + 1))"; then
    ctld_port="$p"
    break
  fi
done
[[ -n "$ctld_port" ]] || { echo "error: no two free ports in 16817-17016" >&2; exit 1; }
slurmd_port="$((ctld_port + 1))"

# The node as slurmd sees it (CPUs, sockets, cores, threads), with half the
# memory: a node configured with more than it has would be drained.
node="$(hostname -s)"
hw="$(slurmd -C | head -n 1)"
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$hw"; }
cpus="$(field CPUs)"
memory="$(($(field RealMemory) / 2))"
((memory >= 1)) || memory=1
topology="Boards=$(field Boards) SocketsPerBoard=$(field SocketsPerBoard)"
topology+=" CoresPerSocket=$(field CoresPerSocket) ThreadsPerCore=$(field ThreadsPerCore)"

cat >"$SLURM_CONF" <<EOF
# A one-node test cluster of tests/slurm/run.sh; everything under $tmp.
ClusterName=pipesim-test
# The node is reached at 127.0.0.1, whatever this host name resolves to.
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no accounting database (so no sacct); ended jobs stay in
# scontrol for MinJobAge seconds, and each one's end is logged in jobcomp.txt.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$tmp/log/jobcomp.txt
MinJobAge=3600
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus $topology RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

# --- slurmctld and slurmd -------------------------------------------------------
echo "== starting a one-node cluster in $tmp: node $node, $cpus CPUs, ${memory} MB," \
  "ports $ctld_port/$slurmd_port ($(slurmctld -V))"
slurmctld -D -f "$SLURM_CONF" >>"$tmp/log/slurmctld.out" 2>&1 &
daemons+=("slurmctld:$!")
slurmd -D -f "$SLURM_CONF" -N "$node" >>"$tmp/log/slurmd.out" 2>&1 &
daemons+=("slurmd:$!")

t0=$SECONDS
until [[ "$(sinfo -h -N -n "$node" -o %T 2>/dev/null)" == idle ]]; do
  for entry in "${daemons[@]}"; do
    if ! kill -0 "${entry#*:}" 2>/dev/null; then
      echo "error: ${entry%%:*} exited while the cluster was starting" >&2
      show_logs
      exit 1
    fi
  done
  if ((SECONDS - t0 >= 60)); then
    echo "error: node $node not idle after 60 s:" >&2
    sinfo -N -l >&2 || true
    show_logs
    exit 1
  fi
  sleep 0.5
done
echo "node $node idle after $((SECONDS - t0)) s"
sinfo

# --- the sharded run ----------------------------------------------------------
work="$tmp/work"
echo "== submitting $shards shards and the merge with deploy/slurm/submit.sh"
# The sbatch options here only fit the jobs to this small node; the scripts
# are the ones in deploy/slurm/, as users run them.
submitted="$(cd "$work" && PIPESIM_SCENARIO="$scenario" PIPESIM_SHARDS="$shards" \
  PIPESIM_PARTS=parts PIPESIM_OUT=merged PIPESIM_BIN="$bin" PIPESIM_TRIALS="$trials" \
  "$root_dir/deploy/slurm/submit.sh" --cpus-per-task=1 --mem=512M --time=00:10:00)" \
  || { echo "error: deploy/slurm/submit.sh failed" >&2; show_logs; exit 1; }
echo "$submitted"
array_job="$(sed -n 's/^shards_job=\([0-9][0-9]*\).*/\1/p' <<<"$submitted")"
merge_job="$(sed -n 's/^merge_job=\([0-9][0-9]*\).*/\1/p' <<<"$submitted")"
[[ -n "$array_job" && -n "$merge_job" ]] || { echo "error: no job ids in submit.sh's output" >&2; exit 1; }

# job_lines JOB: one line "JOBID TASK STATE REASON EXIT" per record of the
# job (an array job has one per task, tasks not started yet share one;
# TASK is - for a job that is not an array).
job_lines() {
  scontrol show job -o "$1" 2>/dev/null | awk '{
    delete f
    for (i = 1; i <= NF; i++) { k = index($i, "="); if (k) f[substr($i, 1, k - 1)] = substr($i, k + 1) }
    if ("JobId" in f) print f["JobId"], ("ArrayTaskId" in f ? f["ArrayTaskId"] : "-"), f["JobState"], f["Reason"], f["ExitCode"]
  }'
}
terminal() {
  case "$1" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE) return 0 ;;
    *) return 1 ;;
  esac
}
# all_ended JOB...: every record of the jobs in a final state (a job left
# pending for ever by a failed dependency counts as ended).
all_ended() {
  local job lines id task state reason code
  for job in "$@"; do
    lines="$(job_lines "$job")"
    [[ -n "$lines" ]] || return 1
    while read -r id task state reason code; do
      terminal "$state" || [[ "$reason" == DependencyNeverSatisfied ]] || return 1
    done <<<"$lines"
  done
}

cluster_trouble=""  # a job failed or hung: the daemons' logs go with the report
echo "== waiting for jobs $array_job (shards) and $merge_job (merge), at most $timeout_s s"
t0=$SECONDS
last=""
until all_ended "$array_job" "$merge_job"; do
  now="$(squeue -h -j "$array_job,$merge_job" -o '%i %T %r' 2>/dev/null | tr '\n' ';' || true)"
  [[ "$now" != "$last" ]] && echo "  $((SECONDS - t0)) s: ${now:-none queued}"
  last="$now"
  if ((SECONDS - t0 >= timeout_s)); then
    echo "error: the jobs did not end in $timeout_s s" >&2
    cluster_trouble=1
    break
  fi
  sleep 1
done
jobs_s=$((SECONDS - t0))

failed=()
echo "== jobs (after $jobs_s s)"
printf '  %-8s %-10s %-6s %-10s %-24s %s\n' JOBID ROLE TASK STATE REASON EXIT
for job in "$array_job" "$merge_job"; do
  role=shards
  [[ "$job" == "$merge_job" ]] && role=merge
  lines="$(job_lines "$job" | sort -k2,2n || true)"
  [[ -n "$lines" ]] || { failed+=("job $job ($role) unknown to scontrol"); continue; }
  while read -r id task state reason code; do
    printf '  %-8s %-10s %-6s %-10s %-24s %s\n' "$id" "$role" "$task" "$state" "$reason" "$code"
    if [[ "$state" != COMPLETED || "$code" != 0:0 ]]; then
      failed+=("job $id ($role task $task) $state exit $code")
      cluster_trouble=1
    fi
  done <<<"$lines"
done
n_tasks="$(job_lines "$array_job" | grep -c ' COMPLETED ' || true)"
((n_tasks == shards)) || failed+=("$n_tasks of $shards array tasks COMPLETED")

# every job's output (a few lines each: which variable gave the shard, the
# part written, the merge's report), on success too
for f in "$work"/*.out; do
  [[ -f "$f" ]] || continue
  echo "---- job output $(basename "$f")"
  if (($(wc -l <"$f") > 12)); then  # the merge's report: its head and answer
    head -n 3 "$f"
    echo "  [... $(($(wc -l <"$f") - 3)) more lines of the report, with:]"
    grep -E '^(Answer|merged|error|warning)' "$f" || true
  else
    cat "$f"
  fi
done

# --- the same run in one process, and the comparison ---------------------------
# compare_dirs SINGLE MERGED: a table of every file in either directory (and
# of every file a run writes), with sizes; adds a failure for each file that
# is missing from one side or differs.
expected=(summary.csv comparison.csv monthly.csv funnel.csv segments.csv quarterly.csv run.csv)
n_files=0
compare_dirs() {
  local single="$1" merged="$2" names name s m size_s size_m result
  names="$( { ls -A "$single" 2>/dev/null; ls -A "$merged" 2>/dev/null
    printf '%s\n' "${expected[@]}"; } | sort -u)"
  printf '  %-16s %10s %10s  %s\n' FILE SINGLE MERGED RESULT
  while read -r name; do
    s="$single/$name" m="$merged/$name"
    size_s="$(stat -c %s "$s" 2>/dev/null || echo -)"
    size_m="$(stat -c %s "$m" 2>/dev/null || echo -)"
    if [[ ! -f "$s" ]]; then
      result="missing from the single run"
    elif [[ ! -f "$m" ]]; then
      result="missing from the merge"
    elif cmp -s "$s" "$m"; then
      result=identical
    else
      result="DIFFERENT: $( (cmp "$s" "$m" 2>&1 || true) | head -n 1)"
    fi
    printf '  %-16s %10s %10s  %s\n' "$name" "$size_s" "$size_m" "$result"
    n_files=$((n_files + 1))
    [[ "$result" == identical ]] || failed+=("$name $result")
  done <<<"$names"
}

if [[ -d "$work/merged" ]]; then
  echo "== comparing with one process: pipesim run $(basename "$scenario") --trials $trials --out single"
  "$bin" run "$scenario" --trials "$trials" --out "$work/single" -q >"$work/single.txt" \
    || failed+=("the single-process pipesim run failed")
  compare_dirs "$work/single" "$work/merged"
else
  failed+=("no merged directory: the merge job did not run, or wrote nothing")
fi

if ((${#failed[@]})); then
  echo "######## FAIL: Slurm test of sharded runs ($((SECONDS - started)) s) ########" >&2
  printf '  %s\n' "${failed[@]}" >&2
  [[ -n "$cluster_trouble" ]] && show_logs
  exit 1
fi
echo "######## PASS: Slurm test of sharded runs: $shards shards (job $array_job) merged by job $merge_job," \
  "$n_files files identical to one process ($((SECONDS - started)) s) ########"
