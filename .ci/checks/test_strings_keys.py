"""Real-client checks for strings, keys and server commands.

Runs redis-py against a live server at $MEMORA_HOST (default 127.0.0.1) and
$MEMORA_PORT (required).  Every assertion here was validated against the real
redis-server 7.0.15 (Debian 12), so a failure against memora-server means the
server deviates from Redis behaviour.

Error messages: redis-py strips the leading "ERR " from error replies, so
`expect_error(..., "syntax error")` matches the wire reply "-ERR syntax error".
Error replies with another code (e.g. "NOPROTO ...") keep their code.

Where Redis 7.0 differs from newer Redis (7.2 / 7.4 / 8.x) in a way memora might
reasonably follow the newer behaviour, the detail is deliberately NOT asserted;
those places are marked "VERSION NOTE".

Collection families (sets, hashes, sorted sets, lists, SORT) have their own checks at the end.
"""

import os
import re
import time

import pytest
import redis

HOST = os.environ.get("MEMORA_HOST", "127.0.0.1")
PORT_ENV = os.environ.get("MEMORA_PORT")

# Databases used by the suite. Both are flushed before every test.
DB = 9
OTHER_DB = 10


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def port():
    if not PORT_ENV:
        pytest.exit("MEMORA_PORT must be set to the port of the server under test", returncode=2)
    return int(PORT_ENV)


def make_client(port, db=DB, decode=True, **kw):
    return redis.Redis(
        host=HOST,
        port=port,
        db=db,
        decode_responses=decode,
        socket_timeout=10,
        single_connection_client=True,
        **kw,
    )


@pytest.fixture
def r(port):
    """Text client on DB, with DB and OTHER_DB flushed at start."""
    c = make_client(port)
    c.execute_command("SELECT", OTHER_DB)
    c.flushdb()
    c.execute_command("SELECT", DB)
    c.flushdb()
    yield c
    c.close()


@pytest.fixture
def rb(port, r):
    """Binary (bytes) client on DB; depends on r so the DBs are flushed."""
    c = make_client(port, decode=False)
    yield c
    c.close()


@pytest.fixture
def r_other(port, r):
    """Text client on OTHER_DB."""
    c = make_client(port, db=OTHER_DB)
    yield c
    c.close()


@pytest.fixture
def k(request):
    """Key maker with a per-test prefix: k("a") -> "test_name:a"."""
    prefix = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)

    def mk(name=""):
        return f"{prefix}:{name}"

    mk.prefix = prefix
    return mk


def expect_error(fn, *args, message):
    """Call fn(*args) and assert it raises ResponseError with exactly `message`."""
    with pytest.raises(redis.ResponseError) as ei:
        fn(*args)
    assert str(ei.value) == message


def raw(client, *args):
    """Send a command and return the reply without redis-py response callbacks."""
    conn = client.connection
    conn.send_command(*args)
    reply = conn.read_response()
    if isinstance(reply, redis.ResponseError):
        raise reply
    return reply


def incr(client, key):
    """INCR itself (redis-py's Redis.incr() sends INCRBY key 1)."""
    return client.execute_command("INCR", key)


def decr(client, key):
    """DECR itself (redis-py's Redis.decr() sends DECRBY key 1)."""
    return client.execute_command("DECR", key)


def now_ms():
    return int(time.time() * 1000)


# --------------------------------------------------------------------------
# strings: SET / GET and options
# --------------------------------------------------------------------------


def test_set_get_basic(r, k):
    assert r.get(k("missing")) is None
    assert r.set(k("a"), "hello") is True
    assert r.get(k("a")) == "hello"
    assert r.set(k("a"), "world") is True
    assert r.get(k("a")) == "world"
    assert r.execute_command("SET", k("e"), "") is True
    assert r.get(k("e")) == ""
    assert r.strlen(k("e")) == 0
    assert r.exists(k("e")) == 1


def test_set_ex_px(r, k):
    assert r.set(k("ex"), "v", ex=100) is True
    assert 98 <= r.ttl(k("ex")) <= 100
    assert r.set(k("px"), "v", px=100000) is True
    assert 98000 <= r.pttl(k("px")) <= 100000
    # plain SET clears the TTL
    assert r.set(k("ex"), "v2") is True
    assert r.ttl(k("ex")) == -1


def test_set_exat_pxat(r, k):
    at = int(time.time()) + 1000
    assert r.set(k("exat"), "v", exat=at) is True
    assert r.expiretime(k("exat")) == at
    assert 998 <= r.ttl(k("exat")) <= 1000
    atms = now_ms() + 500000
    assert r.set(k("pxat"), "v", pxat=atms) is True
    assert r.pexpiretime(k("pxat")) == atms
    # Redis rounds ms to the nearest second here; accept floor/ceil as well.
    assert r.expiretime(k("pxat")) in {atms // 1000, (atms + 500) // 1000, (atms + 999) // 1000}


def test_set_invalid_expire(r, k):
    for opt in ("EX", "PX", "EXAT", "PXAT"):
        expect_error(r.execute_command, "SET", k("a"), "v", opt, "0",
                     message="invalid expire time in 'set' command")
        expect_error(r.execute_command, "SET", k("a"), "v", opt, "-5",
                     message="invalid expire time in 'set' command")
        expect_error(r.execute_command, "SET", k("a"), "v", opt, "abc",
                     message="value is not an integer or out of range")
    expect_error(r.execute_command, "SET", k("a"), "v", "PX", "9223372036854775807",
                 message="invalid expire time in 'set' command")
    assert r.exists(k("a")) == 0


def test_set_nx_xx(r, k):
    assert r.set(k("a"), "1", xx=True) is None
    assert r.exists(k("a")) == 0
    assert r.set(k("a"), "1", nx=True) is True
    assert r.set(k("a"), "2", nx=True) is None
    assert r.get(k("a")) == "1"
    assert r.set(k("a"), "3", xx=True) is True
    assert r.get(k("a")) == "3"


def test_set_keepttl(r, k):
    r.set(k("a"), "1", ex=1000)
    assert r.set(k("a"), "2", keepttl=True) is True
    assert r.get(k("a")) == "2"
    assert 998 <= r.ttl(k("a")) <= 1000
    # KEEPTTL on a persistent key keeps it persistent
    r.set(k("b"), "1")
    r.set(k("b"), "2", keepttl=True)
    assert r.ttl(k("b")) == -1


def test_set_get_option(r, k):
    assert r.set(k("a"), "1", get=True) is None
    assert r.get(k("a")) == "1"
    assert r.set(k("a"), "2", get=True) == "1"
    assert r.get(k("a")) == "2"
    # NX + GET (allowed since 7.0): returns old value and does not set
    assert raw(r, "SET", k("a"), "3", "NX", "GET") == "2"
    assert r.get(k("a")) == "2"
    assert raw(r, "SET", k("n"), "x", "NX", "GET") is None
    assert r.get(k("n")) == "x"
    # XX + GET on missing key: nil, nothing set
    assert raw(r, "SET", k("m"), "x", "XX", "GET") is None
    assert r.exists(k("m")) == 0


def test_set_syntax_errors(r, k):
    for args in (
        ("NX", "XX"),
        ("EX", "10", "PX", "100"),
        ("KEEPTTL", "EX", "10"),
        ("EX", "10", "EXAT", "99999999999"),
        ("FOO",),
        ("EX",),
    ):
        expect_error(r.execute_command, "SET", k("a"), "v", *args, message="syntax error")
    expect_error(r.execute_command, "SET", k("a"),
                 message="wrong number of arguments for 'set' command")
    assert r.exists(k("a")) == 0


def test_setnx_setex_psetex(r, k):
    assert r.setnx(k("a"), "1") is True
    assert r.setnx(k("a"), "2") is False
    assert r.get(k("a")) == "1"
    assert r.setex(k("b"), 100, "v") is True
    assert r.get(k("b")) == "v"
    assert 98 <= r.ttl(k("b")) <= 100
    assert r.psetex(k("c"), 100000, "v") is True
    assert r.get(k("c")) == "v"
    assert 98000 <= r.pttl(k("c")) <= 100000
    expect_error(r.execute_command, "SETEX", k("d"), "0", "v",
                 message="invalid expire time in 'setex' command")
    expect_error(r.execute_command, "PSETEX", k("d"), "-1", "v",
                 message="invalid expire time in 'psetex' command")
    expect_error(r.execute_command, "SETEX", k("d"), "x", "v",
                 message="value is not an integer or out of range")
    assert r.exists(k("d")) == 0


def test_getset_getdel(r, k):
    assert r.getset(k("a"), "1") is None
    assert r.getset(k("a"), "2") == "1"
    assert r.get(k("a")) == "2"
    r.expire(k("a"), 100)
    assert r.getset(k("a"), "3") == "2"
    assert r.ttl(k("a")) == -1  # GETSET discards the TTL
    assert r.getdel(k("a")) == "3"
    assert r.exists(k("a")) == 0
    assert r.getdel(k("a")) is None
    expect_error(r.execute_command, "GETSET", k("a"),
                 message="wrong number of arguments for 'getset' command")


def test_getex(r, k):
    assert r.getex(k("missing"), ex=10) is None
    assert r.exists(k("missing")) == 0
    r.set(k("a"), "v")
    assert r.getex(k("a")) == "v"
    assert r.ttl(k("a")) == -1
    assert r.getex(k("a"), ex=100) == "v"
    assert 98 <= r.ttl(k("a")) <= 100
    assert r.getex(k("a"), px=200000) == "v"
    assert 198000 <= r.pttl(k("a")) <= 200000
    at = int(time.time()) + 3000
    assert r.getex(k("a"), exat=at) == "v"
    assert r.expiretime(k("a")) == at
    atms = now_ms() + 4000000
    assert r.getex(k("a"), pxat=atms) == "v"
    assert r.pexpiretime(k("a")) == atms
    assert r.getex(k("a"), persist=True) == "v"
    assert r.ttl(k("a")) == -1
    expect_error(r.execute_command, "GETEX", k("a"), "EX", "0",
                 message="invalid expire time in 'getex' command")
    expect_error(r.execute_command, "GETEX", k("a"), "PX", "-10",
                 message="invalid expire time in 'getex' command")
    expect_error(r.execute_command, "GETEX", k("a"), "PERSIST", "EX", "10",
                 message="syntax error")
    expect_error(r.execute_command, "GETEX", k("a"), "EX", "10", "PX", "10",
                 message="syntax error")
    expect_error(r.execute_command, "GETEX", k("a"), "FOO",
                 message="syntax error")
    assert r.ttl(k("a")) == -1


def test_mget_mset_msetnx(r, k):
    assert r.mset({k("a"): "1", k("b"): "2"}) is True
    assert r.mget(k("a"), k("missing"), k("b"), k("a")) == ["1", None, "2", "1"]
    # later duplicates win
    assert r.execute_command("MSET", k("c"), "x", k("c"), "y") is True
    assert r.get(k("c")) == "y"
    # MSETNX: all or nothing
    assert r.msetnx({k("d"): "1", k("a"): "new"}) is False
    assert r.exists(k("d")) == 0
    assert r.get(k("a")) == "1"
    assert r.msetnx({k("d"): "1", k("e"): "2"}) is True
    assert r.mget(k("d"), k("e")) == ["1", "2"]
    expect_error(r.execute_command, "MSET", k("a"),
                 message="wrong number of arguments for 'mset' command")
    expect_error(r.execute_command, "MSET", k("a"), "1", k("b"),
                 message="wrong number of arguments for 'mset' command")
    expect_error(r.execute_command, "MSETNX", k("a"), "1", k("b"),
                 message="wrong number of arguments for 'msetnx' command")
    expect_error(r.execute_command, "MGET",
                 message="wrong number of arguments for 'mget' command")


def test_append_strlen(r, k):
    assert r.strlen(k("a")) == 0
    assert r.append(k("a"), "Hello") == 5
    assert r.append(k("a"), " World") == 11
    assert r.get(k("a")) == "Hello World"
    assert r.strlen(k("a")) == 11
    # APPEND to an integer-looking value
    r.set(k("n"), 12)
    assert r.append(k("n"), "34") == 4
    assert r.get(k("n")) == "1234"
    assert incr(r, k("n")) == 1235
    # APPEND keeps the TTL
    r.set(k("t"), "x", ex=100)
    r.append(k("t"), "y")
    assert 98 <= r.ttl(k("t")) <= 100
    # STRLEN counts bytes, not characters
    r.set(k("u"), "héllo")
    assert r.strlen(k("u")) == 6


# --------------------------------------------------------------------------
# strings: counters
# --------------------------------------------------------------------------


def test_incr_decr(r, k):
    assert incr(r, k("a")) == 1
    assert incr(r, k("a")) == 2
    assert r.incrby(k("a"), 10) == 12
    assert decr(r, k("a")) == 11
    assert r.decrby(k("a"), 20) == -9
    assert r.incrby(k("a"), -1) == -10
    assert r.get(k("a")) == "-10"
    assert decr(r, k("b")) == -1
    assert r.decrby(k("c"), 5) == -5
    assert r.incrby(k("c"), 0) == -5
    assert r.get(k("c")) == "-5"
    r.set(k("z"), "-0")
    expect_error(incr, r, k("z"), message="value is not an integer or out of range")
    r.set(k("l"), "007")
    expect_error(incr, r, k("l"), message="value is not an integer or out of range")
    # INCR keeps the TTL
    r.set(k("t"), 5, ex=100)
    assert incr(r, k("t")) == 6
    assert decr(r, k("t")) == 5
    assert 98 <= r.ttl(k("t")) <= 100
    expect_error(r.execute_command, "INCR",
                 message="wrong number of arguments for 'incr' command")


@pytest.mark.parametrize("bad", ["abc", "1.5", "", " 1", "1 ", "9223372036854775808",
                                 "-9223372036854775809", "0x10", "1e3"])
def test_incr_non_integer_value(r, k, bad):
    r.set(k("a"), bad)
    for fn, args in ((lambda key: incr(r, key), ()), (lambda key: decr(r, key), ()),
                     (r.incrby, (2,)), (r.decrby, (2,))):
        expect_error(fn, k("a"), *args, message="value is not an integer or out of range")
    assert r.get(k("a")) == bad


def test_incrby_non_integer_argument(r, k):
    for bad in ("abc", "1.5", "", "9223372036854775808"):
        expect_error(r.execute_command, "INCRBY", k("a"), bad,
                     message="value is not an integer or out of range")
        expect_error(r.execute_command, "DECRBY", k("a"), bad,
                     message="value is not an integer or out of range")
    assert r.exists(k("a")) == 0


def test_incr_overflow(r, k):
    r.set(k("max"), "9223372036854775807")
    expect_error(incr, r, k("max"), message="increment or decrement would overflow")
    expect_error(r.incrby, k("max"), 1, message="increment or decrement would overflow")
    expect_error(r.decrby, k("max"), -1, message="increment or decrement would overflow")
    assert r.get(k("max")) == "9223372036854775807"
    assert decr(r, k("max")) == 9223372036854775806
    r.set(k("min"), "-9223372036854775808")
    expect_error(decr, r, k("min"), message="increment or decrement would overflow")
    expect_error(r.incrby, k("min"), -1, message="increment or decrement would overflow")
    assert r.get(k("min")) == "-9223372036854775808"
    assert incr(r, k("min")) == -9223372036854775807
    r.set(k("z"), "0")
    assert r.incrby(k("z"), -9223372036854775808) == -9223372036854775808
    # DECRBY LLONG_MIN cannot be negated; Redis 7.0 says "decrement would overflow"
    expect_error(r.execute_command, "DECRBY", k("z"), "-9223372036854775808",
                 message="decrement would overflow")


def test_incrbyfloat(r, k):
    r.set(k("a"), "10.50")
    assert r.incrbyfloat(k("a"), 0.1) == 10.6
    assert r.get(k("a")) == "10.6"
    assert r.incrbyfloat(k("a"), -5) == 5.6
    assert r.get(k("a")) == "5.6"
    r.set(k("b"), "5.0e3")
    assert raw(r, "INCRBYFLOAT", k("b"), "2.0e2") == "5200"
    assert r.get(k("b")) == "5200"
    assert r.incrbyfloat(k("c"), 3) == 3.0
    assert r.get(k("c")) == "3"
    r.set(k("d"), "1")
    assert r.incrbyfloat(k("d"), 1.5) == 2.5
    assert r.get(k("d")) == "2.5"
    r.set(k("e"), "abc")
    expect_error(r.incrbyfloat, k("e"), 1, message="value is not a valid float")
    expect_error(r.execute_command, "INCRBYFLOAT", k("d"), "abc",
                 message="value is not a valid float")
    expect_error(r.execute_command, "INCRBYFLOAT", k("d"), "inf",
                 message="increment would produce NaN or Infinity")
    assert r.get(k("d")) == "2.5"
    # VERSION NOTE: 1e308 + 1e308 is NOT asserted: Redis uses long double and
    # prints a 309-digit number; an f64 implementation reports
    # "increment would produce NaN or Infinity". Both are defensible.


# --------------------------------------------------------------------------
# strings: ranges and LCS
# --------------------------------------------------------------------------


def test_getrange_substr(r, k):
    r.set(k("a"), "This is a string")
    assert r.getrange(k("a"), 0, 3) == "This"
    assert r.getrange(k("a"), -3, -1) == "ing"
    assert r.getrange(k("a"), 0, -1) == "This is a string"
    assert r.getrange(k("a"), 10, 100) == "string"
    assert r.getrange(k("a"), -100, 3) == "This"
    assert r.getrange(k("a"), -100, -1) == "This is a string"
    assert r.getrange(k("a"), 5, 3) == ""
    assert r.getrange(k("a"), -1, -5) == ""
    assert r.getrange(k("a"), 100, 200) == ""
    assert r.getrange(k("missing"), 0, -1) == ""
    assert r.substr(k("a"), 0, 3) == "This"
    assert r.substr(k("a"), -6, -1) == "string"
    expect_error(r.execute_command, "GETRANGE", k("a"), "x", "1",
                 message="value is not an integer or out of range")
    # VERSION NOTE: GETRANGE with a negative end that falls before the start of
    # the string (e.g. GETRANGE key 0 -100 on a 16-byte value) returns the
    # first byte in Redis 7.0 but "" in Redis 8.0; not asserted.


def test_setrange(r, k):
    r.set(k("a"), "Hello World")
    assert r.setrange(k("a"), 6, "Redis") == 11
    assert r.get(k("a")) == "Hello Redis"
    assert r.setrange(k("a"), 11, "!!") == 13
    assert r.get(k("a")) == "Hello Redis!!"
    # empty value on missing key: no key created
    assert r.setrange(k("e"), 5, "") == 0
    assert r.exists(k("e")) == 0
    # empty value on existing key: length returned, untouched
    assert r.setrange(k("a"), 100, "") == 13
    assert r.get(k("a")) == "Hello Redis!!"
    expect_error(r.execute_command, "SETRANGE", k("a"), "-1", "x",
                 message="offset is out of range")
    expect_error(r.execute_command, "SETRANGE", k("a"), "536870912", "x",
                 message="string exceeds maximum allowed size (proto-max-bulk-len)")


def test_setrange_zero_padding(rb, k):
    key = k("p").encode()
    assert rb.setrange(key, 6, b"Redis") == 11
    assert rb.get(key) == b"\x00" * 6 + b"Redis"
    assert rb.setrange(key, 13, b"x") == 14
    assert rb.get(key) == b"\x00" * 6 + b"Redis\x00\x00x"
    assert rb.strlen(key) == 14


def test_lcs(r, k):
    a, b = k("k1"), k("k2")
    r.mset({a: "ohmytext", b: "mynewtext"})
    assert r.execute_command("LCS", a, b) == "mytext"
    assert r.execute_command("LCS", a, b, "LEN") == 6
    assert r.execute_command("LCS", a, k("missing")) == ""
    assert r.execute_command("LCS", k("m1"), k("m2"), "LEN") == 0
    idx = raw(r, "LCS", a, b, "IDX")
    assert idx == ["matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], "len", 6]
    idx = raw(r, "LCS", a, b, "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")
    assert idx == ["matches", [[[4, 7], [5, 8], 4]], "len", 6]
    idx = raw(r, "LCS", a, b, "IDX", "WITHMATCHLEN")
    assert idx == ["matches", [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], "len", 6]
    expect_error(r.execute_command, "LCS", a, b, "LEN", "IDX",
                 message="If you want both the length and indexes, please just use IDX.")
    expect_error(r.execute_command, "LCS", a, b, "FOO", message="syntax error")


# --------------------------------------------------------------------------
# binary safety
# --------------------------------------------------------------------------


BIN_KEY = b"bin\r\n\x00key\xff"
BIN_VAL = b"\x00\r\nvalue\r\n\x00\xfe\xff"


def test_binary_safe_keys_values(rb, k):
    key = k().encode() + BIN_KEY
    assert rb.set(key, BIN_VAL) is True
    assert rb.get(key) == BIN_VAL
    assert rb.strlen(key) == len(BIN_VAL)
    assert rb.exists(key) == 1
    assert rb.exists(k().encode() + b"bin\r\n") == 0
    assert rb.append(key, b"\r\n\x00") == len(BIN_VAL) + 3
    assert rb.get(key) == BIN_VAL + b"\r\n\x00"
    assert rb.getrange(key, 0, 2) == b"\x00\r\n"
    assert rb.keys(k().encode() + b"*") == [key]
    key2 = k().encode() + b"\x00"
    assert rb.mset({key2: b"\r\n", key: b"\x00"}) is True
    assert rb.mget(key, key2) == [b"\x00", b"\r\n"]
    assert rb.echo(BIN_VAL) == BIN_VAL
    assert rb.rename(key, key + b"\x00") is True
    assert rb.get(key + b"\x00") == b"\x00"
    assert rb.delete(key + b"\x00", key2) == 2
    # a large value
    big = bytes(range(256)) * 4096  # 1 MiB
    assert rb.set(key, big) is True
    assert rb.get(key) == big
    assert rb.strlen(key) == len(big)


# --------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------


def test_del_unlink_exists(r, k):
    r.mset({k("a"): 1, k("b"): 2, k("c"): 3})
    assert r.exists(k("a"), k("a"), k("a")) == 3
    assert r.exists(k("a"), k("b"), k("missing"), k("a")) == 3
    assert r.delete(k("a"), k("missing"), k("a")) == 1
    assert r.exists(k("a")) == 0
    assert r.unlink(k("b"), k("c"), k("missing")) == 2
    assert r.exists(k("b"), k("c")) == 0
    assert r.delete(k("missing")) == 0
    expect_error(r.execute_command, "DEL",
                 message="wrong number of arguments for 'del' command")


def test_type(r, k):
    r.set(k("a"), "v")
    r.set(k("n"), 5)
    assert r.type(k("a")) == "string"
    assert r.type(k("n")) == "string"
    assert r.type(k("missing")) == "none"


def test_expire_family(r, k):
    r.set(k("a"), "v")
    assert r.expire(k("a"), 100) is True
    assert 98 <= r.ttl(k("a")) <= 100
    assert r.pexpire(k("a"), 200000) is True
    assert 198000 <= r.pttl(k("a")) <= 200000
    at = int(time.time()) + 5000
    assert r.expireat(k("a"), at) is True
    assert r.expiretime(k("a")) == at
    atms = now_ms() + 6000000
    assert r.pexpireat(k("a"), atms) is True
    assert r.pexpiretime(k("a")) == atms
    assert r.expiretime(k("a")) in {atms // 1000, (atms + 500) // 1000, (atms + 999) // 1000}
    assert r.expire(k("missing"), 100) is False
    assert r.pexpire(k("missing"), 100) is False
    assert r.expireat(k("missing"), at) is False
    assert r.pexpireat(k("missing"), atms) is False
    expect_error(r.execute_command, "EXPIRE", k("a"), "abc",
                 message="value is not an integer or out of range")
    expect_error(r.execute_command, "EXPIRE", k("a"), "9223372036854775807",
                 message="invalid expire time in 'expire' command")
    expect_error(r.execute_command, "PEXPIRE", k("a"), "9223372036854775807",
                 message="invalid expire time in 'pexpire' command")
    expect_error(r.execute_command, "EXPIRE", k("a"), "10", "FOO",
                 message="Unsupported option FOO")


def test_expire_in_past_deletes(r, k):
    r.mset({k("a"): 1, k("b"): 2, k("c"): 3, k("d"): 4})
    assert r.expire(k("a"), -1) is True
    assert r.pexpire(k("b"), 0) is True
    assert r.expireat(k("c"), 1) is True
    assert r.pexpireat(k("d"), 1000) is True
    assert r.exists(k("a"), k("b"), k("c"), k("d")) == 0
    assert r.get(k("a")) is None


def test_expire_nx_xx_gt_lt(r, k):
    r.set(k("a"), "v")
    # persistent key: XX fails, GT fails (no TTL == infinite), LT succeeds
    assert r.expire(k("a"), 100, xx=True) is False
    assert r.expire(k("a"), 100, gt=True) is False
    assert r.ttl(k("a")) == -1
    assert r.expire(k("a"), 100, nx=True) is True
    assert r.expire(k("a"), 200, nx=True) is False
    assert 98 <= r.ttl(k("a")) <= 100
    assert r.expire(k("a"), 200, xx=True) is True
    assert 198 <= r.ttl(k("a")) <= 200
    assert r.expire(k("a"), 100, gt=True) is False
    assert r.expire(k("a"), 300, gt=True) is True
    assert 298 <= r.ttl(k("a")) <= 300
    assert r.expire(k("a"), 400, lt=True) is False
    assert r.expire(k("a"), 50, lt=True) is True
    assert 48 <= r.ttl(k("a")) <= 50
    r.set(k("b"), "v")
    assert r.expire(k("b"), 100, lt=True) is True
    assert 98 <= r.ttl(k("b")) <= 100
    # PEXPIRE / EXPIREAT / PEXPIREAT take the same flags
    assert r.pexpire(k("b"), 500000, gt=True) is True
    assert r.pexpire(k("b"), 1000, nx=True) is False
    at = int(time.time()) + 10000
    assert r.expireat(k("b"), at, xx=True) is True
    assert r.expiretime(k("b")) == at
    assert r.pexpireat(k("b"), (at - 1) * 1000, gt=True) is False
    assert r.pexpireat(k("b"), (at - 1) * 1000, lt=True) is True
    assert r.expiretime(k("b")) == at - 1
    expect_error(r.execute_command, "EXPIRE", k("a"), "10", "NX", "XX",
                 message="NX and XX, GT or LT options at the same time are not compatible")
    expect_error(r.execute_command, "EXPIRE", k("a"), "10", "NX", "GT",
                 message="NX and XX, GT or LT options at the same time are not compatible")
    expect_error(r.execute_command, "EXPIRE", k("a"), "10", "GT", "LT",
                 message="GT and LT options at the same time are not compatible")


def test_ttl_family_missing_persistent_volatile(r, k):
    for fn in (r.ttl, r.pttl, r.expiretime, r.pexpiretime):
        assert fn(k("missing")) == -2
    r.set(k("p"), "v")
    for fn in (r.ttl, r.pttl, r.expiretime, r.pexpiretime):
        assert fn(k("p")) == -1
    r.set(k("v"), "v", ex=100)
    assert 98 <= r.ttl(k("v")) <= 100
    assert 98000 <= r.pttl(k("v")) <= 100000
    t = int(time.time())
    assert t + 98 <= r.expiretime(k("v")) <= t + 101
    tm = now_ms()
    assert tm + 98000 <= r.pexpiretime(k("v")) <= tm + 100000


def test_persist(r, k):
    r.set(k("a"), "v", ex=100)
    assert r.persist(k("a")) is True
    assert r.ttl(k("a")) == -1
    assert r.persist(k("a")) is False
    assert r.persist(k("missing")) is False
    assert r.get(k("a")) == "v"


def test_rename_renamenx(r, k):
    r.set(k("a"), "1", ex=100)
    assert r.rename(k("a"), k("b")) is True
    assert r.exists(k("a")) == 0
    assert r.get(k("b")) == "1"
    assert 98 <= r.ttl(k("b")) <= 100  # TTL moves with the value
    r.set(k("c"), "2")
    assert r.rename(k("b"), k("c")) is True  # overwrites
    assert r.get(k("c")) == "1"
    assert 98 <= r.ttl(k("c")) <= 100
    assert r.rename(k("c"), k("c")) is True  # same name: no-op
    assert r.get(k("c")) == "1"
    expect_error(r.rename, k("missing"), k("x"), message="no such key")
    expect_error(r.renamenx, k("missing"), k("x"), message="no such key")
    r.set(k("d"), "3")
    assert r.renamenx(k("c"), k("d")) is False
    assert r.get(k("c")) == "1"
    assert r.get(k("d")) == "3"
    assert r.renamenx(k("c"), k("e")) is True
    assert r.get(k("e")) == "1"
    assert r.exists(k("c")) == 0
    assert r.exists(k("x")) == 0


def test_copy(r, r_other, k):
    r.set(k("a"), "1", ex=100)
    assert r.copy(k("a"), k("b")) is True
    assert r.get(k("b")) == "1"
    assert 98 <= r.ttl(k("b")) <= 100  # TTL is copied
    r.set(k("c"), "other")
    assert r.copy(k("a"), k("c")) is False
    assert r.get(k("c")) == "other"
    assert r.copy(k("a"), k("c"), replace=True) is True
    assert r.get(k("c")) == "1"
    assert r.copy(k("missing"), k("d")) is False
    assert r.exists(k("d")) == 0
    # copy into another DB
    assert r.copy(k("a"), k("a"), destination_db=OTHER_DB) is True
    assert r_other.get(k("a")) == "1"
    assert r.get(k("a")) == "1"
    r_other.set(k("x"), "o")
    assert r.execute_command("COPY", k("a"), k("x"), "DB", OTHER_DB) == 0
    assert r_other.get(k("x")) == "o"
    assert r.execute_command("COPY", k("a"), k("x"), "DB", OTHER_DB, "REPLACE") == 1
    assert r_other.get(k("x")) == "1"
    # copy is independent of the source
    r.append(k("a"), "2")
    assert r.get(k("b")) == "1"
    expect_error(r.copy, k("a"), k("a"),
                 message="source and destination objects are the same")
    expect_error(r.execute_command, "COPY", k("a"), k("z"), "DB", "99",
                 message="DB index is out of range")
    expect_error(r.execute_command, "COPY", k("a"), k("z"), "FOO",
                 message="syntax error")


def test_move(r, r_other, k):
    r.set(k("a"), "1", ex=100)
    assert r.move(k("a"), OTHER_DB) is True
    assert r.exists(k("a")) == 0
    assert r_other.get(k("a")) == "1"
    assert 98 <= r_other.ttl(k("a")) <= 100
    assert r.move(k("missing"), OTHER_DB) is False
    r.set(k("a"), "2")
    assert r.move(k("a"), OTHER_DB) is False  # exists in target
    assert r.get(k("a")) == "2"
    assert r_other.get(k("a")) == "1"
    expect_error(r.move, k("a"), DB,
                 message="source and destination objects are the same")
    expect_error(r.move, k("a"), 99, message="DB index is out of range")


def test_keys_glob(r, k):
    p = k()
    names = ["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo", "h?llo", "h*llo",
             "h[llo", "world"]
    r.mset({p + n: 1 for n in names})

    def keys(pattern):
        return sorted(x[len(p):] for x in r.keys(p + pattern))

    assert keys("*") == sorted(names)
    assert keys("h?llo") == sorted(["hello", "hallo", "hxllo", "hbllo", "h?llo", "h*llo",
                                    "h[llo"])
    assert keys("h*llo") == sorted(["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo",
                                    "h?llo", "h*llo", "h[llo"])
    assert keys("h[ae]llo") == ["hallo", "hello"]
    assert keys("h[a-c]llo") == ["hallo", "hbllo"]
    assert keys("h[^e]llo") == sorted(["hallo", "hxllo", "hbllo", "h?llo", "h*llo", "h[llo"])
    assert keys("h[^a-x]llo") == sorted(["h?llo", "h*llo", "h[llo"])
    assert keys("h\\?llo") == ["h?llo"]
    assert keys("h\\*llo") == ["h*llo"]
    assert keys("h\\[llo") == ["h[llo"]
    assert keys("w*") == ["world"]
    assert keys("nomatch*") == []
    assert keys("hello") == ["hello"]
    assert r.keys("*") == r.keys()  # only this test's keys exist in the DB
    assert len(r.keys("*")) == len(names)


def test_scan(r, k):
    p = k()
    keys = {f"{p}key:{i}" for i in range(300)}
    others = {f"{p}other:{i}" for i in range(50)}
    r.mset({x: "v" for x in keys | others})
    assert set(r.scan_iter()) == keys | others
    assert set(r.scan_iter(count=7)) == keys | others
    assert set(r.scan_iter(match=p + "key:*", count=10)) == keys
    assert set(r.scan_iter(match=p + "other:*", count=1000)) == others
    assert set(r.scan_iter(match=p + "key:1?", count=10)) == {f"{p}key:{i}" for i in range(10, 20)}
    assert set(r.scan_iter(match=p + "nomatch:*")) == set()
    assert set(r.scan_iter(match=p + "*", _type="string", count=50)) == keys | others
    assert set(r.scan_iter(_type="list")) == set()
    # manual iteration: cursors are strings, iteration ends at "0"
    cursor, seen, rounds = "0", set(), 0
    while True:
        reply = raw(r, "SCAN", cursor, "COUNT", "20")
        assert isinstance(reply, list) and len(reply) == 2
        cursor, batch = reply
        assert isinstance(cursor, str) and cursor.isdigit()
        seen.update(batch)
        rounds += 1
        assert rounds < 10000
        if cursor == "0":
            break
    assert seen == keys | others
    expect_error(r.execute_command, "SCAN", "abc", message="invalid cursor")
    expect_error(r.execute_command, "SCAN", "0", "COUNT", "0", message="syntax error")
    expect_error(r.execute_command, "SCAN", "0", "FOO", "1", message="syntax error")
    # VERSION NOTE: SCAN ... TYPE <unknown type> returns an empty result in
    # Redis 7.0 but an error in newer Redis; not asserted.


def test_randomkey_dbsize_flushdb(r, r_other, k):
    assert r.randomkey() is None
    assert r.dbsize() == 0
    r.set(k("a"), "1")
    assert r.randomkey() == k("a")
    r.mset({k("b"): 2, k("c"): 3})
    assert r.dbsize() == 3
    assert r.randomkey() in {k("a"), k("b"), k("c")}
    r_other.set(k("o"), "x")
    assert r_other.dbsize() == 1
    assert r.flushdb() is True
    assert r.dbsize() == 0
    assert r_other.dbsize() == 1  # other DB untouched
    r.set(k("a"), "1")
    assert r.flushdb(asynchronous=True) is True
    assert r.dbsize() == 0
    assert r.execute_command("FLUSHDB", "SYNC") is True
    expect_error(r.execute_command, "FLUSHDB", "FOO", message="syntax error")


def test_select_swapdb(port, r, k):
    c = make_client(port, db=DB)
    try:
        c.set(k("a"), "in-db")
        assert c.execute_command("SELECT", OTHER_DB) is True
        assert c.get(k("a")) is None
        c.set(k("b"), "in-other")
        assert c.execute_command("SELECT", DB) is True
        assert c.get(k("a")) == "in-db"
        assert c.get(k("b")) is None
        assert c.swapdb(DB, OTHER_DB) is True
        # the connection stays on DB, which now holds the other data
        assert c.get(k("a")) is None
        assert c.get(k("b")) == "in-other"
        assert c.swapdb(DB, OTHER_DB) is True
        assert c.get(k("a")) == "in-db"
        assert c.swapdb(DB, DB) is True
        assert c.get(k("a")) == "in-db"
        expect_error(c.execute_command, "SELECT", "99", message="DB index is out of range")
        expect_error(c.execute_command, "SELECT", "-1", message="DB index is out of range")
        expect_error(c.execute_command, "SELECT", "x",
                     message="value is not an integer or out of range")
        expect_error(c.swapdb, DB, 99, message="DB index is out of range")
        expect_error(c.execute_command, "SWAPDB", "x", DB, message="invalid first DB index")
        expect_error(c.execute_command, "SWAPDB", DB, "x", message="invalid second DB index")
        assert c.get(k("a")) == "in-db"
    finally:
        c.close()


def test_touch(r, k):
    r.mset({k("a"): 1, k("b"): 2})
    assert r.touch(k("a"), k("b"), k("missing")) == 2
    assert r.touch(k("a"), k("a")) == 2
    assert r.touch(k("missing")) == 0


def test_object(r, k):
    r.set(k("int"), "12345")
    r.set(k("short"), "hello")
    r.set(k("long"), "x" * 100)
    for key in (k("int"), k("short"), k("long")):
        assert r.object("encoding", key) in {"int", "embstr", "raw"}
    assert r.object("encoding", k("missing")) is None
    idle = r.object("idletime", k("short"))
    assert isinstance(idle, int) and 0 <= idle <= 5
    assert r.object("idletime", k("missing")) is None
    policy = r.config_get("maxmemory-policy").get("maxmemory-policy")
    if policy is None:
        # No maxmemory-policy parameter (Memora before eviction lands): LFU counters are kept
        # for every key, so OBJECT FREQ always answers.
        freq = r.object("freq", k("short"))
        assert isinstance(freq, int) and 0 <= freq <= 255
        return
    try:
        if "lfu" not in policy:
            expect_error(
                r.object, "freq", k("short"),
                message="An LFU maxmemory policy is not selected, access frequency not tracked. "
                        "Please note that when switching between policies at runtime LRU and "
                        "LFU data will take some time to adjust.")
        assert r.config_set("maxmemory-policy", "allkeys-lfu") is True
        freq = r.object("freq", k("short"))
        assert isinstance(freq, int) and 0 <= freq <= 255
    finally:
        r.config_set("maxmemory-policy", policy)
    assert r.config_get("maxmemory-policy")["maxmemory-policy"] == policy


# --------------------------------------------------------------------------
# expiry in real time (one short sleep for the whole test)
# --------------------------------------------------------------------------


def test_keys_expire_in_real_time(r, k):
    r.set(k("set_px"), "v", px=100)
    r.set(k("pexpire"), "v")
    r.pexpire(k("pexpire"), 100)
    r.psetex(k("psetex"), 100, "v")
    r.set(k("getex"), "v")
    r.getex(k("getex"), px=100)
    r.set(k("pxat"), "v", pxat=now_ms() + 100)
    r.set(k("keep"), "v", px=100)
    r.persist(k("keep"))
    r.set(k("long"), "v", ex=100)
    gone = ["set_px", "pexpire", "psetex", "getex", "pxat"]
    assert r.exists(*[k(n) for n in gone]) == len(gone)
    time.sleep(0.3)
    for n in gone:
        assert r.get(k(n)) is None, n
        assert r.exists(k(n)) == 0, n
        assert r.ttl(k(n)) == -2, n
    assert r.get(k("keep")) == "v"
    assert r.get(k("long")) == "v"
    assert set(r.keys(k() + "*")) == {k("keep"), k("long")}
    assert set(r.scan_iter(match=k() + "*")) == {k("keep"), k("long")}


# --------------------------------------------------------------------------
# pipelines
# --------------------------------------------------------------------------


def test_pipeline_1000_commands(r, k):
    pipe = r.pipeline(transaction=False)
    n = 250
    for i in range(n):
        pipe.set(k(f"p{i}"), i)
        pipe.execute_command("INCR", k(f"p{i}"))
        pipe.get(k(f"p{i}"))
        pipe.append(k(f"p{i}"), "x")
    results = pipe.execute()
    assert len(results) == 4 * n
    expected = []
    for i in range(n):
        expected += [True, i + 1, str(i + 1), len(str(i + 1)) + 1]
    assert results == expected
    assert r.dbsize() == n


def test_pipeline_error_in_the_middle(r, k):
    pipe = r.pipeline(transaction=False)
    pipe.set(k("a"), "abc")
    pipe.execute_command("INCR", k("a"))
    pipe.get(k("a"))
    results = pipe.execute(raise_on_error=False)
    assert results[0] is True
    assert isinstance(results[1], redis.ResponseError)
    assert str(results[1]).endswith("value is not an integer or out of range")
    assert results[2] == "abc"


# --------------------------------------------------------------------------
# RESP3
# --------------------------------------------------------------------------


def test_resp3(port, r, k):
    c = make_client(port, protocol=3)
    try:
        hello = raw(c, "HELLO", "3")
        assert isinstance(hello, dict)
        for field in ("server", "version", "proto", "id"):
            assert field in hello, field
        assert hello["proto"] == 3
        assert isinstance(hello["server"], str) and hello["server"]
        assert isinstance(hello["version"], str) and hello["version"]
        assert isinstance(hello["id"], int)
        assert c.set(k("a"), "v") is True
        assert c.get(k("a")) == "v"
        assert c.get(k("missing")) is None
        assert raw(c, "GET", k("missing")) is None
        assert raw(c, "EXISTS", k("a")) == 1
        assert raw(c, "INCR", k("n")) == 1
        cfg = raw(c, "CONFIG", "GET", "hz")
        assert isinstance(cfg, dict)
        assert set(cfg) == {"hz"}
        assert cfg["hz"].isdigit()
        assert c.config_get("hz") == cfg
        assert raw(c, "CONFIG", "GET", "no-such-parameter-xyz") == {}
        assert raw(c, "MGET", k("a"), k("missing")) == ["v", None]
        assert raw(c, "PING") == "PONG"
        # back to RESP2 on the same connection: CONFIG GET is a flat array again
        hello2 = raw(c, "HELLO", "2")
        assert isinstance(hello2, list)
        assert "proto" in hello2 and hello2[hello2.index("proto") + 1] == 2
        assert raw(c, "CONFIG", "GET", "hz") == ["hz", cfg["hz"]]
        with pytest.raises(redis.ResponseError) as ei:
            raw(c, "HELLO", "4")
        assert str(ei.value) == "NOPROTO unsupported protocol version"
    finally:
        c.close()


# --------------------------------------------------------------------------
# connection / server commands
# --------------------------------------------------------------------------


def test_client_commands(r, k):
    cid = r.client_id()
    assert isinstance(cid, int) and cid > 0
    assert r.client_getname() is None
    name = k("conn").replace(":", "-")
    assert r.client_setname(name) is True
    assert r.client_getname() == name
    info = r.client_info()
    assert str(info["id"]) == str(cid)
    assert info["name"] == name
    assert str(info["db"]) == str(DB)
    # raw CLIENT INFO: one "field=value ..." line terminated by "\n"
    rawinfo = raw(r, "CLIENT", "INFO")
    assert isinstance(rawinfo, str) and rawinfo.endswith("\n")
    assert rawinfo.count("\n") == 1
    assert rawinfo.startswith(f"id={cid} ")
    assert f" name={name} " in rawinfo
    assert f" db={DB} " in rawinfo
    clients = r.client_list()
    mine = [c for c in clients if c["id"] == str(cid)]
    assert len(mine) == 1
    assert mine[0]["name"] == name
    assert mine[0]["db"] == str(DB)
    for c in clients:
        assert {"id", "addr", "name", "db", "cmd"} <= set(c)
    expect_error(r.client_setname, "a b",
                 message="Client names cannot contain spaces, newlines or special characters.")
    assert r.client_setname("") is True
    assert r.client_getname() is None


def test_ping_echo(r):
    assert r.ping() is True
    assert r.execute_command("PING") is True
    assert raw(r, "PING") == "PONG"
    assert raw(r, "PING", "hello world") == "hello world"
    assert r.echo("hello") == "hello"
    assert r.echo("") == ""
    expect_error(r.execute_command, "ECHO",
                 message="wrong number of arguments for 'echo' command")
    expect_error(r.execute_command, "PING", "a", "b",
                 message="wrong number of arguments for 'ping' command")


def test_unknown_command(r):
    expect_error(r.execute_command, "NOSUCHCOMMAND", "a", "b",
                 message="unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' 'b' ")


def test_time(r):
    reply = raw(r, "TIME")
    assert isinstance(reply, list) and len(reply) == 2
    assert all(isinstance(x, str) and x.isdigit() for x in reply)
    secs, usecs = r.time()
    assert abs(secs - time.time()) < 5
    assert 0 <= usecs <= 999999


def test_info_sections(r, k, port):
    full = r.execute_command("INFO")
    assert isinstance(full, dict)
    text = raw(r, "INFO")
    for section in ("# Server", "# Clients", "# Memory", "# Stats", "# Keyspace"):
        assert section in text.splitlines(), section
    server = r.info("server")
    assert "redis_version" in server
    assert server["tcp_port"] == port
    clients = r.info("clients")
    assert clients["connected_clients"] >= 1
    memory = r.info("memory")
    assert isinstance(memory["used_memory"], int) and memory["used_memory"] > 0
    stats = r.info("stats")
    for field in ("keyspace_hits", "keyspace_misses", "total_commands_processed",
                  "total_connections_received"):
        assert isinstance(stats[field], int), field
    r.get(k("warm"))
    cmdstats = r.info("commandstats")
    assert "cmdstat_get" in cmdstats
    assert cmdstats["cmdstat_get"]["calls"] >= 1
    assert {"calls", "usec", "usec_per_call"} <= set(cmdstats["cmdstat_get"])
    r.set(k("a"), "1")
    r.set(k("b"), "2", ex=100)
    r.set(k("c"), "3")
    keyspace = r.info("keyspace")
    assert keyspace[f"db{DB}"]["keys"] == 3
    assert keyspace[f"db{DB}"]["expires"] == 1
    assert f"db{OTHER_DB}" not in keyspace  # empty DBs are not listed
    assert raw(r, "INFO", "keyspace").splitlines()[0] == "# Keyspace"


def test_info_keyspace_hits_and_misses(r, k):
    r.set(k("a"), "v")
    before = r.info("stats")
    assert r.get(k("a")) == "v"
    mid = r.info("stats")
    assert mid["keyspace_hits"] == before["keyspace_hits"] + 1
    assert mid["keyspace_misses"] == before["keyspace_misses"]
    assert r.get(k("missing")) is None
    after = r.info("stats")
    assert after["keyspace_misses"] == mid["keyspace_misses"] + 1
    assert after["keyspace_hits"] == mid["keyspace_hits"]


def test_command_count_and_info(r):
    assert r.command_count() > 50
    info = raw(r, "COMMAND", "INFO", "get")
    assert isinstance(info, list) and len(info) == 1
    get = info[0]
    # name, arity, flags, first key, last key, step (+ ACL categories etc. in 7.x)
    assert len(get) >= 6
    assert get[0] == "get"
    assert get[1] == 2
    assert "readonly" in get[2]
    assert get[3:6] == [1, 1, 1]
    info = raw(r, "COMMAND", "INFO", "set", "nosuchcommand")
    assert len(info) == 2
    assert info[0][0] == "set" and info[0][1] == -3 and "write" in info[0][2]
    assert info[1] is None


def test_config_get_set(r):
    orig = r.config_get("hz")
    assert set(orig) == {"hz"}
    try:
        assert r.config_set("hz", 20) is True
        assert r.config_get("hz") == {"hz": "20"}
        assert raw(r, "CONFIG", "GET", "hz") == ["hz", "20"]
    finally:
        r.config_set("hz", orig["hz"])
    assert r.config_get("hz") == orig
    # glob patterns
    assert "hz" in r.config_get("h?")
    assert set(r.config_get("proto-max-bulk*")) == {"proto-max-bulk-len"}
    # unknown parameter: empty
    assert r.config_get("no-such-parameter-xyz") == {}
    assert raw(r, "CONFIG", "GET", "no-such-parameter-xyz") == []
    # unknown parameter on SET: error (Redis 7.0 wording)
    expect_error(r.config_set, "foo", "bar",
                 message="Unknown option or number of arguments for CONFIG SET - 'foo'")
    expect_error(r.config_set, "hz", "abc",
                 message="CONFIG SET failed (possibly related to argument 'hz') - "
                         "argument couldn't be parsed into an integer")
    assert r.config_get("hz") == orig


# --------------------------------------------------------------------------
# sets
# --------------------------------------------------------------------------


def test_sets_basic(r, k):
    s = k("s")
    assert r.sadd(s, "a", "b", "a") == 2
    assert r.scard(s) == 2
    assert r.smembers(s) == {"a", "b"}
    assert r.sismember(s, "a")
    assert [bool(x) for x in r.smismember(s, ["a", "z"])] == [True, False]
    assert r.srem(s, "a", "z") == 1
    assert r.object("encoding", s) == "listpack"
    r.sadd(k("ints"), 1, 2, 3)
    assert r.object("encoding", k("ints")) == "intset"
    r.set(k("str"), "v")
    expect_error(r.sadd, k("str"), "x", message="WRONGTYPE Operation against a key holding the wrong kind of value")


def test_sets_algebra_pop_and_scan(r, k):
    a, b = k("a"), k("b")
    r.sadd(a, *range(10))
    r.sadd(b, *range(5, 15))
    assert r.sinter(a, b) == {str(n) for n in range(5, 10)}
    assert r.sunion(a, b) == {str(n) for n in range(15)}
    assert r.sdiff(a, b) == {str(n) for n in range(5)}
    assert r.sinterstore(k("d"), a, b) == 5
    assert r.smove(a, b, "0")
    assert not r.smove(a, b, "0")
    popped = r.spop(k("d"), 2)
    assert len(popped) == 2 and r.scard(k("d")) == 3
    big = k("big")
    r.sadd(big, *[f"m{n}" for n in range(500)])
    assert r.object("encoding", big) == "hashtable"
    assert set(r.sscan_iter(big, count=37)) == {f"m{n}" for n in range(500)}


def test_sets_resp3(port, r, k):
    c = make_client(port, protocol=3)
    try:
        c.sadd(k("s"), "x", "y")
        assert c.smembers(k("s")) == {"x", "y"}
        assert c.execute_command("TYPE", k("s")) == "set"
    finally:
        c.close()


# --------------------------------------------------------------------------
# hashes
# --------------------------------------------------------------------------


def test_hashes_basic(r, k):
    h = k("h")
    assert r.hset(h, mapping={"a": "1", "b": "2"}) == 2
    assert r.hset(h, "a", "10") == 0
    assert r.hget(h, "a") == "10"
    assert r.hget(h, "zz") is None
    assert r.hmget(h, ["a", "zz", "b"]) == ["10", None, "2"]
    assert r.hlen(h) == 2
    assert r.hexists(h, "b") and not r.hexists(h, "zz")
    assert r.hstrlen(h, "a") == 2
    assert not r.hsetnx(h, "a", "x")
    assert r.hsetnx(h, "c", "3")
    assert r.hgetall(h) == {"a": "10", "b": "2", "c": "3"}
    assert sorted(r.hkeys(h)) == ["a", "b", "c"]
    assert sorted(r.hvals(h)) == ["10", "2", "3"]
    assert r.type(h) == "hash"
    assert r.object("encoding", h) == "listpack"
    assert r.hdel(h, "a", "b", "zz") == 2
    assert r.hdel(h, "c") == 1
    assert r.exists(h) == 0
    r.set(k("str"), "v")
    expect_error(r.hget, k("str"), "a", message="WRONGTYPE Operation against a key holding the wrong kind of value")
    expect_error(r.execute_command, "HSET", h, "a", "1", "b",
                 message="wrong number of arguments for 'hset' command")


def test_hashes_incr_random_and_scan(r, k):
    h = k("h")
    assert r.hincrby(h, "n", 5) == 5
    assert r.hincrby(h, "n", -7) == -2
    assert raw(r, "HINCRBYFLOAT", h, "f", "10.5") == "10.5"
    assert raw(r, "HINCRBYFLOAT", h, "f", "0.1") == "10.6"
    r.hset(h, "s", "abc")
    expect_error(r.hincrby, h, "s", 1, message="hash value is not an integer")
    expect_error(r.execute_command, "HINCRBYFLOAT", h, "s", "1", message="hash value is not a float")
    r.hset(h, "max", "9223372036854775807")
    expect_error(r.hincrby, h, "max", 1, message="increment or decrement would overflow")
    assert r.hrandfield(h) in {"n", "f", "s", "max"}
    assert sorted(r.hrandfield(h, 10)) == ["f", "max", "n", "s"]
    assert len(r.hrandfield(h, -6)) == 6
    assert len(r.hrandfield(h, 2, withvalues=True)) == 4
    big = k("big")
    # VERSION NOTE: a bare redis-server 7.0 defaults hash-max-listpack-entries to 512 (its
    # redis.conf, and memora, to 128); 1000 fields are a hashtable either way.
    r.hset(big, mapping={f"f{n}": f"v{n}" for n in range(1000)})
    assert r.object("encoding", big) == "hashtable"
    assert dict(r.hscan_iter(big, count=37)) == {f"f{n}": f"v{n}" for n in range(1000)}


def test_hashes_resp3(port, r, k):
    c = make_client(port, protocol=3)
    try:
        c.hset(k("h"), mapping={"a": "1", "b": "2"})
        assert c.hgetall(k("h")) == {"a": "1", "b": "2"}
        pairs = c.execute_command("HRANDFIELD", k("h"), "2", "WITHVALUES")
        assert sorted(map(tuple, pairs)) == [("a", "1"), ("b", "2")]
    finally:
        c.close()


def test_zsets_basic(r, k):
    z = k("z")
    assert r.zadd(z, {"a": 1, "b": 2.5, "c": 0.1}) == 3
    assert r.zadd(z, {"a": 5}, ch=True) == 1
    assert r.zscore(z, "c") == 0.1
    assert r.zmscore(z, ["a", "nope"]) == [5.0, None]
    assert r.zcard(z) == 3
    assert r.zrange(z, 0, -1, withscores=True) == [("c", 0.1), ("b", 2.5), ("a", 5.0)]
    assert r.zrevrange(z, 0, 0) == ["a"]
    assert r.zrangebyscore(z, "(0.1", "+inf") == ["b", "a"]
    assert r.zrank(z, "a") == 2 and r.zrevrank(z, "a") == 0
    assert r.zincrby(z, -10, "a") == -5.0
    assert r.zcount(z, "-inf", "(0.1") == 1
    assert r.type(z) == "zset"
    assert r.object("encoding", z) == "listpack"
    expect_error(
        r.execute_command, "ZADD", z, "NX", "XX", 1, "a", message="XX and NX options at the same time are not compatible"
    )
    r.set(k("str"), "v")
    expect_error(r.zadd, k("str"), {"x": 1}, message="WRONGTYPE Operation against a key holding the wrong kind of value")


def test_zsets_ranges_store_pop_and_scan(r, k):
    a, b = k("a"), k("b")
    r.zadd(a, {"x": 1, "y": 2, "z": 3})
    r.zadd(b, {"y": 10, "z": 20, "w": 30})
    assert r.zunionstore(k("d"), [a, b]) == 4
    assert r.zrange(k("d"), 0, -1, withscores=True) == [("x", 1.0), ("y", 12.0), ("z", 23.0), ("w", 30.0)]
    assert r.zinterstore(k("d"), {a: 2, b: 1}, aggregate="MIN") == 2
    assert r.zrange(k("d"), 0, -1, withscores=True) == [("y", 4.0), ("z", 6.0)]
    assert r.zinterstore(k("d"), [a, k("missing")]) == 0
    assert r.exists(k("d")) == 0
    assert r.zpopmin(a) == [("x", 1.0)]
    assert r.zpopmax(b, 2) == [("w", 30.0), ("z", 20.0)]
    assert r.zremrangebyscore(a, "-inf", "+inf") == 2
    assert r.exists(a) == 0
    lex = k("lex")
    r.zadd(lex, {m: 0 for m in "abcde"})
    assert r.zrangebylex(lex, "(a", "[c") == ["b", "c"]
    assert r.zlexcount(lex, "-", "+") == 5
    big = k("big")
    r.zadd(big, {f"m{n}": n for n in range(500)})
    assert r.object("encoding", big) == "skiplist"
    assert r.zrank(big, "m321") == 321
    assert dict(r.zscan_iter(big, count=37)) == {f"m{n}": float(n) for n in range(500)}


def test_zsets_resp3(port, r, k):
    c = make_client(port, protocol=3)
    try:
        c.zadd(k("z"), {"x": 1.5, "y": 2})
        assert c.zscore(k("z"), "x") == 1.5
        assert c.execute_command("ZRANGE", k("z"), 0, -1, "WITHSCORES") == [["x", 1.5], ["y", 2.0]]
        assert c.execute_command("ZPOPMIN", k("z")) == ["x", 1.5]
    finally:
        c.close()


# --------------------------------------------------------------------------
# lists
# --------------------------------------------------------------------------


def test_lists_push_pop_and_range(r, k):
    lst = k("l")
    assert r.rpush(lst, "b", "c") == 2
    assert r.lpush(lst, "a", "z") == 4
    assert r.lrange(lst, 0, -1) == ["z", "a", "b", "c"]
    assert r.lpushx(k("missing"), "x") == 0 and r.exists(k("missing")) == 0
    assert r.rpushx(lst, "d") == 5
    assert r.llen(lst) == 5
    assert r.lpop(lst) == "z"
    assert r.rpop(lst) == "d"
    assert r.lpop(lst, 2) == ["a", "b"]
    assert r.rpop(k("missing")) is None
    assert r.lpop(k("missing"), 2) is None
    assert r.lrange(lst, 0, -1) == ["c"]
    assert r.rpop(lst, 5) == ["c"]
    assert r.exists(lst) == 0, "popping the last element deletes the key"
    r.rpush(lst, *range(10))
    assert r.lrange(lst, -3, -1) == ["7", "8", "9"]
    assert r.lrange(lst, 8, 100) == ["8", "9"]
    assert r.lrange(lst, 5, 2) == []
    assert r.type(lst) == "list"
    # VERSION NOTE: 7.0 always says quicklist; 7.2+ (and memora) say listpack for small lists.
    assert r.object("encoding", lst) in {"listpack", "quicklist"}
    r.set(k("str"), "v")
    expect_error(r.lpush, k("str"), "x", message="WRONGTYPE Operation against a key holding the wrong kind of value")
    expect_error(r.execute_command, "LPOP", lst, "-1", message="value is out of range, must be positive")


def test_lists_index_set_insert_rem_trim(r, k):
    lst = k("l")
    r.rpush(lst, "a", "b", "c", "b", "a")
    assert r.lindex(lst, 1) == "b"
    assert r.lindex(lst, -1) == "a"
    assert r.lindex(lst, 99) is None
    assert r.lset(lst, -2, "B") is True
    expect_error(r.lset, lst, 10, "x", message="index out of range")
    expect_error(r.lset, k("missing"), 0, "x", message="no such key")
    assert r.linsert(lst, "BEFORE", "c", "x") == 6
    assert r.linsert(lst, "AFTER", "nope", "y") == -1
    assert r.linsert(k("missing"), "AFTER", "a", "y") == 0
    assert r.lrange(lst, 0, -1) == ["a", "b", "x", "c", "B", "a"]
    assert r.lrem(lst, -1, "a") == 1
    assert r.lrem(lst, 0, "b") == 1
    assert r.lrange(lst, 0, -1) == ["a", "x", "c", "B"]
    assert r.ltrim(lst, 1, -2) is True
    assert r.lrange(lst, 0, -1) == ["x", "c"]
    assert r.ltrim(lst, 5, 10) is True
    assert r.exists(lst) == 0, "trimming everything deletes the key"


def test_lists_lpos_lmove_and_lmpop(r, k):
    lst = k("l")
    r.rpush(lst, "a", "b", "c", "b", "a", "b")
    assert r.lpos(lst, "b") == 1
    assert r.lpos(lst, "b", rank=-1) == 5
    assert r.lpos(lst, "b", rank=2) == 3
    assert r.lpos(lst, "b", count=0) == [1, 3, 5]
    assert r.lpos(lst, "b", count=2, rank=-1) == [5, 3]
    assert r.lpos(lst, "b", maxlen=2, count=0) == [1]
    assert r.lpos(lst, "zz") is None
    expect_error(
        r.execute_command, "LPOS", lst, "b", "RANK", "0",
        message="RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
        "or use negative to start from the end of the list",
    )
    dst = k("dst")
    assert r.lmove(lst, dst, "LEFT", "RIGHT") == "a"
    assert r.lmove(lst, dst, "RIGHT", "LEFT") == "b"
    assert r.lrange(dst, 0, -1) == ["b", "a"]
    assert r.rpoplpush(dst, dst) == "a", "a one-key rotation"
    assert r.lrange(dst, 0, -1) == ["a", "b"]
    assert r.lmove(k("missing"), dst, "LEFT", "LEFT") is None
    assert r.lmpop(2, k("missing"), lst, direction="LEFT", count=2) == [lst, ["b", "c"]]
    assert r.lmpop(1, k("missing"), direction="RIGHT") is None


def test_lists_blpop_served_by_another_client(port, r, k):
    import threading

    lst = k("queue")
    assert r.blpop([lst], timeout=0.1) is None, "times out on an empty list"
    r.rpush(k("ready"), "x")
    assert r.blpop([lst, k("ready")], timeout=1) == (k("ready"), "x")

    waiter = make_client(port)
    result = {}

    def wait():
        result["popped"] = waiter.blpop([lst], timeout=5)

    thread = threading.Thread(target=wait)
    try:
        thread.start()
        deadline = time.time() + 5
        while time.time() < deadline:
            clients = r.client_list()
            if any(c.get("cmd") == "blpop" for c in clients):
                break
            time.sleep(0.02)
        r.rpush(lst, "job1", "job2")
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert result["popped"] == (lst, "job1")
        assert r.lrange(lst, 0, -1) == ["job2"]
    finally:
        thread.join(timeout=10)
        waiter.close()


def test_lists_resp3(port, r, k):
    c = make_client(port, protocol=3)
    try:
        lst = k("l")
        c.rpush(lst, "a", "b", "c")
        assert c.lrange(lst, 0, -1) == ["a", "b", "c"]
        assert c.execute_command("LPOS", lst, "c") == 2
        assert c.execute_command("LPOP", k("missing")) is None
        assert c.execute_command("LMPOP", 1, lst, "RIGHT", "COUNT", 2) == [lst, ["c", "b"]]
        assert c.execute_command("BLPOP", lst, 0.1) == [lst, "a"]
        assert c.execute_command("BLPOP", lst, 0.1) is None
    finally:
        c.close()


# --------------------------------------------------------------------------
# SORT
# --------------------------------------------------------------------------


def test_sort_lists_sets_and_patterns(r, k):
    lst = k("l")
    r.rpush(lst, "3", "1", "2", "10")
    assert r.sort(lst) == ["1", "2", "3", "10"]
    assert r.sort(lst, desc=True, start=1, num=2) == ["3", "2"]
    assert r.sort(lst, alpha=True) == ["1", "10", "2", "3"]
    assert r.sort_ro(lst, alpha=True, desc=True) == ["3", "2", "10", "1"]
    r.mset({k("w_1"): "30", k("w_2"): "10", k("w_3"): "20"})
    r.hset(k("h_1"), "name", "one")
    r.hset(k("h_3"), "name", "three")
    by = k("w_*")
    assert r.sort(lst, by=by) == ["10", "2", "3", "1"], "a missing weight (w_10) is 0"
    assert r.sort(lst, by=by, get=["#", k("h_*->name")]) == ["10", None, "2", None, "3", "three", "1", "one"]
    assert r.sort(lst, by="nosort", start=1, num=2) == ["1", "2"]
    # Missing names (h_10, h_2) sort first, in no defined order among themselves.
    assert r.sort(lst, by=k("h_*->name"), alpha=True, get="#", start=2, num=2) == ["1", "3"]
    assert r.sort(lst, store=k("dst"), desc=True) == 4
    assert r.lrange(k("dst"), 0, -1) == ["10", "3", "2", "1"]
    assert r.sort(k("missing"), store=k("dst")) == 0
    assert r.exists(k("dst")) == 0, "an empty result deletes the destination"
    r.sadd(k("s"), "pear", "apple", "fig")
    assert r.sort(k("s"), alpha=True) == ["apple", "fig", "pear"]
    r.zadd(k("z"), {"c": 1, "a": 2, "b": 3})
    assert r.sort(k("z"), by="nosort", desc=True) == ["b", "a", "c"]
    r.rpush(k("words"), "x", "1")
    expect_error(r.sort, k("words"), message="One or more scores can't be converted into double")
    expect_error(r.execute_command, "SORT", lst, "LIMIT", "0", message="syntax error")
    expect_error(r.execute_command, "SORT_RO", lst, "STORE", k("dst"), message="syntax error")
    r.set(k("str"), "v")
    expect_error(r.sort, k("str"), message="WRONGTYPE Operation against a key holding the wrong kind of value")
    assert raw(r, "COMMAND", "GETKEYS", "SORT", lst, "STORE", k("dst")) == [lst, k("dst")]
