"""Real-client checks for transactions (MULTI/EXEC/WATCH) with redis-py pipelines.

Runs against a live server at $MEMORA_HOST (default 127.0.0.1) and $MEMORA_PORT
(required). Every assertion was validated against redis-server 7.0.15 (Debian 12).
"""

import threading

import pytest
import redis

DB = 11


@pytest.fixture
def client(connect):
    """Makes a client of this file's database (see `connect` in conftest.py)."""
    return lambda **kw: connect(DB, 10, **kw)


@pytest.fixture
def r(client):
    c = client()
    c.flushdb()
    yield c
    c.close()


def test_a_transaction_pipeline_runs_queued_commands_in_order(r):
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", 1).incr("a").get("a").rpush("l", "x", "y").lrange("l", 0, -1)
        assert pipe.execute() == [True, 2, "2", 2, ["x", "y"]]


def test_a_runtime_error_fails_only_its_command(r):
    r.set("s", "text")
    with r.pipeline(transaction=True) as pipe:
        pipe.incr("counter").lpush("s", "x").incr("counter")
        results = pipe.execute(raise_on_error=False)
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], redis.ResponseError)
    assert str(results[1]).startswith("WRONGTYPE")


def test_a_queueing_error_aborts_the_whole_transaction(r):
    with r.pipeline(transaction=True) as pipe:
        pipe.set("k", "v")
        pipe.execute_command("NOSUCHCOMMAND", "x")
        with pytest.raises(redis.ResponseError):
            pipe.execute()
    assert r.get("k") is None


def test_watch_conflict_raises_watch_error(r, client):
    other = client()
    r.set("balance", 10)
    with r.pipeline() as pipe:
        pipe.watch("balance")
        assert int(pipe.get("balance")) == 10
        other.set("balance", 20)
        pipe.multi()
        pipe.set("balance", 0)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("balance") == "20"
    other.close()


def test_watch_without_conflict_commits(r):
    r.set("balance", 10)
    with r.pipeline() as pipe:
        pipe.watch("balance")
        value = int(pipe.get("balance"))
        pipe.multi()
        pipe.set("balance", value + 5)
        assert pipe.execute() == [True]
    assert r.get("balance") == "15"


def test_unwatch_and_discard_forget_the_watch(r, client):
    other = client()
    assert r.execute_command("WATCH", "k") in ("OK", True)
    assert r.execute_command("UNWATCH") in ("OK", True)
    other.set("k", "changed")
    with r.pipeline() as pipe:
        pipe.multi()
        pipe.get("k")
        assert pipe.execute() == ["changed"]
    other.close()


def test_concurrent_check_and_set_loses_no_update(r, client):
    def bump(pipe):
        current = int(pipe.get("counter") or 0)
        pipe.multi()
        pipe.set("counter", current + 1)

    def worker():
        c = client()
        for _ in range(100):
            c.transaction(bump, "counter")
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.get("counter") == "400"


def test_misuse_errors(r):
    with pytest.raises(redis.ResponseError, match="EXEC without MULTI"):
        r.execute_command("EXEC")
    with pytest.raises(redis.ResponseError, match="DISCARD without MULTI"):
        r.execute_command("DISCARD")
