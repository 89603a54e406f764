#!/usr/bin/env bash
# Failover time of replicated servers on PostgreSQL: RUNS times, three `allot server --store` processes on a
# fresh database and one agent; submissions go on through every server (curl, following redirects) while the
# leader is killed with -9. Prints, per run, the seconds from the kill to a new leader's /health, the submissions
# acknowledged (201) and how many of those the new leader does not have (lost); then the median.
#
#   swift build -c release && scripts/bench-failover.sh postgres://USER@127.0.0.1:5432/postgres?sslmode=disable
#   RUNS=10 LEASE=3 scripts/bench-failover.sh URL
set -euo pipefail
cd "$(dirname "$0")/.."
server_url=${1:?usage: scripts/bench-failover.sh postgres://USER[:PASSWORD]@HOST:PORT/DATABASE}
allot=${ALLOT:-$PWD/.build/release/allot}
runs=${RUNS:-10}
lease=${LEASE:-3}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
with_database() {
    python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$server_url" "$1"
}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

printf "%-4s %-10s %-13s %-6s %s\n" RUN FAILOVER_S ACKNOWLEDGED LOST REFUSED
times=()
for run in $(seq "$runs"); do
    database="allot_failover_${run}_$$"
    psql -q "$server_url" -c "DROP DATABASE IF EXISTS $database" -c "CREATE DATABASE $database" >/dev/null
    store=$(with_database "$database")
    dir="$work/$run"
    mkdir -p "$dir"
    ports=() urls=() spids=()
    for index in 0 1 2; do
        port=$(free_port)
        ports+=("$port") urls+=("http://127.0.0.1:$port")
        "$allot" server --store "$store" --port "$port" --advertise "http://127.0.0.1:$port" --lease "$lease" \
            --data-dir "$dir/s$index" --scan-interval 1 --token-rate 0 >"$dir/s$index.log" 2>&1 &
        spids+=($!) pids+=($!)
        [[ $index == 0 ]] && for _ in $(seq 100); do grep -q "agent join token:" "$dir/s0.log" 2>/dev/null && break; sleep 0.1; done
    done
    admin=$(awk '/admin token:/ {print $3}' "$dir/s0.log")
    join=$(awk '/agent join token:/ {print $4}' "$dir/s0.log")
    "$allot" agent --server "$(IFS=,; echo "${urls[*]}")" --token "$join" --name n1 --resources cpu=64,memory=64GiB \
        --data-dir "$dir/agent" >"$dir/agent.log" 2>&1 &
    pids+=($!)
    sleep 2
    # Submissions through every server, one after another, for the whole run.
    (
        i=0
        while true; do
            url=${urls[$((i % 3))]}
            answer=$(curl -s -L --post301 --post302 --post303 --max-time 10 -o - -w ' %{http_code}' \
                -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
                -d '{"command":["true"],"requests":{"cpu":"100m","memory":"16MiB"}}' "$url/v1/jobs" || true)
            code=${answer##* }
            if [[ "$code" == 201 ]]; then
                echo "$answer" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' >>"$dir/acknowledged"
            else
                echo "$code" >>"$dir/refused"
            fi
            i=$((i + 1))
        done
    ) &
    load=$!
    pids+=($load)
    sleep 2
    leader=""
    for index in 0 1 2; do
        curl -s --max-time 1 "${urls[$index]}/health" | grep -q '"role":"leader"' && leader=$index
    done
    killed=$(now)
    kill -9 "${spids[$leader]}"
    new=""
    while [[ -z "$new" ]]; do
        for index in 0 1 2; do
            [[ $index == "$leader" ]] && continue
            curl -s --max-time 0.5 "${urls[$index]}/health" | grep -q '"role":"leader"' && new=$index && break
        done
    done
    elapsed=$(echo "$(now) - $killed" | bc)
    sleep 2
    kill "$load" 2>/dev/null || true
    wait "$load" 2>/dev/null || true
    acknowledged=$(sort -u "$dir/acknowledged" | wc -l)
    lost=0
    for id in $(sort -u "$dir/acknowledged"); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin" "${urls[$new]}/v1/jobs/$id")
        [[ "$code" == 200 ]] || lost=$((lost + 1))
    done
    refused=$(wc -l <"$dir/refused" 2>/dev/null || echo 0)
    printf "%-4s %-10.2f %-13s %-6s %s\n" "$run" "$elapsed" "$acknowledged" "$lost" "$refused"
    times+=("$elapsed")
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    pids=()
    psql -q "$server_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
done
median=$(printf "%s\n" "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}')
echo "median failover: ${median} s over $runs kill -9 runs (lease ${lease} s)"
