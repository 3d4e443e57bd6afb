#!/usr/bin/env bash
# Issue 10's numbers, in one run on this machine:
#
# 1. Supernet training throughput with the same global batch (64) and data:
#    1 process x 1 torch thread, 1 process x 2 threads, and 2 processes
#    (c10d ranks over Gloo on 127.0.0.1, torchrun's environment) x 1 thread;
#    per configuration the training images/s of each epoch, and for 2 ranks
#    the gradients' all-reduce time per step and its share of the step.
#    Workload: the MCUNet space at width 0.3, resolution 48, 10 generated
#    classes x 300 images (configs/experiments/train-quick.yaml's), 1 epoch of
#    the largest subnet + 1 epoch of sandwich-rule training, 1 loader thread
#    per process.
# 2. Space optimisation sharded over (width, resolution): one process against
#    4 shards run as 4 processes on this machine's cores, then the merge; and,
#    where a single-host Slurm cluster can start (slurm-wlm, root), the same
#    4 shards as a job array + merge job (`tinynas space --slurm`), wall time
#    from submission to space.json. Every merged space.json is compared with
#    the single process's (identical bytes, or the script fails).
#
#   bench/bench_cluster.sh [build-dir]      (~4 min on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
tinynas="$build/tinynas"
[[ -x "$tinynas" ]] || ninja -C "$build" tinynas
work="$(mktemp -d /tmp/tinynas_bench_cluster.XXXXXX)"
cleanup() {
  [[ -n "${cluster_pids:-}" ]] && kill $cluster_pids 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# ---- 1. training throughput -------------------------------------------------------
cat > train.yaml <<'EOF'
space: mcunet
width: 0.3
resolutions: [48]
dataset: generated:10x300,res=48
val_fraction: 0.1
batch_size: 64
workers: 1
lr: 0.05
warmup_epochs: 0.5
largest_epochs: 1
elastic_epochs: 1
subnets_per_step: 1
distill: true
seed: 0
eval_random: 0
bn_batches: 2
EOF
echo "training: MCUNet w0.3 r48, generated 10x300 (2,700 train images), global batch 64, 1 + 1 epochs" >&2
"$tinynas" train --config train.yaml --threads 1 --out p1t1 -q > /dev/null
"$tinynas" train --config train.yaml --threads 2 --out p1t2 -q > /dev/null
port=$((29000 + RANDOM % 1000))
for r in 0 1; do
  RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    "$tinynas" train --config train.yaml --threads 1 --out p2t1 -q > /dev/null &
done
wait

table=$(/usr/bin/python3 - <<'EOF'
import json
rows = [("1 process x 1 thread", "p1t1"), ("1 process x 2 threads", "p1t2"), ("2 processes x 1 thread (c10d)", "p2t1")]
base = None
print("| configuration | img/s epoch 1 (largest) / 2 (sandwich) | vs 1 x 1 | gradient all-reduce ms/step (share) | all collectives per step: count, ms (share) |")
print("| --- | --- | --- | --- | --- |")
for name, d in rows:
    log = [json.loads(l) for l in open(d + "/train_log.jsonl") if l.strip()]
    ips = [e["images_per_second"] for e in log]
    if base is None: base = ips
    steps = [log[0]["steps"]] + [log[i]["steps"] - log[i-1]["steps"] for i in range(1, len(log))]
    if log[0].get("allreduce_seconds") is None:
        grad, coll = "-", "-"
    else:
        grad = " / ".join(f"{1000*e['allreduce_seconds']/s:.1f} ({100*e['allreduce_seconds']/e['seconds']:.0f}%)" for e, s in zip(log, steps))
        coll = " / ".join(f"{e['collectives']/s:.0f}, {1000*e['collective_seconds']/s:.0f} ({100*e['collective_seconds']/e['seconds']:.0f}%)" for e, s in zip(log, steps))
    rel = " / ".join(f"{x/b:.2f}x" for x, b in zip(ips, base))
    print(f"| {name} | {ips[0]:.0f} / {ips[1]:.0f} | {rel} | {grad} | {coll} |")
EOF
)
echo "$table"
echo

# ---- 2. sharded space optimisation --------------------------------------------------
space_args=(space --mcu f412 --flash 1M --sram 256K --samples 1000 --seed 3)
t0=$(now); "$tinynas" "${space_args[@]}" --out single -q > /dev/null; single_s=$(elapsed "$t0")
t0=$(now)
for i in 0 1 2 3; do "$tinynas" "${space_args[@]}" --out local4 --shard "$i/4" -q & done
wait
shards_s=$(elapsed "$t0")
t0=$(now); "$tinynas" "${space_args[@]}" --out local4 --shards 4 --merge -q > /dev/null; merge_s=$(elapsed "$t0")
cmp -s single/space.json local4/space.json || { echo "local shards: space.json differs from one process" >&2; exit 1; }

slurm_row="| 4-task job array + merge job on a single-host Slurm cluster | - | - | - | (no cluster: needs slurm-wlm and root) |"
if command -v slurmctld > /dev/null && command -v munged > /dev/null && [[ $(id -u) == 0 ]]; then
  c="$work/cluster"; mkdir -p "$c"/{munge,ctld,spool,log}; chmod 755 "$c" "$c/munge"
  p1=$((30000 + RANDOM % 1000)); p2=$((p1 + 1000))
  cat > "$c/slurm.conf" <<EOF
ClusterName=tinynas-bench
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$p1
SlurmdPort=$p2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$c/munge/munge.socket
StateSaveLocation=$c/ctld
SlurmdSpoolDir=$c/spool
SlurmctldPidFile=$c/ctld/slurmctld.pid
SlurmdPidFile=$c/spool/slurmd.pid
SlurmctldLogFile=$c/log/slurmctld.log
SlurmdLogFile=$c/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
MinJobAge=4
SchedulerParameters=kill_invalid_depend,batch_sched_delay=0,sched_min_interval=0,sched_interval=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  mungekey -c -k "$c/munge/munge.key"
  munged -F -f --socket="$c/munge/munge.socket" --key-file="$c/munge/munge.key" --log-file="$c/log/munged.log" \
    --pid-file="$c/munge/munged.pid" --seed-file="$c/munge/munged.seed" > /dev/null 2>&1 &
  cluster_pids="$!"
  for _ in $(seq 50); do [[ -S "$c/munge/munge.socket" ]] && break; sleep 0.1; done
  export SLURM_CONF="$c/slurm.conf"
  slurmctld -D -i -f "$SLURM_CONF" > "$c/log/ctld.out" 2>&1 & cluster_pids="$cluster_pids $!"
  slurmd -D -N localhost -f "$SLURM_CONF" > "$c/log/d.out" 2>&1 & cluster_pids="$cluster_pids $!"
  for _ in $(seq 100); do [[ "$(sinfo -h -o %T 2>/dev/null)" == idle ]] && break; sleep 0.2; done
  t0=$(now)
  "$tinynas" "${space_args[@]}" --out slurm4 --slurm --shards 4 -q > /dev/null
  until [[ -f slurm4/space.json && -z "$(squeue -h 2>/dev/null)" ]]; do sleep 0.1; done
  slurm_s=$(elapsed "$t0")
  cmp -s single/space.json slurm4/space.json || { echo "Slurm shards: space.json differs from one process" >&2; exit 1; }
  slurm_row=$(printf "| 4-task job array + merge job on a single-host Slurm cluster | %.2f | - | %.2fx | identical |" \
    "$slurm_s" "$(calc "$single_s / $slurm_s")")
  scancel -u "$(id -un)" 2>/dev/null || true
  kill $cluster_pids 2>/dev/null || true; wait 2>/dev/null || true; cluster_pids=""
fi
echo "space optimisation: f412 1M/256K, mcunet space (9 widths x 12 resolutions), 1,000 samples each, $(nproc) cores"
echo "| run | wall s | of which the merge s | vs one process | space.json |"
echo "| --- | --- | --- | --- | --- |"
printf "| one process | %.2f | - | 1.00x | - |\n" "$single_s"
printf "| 4 shards as 4 local processes, then the merge | %.2f | %.2f | %.2fx | identical |\n" \
  "$(calc "$shards_s + $merge_s")" "$merge_s" "$(calc "$single_s / ($shards_s + $merge_s)")"
echo "$slurm_row"
