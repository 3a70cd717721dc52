//! Guards the connection's reaction to bad input: Redis's protocol error text, then a close;
//! commands before the bad frame still answered; QUIT; the bulk length limit; maxclients.

use memora_server::test_utils::{RawClient, TestServer, frame};

/// Sends `request` and expects exactly `reply` followed by the server closing.
async fn expect_close(server: &TestServer, request: &[u8], reply: &str) {
    let mut client = RawClient::connect(server.addr).await;
    client.send(request).await;
    let got = client.read_to_close().await;
    assert_eq!(String::from_utf8_lossy(&got), reply, "request {:?}", String::from_utf8_lossy(request));
}

#[tokio::test]
async fn malformed_frames_get_the_error_and_a_close() {
    let server = TestServer::start().await;
    let cases: [(&[u8], &str); 8] = [
        (b"*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*2000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n:5\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"),
        (b"ECHO \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"),
        (b"ECHO 'a'b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"),
        (b"PING\r\n*1\r\nfoo\r\n", "+PONG\r\n-ERR Protocol error: expected '$', got 'f'\r\n"),
        (
            b"*1\r\n$4\r\nPING\r\n*y\r\n*1\r\n$4\r\nPING\r\n",
            "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
        ),
    ];
    for (request, reply) in cases {
        expect_close(&server, request, reply).await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn overlong_lines_are_refused() {
    let server = TestServer::start().await;
    let mut inline = b"SET k ".to_vec();
    inline.resize(70 * 1024, b'a');
    expect_close(&server, &inline, "-ERR Protocol error: too big inline request\r\n").await;
    let mut count = b"*".to_vec();
    count.resize(70 * 1024, b'1');
    expect_close(&server, &count, "-ERR Protocol error: too big mbulk count string\r\n").await;
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.resize(70 * 1024, b'1');
    expect_close(&server, &bulk, "-ERR Protocol error: too big bulk count string\r\n").await;
    server.shutdown().await;
}

#[tokio::test]
async fn bulk_longer_than_the_limit() {
    let server = TestServer::start().await;
    expect_close(
        &server,
        b"*2\r\n$3\r\nGET\r\n$536870913\r\n",
        "-ERR Protocol error: invalid bulk length\r\n",
    )
    .await;
    // The limit is read per request: lowering it at run time applies to the next frame.
    let mut client = RawClient::connect(server.addr).await;
    client.roundtrip(&frame(&[b"CONFIG", b"SET", b"proto-max-bulk-len", b"1mb"]), b"+OK\r\n").await;
    client.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n").await;
    let got = client.read_to_close().await;
    assert_eq!(got, b"-ERR Protocol error: invalid bulk length\r\n");
    server.shutdown().await;
}

#[tokio::test]
async fn quit_replies_then_closes() {
    let server = TestServer::start().await;
    expect_close(&server, b"*1\r\n$4\r\nQUIT\r\nPING\r\n", "+OK\r\n").await;
    expect_close(&server, b"PING\r\nquit\r\nPING\r\n", "+PONG\r\n+OK\r\n").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxclients_refuses_the_extra_client() {
    let server = TestServer::start_with(|config| config.maxclients = 2).await;
    let mut first = RawClient::connect(server.addr).await;
    let mut second = RawClient::connect(server.addr).await;
    first.roundtrip(b"PING\r\n", b"+PONG\r\n").await;
    second.roundtrip(b"PING\r\n", b"+PONG\r\n").await;
    let mut third = RawClient::connect(server.addr).await;
    assert_eq!(third.read_to_close().await, b"-ERR max number of clients reached\r\n");
    // A slot frees when a client leaves.
    drop(first);
    let deadline = tokio::time::Instant::now() + memora_server::test_utils::DEADLINE;
    loop {
        let mut next = RawClient::connect(server.addr).await;
        next.send(b"PING\r\n").await;
        let mut reply = [0u8; 7];
        use tokio::io::AsyncReadExt;
        let read =
            tokio::time::timeout(memora_server::test_utils::DEADLINE, next.stream.read_exact(&mut reply))
                .await;
        if matches!(read, Ok(Ok(_))) && &reply == b"+PONG\r\n" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slot never freed");
        tokio::task::yield_now().await;
    }
    second.roundtrip(b"PING\r\n", b"+PONG\r\n").await;
    server.shutdown().await;
}

#[tokio::test]
async fn config_get_shows_server_params() {
    let server = TestServer::start_with(|config| config.maxclients = 77).await;
    let mut client = RawClient::connect(server.addr).await;
    let port = server.addr.port().to_string();
    let reply = format!("*2\r\n$4\r\nport\r\n${}\r\n{port}\r\n", port.len());
    client.roundtrip(&frame(&[b"CONFIG", b"GET", b"port"]), reply.as_bytes()).await;
    client
        .roundtrip(&frame(&[b"CONFIG", b"GET", b"maxclients"]), b"*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n")
        .await;
    client.roundtrip(&frame(&[b"CONFIG", b"GET", b"bind"]), b"*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_buffer_limit_disconnects() {
    let server = TestServer::start_with(|config| config.client_query_buffer_limit = 1024 * 1024).await;
    let mut client = RawClient::connect(server.addr).await;
    client.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n").await;
    // The server hangs up once more than 1 MiB is buffered; later writes may fail.
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..40 {
        use tokio::io::AsyncWriteExt;
        if client.stream.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let mut rest = Vec::new();
    use tokio::io::AsyncReadExt;
    let read =
        tokio::time::timeout(memora_server::test_utils::DEADLINE, client.stream.read_to_end(&mut rest)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "connection closed without a reply");
    let mut probe = RawClient::connect(server.addr).await;
    probe.roundtrip(b"EXISTS k\r\n", b":0\r\n").await;
    server.shutdown().await;
}
