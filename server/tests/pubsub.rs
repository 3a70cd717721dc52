//! Pub/sub over real sockets: subscribe and publish across connections with the `redis`
//! crate (RESP2 and RESP3 pushes), pattern messages, Redis's exact frames on a raw socket,
//! commands still read while subscribed, and a subscriber that stops reading disconnected
//! at the output buffer limit.

use std::time::{Duration, Instant};

use memora_engine::BufferLimit;
use memora_server::test_utils::{RawClient, TestServer, frame};

async fn publish(con: &mut redis::aio::MultiplexedConnection, channel: &str, payload: &str) -> i64 {
    redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(con).await.expect("publish")
}

/// Publishes until `expected` receivers are counted (a subscription made on another
/// connection is in force once its confirmation was read, but be tolerant of ordering).
async fn publish_to(
    con: &mut redis::aio::MultiplexedConnection,
    channel: &str,
    payload: &str,
    expected: i64,
) {
    let start = Instant::now();
    while publish(con, channel, payload).await != expected {
        assert!(start.elapsed() < Duration::from_secs(10), "no subscriber on {channel}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp2_subscribers_receive_channel_and_pattern_messages() {
    let server = TestServer::start().await;
    let client = redis::Client::open(server.url(false)).expect("client");
    let mut publisher = client.get_multiplexed_async_connection().await.expect("connect");
    let sub_client = client.clone();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let subscriber = tokio::task::spawn_blocking(move || {
        let mut con = sub_client.get_connection().expect("connect");
        let mut pubsub = con.as_pubsub();
        pubsub.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        pubsub.subscribe("news").expect("subscribe");
        pubsub.psubscribe("sport.*").expect("psubscribe");
        ready_tx.send(()).expect("ready");
        let mut got = Vec::new();
        for _ in 0..2 {
            let msg = pubsub.get_message().expect("message");
            let payload: String = msg.get_payload().expect("payload");
            let pattern: Option<String> = msg.get_pattern().ok();
            got.push((msg.get_channel_name().to_string(), pattern, payload));
        }
        got
    });
    ready_rx.await.expect("subscribed");
    publish_to(&mut publisher, "news", "hello", 1).await;
    assert_eq!(publish(&mut publisher, "weather", "nobody").await, 0);
    publish_to(&mut publisher, "sport.tennis", "ace", 1).await;
    let got = subscriber.await.expect("subscriber");
    assert_eq!(got[0], ("news".to_string(), None, "hello".to_string()));
    assert_eq!(got[1], ("sport.tennis".to_string(), Some("sport.*".to_string()), "ace".to_string()));
    let numsub: Vec<redis::Value> =
        redis::cmd("PUBSUB").arg("NUMSUB").arg("news").query_async(&mut publisher).await.expect("numsub");
    assert_eq!(numsub.len(), 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_messages_arrive_as_pushes_between_replies() {
    let server = TestServer::start().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = redis::AsyncConnectionConfig::new().set_push_sender(tx);
    let client = redis::Client::open(server.url(true)).expect("client");
    let mut subscriber = client.get_multiplexed_async_connection_with_config(&config).await.expect("connect");
    let mut publisher = client.get_multiplexed_async_connection().await.expect("connect");
    subscriber.subscribe("ch").await.expect("subscribe");
    // In RESP3 a subscribed connection still runs every command.
    let () = redis::cmd("SET").arg("k").arg("v").query_async(&mut subscriber).await.expect("set");
    publish_to(&mut publisher, "ch", "payload", 1).await;
    let value: String = redis::cmd("GET").arg("k").query_async(&mut subscriber).await.expect("get");
    assert_eq!(value, "v");
    let deadline = Instant::now() + Duration::from_secs(10);
    let message = loop {
        let push =
            tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("push").expect("open");
        if push.kind == redis::PushKind::Message {
            break push;
        }
        assert!(Instant::now() < deadline, "no message push");
    };
    assert_eq!(
        message.data,
        vec![redis::Value::BulkString(b"ch".to_vec()), redis::Value::BulkString(b"payload".to_vec())]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn raw_frames_match_redis() {
    let server = TestServer::start().await;
    let mut sub = RawClient::connect(server.addr).await;
    sub.roundtrip(
        &frame(&[b"SUBSCRIBE", b"a", b"b"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
    )
    .await;
    sub.roundtrip(
        &frame(&[b"GET", b"x"]),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed \
          in this context\r\n",
    )
    .await;
    sub.roundtrip(&frame(&[b"PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n").await;
    let mut other = RawClient::connect(server.addr).await;
    other.roundtrip(&frame(&[b"PUBLISH", b"b", b"hi"]), b":1\r\n").await;
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$2\r\nhi\r\n").await;
    sub.roundtrip(&frame(&[b"RESET"]), b"+RESET\r\n").await;
    sub.roundtrip(&frame(&[b"GET", b"x"]), b"$-1\r\n").await;
    // RESP3: pushes, and commands run while subscribed.
    let mut sub3 = RawClient::connect(server.addr).await;
    sub3.send(&frame(&[b"HELLO", b"3"])).await;
    sub3.send(&frame(&[b"ECHO", b"marker"])).await;
    let mut seen = Vec::new();
    while !seen.ends_with(b"$6\r\nmarker\r\n") {
        seen.extend_from_slice(&sub3.read_exact(1).await);
    }
    sub3.roundtrip(&frame(&[b"SUBSCRIBE", b"c"]), b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n").await;
    other.roundtrip(&frame(&[b"PUBLISH", b"c", b"m"]), b":1\r\n").await;
    sub3.expect(b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n").await;
    sub3.roundtrip(&frame(&[b"GET", b"x"]), b"_\r\n").await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_blocked_resp3_subscriber_still_receives_messages() {
    let server = TestServer::start().await;
    let mut sub = RawClient::connect(server.addr).await;
    sub.send(&frame(&[b"HELLO", b"3"])).await;
    sub.send(&frame(&[b"ECHO", b"marker"])).await;
    let mut seen = Vec::new();
    while !seen.ends_with(b"$6\r\nmarker\r\n") {
        seen.extend_from_slice(&sub.read_exact(1).await);
    }
    sub.roundtrip(&frame(&[b"SUBSCRIBE", b"c"]), b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n").await;
    sub.send(&frame(&[b"BLPOP", b"list", b"10"])).await;
    let start = Instant::now();
    while server.engine.stats().blocked_clients != 1 {
        assert!(start.elapsed() < Duration::from_secs(10), "BLPOP never blocked");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut other = RawClient::connect(server.addr).await;
    other.roundtrip(&frame(&[b"PUBLISH", b"c", b"during"]), b":1\r\n").await;
    sub.expect(b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$6\r\nduring\r\n").await;
    other.roundtrip(&frame(&[b"RPUSH", b"list", b"x"]), b":1\r\n").await;
    sub.expect(b"*2\r\n$4\r\nlist\r\n$1\r\nx\r\n").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_is_disconnected_at_the_limit() {
    let server = TestServer::start().await;
    server.engine.set_pubsub_buffer_limit(BufferLimit {
        hard_bytes: 256 * 1024,
        soft_bytes: 0,
        soft_secs: 0,
    });
    let mut sub = RawClient::connect(server.addr).await;
    sub.roundtrip(&frame(&[b"SUBSCRIBE", b"firehose"]), b"*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n")
        .await;
    // The subscriber reads nothing more; the publisher never waits for it.
    let payload = vec![b'x'; 64 * 1024];
    let start = Instant::now();
    let mut published = 0u64;
    while server.engine.pubsub_numsub(b"firehose") == 1 {
        assert!(start.elapsed() < Duration::from_secs(20), "never disconnected");
        server.engine.publish(b"firehose", &payload);
        published += 1;
        if published.is_multiple_of(64) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    // Socket buffers take a few MiB; past them the queue hits 256 KiB and the server closes.
    let rest = sub.read_to_close().await;
    assert!((rest.len() as u64) < published * payload.len() as u64, "not everything was delivered");
    let info = server.engine.info(&[b"stats"]);
    assert!(info.contains("client_output_buffer_limit_disconnections:1\r\n"), "{info}");
    server.shutdown().await;
}
