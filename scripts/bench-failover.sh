#!/usr/bin/env bash
# Failover time of replicated servers on PostgreSQL: RUNS times, three `allot server --store` processes on a
# fresh database and one agent; submissions go on through every server (curl, following redirects) while the
# leader is killed with -9. Prints, per run, the seconds from the kill to a new leader's /health, the submissions
# acknowledged (201) and how many of those the new leader does not have (lost), and the submissions refused (sent
# to a server that was not answering, or redirected to the dead leader before its lease ran out; tried again 50 ms
# later); then the median.
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
# Processes are started apart from this shell's job control (no "Killed" lines) and their ids kept in files.
spawn() {
    local name=$1 log=$2
    shift 2
    ("$@" >"$log" 2>&1 &
        echo $! >"$work/$name.pid")
}
stop_all() {
    for file in "$work"/*.pid; do
        [[ -e "$file" ]] || continue
        kill -9 "$(cat "$file")" 2>/dev/null || true
        rm -f "$file"
    done
}
cleanup() {
    stop_all
    rm -rf "$work"
}
trap cleanup EXIT

printf "%-4s %-10s %-13s %-6s %s\n" RUN FAILOVER_S ACKNOWLEDGED LOST REFUSED_TRIES
times=()
for run in $(seq "$runs"); do
    database="allot_failover_${run}_$$"
    psql -q "$server_url" -c "DROP DATABASE IF EXISTS $database" -c "CREATE DATABASE $database" >/dev/null 2>&1
    store=$(with_database "$database")
    dir="$work/$run"
    mkdir -p "$dir"
    ports=() urls=()
    for index in 0 1 2; do
        port=$(free_port)
        ports+=("$port") urls+=("http://127.0.0.1:$port")
        spawn "s$index" "$dir/s$index.log" "$allot" server --store "$store" --port "$port" --advertise "http://127.0.0.1:$port" \
            --lease "$lease" --data-dir "$dir/s$index" --scan-interval 1 --token-rate 0 --no-tls
        [[ $index == 0 ]] && for _ in $(seq 100); do grep -q "agent join token:" "$dir/s0.log" 2>/dev/null && break; sleep 0.1; done
    done
    admin=$(awk '/admin token:/ {print $3}' "$dir/s0.log")
    join=$(awk '/agent join token:/ {print $4}' "$dir/s0.log")
    spawn agent "$dir/agent.log" "$allot" agent --server "$(IFS=,; echo "${urls[*]}")" --token "$join" --name n1 \
        --resources cpu=64,memory=64GiB --data-dir "$dir/agent"
    sleep 2
    # Submissions through every server still running, one after another, for the whole run.
    load() {
        i=0
        while true; do
            index=$((i % 3))
            i=$((i + 1))
            [[ -e "$dir/killed-$index" ]] && continue
            url=${urls[$index]}
            answer=$(curl -s -L --post301 --post302 --post303 --max-time 10 -o - -w ' %{http_code}' \
                -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
                -d '{"command":["true"],"requests":{"cpu":"100m","memory":"16MiB"}}' "$url/v1/jobs" || true)
            code=${answer##* }
            if [[ "$code" == 201 ]]; then
                echo "$answer" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' >>"$dir/acknowledged"
            else
                echo "$code" >>"$dir/refused"
                sleep 0.05
            fi
        done
    }
    spawn load /dev/null load
    sleep 2
    leader=""
    for index in 0 1 2; do
        curl -s --max-time 1 "${urls[$index]}/health" | grep -q '"role":"leader"' && leader=$index
    done
    killed=$(now)
    touch "$dir/killed-$leader"
    kill -9 "$(cat "$work/s$leader.pid")"
    new=""
    while [[ -z "$new" ]]; do
        for index in 0 1 2; do
            [[ $index == "$leader" ]] && continue
            curl -s --max-time 0.5 "${urls[$index]}/health" | grep -q '"role":"leader"' && new=$index && break
        done
    done
    elapsed=$(echo "$(now) - $killed" | bc)
    sleep 2
    kill -9 "$(cat "$work/load.pid")"
    rm -f "$work/load.pid"
    acknowledged=$(sort -u "$dir/acknowledged" | wc -l)
    lost=0
    for id in $(sort -u "$dir/acknowledged"); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin" "${urls[$new]}/v1/jobs/$id")
        [[ "$code" == 200 ]] || lost=$((lost + 1))
    done
    refused=$(wc -l <"$dir/refused" 2>/dev/null || echo 0)
    printf "%-4s %-10.2f %-13s %-6s %s\n" "$run" "$elapsed" "$acknowledged" "$lost" "$refused"
    times+=("$elapsed")
    stop_all
    psql -q "$server_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
done
median=$(printf "%s\n" "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}')
echo "median failover: ${median} s over $runs kill -9 runs (lease ${lease} s)"
