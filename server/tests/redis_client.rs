//! Guards compatibility with a real client library: the `redis` crate over RESP2, single
//! commands, pipelines and error replies.

use memora_server::test_utils::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_pipelines_and_errors() {
    let server = TestServer::start().await;
    let client = redis::Client::open(server.url(false)).expect("client");
    let mut con = client.get_multiplexed_async_connection().await.expect("connect");

    let pong: String = redis::cmd("PING").query_async(&mut con).await.expect("ping");
    assert_eq!(pong, "PONG");
    let () = redis::cmd("SET").arg("n").arg(41).query_async(&mut con).await.expect("set");
    let n: i64 = redis::cmd("INCR").arg("n").query_async(&mut con).await.expect("incr");
    assert_eq!(n, 42);

    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET").arg(format!("p:{i}")).arg(i).ignore();
    }
    for i in 0..200 {
        pipe.cmd("GET").arg(format!("p:{i}"));
    }
    let values: Vec<i64> = pipe.query_async(&mut con).await.expect("pipeline");
    assert_eq!(values, (0..200).collect::<Vec<i64>>());

    let binary: Vec<u8> = (0..=255).collect();
    let () = redis::cmd("SET").arg("bin").arg(&binary[..]).query_async(&mut con).await.expect("set");
    let back: Vec<u8> = redis::cmd("GET").arg("bin").query_async(&mut con).await.expect("get");
    assert_eq!(back, binary);

    let err = redis::cmd("INCR").arg("bin").query_async::<i64>(&mut con).await.expect_err("not an int");
    assert!(err.to_string().contains("not an integer"), "{err}");
    let err = redis::cmd("NOSUCHCOMMAND").query_async::<()>(&mut con).await.expect_err("unknown");
    assert!(err.to_string().contains("unknown command"), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn select_is_per_connection() {
    let server = TestServer::start().await;
    let client = redis::Client::open(server.url(false)).expect("client");
    let mut a = client.get_multiplexed_async_connection().await.expect("connect");
    let mut b = client.get_multiplexed_async_connection().await.expect("connect");
    let () = redis::cmd("SELECT").arg(3).query_async(&mut a).await.expect("select");
    let () = redis::cmd("SET").arg("k").arg("in-3").query_async(&mut a).await.expect("set");
    let none: Option<String> = redis::cmd("GET").arg("k").query_async(&mut b).await.expect("get");
    assert_eq!(none, None);
    server.shutdown().await;
}
