#!/usr/bin/env bash
# redis_benchmark_compare.sh: memora-server against Debian's redis-server under redis-benchmark.
#
# Builds memora-server in release, starts both servers on free loopback ports, runs
#   redis-benchmark -h 127.0.0.1 -p PORT -c 50 -d 32 -n N -q -t set,get,incr,mset -P {1,16}
# against each, REPEATS times with the servers' order alternating, and prints the median ops/s
# per test and the memora/redis ratio. Both servers are stopped by PID on exit (trap).
# With --collections it runs the collection commands instead, pipelined only:
#   redis-benchmark ... -c 50 -d 32 -r KEYSPACE -P 16 -t lpush,rpop,sadd,hset
#   redis-benchmark ... -c 50 -d 32 -r KEYSPACE -P 16 ZADD myzset __rand_int__ member:__rand_int__
# (targets: LPUSH, SADD, HSET >= 1.0x redis, ZADD >= 2.0x, RPOP none), FLUSHALL before each.
#
# Usage: benches/scripts/redis_benchmark_compare.sh [--requests N] [--requests-pipelined N]
#            [--repeats N] [--no-build] [--self-test] [--collections [--keyspace N]]
#   --self-test   run redis-server in place of memora-server (validates the script itself)
#   --keyspace    -r for --collections: distinct members/fields (default 100000)
# Environment: CARGO_TARGET_DIR (where memora-server is built; default ROOT/target),
#   MEMORA_SERVER (a prebuilt binary; implies --no-build), REDIS_SERVER, REDIS_BENCHMARK.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
REDIS_SERVER="${REDIS_SERVER:-/usr/bin/redis-server}"
REDIS_BENCHMARK="${REDIS_BENCHMARK:-redis-benchmark}"
MEMORA_SERVER="${MEMORA_SERVER:-}"
REQUESTS=300000
REQUESTS_PIPELINED=2000000
REPEATS=3
CLIENTS=50
DATA_BYTES=32
TESTS="set,get,incr,mset"
REPORT_TESTS=(SET GET INCR MSET)
PIPELINES=(1 16)
BUILD=1
SELF_TEST=0
COLLECTIONS=0
KEYSPACE=100000
ZADD_COMMAND=(ZADD myzset __rand_int__ member:__rand_int__)

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --requests) REQUESTS="$2"; shift 2 ;;
        --requests-pipelined) REQUESTS_PIPELINED="$2"; shift 2 ;;
        --repeats) REPEATS="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --self-test) SELF_TEST=1; BUILD=0; shift ;;
        --collections) COLLECTIONS=1; shift ;;
        --keyspace) KEYSPACE="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

if [[ "$COLLECTIONS" -eq 1 ]]; then
    TESTS="lpush,rpop,sadd,hset"
    REPORT_TESTS=(LPUSH RPOP SADD HSET ZADD)
    PIPELINES=(16)
fi

# The memora/redis ratio test $1 should reach, or "-" for none.
target_ratio() {
    if [[ "$COLLECTIONS" -eq 0 ]]; then echo 1.0; return; fi
    case "$1" in
        LPUSH | SADD | HSET) echo 1.0 ;;
        ZADD) echo 2.0 ;;
        *) echo - ;;
    esac
}

WORK="$(mktemp -d -t memora-rb.XXXXXX)"
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port nothing listens on (distinct from the ones already handed out).
USED_PORTS=" "
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 30000))
        [[ "$USED_PORTS" == *" $port "* ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            USED_PORTS+="$port "
            echo "$port"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# Does the server on port $1 answer PING with +PONG? (In a subshell, so the probe's file
# descriptor and error output never touch the script's own.)
ping_port() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'PING\r\n' >&3
        read -r -t 1 reply <&3 || exit 1
        [[ "$reply" == "+PONG"* ]]
    ) 2>/dev/null
}

# Sends FLUSHALL to the server on port $1; fails unless it answers +OK.
flush_port() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'FLUSHALL\r\n' >&3
        read -r -t 5 reply <&3 || exit 1
        [[ "$reply" == "+OK"* ]]
    ) 2>/dev/null
}

# Waits until the server on $2 (PID $1) answers PING, for up to 10 s.
wait_ready() {
    local pid="$1" port="$2"
    for _ in $(seq 1 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "server (pid $pid, port $port) exited early; its log:" >&2
            cat "$WORK/server-$port.log" >&2 || true
            return 1
        fi
        ping_port "$port" && return 0
        sleep 0.1
    done
    echo "server on port $port did not answer PING in 10 s" >&2
    return 1
}

# Starts "$@" with its working directory in $WORK (so a stray dump file lands there);
# records the PID in PIDS and in the variable named by $1.
start_server() {
    local var="$1" port="$2"
    shift 2
    (cd "$WORK" && exec "$@") >"$WORK/server-$port.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    printf -v "$var" '%s' "$pid"
    wait_ready "$pid" "$port"
}

if [[ -z "$MEMORA_SERVER" && "$SELF_TEST" -eq 0 ]]; then
    if [[ "$BUILD" -eq 1 ]]; then
        echo "building memora-server (release, target dir $TARGET_DIR)" >&2
        (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -p memora-server) >&2
    fi
    MEMORA_SERVER="$TARGET_DIR/release/memora-server"
fi

REDIS_PORT="$(free_port)"
MEMORA_PORT="$(free_port)"
REDIS_PID=""
MEMORA_PID=""
start_server REDIS_PID "$REDIS_PORT" "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no
if [[ "$SELF_TEST" -eq 1 ]]; then
    echo "self-test: redis-server stands in for memora-server" >&2
    start_server MEMORA_PID "$MEMORA_PORT" "$REDIS_SERVER" --port "$MEMORA_PORT" --bind 127.0.0.1 --save '' --appendonly no
else
    [[ -x "$MEMORA_SERVER" ]] || { echo "no memora-server binary at $MEMORA_SERVER" >&2; exit 1; }
    start_server MEMORA_PID "$MEMORA_PORT" "$MEMORA_SERVER" --port "$MEMORA_PORT" --bind 127.0.0.1
fi
echo "redis-server pid $REDIS_PID port $REDIS_PORT; memora pid $MEMORA_PID port $MEMORA_PORT" >&2

mkdir -p "$WORK/results"

# Runs redis-benchmark against $2 (named $1) with pipeline $3 and the test selection in the
# remaining arguments; appends "ops/s" per test to $WORK/results/NAME.P.TEST.
bench_once() {
    local name="$1" port="$2" pipeline="$3" requests="$REQUESTS" line test rps
    shift 3
    [[ "$pipeline" -gt 1 ]] && requests="$REQUESTS_PIPELINED"
    local random=()
    [[ "$COLLECTIONS" -eq 1 ]] && random=(-r "$KEYSPACE")
    "$REDIS_BENCHMARK" -h 127.0.0.1 -p "$port" -c "$CLIENTS" -d "$DATA_BYTES" -n "$requests" -q \
        "${random[@]}" -P "$pipeline" "$@" </dev/null 2>&1 | tr '\r' '\n' | grep 'requests per second' \
        >"$WORK/last.txt" || true
    if [[ ! -s "$WORK/last.txt" ]]; then
        echo "redis-benchmark printed no result for $name -P $pipeline $*" >&2
        return 1
    fi
    while IFS= read -r line; do
        test="${line%%[ :]*}"
        rps="$(sed -E 's/.*: ([0-9.]+) requests per second.*/\1/' <<<"$line")"
        echo "$rps" >>"$WORK/results/$name.$pipeline.$test"
        printf '  %-6s -P %-2s %-5s %12s ops/s\n' "$name" "$pipeline" "$test" "$rps" >&2
    done <"$WORK/last.txt"
}

# Runs every test of the selection against $2 (named $1) with pipeline $3.
run_benchmark() {
    local name="$1" port="$2" pipeline="$3"
    if [[ "$COLLECTIONS" -eq 1 ]]; then
        flush_port "$port" || { echo "FLUSHALL failed on $name" >&2; return 1; }
    fi
    bench_once "$name" "$port" "$pipeline" -t "$TESTS"
    if [[ "$COLLECTIONS" -eq 1 ]]; then
        bench_once "$name" "$port" "$pipeline" "${ZADD_COMMAND[@]}"
    fi
}

for repeat in $(seq 1 "$REPEATS"); do
    if ((repeat % 2 == 1)); then order=(redis memora); else order=(memora redis); fi
    echo "repeat $repeat/$REPEATS (order: ${order[*]})" >&2
    for pipeline in "${PIPELINES[@]}"; do
        for name in "${order[@]}"; do
            if [[ "$name" == redis ]]; then port="$REDIS_PORT"; else port="$MEMORA_PORT"; fi
            run_benchmark "$name" "$port" "$pipeline"
        done
    done
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

echo
if [[ "$COLLECTIONS" -eq 1 ]]; then
    echo "redis-benchmark -c $CLIENTS -d $DATA_BYTES -r $KEYSPACE -n $REQUESTS_PIPELINED, median of $REPEATS (ops/s)"
    echo "ZADD is: ${ZADD_COMMAND[*]}"
else
    echo "redis-benchmark -c $CLIENTS -d $DATA_BYTES, median of $REPEATS (ops/s; -n $REQUESTS at -P 1, $REQUESTS_PIPELINED pipelined)"
fi
[[ "$SELF_TEST" -eq 1 ]] && echo "SELF-TEST: both sides are redis-server"
printf '%-6s %4s %14s %14s %13s  %s\n' test P redis-server memora-server memora/redis target
for pipeline in "${PIPELINES[@]}"; do
    for test in "${REPORT_TESTS[@]}"; do
        redis_file="$WORK/results/redis.$pipeline.$test"
        memora_file="$WORK/results/memora.$pipeline.$test"
        [[ -s "$redis_file" && -s "$memora_file" ]] || continue
        r="$(median "$redis_file")"
        m="$(median "$memora_file")"
        ratio="$(awk -v m="$m" -v r="$r" 'BEGIN { printf "%.2fx", (r > 0 ? m / r : 0) }')"
        target="$(target_ratio "$test")"
        if [[ "$target" == - ]]; then
            verdict="-"
        else
            verdict=">= ${target}x $(awk -v m="$m" -v r="$r" -v t="$target" \
                'BEGIN { print (m >= t * r ? "PASS" : "MISS") }')"
        fi
        printf '%-6s %4s %14.0f %14.0f %12s  %s\n' "$test" "$pipeline" "$r" "$m" "$ratio" "$verdict"
    done
done
