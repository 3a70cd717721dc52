//! Guards RESP3: after `HELLO 3` replies use RESP3 types, on raw sockets and through the
//! `redis` crate.

use memora_server::test_utils::{RawClient, TestServer, frame};

#[tokio::test]
async fn hello_3_switches_the_encoding() {
    let server = TestServer::start().await;
    let mut client = RawClient::connect(server.addr).await;
    client.roundtrip(&frame(&[b"GET", b"missing"]), b"$-1\r\n").await;
    client.send(&frame(&[b"HELLO", b"3"])).await;
    let first = client.read_exact(1).await;
    assert_eq!(first, b"%", "HELLO 3 answers with a RESP3 map");
    // Drain the rest of the HELLO map by asking for a marker reply after it.
    client.send(&frame(&[b"ECHO", b"marker-123"])).await;
    let mut seen = Vec::new();
    while !seen.ends_with(b"$10\r\nmarker-123\r\n") {
        seen.extend_from_slice(&client.read_exact(1).await);
    }
    client.roundtrip(&frame(&[b"GET", b"missing"]), b"_\r\n").await;
    server.shutdown().await;
}

#[tokio::test]
async fn redis_crate_over_resp3() {
    let server = TestServer::start().await;
    let client = redis::Client::open(server.url(true)).expect("client");
    let mut con = client.get_multiplexed_async_connection().await.expect("connect");
    let () = redis::cmd("SET").arg("k").arg("v").query_async(&mut con).await.expect("set");
    let value: Option<String> = redis::cmd("GET").arg("k").query_async(&mut con).await.expect("get");
    assert_eq!(value.as_deref(), Some("v"));
    let missing: redis::Value = redis::cmd("GET").arg("nope").query_async(&mut con).await.expect("get");
    assert_eq!(missing, redis::Value::Nil);
    let hello: redis::Value = redis::cmd("HELLO").arg("3").query_async(&mut con).await.expect("hello");
    assert!(matches!(hello, redis::Value::Map(_)), "{hello:?}");
    server.shutdown().await;
}
