//! Test helpers: an in-process server on an ephemeral port, a `redis` crate connection to it,
//! and a raw RESP client whose every step has a deadline. Built for this crate's tests and, with the `test-utils` feature, for
//! its integration tests and other crates'.

use std::net::SocketAddr;
use std::time::Duration;

use crate::{Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Longest any single network step may take before a test fails instead of hanging.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A server running in the test's runtime.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its engine.
    pub engine: memora_engine::Engine,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1:0 with `adjust` applied to the default configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let mut config = ServerConfig { port: 0, ..ServerConfig::default() };
        adjust(&mut config);
        let server = Server::bind(&config).await.expect("bind");
        let addr = server.local_addr();
        let engine = server.engine().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        TestServer { addr, engine, stop: Some(stop), task: Some(task) }
    }

    /// Starts a server with the default configuration.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Asks the server to shut down and waits until `run` returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(DEADLINE, task).await.expect("shutdown in time").expect("run task");
        }
    }

    /// A `redis` crate client URL for this server.
    pub fn url(&self, resp3: bool) -> String {
        let query = if resp3 { "?protocol=resp3" } else { "" };
        format!("redis://{}/{query}", self.addr)
    }

    /// A `redis` crate async connection to this server over RESP2.
    pub async fn redis_connection(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url(false)).expect("client");
        client.get_multiplexed_async_connection().await.expect("connect")
    }
}

/// A raw TCP client.
pub struct RawClient {
    /// The connection.
    pub stream: TcpStream,
}

impl RawClient {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> RawClient {
        let stream = tokio::time::timeout(DEADLINE, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        RawClient { stream }
    }

    /// Writes all of `bytes`.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads until exactly `expected.len()` bytes arrived and compares them.
    pub async fn expect(&mut self, expected: &[u8]) {
        let got = self.read_exact(expected.len()).await;
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(expected));
    }

    /// Reads exactly `len` bytes.
    pub async fn read_exact(&mut self, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        tokio::time::timeout(DEADLINE, self.stream.read_exact(&mut buf))
            .await
            .expect("reply in time")
            .expect("read reply");
        buf
    }

    /// Reads everything until the server closes the connection.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        tokio::time::timeout(DEADLINE, self.stream.read_to_end(&mut buf))
            .await
            .expect("close in time")
            .expect("read until close");
        buf
    }

    /// Sends `request` and expects exactly `reply`.
    pub async fn roundtrip(&mut self, request: &[u8], reply: &[u8]) {
        self.send(request).await;
        self.expect(reply).await;
    }
}

/// A multibulk frame for `args`.
pub fn frame(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}
