"""Shared fixtures for the redis-py checks in this directory.

The server under test is at $MEMORA_HOST (default 127.0.0.1) and $MEMORA_PORT
(required; run_checks.sh sets both).
"""

import os

import pytest
import redis

HOST = os.environ.get("MEMORA_HOST", "127.0.0.1")
PORT_ENV = os.environ.get("MEMORA_PORT")


@pytest.fixture(scope="session")
def connect():
    """A factory: connect(db, socket_timeout, **kw) returns a decoding redis-py client of the
    server under test. Stops the whole run if $MEMORA_PORT is not set."""
    if not PORT_ENV:
        pytest.exit("MEMORA_PORT must be set to the port of the server under test", returncode=2)
    port = int(PORT_ENV)

    def connect(db, socket_timeout, **kw):
        return redis.Redis(
            host=HOST, port=port, db=db, decode_responses=True, socket_timeout=socket_timeout, **kw
        )

    return connect
