"""Real-client checks for pub/sub and keyspace notifications.

Runs redis-py against a live server at $MEMORA_HOST (default 127.0.0.1) and
$MEMORA_PORT (required). Every assertion was validated against Debian's
redis-server 7.0.15.

Notifications are switched on per test with CONFIG SET notify-keyspace-events
and switched off again afterwards, so the other test files see the default.
"""

import os
import time

import pytest
import redis

HOST = os.environ.get("MEMORA_HOST", "127.0.0.1")
PORT_ENV = os.environ.get("MEMORA_PORT")
DB = 9
WAIT = 5.0


@pytest.fixture(scope="session")
def port():
    if not PORT_ENV:
        pytest.exit("MEMORA_PORT must be set to the port of the server under test", returncode=2)
    return int(PORT_ENV)


def make_client(port, **kw):
    return redis.Redis(host=HOST, port=port, db=DB, decode_responses=True, socket_timeout=10, **kw)


@pytest.fixture
def r(port):
    c = make_client(port)
    c.flushdb()
    yield c
    c.config_set("notify-keyspace-events", "")
    c.close()


@pytest.fixture
def p(r):
    ps = r.pubsub()
    yield ps
    ps.close()


def next_message(ps, timeout=WAIT):
    """The next message (subscription confirmations skipped), or None after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = ps.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if m is not None:
            return m
    return None


def wait_numsub(r, channel, n):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if dict(r.pubsub_numsub(channel)).get(channel) == n:
            return
        time.sleep(0.01)
    raise AssertionError(f"{channel} never had {n} subscribers")


def test_subscribe_confirmations_and_get_message(r, p):
    p.subscribe("ps:a", "ps:b")
    confirmations = [p.get_message(timeout=WAIT) for _ in range(2)]
    assert [(m["type"], m["channel"], m["data"]) for m in confirmations] == [
        ("subscribe", "ps:a", 1),
        ("subscribe", "ps:b", 2),
    ]
    assert r.publish("ps:a", "hello") == 1
    assert r.publish("ps:nobody", "x") == 0
    m = next_message(p)
    assert (m["type"], m["channel"], m["data"]) == ("message", "ps:a", "hello")
    p.unsubscribe("ps:a")
    m = p.get_message(timeout=WAIT)
    assert (m["type"], m["channel"], m["data"]) == ("unsubscribe", "ps:a", 1)


def test_psubscribe_gets_pmessages(r, p):
    p.psubscribe("ps:news.*")
    assert p.get_message(timeout=WAIT)["type"] == "psubscribe"
    assert r.publish("ps:news.it", "ciao") == 1
    m = next_message(p)
    assert (m["type"], m["pattern"], m["channel"], m["data"]) == ("pmessage", "ps:news.*", "ps:news.it", "ciao")
    assert r.pubsub_numpat() >= 1


def test_pubsub_numsub_and_channels(r, p):
    p.subscribe("ps:x", "ps:y")
    other = r.pubsub()
    other.subscribe("ps:x")
    wait_numsub(r, "ps:x", 2)
    assert r.pubsub_numsub("ps:x", "ps:y", "ps:none") == [("ps:x", 2), ("ps:y", 1), ("ps:none", 0)]
    assert sorted(c for c in r.pubsub_channels("ps:*")) == ["ps:x", "ps:y"]
    other.close()
    wait_numsub(r, "ps:x", 1)


def test_subscribe_state_refuses_other_commands_in_resp2(port):
    c = make_client(port, single_connection_client=True)
    conn = c.connection
    conn.send_command("SUBSCRIBE", "ps:s")
    assert conn.read_response() == ["subscribe", "ps:s", 1]
    conn.send_command("GET", "k")
    with pytest.raises(redis.ResponseError) as ei:
        reply = conn.read_response()
        if isinstance(reply, redis.ResponseError):
            raise reply
    assert str(ei.value) == (
        "Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
        "allowed in this context"
    )
    conn.send_command("PING")
    assert conn.read_response() == ["pong", ""]
    conn.send_command("UNSUBSCRIBE")
    assert conn.read_response() == ["unsubscribe", "ps:s", 0]
    conn.send_command("UNSUBSCRIBE")
    assert conn.read_response() == ["unsubscribe", None, 0]
    c.close()


def test_keyspace_notifications_after_config_set(r, p):
    assert r.config_set("notify-keyspace-events", "KEA")
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}
    p.psubscribe(f"__keyspace@{DB}__:ps:*", f"__keyevent@{DB}__:*")
    p.get_message(timeout=WAIT)
    p.get_message(timeout=WAIT)
    r.set("ps:k", "v")
    r.lpush("ps:l", "a")
    r.delete("ps:k")
    got = []
    while len(got) < 6:
        m = next_message(p)
        assert m is not None, got
        got.append((m["channel"], m["data"]))
    assert got == [
        (f"__keyspace@{DB}__:ps:k", "set"),
        (f"__keyevent@{DB}__:set", "ps:k"),
        (f"__keyspace@{DB}__:ps:l", "lpush"),
        (f"__keyevent@{DB}__:lpush", "ps:l"),
        (f"__keyspace@{DB}__:ps:k", "del"),
        (f"__keyevent@{DB}__:del", "ps:k"),
    ]


def test_expired_event_on_access(r, p):
    r.config_set("notify-keyspace-events", "Ex")
    p.subscribe(f"__keyevent@{DB}__:expired")
    p.get_message(timeout=WAIT)
    r.set("ps:short", "v", px=20)
    time.sleep(0.1)
    assert r.get("ps:short") is None
    m = next_message(p)
    assert (m["channel"], m["data"]) == (f"__keyevent@{DB}__:expired", "ps:short")


def test_notify_keyspace_events_normalisation_and_errors(r):
    for given, shown in [("KEA", "AKE"), ("Kn", "nK"), ("KEAm", "AKEm"), ("Ex", "xE"), ("gg", "g"), ("", "")]:
        r.config_set("notify-keyspace-events", given)
        assert r.config_get("notify-keyspace-events")["notify-keyspace-events"] == shown
    with pytest.raises(redis.ResponseError) as ei:
        r.config_set("notify-keyspace-events", "KEQ")
    assert "Invalid event class character" in str(ei.value)


def test_resp3_pubsub(port):
    c = make_client(port, protocol=3)
    ps = c.pubsub()
    ps.subscribe("ps:r3")
    assert ps.get_message(timeout=WAIT)["type"] == "subscribe"
    assert c.publish("ps:r3", "pushed") == 1
    m = next_message(ps)
    assert (m["type"], m["channel"], m["data"]) == ("message", "ps:r3", "pushed")
    ps.close()
    c.close()
