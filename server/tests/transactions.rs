//! Transactions over real sockets with the `redis` client: atomic pipelines (MULTI/EXEC),
//! WATCH conflicts between two connections, and EXECABORT after a queueing error.

use memora_server::test_utils::TestServer;
use redis::aio::MultiplexedConnection;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_atomic_pipeline_runs_as_one_transaction() {
    let server = TestServer::start().await;
    let mut con = server.redis_connection().await;
    let (n, value, len): (i64, String, i64) = redis::pipe()
        .atomic()
        .cmd("INCRBY")
        .arg("n")
        .arg(5)
        .cmd("GET")
        .arg("n")
        .cmd("RPUSH")
        .arg("l")
        .arg("a")
        .query_async(&mut con)
        .await
        .expect("transaction");
    assert_eq!((n, value.as_str(), len), (5, "5", 1));
}

/// `MULTI; SET balance 0; EXEC`: `None` when EXEC answered null (a watched key changed).
async fn zero_balance_in_transaction(con: &mut MultiplexedConnection) -> Option<(String,)> {
    redis::pipe().atomic().cmd("SET").arg("balance").arg(0).query_async(con).await.expect("exec")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_key_changed_by_another_client_fails_exec() {
    let server = TestServer::start().await;
    let mut watcher = server.redis_connection().await;
    let mut other = server.redis_connection().await;
    // Separate connections: a multiplexed connection would interleave other commands.
    let client = redis::Client::open(server.url(false)).expect("client");
    let mut watcher_raw = client.get_multiplexed_async_connection().await.expect("connect");
    let () = redis::cmd("SET").arg("balance").arg(10).query_async(&mut other).await.expect("set");
    let () = redis::cmd("WATCH").arg("balance").query_async(&mut watcher_raw).await.expect("watch");
    let () = redis::cmd("SET").arg("balance").arg(20).query_async(&mut other).await.expect("set");
    let result = zero_balance_in_transaction(&mut watcher_raw).await;
    assert_eq!(result, None, "EXEC answers null after a conflict");
    let balance: i64 = redis::cmd("GET").arg("balance").query_async(&mut watcher).await.expect("get");
    assert_eq!(balance, 20);
    // Without a conflict it goes through.
    let () = redis::cmd("WATCH").arg("balance").query_async(&mut watcher_raw).await.expect("watch");
    let result = zero_balance_in_transaction(&mut watcher_raw).await;
    assert_eq!(result, Some(("OK".to_string(),)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queueing_error_aborts_exec() {
    let server = TestServer::start().await;
    let mut con = server.redis_connection().await;
    let err = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("k")
        .arg("v")
        .cmd("GET")
        .query_async::<()>(&mut con)
        .await
        .expect_err("EXECABORT");
    assert!(err.to_string().to_lowercase().contains("abort"), "{err}");
    let value: Option<String> = redis::cmd("GET").arg("k").query_async(&mut con).await.expect("get");
    assert_eq!(value, None, "nothing ran");
}
