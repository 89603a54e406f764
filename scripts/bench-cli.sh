#!/usr/bin/env bash
# One-off CLI calls per second: N `allot submit` calls from P parallel shells against a local server, the way a
# batch user's script submits; with Slurm installed (`sbatch` on PATH and a working cluster), the same with
# `sbatch --wrap` in the same sitting.
#
#   swift build -c release --static-swift-stdlib && scripts/bench-cli.sh
#   ALLOT=.build/release/allot N=2000 P=16 scripts/bench-cli.sh
set -euo pipefail
cd "$(dirname "$0")/.."
allot=${ALLOT:-$PWD/.build/release/allot}
count=${N:-2000}
shells=${P:-16}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$allot" server --no-tls --port "$port" --data-dir "$work/server" --token-rate 0 >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "agent join token:" "$work/server.log" 2>/dev/null && break; sleep 0.1; done
admin=$(awk '/admin token:/ {print $3}' "$work/server.log")
join=$(awk '/agent join token:/ {print $4}' "$work/server.log")
# One node that holds one job at a time: the rest of the submissions wait in the queue, as on a busy cluster.
"$allot" agent --server "http://127.0.0.1:$port" --token "$join" --name n1 --resources cpu=2,memory=4GiB \
    --data-dir "$work/agent" >"$work/agent.log" 2>&1 &
pids+=($!)
export ALLOT_SERVER="http://127.0.0.1:$port" ALLOT_TOKEN="$admin" HOME="$work"
for _ in $(seq 100); do "$allot" nodes 2>/dev/null | grep -q ready && break; sleep 0.1; done

rate() {
    local label=$1
    shift
    local start end
    start=$(date +%s.%N)
    seq "$count" | xargs -P "$shells" -n $(((count + shells - 1) / shells)) sh -c "$*" _
    end=$(date +%s.%N)
    python3 -c "n=$count; s=$end-$start; print(f'| $label | {n} | {s:.2f} s | {n/s:.0f}/s |')"
}

echo "$(nproc) cores; $count submissions from $shells shells; $(ldd "$allot" 2>/dev/null | wc -l) shared libraries"
echo "| client | submissions | time | rate |"
echo "|---|---|---|---|"
rate "allot submit" 'for i in "$@"; do "'"$allot"'" submit --cpu 1 --memory 1MiB -- sleep 600 >/dev/null || exit 1; done'
if command -v sbatch >/dev/null 2>&1 && sinfo >/dev/null 2>&1; then
    rate "sbatch" 'for i in "$@"; do sbatch --wrap "sleep 600" >/dev/null || exit 1; done'
else
    echo "(sbatch not found or no Slurm cluster: the Slurm side is skipped)"
fi
