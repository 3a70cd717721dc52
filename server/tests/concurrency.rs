//! Guards scale: well over a thousand connections open at once, each doing round trips, all
//! served by a fixed pool of runtime threads.

use memora_server::test_utils::{RawClient, TestServer, frame};

const CLIENTS: usize = 1500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_connections() {
    let server = TestServer::start().await;
    // Connect everyone first so that all connections are open at the same time.
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        clients.push(RawClient::connect(server.addr).await);
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            tokio::spawn(async move {
                let key = format!("client:{i}");
                let value = format!("v{i}");
                client.roundtrip(&frame(&[b"SET", key.as_bytes(), value.as_bytes()]), b"+OK\r\n").await;
                let reply = format!("${}\r\n{value}\r\n", value.len());
                client.roundtrip(&frame(&[b"GET", key.as_bytes()]), reply.as_bytes()).await;
                client
            })
        })
        .collect();
    let mut open = Vec::with_capacity(CLIENTS);
    for task in tasks {
        open.push(task.await.expect("client task"));
    }
    let mut probe = RawClient::connect(server.addr).await;
    probe.roundtrip(&frame(&[b"DBSIZE"]), format!(":{CLIENTS}\r\n").as_bytes()).await;
    drop(open);
    server.shutdown().await;
}

/// Busy polling (`busy-poll-us`) only changes when the I/O thread sleeps: with it on (the
/// default) and off, many clients' round trips all get their answers, and `CONFIG GET`
/// reports the setting. A current-thread runtime, as `io-threads 1` runs: the one that polls.
#[tokio::test(flavor = "current_thread")]
async fn busy_polling_on_or_off_answers_every_round_trip() {
    const ROUND_TRIP_CLIENTS: usize = 40;
    const ROUNDS: usize = 200;
    for busy_poll_us in [memora_server::config::DEFAULT_BUSY_POLL_US, 0] {
        let server = TestServer::start_with(|config| config.busy_poll_us = busy_poll_us).await;
        let tasks: Vec<_> = (0..ROUND_TRIP_CLIENTS)
            .map(|i| {
                let addr = server.addr;
                tokio::spawn(async move {
                    let mut client = RawClient::connect(addr).await;
                    let key = format!("counter:{i}");
                    for round in 1..=ROUNDS {
                        let reply = format!(":{round}\r\n");
                        client.roundtrip(&frame(&[b"INCR", key.as_bytes()]), reply.as_bytes()).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("client task");
        }
        let mut probe = RawClient::connect(server.addr).await;
        probe.roundtrip(&frame(&[b"DBSIZE"]), format!(":{ROUND_TRIP_CLIENTS}\r\n").as_bytes()).await;
        let setting = busy_poll_us.to_string();
        let expected = format!("*2\r\n$12\r\nbusy-poll-us\r\n${}\r\n{setting}\r\n", setting.len());
        probe.roundtrip(&frame(&[b"CONFIG", b"GET", b"busy-poll-us"]), expected.as_bytes()).await;
        server.shutdown().await;
    }
}
