#!/usr/bin/env bash
# Starts a one-node Slurm cluster on localhost (munged, slurmctld, slurmd
# from Debian's packages; configuration, spool and state under WORK),
# submits a sweep as a 4-task job array through tools/slurm/submit-sweep.sh,
# waits for the merge job (bounded), and compares the merged report, text
# and SVG byte for byte with the same sweep run on this machine. Stops the
# daemons by their process ids on every exit.
#
#   slurm-sweep.sh SOURCE_DIR BIN_DIR WORK
set -euo pipefail
source_dir=$1 bin=$2 work=$3
for tool in munged mungekey slurmctld slurmd sbatch squeue; do
  command -v "$tool" >/dev/null || { echo "slurm-sweep: $tool is not installed (tools/setup.sh installs it)" >&2; exit 1; }
done
rm -rf "$work"
mkdir -p "$work"/{munge,state,spool,log,out}
chmod 700 "$work/munge"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# munge: its own key, socket and files, run as this user.
mungekey --create --keyfile="$work/munge/munge.key" --force
munged --foreground --force --key-file="$work/munge/munge.key" \
  --socket="$work/munge/munge.socket" --pid-file="$work/munge/munged.pid" \
  --seed-file="$work/munge/seed" --log-file="$work/log/munged.log" \
  2> "$work/log/munged.err" &
pids+=($!)

user=$(id -un)
port=$((20000 + RANDOM % 20000))
cat > "$work/slurm.conf" <<CONF
ClusterName=hafnia-test
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
NodeName=localhost CPUs=$(nproc) RealMemory=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
for _ in $(seq 50); do [ -S "$work/munge/munge.socket" ] && break; sleep 0.1; done
slurmctld -D -i -f "$SLURM_CONF" 2> "$work/log/slurmctld.err" &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N localhost 2> "$work/log/slurmd.err" &
pids+=($!)
for _ in $(seq 100); do
  sinfo -h -o %T 2>/dev/null | grep -q idle && break
  sleep 0.2
done
sinfo -h -o %T | grep -q idle || { echo "slurm-sweep: the node did not come up" >&2; tail -5 "$work"/log/*.log >&2; exit 1; }

# The sweep: the ECG binarized classifier, 2 cells x 4 cycle counts x 20
# trials.
models=$source_dir/test/models
"$bin/hafnia-compile" "$models/ecg/ecg_binarized_classifier.onnx" -o "$work/ecg.hfp" > /dev/null 2>&1
sweep=(--sweep-cycles=1e3,1e5,1e6,1e7 --trials=20)
"$bin/hafnia-sim" "$work/ecg.hfp" --input "$models/ecg/ecg_test_x.npy" \
  --labels "$models/ecg/ecg_test_y.npy" "${sweep[@]}" \
  --report "$work/single.json" --sweep-svg "$work/single.svg" > "$work/single.txt"

HAFNIA_SIM=$bin/hafnia-sim "$source_dir/tools/slurm/submit-sweep.sh" --parts=4 \
  "$work/ecg.hfp" "$models/ecg/ecg_test_x.npy" "$models/ecg/ecg_test_y.npy" \
  "$work/out" "${sweep[@]}"
for _ in $(seq 600); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 0.2
done
[ -z "$(squeue -h)" ] || { echo "slurm-sweep: jobs still queued after 2 minutes" >&2; squeue >&2; exit 1; }
ls "$work/out"/part-*.json | wc -l | grep -qx 4 || { echo "slurm-sweep: expected 4 parts" >&2; ls "$work/out" >&2; cat "$work"/out/*.log >&2; exit 1; }
cmp "$work/single.json" "$work/out/report.json"
cmp "$work/single.svg" "$work/out/sweep.svg"
cmp "$work/single.txt" "$work/out/report.txt"
echo "slurm-sweep: 4 parts merged on Slurm equal the single run (JSON, text, SVG)"
