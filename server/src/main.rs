//! The `memora-server` binary: redis-server's command line in front of [`memora_server`].

use std::io::Write;
use std::process::ExitCode;

use memora_server::{Cli, Server, ServerConfig};

fn main() -> ExitCode {
    let args = std::env::args_os().skip(1).map(|arg| arg.to_string_lossy().into_owned());
    let config = match Cli::parse(args) {
        Ok(Cli::Run(config)) => config,
        Ok(Cli::Help) => {
            say(Cli::usage().trim_end());
            return ExitCode::SUCCESS;
        }
        Ok(Cli::Version) => {
            say(&format!("memora-server v={}", env!("CARGO_PKG_VERSION")));
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            complain(&err.to_string());
            return ExitCode::FAILURE;
        }
    };
    // One I/O thread: a current-thread runtime, which schedules tasks without the atomics and
    // queues a work-stealing pool needs (measured: ~3-5% more requests a second at -P 1).
    let runtime = if config.io_threads == 1 {
        tokio::runtime::Builder::new_current_thread().thread_name("memora-io").enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.io_threads)
            .thread_name("memora-io")
            .enable_all()
            .build()
    };
    match runtime {
        Ok(runtime) => runtime.block_on(serve(&config)),
        Err(err) => {
            complain(&format!("Failed to start the network runtime: {err}"));
            ExitCode::FAILURE
        }
    }
}

/// Binds, announces the addresses on stdout, serves until SIGINT or SIGTERM.
async fn serve(config: &ServerConfig) -> ExitCode {
    let server = match Server::bind(config).await {
        Ok(server) => server,
        Err(err) => {
            complain(&err.to_string());
            return ExitCode::FAILURE;
        }
    };
    let shutdown = shutdown_signal();
    for addr in server.local_addrs() {
        say(&format!("Ready to accept connections tcp on {addr}"));
    }
    server.run(shutdown).await;
    say("Memora is now ready to exit, bye bye...");
    ExitCode::SUCCESS
}

/// Prints a line on stderr, ignoring a closed stderr.
fn complain(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Prints a line on stdout. Unlike `println!`, a closed stdout (the reader of a pipe went
/// away) is not a reason to panic.
fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed by this call,
/// before the server announces itself, so that a signal sent right after the announcement
/// is never lost to the default action. A signal that cannot be watched never fires.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        let wait = |stream: Option<tokio::signal::unix::Signal>| async move {
            match stream {
                Some(mut stream) => {
                    stream.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = wait(interrupt) => say("Received SIGINT scheduling shutdown..."),
            () = wait(terminate) => say("Received SIGTERM scheduling shutdown..."),
        }
    }
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        say("Received Ctrl-C scheduling shutdown...");
    }
}
