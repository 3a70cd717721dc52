//! Guards framing over a real socket: pipelined commands answered in order with one batch,
//! frames split across writes, large arguments, inline commands.

use memora_server::test_utils::{RawClient, TestServer, frame};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_commands_answer_in_order() {
    let server = TestServer::start().await;
    let mut client = RawClient::connect(server.addr).await;
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..2000 {
        let key = format!("key:{i}");
        let value = format!("value-{i}");
        request.extend_from_slice(&frame(&[b"SET", key.as_bytes(), value.as_bytes()]));
        request.extend_from_slice(&frame(&[b"GET", key.as_bytes()]));
        expected.extend_from_slice(b"+OK\r\n");
        expected.extend_from_slice(format!("${}\r\n{value}\r\n", value.len()).as_bytes());
    }
    client.send(&request).await;
    client.expect(&expected).await;
    server.shutdown().await;
}

#[tokio::test]
async fn frames_split_across_writes() {
    let server = TestServer::start().await;
    let mut client = RawClient::connect(server.addr).await;
    let request = [frame(&[b"SET", b"k", b"hello"]), frame(&[b"GET", b"k"]), b"PING\r\n".to_vec()].concat();
    for chunk in request.chunks(3) {
        client.send(chunk).await;
        tokio::task::yield_now().await;
    }
    client.expect(b"+OK\r\n$5\r\nhello\r\n+PONG\r\n").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_argument_in_pieces() {
    let server = TestServer::start().await;
    let mut client = RawClient::connect(server.addr).await;
    let value: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let request = frame(&[b"SET", b"big", &value]);
    for chunk in request.chunks(100_000) {
        client.send(chunk).await;
    }
    client.expect(b"+OK\r\n").await;
    client.send(&frame(&[b"GET", b"big"])).await;
    let header = format!("${}\r\n", value.len());
    client.expect(header.as_bytes()).await;
    assert_eq!(client.read_exact(value.len()).await, value);
    client.expect(b"\r\n").await;
    server.shutdown().await;
}

#[tokio::test]
async fn inline_commands() {
    let server = TestServer::start().await;
    let mut client = RawClient::connect(server.addr).await;
    client.roundtrip(b"PING\r\n", b"+PONG\r\n").await;
    client.roundtrip(b"set greeting \"hello world\\x21\"\n", b"+OK\r\n").await;
    client.roundtrip(b"GET greeting\r\n", b"$12\r\nhello world!\r\n").await;
    // Empty lines and empty multibulk frames are skipped without a reply.
    client.roundtrip(b"\r\n\n*0\r\n*-1\r\nECHO 'it\\'s'\r\n", b"$4\r\nit's\r\n").await;
    server.shutdown().await;
}

#[tokio::test]
async fn engine_errors_pass_through() {
    let server = TestServer::start().await;
    let mut client = RawClient::connect(server.addr).await;
    client.roundtrip(&frame(&[b"SET", b"s", b"x"]), b"+OK\r\n").await;
    client.roundtrip(&frame(&[b"INCR", b"s"]), b"-ERR value is not an integer or out of range\r\n").await;
    // The connection stays open after a command error.
    client.roundtrip(&frame(&[b"PING"]), b"+PONG\r\n").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_pipeline_of_large_replies() {
    let server = TestServer::start().await;
    let mut client = RawClient::connect(server.addr).await;
    let value = vec![b'v'; 10_000];
    client.roundtrip(&frame(&[b"SET", b"k", &value]), b"+OK\r\n").await;
    // 200 replies of 10 kB: more than one output batch.
    let request: Vec<u8> = std::iter::repeat_n(frame(&[b"GET", b"k"]), 200).flatten().collect();
    client.send(&request).await;
    let mut one = b"$10000\r\n".to_vec();
    one.extend_from_slice(&value);
    one.extend_from_slice(b"\r\n");
    for _ in 0..200 {
        client.expect(&one).await;
    }
    client.roundtrip(b"PING\r\n", b"+PONG\r\n").await;
    server.shutdown().await;
}
