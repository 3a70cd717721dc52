//! Guards graceful shutdown: `run` returns once asked, connections close, and every command
//! the server executed was answered (none is cut off between execution and reply).

use memora_server::test_utils::{DEADLINE, RawClient, TestServer, frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_close_and_run_returns() {
    let server = TestServer::start().await;
    let addr = server.addr;
    let mut client = RawClient::connect(addr).await;
    client.roundtrip(b"PING\r\n", b"+PONG\r\n").await;
    server.shutdown().await;
    assert_eq!(client.read_to_close().await, b"");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "listener closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executed_commands_are_answered() {
    let server = TestServer::start().await;
    let engine = server.engine.clone();
    let client = RawClient::connect(server.addr).await;
    let (mut reader, mut writer) = client.stream.into_split();
    let one = frame(&[b"INCR", b"counter"]);
    let request: Vec<u8> = std::iter::repeat_n(one, 50_000).flatten().collect();
    // Write from another task: the server's replies are not read until shutdown starts.
    let sender = tokio::spawn(async move {
        // The server stops reading at shutdown: the tail of the request may be refused.
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut first = [0u8; 4];
    reader.read_exact(&mut first).await.expect("first reply");
    assert_eq!(&first, b":1\r\n");
    server.shutdown().await;
    // Read until the close; a reset (unread request bytes) also ends the stream.
    let mut rest = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(DEADLINE, reader.read(&mut chunk)).await.expect("close in time") {
            Ok(0) | Err(_) => break,
            Ok(n) => rest.extend_from_slice(&chunk[..n]),
        }
    }
    drop(sender.await);
    let replies = 1 + rest.iter().filter(|&&byte| byte == b':').count();
    let executed = engine.execute(&["GET", "counter"]);
    assert_eq!(executed, memora_engine::Reply::Bulk(replies.to_string().into_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_client_does_not_hold_off_shutdown() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let server = TestServer::start().await;
    let client = RawClient::connect(server.addr).await;
    let (mut reader, mut writer) = client.stream.into_split();
    let ping = b"PING\r\n".repeat(1000);
    // Writes without pause until the server hangs up.
    let sender = tokio::spawn(async move { while writer.write_all(&ping).await.is_ok() {} });
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let drainer = tokio::spawn(async move {
        let mut chunk = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = reader.read(&mut chunk).await {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    });
    let deadline = std::time::Instant::now() + DEADLINE;
    while received.load(Ordering::Relaxed) < 100_000 {
        assert!(std::time::Instant::now() < deadline, "replies flowing");
        tokio::task::yield_now().await;
    }
    let started = std::time::Instant::now();
    server.shutdown().await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "shutdown waited for the client");
    tokio::time::timeout(DEADLINE, drainer).await.expect("connection closed").expect("drainer");
    sender.abort();
}
