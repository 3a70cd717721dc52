#!/usr/bin/env bash
# Real-client checks against a live redis-compatible server.
#
# Usage: .ci/checks/run_checks.sh PATH/TO/SERVER-BINARY [extra server args...]
#   e.g. .ci/checks/run_checks.sh target/release/memora-server
#        .ci/checks/run_checks.sh /usr/bin/redis-server      (reference run)
#
# Starts the server as `BINARY --port PORT --bind 127.0.0.1 [extra args]` on a
# free loopback port (working directory: a fresh temp dir, so any files the
# server writes land there), waits for PONG, then runs
#   (a) redis-cli round trips with exact output comparisons,
#   (b) redis-benchmark (-t set,get,incr,mset, plain and with -P 16),
#   (c) pytest on the test_*.py files in this directory (redis-py).
# Every stage runs even if an earlier one failed; the exit status is non-zero
# if anything failed. The server is stopped by PID on exit.
#
# This script installs nothing: the caller (.ci/run) must provide redis-cli,
# redis-benchmark (Debian: redis-tools) and python3 with `redis` and `pytest`
# (pip install -r .ci/checks/requirements.txt).
set -euo pipefail

CHECKS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ $# -lt 1 ]]; then
    echo "usage: $0 SERVER-BINARY [extra server args...]" >&2
    exit 2
fi
SERVER_ARG="$1"
SERVER_BIN="$1"
shift
EXTRA_ARGS=("$@")

if [[ "$SERVER_BIN" != */* ]]; then
    SERVER_BIN="$(command -v "$SERVER_BIN" || true)"
fi
if [[ -z "$SERVER_BIN" || ! -x "$SERVER_BIN" ]]; then
    echo "run_checks: server binary '$SERVER_ARG' not found or not executable" >&2
    exit 2
fi
SERVER_BIN="$(cd "$(dirname "$SERVER_BIN")" && pwd)/$(basename "$SERVER_BIN")"

# ---------------------------------------------------------------- prerequisites
missing=0
for tool in redis-cli redis-benchmark python3 timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run_checks: '$tool' is not installed (Debian: apt-get install -y redis-tools python3 coreutils)" >&2
        missing=1
    fi
done
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import redis, pytest' >/dev/null 2>&1; then
    echo "run_checks: python3 cannot import 'redis' and 'pytest';" \
         "run: pip install -r $CHECKS_DIR/requirements.txt" >&2
    missing=1
fi
if [[ $missing -ne 0 ]]; then
    exit 2
fi

# ---------------------------------------------------------------- start server
WORKDIR="$(mktemp -d /tmp/memora-checks.XXXXXX)"
SERVER_LOG="$WORKDIR/server.log"
SERVER_PID=""

stop_server() {
    local rc=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "run_checks: server $SERVER_PID did not stop on SIGTERM within 10 s; sending SIGKILL" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORKDIR"
    exit "$rc"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT="$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')"
HOST=127.0.0.1

echo "run_checks: starting $SERVER_BIN on $HOST:$PORT (log: $SERVER_LOG)"
(cd "$WORKDIR" && exec "$SERVER_BIN" --port "$PORT" --bind "$HOST" ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"}) \
    >"$SERVER_LOG" 2>&1 </dev/null &
SERVER_PID=$!

show_log() {
    echo "---- server log (last 50 lines) ----" >&2
    tail -n 50 "$SERVER_LOG" >&2 || true
    echo "------------------------------------" >&2
}

deadline=$((SECONDS + 30))
until [[ "$(timeout 2 redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null || true)" == "PONG" ]]; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "run_checks: server exited before answering PING" >&2
        show_log
        exit 1
    fi
    if (( SECONDS >= deadline )); then
        echo "run_checks: server did not answer PING with PONG within 30 s" >&2
        show_log
        exit 1
    fi
    sleep 0.1
done
echo "run_checks: server is up (pid $SERVER_PID)"

FAILED_STAGES=()

# ---------------------------------------------------------------- (a) redis-cli
CLI_FAILS=0
cli() { timeout 20 redis-cli -h "$HOST" -p "$PORT" "$@" 2>&1; }

# expect NAME EXPECTED CMD...   -- run CMD, compare its whole output exactly
expect() {
    local name="$1" expected="$2"
    shift 2
    local actual
    actual="$("$@" 2>&1)" || true
    if [[ "$actual" == "$expected" ]]; then
        echo "  ok   $name"
    else
        echo "  FAIL $name"
        echo "       expected: $(printf '%q' "$expected")"
        echo "       actual:   $(printf '%q' "$actual")"
        CLI_FAILS=$((CLI_FAILS + 1))
    fi
}

# expect_match NAME ERE CMD...   -- some output line (CR stripped) matches ERE whole
expect_match() {
    local name="$1" regex="$2"
    shift 2
    local actual
    actual="$("$@" 2>&1 | tr -d '\r')" || true
    if grep -Eqx -- "$regex" <<<"$actual"; then
        echo "  ok   $name"
    else
        echo "  FAIL $name"
        echo "       expected a line matching: $regex"
        echo "       actual: $(printf '%q' "$actual")"
        CLI_FAILS=$((CLI_FAILS + 1))
    fi
}

echo "== (a) redis-cli round trips"
expect "flushall"              "OK"  cli flushall
expect "dbsize empty"          "0"   cli dbsize
expect "set"                   "OK"  cli set cli:str "hello world"
expect "get"                   "hello world" cli get cli:str
expect "get missing (raw)"     ""    cli get cli:missing
expect "get missing (no-raw)"  "(nil)" cli --no-raw get cli:missing
expect "incr new"              "1"   cli incr cli:counter
expect "incr again"            "2"   cli incr cli:counter
expect "incrby"                "12"  cli incrby cli:counter 10
expect "incr (no-raw)"         "(integer) 13" cli --no-raw incr cli:counter
expect "incr non-integer"      "ERR value is not an integer or out of range" cli incr cli:str
expect "incr err (no-raw)"     "(error) ERR value is not an integer or out of range" cli --no-raw incr cli:str
expect "expire"                "1"   cli expire cli:str 100
expect_match "ttl"             "(99|100)" cli ttl cli:str
expect "ttl persistent"        "-1"  cli ttl cli:counter
expect "ttl missing"           "-2"  cli ttl cli:missing
expect "del"                   "2"   cli del cli:str cli:counter cli:missing
expect "exists after del"      "0"   cli exists cli:str
expect "set via -x (binary)"   "OK"  bash -c 'printf "line1\nline2\r\n\tend\000\377" | timeout 20 redis-cli -h "$0" -p "$1" -x set cli:bin' "$HOST" "$PORT"
expect "strlen binary"         "19"  cli strlen cli:bin
expect "get binary (no-raw)"   '"line1\nline2\r\n\tend\x00\xff"' cli --no-raw get cli:bin
expect "mset"                  "OK"  cli mset cli:k1 v1 cli:k2 v2
expect "mget array (no-raw)"   $'1) "v1"\n2) (nil)\n3) "v2"' cli --no-raw mget cli:k1 cli:missing cli:k2
expect "mget array (raw)"      $'v1\n\nv2' cli mget cli:k1 cli:missing cli:k2
expect "echo"                  "hi there" cli echo "hi there"
expect "resp3 ping"            "PONG" cli -3 ping
expect_match "resp3 hello 3"   '[0-9]+# "proto" => \(integer\) 3' cli -3 --no-raw hello 3
expect_match "resp3 hello server field" '[0-9]+# "server" => ".+"' cli -3 --no-raw hello 3
expect_match "resp3 get"       '"v1"' cli -3 --no-raw get cli:k1
expect "expire k1"             "1"   cli expire cli:k1 1000
expect_match "info keyspace db0" 'db0:keys=3,expires=1,avg_ttl=[0-9]+.*' cli info keyspace
expect_match "info keyspace header" '# Keyspace' cli info keyspace
expect "flushdb"               "OK"  cli flushdb
expect "dbsize after flush"    "0"   cli dbsize
if [[ $CLI_FAILS -ne 0 ]]; then
    echo "== (a) redis-cli: $CLI_FAILS check(s) FAILED"
    FAILED_STAGES+=("redis-cli")
else
    echo "== (a) redis-cli: all checks ok"
fi

# ---------------------------------------------------------------- (b) redis-benchmark
BENCH_TESTS="set,get,incr,mset"
run_bench() {
    local label="$1"
    shift
    local out rc=0
    echo "-- redis-benchmark $label: $*"
    out="$(timeout 300 redis-benchmark -h "$HOST" -p "$PORT" -q -n 20000 -c 20 -t "$BENCH_TESTS" "$@" 2>&1)" || rc=$?
    # -q prints progress with carriage returns; keep only the final text of each line
    local clean
    clean="$(printf '%s\n' "$out" | tr '\r' '\n' | grep -v '^[[:space:]]*$' | grep -v 'requests per second' || true)"
    local results
    results="$(printf '%s\n' "$out" | tr '\r' '\n' | grep -E '^[A-Z]+( \([0-9]+ keys\))?: .*requests per second' || true)"
    printf '%s\n' "$results" | sed 's/^/   /'
    local ok=1
    if [[ $rc -ne 0 ]]; then
        echo "   FAIL: redis-benchmark exited with status $rc"
        ok=0
    fi
    if printf '%s\n' "$out" | grep -Eq 'ERR|[Ee]rror'; then
        echo "   FAIL: output mentions an error:"
        printf '%s\n' "$out" | tr '\r' '\n' | grep -E 'ERR|[Ee]rror' | sort -u | head -n 10 | sed 's/^/     /'
        ok=0
    fi
    local name
    for name in SET GET INCR MSET; do
        local line rps
        line="$(printf '%s\n' "$results" | grep -E "^${name}( \([0-9]+ keys\))?: " | tail -n 1 || true)"
        if [[ -z "$line" ]]; then
            echo "   FAIL: no result line for $name"
            ok=0
            continue
        fi
        rps="$(sed -E 's/^[^:]+: ([0-9.]+) requests per second.*/\1/' <<<"$line")"
        if ! [[ "$rps" =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! awk -v v="$rps" 'BEGIN { exit !(v > 0) }'; then
            echo "   FAIL: $name reported '$rps' requests per second"
            ok=0
        fi
    done
    if [[ $ok -ne 1 && -n "$clean" ]]; then
        echo "   other output:"
        printf '%s\n' "$clean" | head -n 20 | sed 's/^/     /'
    fi
    return $((1 - ok))
}

echo "== (b) redis-benchmark"
BENCH_OK=1
run_bench "plain" || BENCH_OK=0
run_bench "pipelined" -P 16 || BENCH_OK=0
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "   FAIL: server died during the benchmark"
    BENCH_OK=0
fi
if [[ $BENCH_OK -ne 1 ]]; then
    echo "== (b) redis-benchmark: FAILED"
    FAILED_STAGES+=("redis-benchmark")
else
    echo "== (b) redis-benchmark: ok"
fi
cli flushall >/dev/null || true

# ---------------------------------------------------------------- (c) pytest
echo "== (c) pytest (redis-py)"
PYTEST_RC=0
if kill -0 "$SERVER_PID" 2>/dev/null; then
    (
        cd "$CHECKS_DIR"
        MEMORA_HOST="$HOST" MEMORA_PORT="$PORT" PYTHONDONTWRITEBYTECODE=1 \
            timeout 900 python3 -m pytest -p no:cacheprovider -q -rfE "$CHECKS_DIR"
    ) || PYTEST_RC=$?
else
    echo "   server is not running; pytest skipped"
    PYTEST_RC=1
fi
if [[ $PYTEST_RC -ne 0 ]]; then
    echo "== (c) pytest: FAILED (exit status $PYTEST_RC)"
    FAILED_STAGES+=("pytest")
else
    echo "== (c) pytest: ok"
fi

# ---------------------------------------------------------------- result
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run_checks: the server is no longer running"
    show_log
    FAILED_STAGES+=("server-alive")
fi
if [[ ${#FAILED_STAGES[@]} -ne 0 ]]; then
    echo "run_checks: FAILED stages: ${FAILED_STAGES[*]}"
    show_log
    exit 1
fi
echo "run_checks: all stages ok (redis-cli, redis-benchmark, pytest) against $(basename "$SERVER_BIN")"
