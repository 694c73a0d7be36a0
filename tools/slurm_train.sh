#!/usr/bin/env bash
# Train through Slurm:
#   [GPUS=8] [GPUS_PER_NODE=8] tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
#
# Preemption: Slurm sends SIGTERM SIGNAL_SECONDS (300) before the kill; the
# run finishes its iteration, saves iter_N.pth and exits 75. Every attempt
# runs with --resume (the newest intact checkpoint of WORK_DIR, or from
# scratch). On exit 75 this script requeues: inside a batch job (sbatch
# --requeue) with `scontrol requeue`, which restarts the batch script;
# elsewhere by running srun again, at most MAX_REQUEUES (10) times.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
SIGNAL_SECONDS=${SIGNAL_SECONDS:-300}
MAX_REQUEUES=${MAX_REQUEUES:-10}
EX_TEMPFAIL=75
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

for attempt in $(seq 0 "$MAX_REQUEUES"); do
    status=0
    PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
    srun -p "$PARTITION" \
        --job-name="$JOB_NAME" \
        --gres=gpu:"$GPUS_PER_NODE" \
        --ntasks="$GPUS" \
        --ntasks-per-node="$GPUS_PER_NODE" \
        --cpus-per-task="$CPUS_PER_TASK" \
        --kill-on-bad-exit=1 \
        --signal=TERM@"$SIGNAL_SECONDS" \
        $SRUN_ARGS \
        python -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
        --launcher slurm --resume "${@:5}" || status=$?
    if [ "$status" -ne "$EX_TEMPFAIL" ]; then
        exit "$status"
    fi
    # a batch job requeues itself (an salloc session cannot: srun again)
    if [ -n "${SLURM_JOB_ID:-}" ] && scontrol requeue "$SLURM_JOB_ID"; then
        echo "slurm_train.sh: preempted (exit $EX_TEMPFAIL); requeued job $SLURM_JOB_ID" >&2
        exit 0
    fi
    echo "slurm_train.sh: preempted (exit $EX_TEMPFAIL); starting attempt $((attempt + 2))" >&2
done
echo "slurm_train.sh: still preempted after $MAX_REQUEUES requeues; run it again to resume" >&2
exit "$EX_TEMPFAIL"
