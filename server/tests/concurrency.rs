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
