//! Blocking commands over real sockets: a BLPOP on one connection is served by a push on
//! another, times out with a null reply, unblocks when its client hangs up, and keeps the
//! commands pipelined behind it for afterwards.

use std::time::{Duration, Instant};

use memora_server::test_utils::{RawClient, TestServer};

async fn blocked_clients(con: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO").arg("clients").query_async(con).await.expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("blocked_clients line")
}

async fn until_blocked(con: &mut redis::aio::MultiplexedConnection, n: u64) {
    let start = Instant::now();
    while blocked_clients(con).await != n {
        assert!(start.elapsed() < Duration::from_secs(10), "expected {n} blocked clients");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blpop_is_served_by_a_push_from_another_client() {
    let server = TestServer::start().await;
    let client = redis::Client::open(server.url(false)).expect("client");
    let mut waiter = client.get_multiplexed_async_connection().await.expect("connect");
    let mut pusher = client.get_multiplexed_async_connection().await.expect("connect");
    let pending = tokio::spawn(async move {
        let got: Option<(String, String)> =
            redis::cmd("BLPOP").arg("q1").arg("q2").arg(0).query_async(&mut waiter).await.expect("blpop");
        got
    });
    until_blocked(&mut pusher, 1).await;
    let n: i64 =
        redis::cmd("RPUSH").arg("q2").arg("x").arg("y").query_async(&mut pusher).await.expect("rpush");
    assert_eq!(n, 2);
    assert_eq!(pending.await.expect("task"), Some(("q2".to_string(), "x".to_string())));
    let rest: Vec<String> =
        redis::cmd("LRANGE").arg("q2").arg(0).arg(-1).query_async(&mut pusher).await.expect("lrange");
    assert_eq!(rest, ["y"]);
    assert_eq!(blocked_clients(&mut pusher).await, 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_answer_null() {
    let server = TestServer::start().await;
    let client = redis::Client::open(server.url(false)).expect("client");
    let mut con = client.get_multiplexed_async_connection().await.expect("connect");
    let start = Instant::now();
    let got: Option<(String, String)> =
        redis::cmd("BRPOP").arg("empty").arg("0.1").query_async(&mut con).await.expect("brpop");
    assert_eq!(got, None);
    assert!(start.elapsed() >= Duration::from_millis(100));
    let moved: Option<String> = redis::cmd("BLMOVE")
        .arg("empty")
        .arg("dst")
        .arg("LEFT")
        .arg("RIGHT")
        .arg("0.05")
        .query_async(&mut con)
        .await
        .expect("blmove");
    assert_eq!(moved, None);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_up_unblocks_and_pipelined_commands_wait_their_turn() {
    let server = TestServer::start().await;
    let client = redis::Client::open(server.url(false)).expect("client");
    let mut observer = client.get_multiplexed_async_connection().await.expect("connect");

    // A raw client: BLPOP, then PING pipelined behind it.
    let mut raw = RawClient::connect(server.addr).await;
    raw.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n").await;
    until_blocked(&mut observer, 1).await;
    let pushed: i64 = redis::cmd("RPUSH").arg("k").arg("v").query_async(&mut observer).await.expect("push");
    assert_eq!(pushed, 1);
    raw.expect(b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n+PONG\r\n").await;

    // Blocked, then gone: the server forgets the client and takes nothing.
    raw.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n").await;
    until_blocked(&mut observer, 1).await;
    drop(raw);
    until_blocked(&mut observer, 0).await;
    let pushed: i64 =
        redis::cmd("RPUSH").arg("k").arg("kept").query_async(&mut observer).await.expect("push");
    assert_eq!(pushed, 1);
    server.shutdown().await;
}
