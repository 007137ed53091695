#!/usr/bin/env bash
# End-to-end test of deploy/slurm/sam-amg-array.sbatch on a real, throw-away, single-node Slurm cluster.
#
#   bash scripts/slurm-e2e.sh              # skips (exit 0, no pass claimed) without root or the packages
#   SAM_AMG_REQUIRE_SLURM=1 bash scripts/slurm-e2e.sh   # CI: a missing prerequisite is a failure (also when CI=true)
#
# What it does: installs Debian's slurm-wlm and munge when missing (root only), writes a localhost slurm.conf
# under a temporary folder (proctrack/linuxproc and task/none: no cgroups), starts munged, slurmctld and slurmd
# in the foreground as background processes whose PIDs it records, then
#   1. submits the job-array script unchanged (sbatch --array=0-2) over ≥ 9 images with the fixture model, waits
#      (bounded), merges the shard outputs and checks the merge is byte-identical to a single-process run with the
#      same options and that `sam-amg compare` of the two exits 0;
#   2. fault case: submits the array again, cancels task 1 while it runs, checks that `merge` refuses naming the
#      missing shard, resubmits that index alone (sbatch --array=1) and checks the merge is again byte-identical.
# Every daemon it started is stopped by PID and the temporary folder removed, also on failure or Ctrl-C.
# Prints one summary line at the end (stdout); progress goes to stderr.
set -euo pipefail

T0=$SECONDS
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SBATCH_SCRIPT="$REPO/deploy/slurm/sam-amg-array.sbatch"
MODEL="$REPO/fixtures/models/sam1-tiny"
PHOTOS="${SAM_AMG_E2E_IMAGES:-$REPO/../shared/images}"
COPIES="${SAM_AMG_E2E_COPIES:-3}"
SHARDS=3
WAIT_S="${SAM_AMG_E2E_WAIT_S:-200}"
RUN_ARGS="--points-per-side 4 --date 2024-01-01T00:00:00Z"
REQUIRE=0
if [ "${SAM_AMG_REQUIRE_SLURM:-}" = 1 ] || [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then REQUIRE=1; fi

log() { echo "slurm-e2e: $*" >&2; }
elapsed() { echo "$((SECONDS - T0))"; }
skip() {
  if [ "$REQUIRE" = 1 ]; then
    echo "slurm-e2e: FAIL — $1 (required in CI) after $(elapsed) s"
    exit 1
  fi
  echo "slurm-e2e: SKIPPED — $1; nothing was tested, no pass claimed"
  exit 0
}

# ---- prerequisites -------------------------------------------------------------------------------------------
have_slurm() { command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; }
if ! have_slurm; then
  if [ "$(id -u)" != 0 ]; then skip "slurm-wlm/munge are not installed and installing them needs root"; fi
  if ! command -v apt-get >/dev/null; then skip "slurm-wlm/munge are not installed and there is no apt-get"; fi
  log "installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge; } >/dev/null 2>&1; then
    skip "apt-get install slurm-wlm munge failed"
  fi
  have_slurm || skip "slurm-wlm/munge installed but their programs are missing"
fi
if [ "$(id -u)" != 0 ]; then skip "running slurmd needs root"; fi
command -v node >/dev/null || skip "node is not on PATH"

# ---- temporary folder, cleanup -------------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/sam-amg-slurm.XXXXXX")"
PIDS=()      # daemons, in start order
JOBS_SEEN="" # submitted job ids
RESULT=""    # the summary line once everything passed

cleanup() {
  local rc=$?
  set +e
  if [ "${#PIDS[@]}" -ge 3 ] && [ -f "$TMP/slurm.conf" ]; then
    # Every job of this private cluster (the ones submitted, and any left over), then wait until the job steps
    # (slurmstepd, which outlives slurmd) have gone: their sockets live in our own spool folder.
    local left
    left="$(SLURM_CONF="$TMP/slurm.conf" timeout 5 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')"
    # shellcheck disable=SC2086
    [ -n "$left$JOBS_SEEN" ] && SLURM_CONF="$TMP/slurm.conf" timeout 10 scancel $left $JOBS_SEEN >/dev/null 2>&1
    for _ in $(seq 1 40); do
      [ -z "$(SLURM_CONF="$TMP/slurm.conf" timeout 5 squeue -h -o %A 2>/dev/null)" ] &&
        [ -z "$(find "$TMP/spool" -maxdepth 1 -type s -name '*_*' -print -quit 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null; done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    for _ in $(seq 1 50); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "${PIDS[i]}" 2>/dev/null
    wait "${PIDS[i]}" 2>/dev/null
  done
  if [ -n "$RESULT" ] && [ "$rc" = 0 ]; then
    rm -rf "$TMP"
    echo "$RESULT ($(elapsed) s)"
  else
    if [ -n "${KEEP_ON_FAIL:-}" ]; then log "logs kept in $TMP"; else
      for f in "$TMP"/slurmctld.log "$TMP"/slurmd.log "$TMP"/job/*.log; do
        [ -f "$f" ] && { log "---- tail of $f"; tail -n 15 "$f" >&2; }
      done
      rm -rf "$TMP"
    fi
    echo "slurm-e2e: FAIL — ${FAILED:-exit status $rc} after $(elapsed) s"
    exit 1
  fi
}
trap cleanup EXIT
trap 'FAILED="${FAILED:-command failed at line $LINENO: $BASH_COMMAND}"' ERR
trap 'FAILED="interrupted"; exit 130' INT TERM
fail() { FAILED="$1"; exit 1; }

# ---- sam-amg on PATH, images ---------------------------------------------------------------------------------
if [ ! -f "$REPO/dist/cli/main.js" ] || [ -n "$(find "$REPO/src" -name '*.ts' -newer "$REPO/dist/cli/main.js" -print -quit)" ]; then
  log "building (npm run build)"
  (cd "$REPO" && npm run build >/dev/null 2>&1) || fail "npm run build failed"
fi
mkdir -p "$TMP/bin" "$TMP/images" "$TMP/job" "$TMP/state" "$TMP/spool" "$TMP/munge"
printf '#!/bin/sh\nexec node %q/bin/sam-amg.js "$@"\n' "$REPO" > "$TMP/bin/sam-amg"
chmod +x "$TMP/bin/sam-amg"
export PATH="$TMP/bin:$PATH"

shopt -s nullglob
photos=("$PHOTOS"/*.jpg "$PHOTOS"/*.jpeg "$PHOTOS"/*.png)
shopt -u nullglob
[ "${#photos[@]}" -gt 0 ] || skip "no photos in $PHOTOS (set SAM_AMG_E2E_IMAGES)"
for c in $(seq 1 "$COPIES"); do
  mkdir -p "$TMP/images/copy$c"
  cp "${photos[@]}" "$TMP/images/copy$c/"
done
N_IMAGES=$(find "$TMP/images" -type f | wc -l)
[ "$N_IMAGES" -ge 9 ] || fail "only $N_IMAGES images; need at least 9 (raise SAM_AMG_E2E_COPIES)"

# ---- munge + slurm -------------------------------------------------------------------------------------------
NODE="$(hostname -s)"
CPUS="$(nproc)"
MEM_MB="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
PORT=$((20000 + RANDOM % 20000))
SOCK="$TMP/munge/munge.socket"
dd if=/dev/urandom of="$TMP/munge/munge.key" bs=1024 count=1 status=none
chmod 755 "$TMP/munge"
chmod 400 "$TMP/munge/munge.key"
cat > "$TMP/slurm.conf" <<EOF
ClusterName=samamge2e
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=e2e Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$TMP/slurm.conf"

log "starting munged, slurmctld, slurmd (node $NODE, $CPUS CPUs, port $PORT)"
munged -F --force --key-file="$TMP/munge/munge.key" --socket="$SOCK" --pid-file="$TMP/munge/munged.pid" \
  --log-file="$TMP/munge/munged.log" --seed-file="$TMP/munge/munged.seed" >"$TMP/munge/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || fail "munged did not start (see $TMP/munge/munged.log)"
slurmctld -D -i -f "$SLURM_CONF" >"$TMP/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" -N "$NODE" >"$TMP/slurmd.out" 2>&1 &
PIDS+=($!)
ready=0
for _ in $(seq 1 60); do
  if sinfo -h -N -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then ready=1; break; fi
  for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null || fail "a Slurm daemon exited during start-up"; done
  sleep 0.5
done
[ "$ready" = 1 ] || fail "the node did not become idle within 30 s: $(sinfo -h -N 2>&1 | head -1)"
log "cluster up after $(elapsed) s"

# ---- helpers -------------------------------------------------------------------------------------------------
# submit <output folder> <sbatch args...>: submits the unchanged job script, prints the job id.
submit() {
  local out="$1"
  shift
  local id
  id="$(cd "$TMP/job" && SAM_AMG_INPUT="$TMP/images" SAM_AMG_OUTPUT="$out" SAM_AMG_MODEL="$MODEL" SAM_AMG_SHARDS="$SHARDS" \
    SAM_AMG_ARGS="$RUN_ARGS" sbatch --parsable "$@" "$SBATCH_SCRIPT")" || fail "sbatch $* failed"
  id="${id%%;*}"
  echo "$id"
}
# wait_job <job id>: until no task of the job is pending or running (bounded).
wait_job() {
  local deadline=$((SECONDS + WAIT_S))
  while [ -n "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "job $1 still running after ${WAIT_S} s"
    sleep 1
  done
}
# states <job id>: "index=STATE" of every array task.
states() {
  scontrol -o show job "$1" 2>/dev/null | sed -n 's/.*ArrayTaskId=\([0-9]*\).* JobState=\([A-Z_]*\).*/\1=\2/p' | sort -n
}
# expect_completed <job id> <task index...>: each task ended COMPLETED.
expect_completed() {
  local job="$1" s k
  shift
  s=" $(states "$job" | tr '\n' ' ')"
  for k in "$@"; do
    [[ "$s" == *" $k=COMPLETED "* ]] || fail "job $job: array task $k did not complete (states:$s)"
  done
}

# ---- single-process reference --------------------------------------------------------------------------------
log "single-process run over $N_IMAGES images"
# shellcheck disable=SC2086
sam-amg "$TMP/images" --model "$MODEL" $RUN_ARGS --quiet --out "$TMP/single.json" || fail "the single-process run failed"
MASKS="$(node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(d.annotations.length)' "$TMP/single.json")"

# ---- 1. the array, end to end --------------------------------------------------------------------------------
job1="$(submit "$TMP/out1" --array=0-$((SHARDS - 1)))"
JOBS_SEEN="$JOBS_SEEN $job1"
log "submitted array job $job1 (--array=0-$((SHARDS - 1)))"
wait_job "$job1"
expect_completed "$job1" $(seq 0 $((SHARDS - 1)))
sam-amg merge "$TMP/merged1.json" "$TMP/out1"/shard-*.json --quiet || fail "merge of the shard outputs failed"
cmp -s "$TMP/merged1.json" "$TMP/single.json" || fail "merged shards differ from the single-process run"
sam-amg compare "$TMP/single.json" "$TMP/merged1.json" >"$TMP/compare1.txt" || fail "sam-amg compare single merged exited $?"
log "array: merge byte-identical to the single run, compare exit 0 ($(elapsed) s)"

# ---- 2. fault case: cancel task 1 partway, merge refuses, resubmit it alone ----------------------------------
VICTIM=1
job2="$(submit "$TMP/out2" --array=0-$((SHARDS - 1)))"
JOBS_SEEN="$JOBS_SEEN $job2"
log "submitted array job $job2; cancelling task $VICTIM once it runs"
deadline=$((SECONDS + WAIT_S))
until [ "$(squeue -h -j "${job2}_${VICTIM}" -o %T 2>/dev/null)" = RUNNING ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "task $VICTIM of job $job2 never started"
  sleep 0.2
done
# Partway: once the task has finished at least one image (its journal has a header and an image line), or after
# 30 s at the latest.
victim_out="$(printf '%s/shard-%05d-of-%05d.json' "$TMP/out2" "$VICTIM" "$SHARDS")"
deadline=$((SECONDS + 30))
while [ "$SECONDS" -lt "$deadline" ]; do
  lines=0
  for j in "$victim_out".*journal*; do [ -f "$j" ] && lines=$(wc -l <"$j"); done
  [ "$lines" -ge 2 ] && break
  sleep 0.2
done
scancel "${job2}_${VICTIM}" || fail "scancel ${job2}_${VICTIM} failed"
wait_job "$job2"
victim_state="$(states "$job2" | sed -n "s/^$VICTIM=//p")"
[ "$victim_state" = CANCELLED ] || fail "task $VICTIM ended as '$victim_state', not CANCELLED (cancelled too late?)"
expect_completed "$job2" $(seq 0 $((SHARDS - 1)) | grep -vx "$VICTIM")
# sam-amg writes the images it finished when SIGTERM arrives (and keeps its journal), so the victim's file may exist
# but holds fewer images than its shard was given; merge must refuse it either way.
if sam-amg merge "$TMP/merged2.json" "$TMP/out2"/shard-*.json --quiet 2>"$TMP/refusal.txt"; then
  fail "merge accepted an incomplete set of shards"
fi
grep -Eq "(missing|incomplete) shard $VICTIM of $SHARDS" "$TMP/refusal.txt" || fail "merge's refusal does not name shard $VICTIM: $(cat "$TMP/refusal.txt")"
log "merge refused: $(head -c 120 "$TMP/refusal.txt")…"
job3="$(submit "$TMP/out2" --array="$VICTIM")"
JOBS_SEEN="$JOBS_SEEN $job3"
log "resubmitted task $VICTIM alone as job $job3"
wait_job "$job3"
expect_completed "$job3" "$VICTIM"
sam-amg merge "$TMP/merged2.json" "$TMP/out2"/shard-*.json --quiet || fail "merge after the resubmission failed"
cmp -s "$TMP/merged2.json" "$TMP/single.json" || fail "merge after the resubmission differs from the single-process run"
sam-amg compare "$TMP/single.json" "$TMP/merged2.json" >/dev/null || fail "compare after the resubmission exited $?"

RESULT="slurm-e2e: PASS — Slurm job array of $SHARDS shards over $N_IMAGES images, $MASKS masks: merge byte-identical to the single-process run, compare exit 0; task $VICTIM cancelled partway, merge refused naming it, resubmitted alone (--array=$VICTIM), merge byte-identical again"
