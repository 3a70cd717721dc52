"""Real-client checks for maxmemory and eviction with redis-py.

Runs against a live server at $MEMORA_HOST (default 127.0.0.1) and $MEMORA_PORT
(required). Every test restores `maxmemory 0` and `maxmemory-policy noeviction`.
Every assertion was validated against redis-server 7.0.15 (Debian 12).
"""

import pytest
import redis

DB = 12


@pytest.fixture
def client(connect):
    """Makes a client of this file's database (see `connect` in conftest.py)."""
    return lambda **kw: connect(DB, 30, **kw)


@pytest.fixture
def r(client):
    c = client()
    c.flushall()
    yield c
    c.config_set("maxmemory", 0)
    c.config_set("maxmemory-policy", "noeviction")
    c.flushall()
    c.close()


def limit_above_current(r, headroom):
    used = r.info("memory")["used_memory"]
    limit = used + headroom
    r.config_set("maxmemory", limit)
    return limit


def fill(r, prefix, count, size, ttl=None):
    with r.pipeline(transaction=False) as pipe:
        for i in range(count):
            pipe.set(f"{prefix}:{i}", "x" * size, ex=ttl)
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()


def test_config_round_trips(r):
    r.config_set("maxmemory", "100mb")
    assert r.config_get("maxmemory") == {"maxmemory": str(100 * 1024 * 1024)}
    for policy in ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                   "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"]:
        r.config_set("maxmemory-policy", policy)
        assert r.config_get("maxmemory-policy") == {"maxmemory-policy": policy}
    with pytest.raises(redis.ResponseError, match="argument\\(s\\) must be one of the following"):
        r.config_set("maxmemory-policy", "sometimes")
    r.config_set("maxmemory-samples", 7)
    assert r.config_get("maxmemory-samples") == {"maxmemory-samples": "7"}
    r.config_set("maxmemory-samples", 5)
    info = r.info("memory")
    assert info["maxmemory"] == 100 * 1024 * 1024
    assert info["maxmemory_policy"] == "noeviction"


def test_allkeys_lru_evicts_and_stays_under_the_limit(r):
    r.config_set("maxmemory-policy", "allkeys-lru")
    limit = limit_above_current(r, 4 * 1024 * 1024)
    fill(r, "k", 60000, 100)
    info = r.info()
    assert info["evicted_keys"] > 10000
    assert info["used_memory"] <= limit * 1.02
    assert r.dbsize() < 60000
    assert r.get("k:59999") == "x" * 100, "the newest key is kept"


def test_volatile_lru_never_evicts_keys_without_ttl(r):
    r.config_set("maxmemory-policy", "volatile-lru")
    fill(r, "keep", 2000, 50)
    limit_above_current(r, 2 * 1024 * 1024)
    fill(r, "vol", 40000, 100, ttl=3600)
    assert r.info()["evicted_keys"] > 1000
    assert all(r.exists(f"keep:{i}") for i in range(0, 2000, 97))
    assert r.mget([f"keep:{i}" for i in range(2000)]).count(None) == 0


def test_noeviction_answers_oom_and_keeps_everything(r):
    r.set("before", "v")
    r.config_set("maxmemory", 1)
    with pytest.raises(redis.exceptions.ResponseError, match="command not allowed when used memory > 'maxmemory'"):
        r.set("after", "v")
    with pytest.raises(redis.exceptions.ResponseError, match="command not allowed when used memory"):
        r.lpush("list", "x")
    assert r.get("before") == "v"
    assert r.delete("before") == 1, "deletes are always allowed"


def test_object_freq_under_lfu_and_memory_usage(r):
    r.set("k", "v" * 100)
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is not selected"):
        r.object("freq", "k")
    r.config_set("maxmemory-policy", "allkeys-lfu")
    for _ in range(50):
        r.get("k")
    assert r.object("freq", "k") > 5
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is selected"):
        r.object("idletime", "k")
    usage = r.memory_usage("k")
    assert 100 <= usage < 400
    assert r.memory_usage("missing") is None
    stats = r.memory_stats()
    assert stats["keys.count"] >= 1
    assert stats["total.allocated"] >= stats["dataset.bytes"]
