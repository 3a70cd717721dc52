#!/usr/bin/env bash
# Compares memora-server with redis-server under redis-benchmark: GET and SET, 50 clients,
# 32-byte values, pipeline depth 1 and 16, interleaved rounds, median requests per second.
#
#   server/bench/vs-redis.sh [rounds]      (default 5; needs redis-server and redis-benchmark)
#
# Environment: MEMORA_ARGS (extra memora-server flags), REQUESTS_P1 / REQUESTS_P16.
# On a busy machine the numbers swing widely; run it when the machine is otherwise idle.
set -euo pipefail

rounds=${1:-5}
requests_p1=${REQUESTS_P1:-200000}
requests_p16=${REQUESTS_P16:-1000000}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

cargo build --release -p memora-server --manifest-path "$root/Cargo.toml" >&2
memora="$target/release/memora-server"

redis_port=$((20000 + RANDOM % 10000))
memora_port=$((redis_port + 1))
redis-server --port "$redis_port" --save "" --appendonly no --daemonize no >/dev/null &
redis_pid=$!
# shellcheck disable=SC2086
"$memora" --port "$memora_port" ${MEMORA_ARGS:-} >/dev/null &
memora_pid=$!
trap 'kill "$redis_pid" "$memora_pid" 2>/dev/null || true' EXIT
for port in "$redis_port" "$memora_port"; do
  for _ in $(seq 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.05; done
done

results=$(mktemp)
for _ in $(seq "$rounds"); do
  for pipeline in 1 16; do
    requests=$requests_p1
    [ "$pipeline" = 16 ] && requests=$requests_p16
    for test in set get; do
      for server in redis memora; do
        port=$redis_port
        [ "$server" = memora ] && port=$memora_port
        rps=$(redis-benchmark -p "$port" -c 50 -d 32 -n "$requests" -P "$pipeline" -t "$test" --csv \
          | tail -1 | cut -d, -f2 | tr -d '"')
        echo "P$pipeline $test $server $rps" >>"$results"
      done
    done
  done
done

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
for pipeline in 1 16; do
  for test in SET GET; do
    lower=$(echo "$test" | tr 'A-Z' 'a-z')
    redis=$(awk -v k="P$pipeline" -v t="$lower" '$1==k && $2==t && $3=="redis" {print $4}' "$results" | median)
    memora=$(awk -v k="P$pipeline" -v t="$lower" '$1==k && $2==t && $3=="memora" {print $4}' "$results" | median)
    awk -v p="P$pipeline" -v t="$test" -v r="$redis" -v m="$memora" \
      'BEGIN {printf "%-4s %s  redis %10.0f  memora %10.0f  ratio %.2fx\n", p, t, r, m, m / r}'
  done
done
rm -f "$results"
