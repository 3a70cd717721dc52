//! [`Server`]: the engine, the listeners, the accept loops, client accounting and graceful
//! shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use memora_engine::Engine;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

use crate::busy_poll::BusyPoll;
use crate::clients::ClientTable;
use crate::config::{ConfigError, EngineParam, ServerConfig};
use crate::connection::{Connection, Limits};

/// Pending connections the kernel may queue per listener (clamped by `somaxconn`).
const LISTEN_BACKLOG: u32 = 4096;
/// How long shutdown waits for connections to finish their last batch.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Pause after an accept error such as running out of file descriptors.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(20);
/// The reply to a client over `maxclients`, before the connection is closed.
const MAX_CLIENTS_REPLY: &[u8] = b"-ERR max number of clients reached\r\n";

/// A server that failed to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A listening socket could not be created.
    #[error("Warning: Could not create server TCP listening socket {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// No address could be bound (every `bind` address was optional and failed).
    #[error("Failed listening on any address")]
    NoListener,
    /// The engine refused a configuration directive.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A bound, not yet running server.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use memora_server::{Server, ServerConfig};
///
/// let config = ServerConfig { port: 0, ..ServerConfig::default() };
/// let server = Server::bind(&config).await?;
/// println!("listening on {}", server.local_addr());
/// server.run(async { let _ = tokio::signal::ctrl_c().await; }).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    engine: Engine,
    listeners: Vec<TcpListener>,
    addrs: Vec<SocketAddr>,
    maxclients: usize,
    limits: Limits,
    /// The busy poller, unless `busy-poll-us` is 0 (started by [`Server::run`] on a
    /// current-thread runtime only).
    busy_poll: Option<Arc<BusyPoll>>,
}

/// Builds the engine `config` describes, with background maintenance running, and applies
/// the directives meant for the engine (`CONFIG SET`).
pub fn build_engine(config: &ServerConfig) -> Result<Engine, ConfigError> {
    let mut builder = Engine::builder().databases(config.databases).background_maintenance(true);
    if let Some(hz) = config.hz {
        builder = builder.hz(hz);
    }
    if let Some(bytes) = config.proto_max_bulk_len {
        builder = builder.proto_max_bulk_len(bytes);
    }
    let engine = builder.build();
    apply_engine_params(&engine, &config.engine_params)?;
    Ok(engine)
}

/// Runs `CONFIG SET name value` for each parameter; the first refusal is a fatal error. A
/// parameter already at the requested value is left alone, so that a redis.conf may restate
/// read-only settings (`appendonly no`, `save ""`).
fn apply_engine_params(engine: &Engine, params: &[EngineParam]) -> Result<(), ConfigError> {
    for param in params {
        if engine.config_value(&param.name).as_deref() == Some(param.value.as_str()) {
            continue;
        }
        engine.config_set(&[(&param.name, &param.value)]).map_err(|error| ConfigError::Directive {
            origin: param.origin.clone(),
            reason: format!("Bad directive or wrong number of arguments ({error})"),
        })?;
    }
    Ok(())
}

impl Server {
    /// Builds the engine from `config` and binds its addresses.
    pub async fn bind(config: &ServerConfig) -> Result<Server, ServerError> {
        let engine = build_engine(config)?;
        Server::bind_with_engine(config, engine).await
    }

    /// Binds `config`'s addresses in front of an existing `engine`, and registers the
    /// server's parameters with it (`port`, `bind`, `databases`, `maxclients`, `io-threads`,
    /// `busy-poll-us`, `client-query-buffer-limit`, all read-only) so that `CONFIG GET` shows them. `port`
    /// shows the bound port, which differs from the configured one when that is 0.
    pub async fn bind_with_engine(config: &ServerConfig, engine: Engine) -> Result<Server, ServerError> {
        let Some(first_bind) = config.bind.first() else { return Err(ServerError::NoListener) };
        let mut listeners = Vec::new();
        for bind in &config.bind {
            let addr = SocketAddr::new(bind.ip, config.port);
            match listen(addr) {
                Ok(listener) => listeners.push(listener),
                Err(_) if bind.optional => {}
                Err(source) => return Err(ServerError::Bind { addr, source }),
            }
        }
        let addrs = listeners.iter().map(TcpListener::local_addr).collect::<io::Result<Vec<_>>>();
        let addrs = addrs.map_err(|source| ServerError::Bind {
            addr: SocketAddr::new(first_bind.ip, config.port),
            source,
        })?;
        let Some(first) = addrs.first() else { return Err(ServerError::NoListener) };
        engine.register_config_param("port", first.port().to_string(), false);
        engine.register_config_param("bind", config.bind_text(), false);
        engine.register_config_param("databases", config.databases.to_string(), false);
        engine.register_config_param("maxclients", config.maxclients.to_string(), false);
        engine.register_config_param("io-threads", config.io_threads.to_string(), false);
        engine.register_config_param("busy-poll-us", config.busy_poll_us.to_string(), false);
        engine.register_config_param(
            "client-query-buffer-limit",
            config.client_query_buffer_limit.to_string(),
            false,
        );
        let limits = Limits {
            query_buffer_bytes: usize::try_from(config.client_query_buffer_limit).unwrap_or(usize::MAX),
        };
        let busy_poll = (config.busy_poll_us > 0).then(|| BusyPoll::new(config.busy_poll_us));
        Ok(Server { engine, listeners, addrs, maxclients: config.maxclients, limits, busy_poll })
    }

    /// The engine behind the server.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The first bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every bound address.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Serves clients until `shutdown` completes, then stops accepting, lets connections
    /// finish the commands they already read (each closes at its next read, after answering
    /// them and letting its last replies drain), waits up to 10 seconds for them, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop, stopped) = watch::channel(false);
        let clients = Arc::new(ClientTable::default());
        // Busy polling works on a current-thread runtime only (see `busy_poll.rs`).
        let current_thread = tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::CurrentThread;
        let busy_poll = self.busy_poll.filter(|_| current_thread);
        let _poller = busy_poll.as_ref().map(|poll| AbortOnDrop(tokio::spawn(Arc::clone(poll).run())));
        let accepts: Vec<_> = self
            .listeners
            .into_iter()
            .map(|listener| {
                let acceptor = Acceptor {
                    listener,
                    engine: self.engine.clone(),
                    clients: Arc::clone(&clients),
                    maxclients: self.maxclients,
                    limits: self.limits,
                    busy_poll: busy_poll.clone(),
                    shutdown: stopped.clone(),
                };
                tokio::spawn(acceptor.run())
            })
            .collect();
        shutdown.await;
        let _ = stop.send(true);
        for accept in accepts {
            let _ = accept.await;
        }
        clients.shut_down();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, clients.drained()).await;
    }
}

/// A task aborted when this is dropped (the busy poller: it ends with [`Server::run`],
/// however that future ends).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Binds a listening socket with `SO_REUSEADDR`, as Redis does.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// One listener's accept loop.
struct Acceptor {
    listener: TcpListener,
    engine: Engine,
    clients: Arc<ClientTable>,
    maxclients: usize,
    limits: Limits,
    busy_poll: Option<Arc<BusyPoll>>,
    shutdown: watch::Receiver<bool>,
}

impl Acceptor {
    async fn run(mut self) {
        loop {
            let accepted = tokio::select! {
                biased;
                _ = self.shutdown.changed() => return,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => self.admit(stream, peer),
                // Out of descriptors or memory: back off instead of spinning.
                Err(_) => tokio::time::sleep(ACCEPT_ERROR_PAUSE).await,
            }
        }
    }

    /// Starts a connection task, or refuses the client when `maxclients` are connected.
    fn admit(&self, stream: TcpStream, peer: SocketAddr) {
        let Some((slot, shutdown)) = self.clients.admit(self.maxclients) else {
            // A fresh socket's send buffer is empty: this write does not block, and if it
            // fails the client is dropped all the same.
            let _ = stream.try_write(MAX_CLIENTS_REPLY);
            return;
        };
        let connection =
            Connection::new(stream, peer, self.engine.clone(), self.limits, self.busy_poll.clone(), shutdown);
        tokio::spawn(async move {
            connection.serve().await;
            drop(slot);
        });
    }
}
