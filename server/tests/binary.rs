//! Guards the `memora-server` binary: it announces its address, serves, reads config files
//! and flags, refuses bad configuration like redis-server, and exits 0 on SIGTERM/SIGINT.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_memora-server");
const DEADLINE: Duration = Duration::from_secs(20);

/// A running binary and the address it announced.
struct Running {
    child: Child,
    addr: SocketAddr,
    /// Kept open so the server can keep printing (unless a test closes it).
    stdout: Option<BufReader<std::process::ChildStdout>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Running {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn memora-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read announcement");
    let addr = line
        .trim()
        .strip_prefix("Ready to accept connections tcp on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .expect("address");
    Running { child, addr, stdout: Some(stdout) }
}

/// Sends `request` on a new connection and expects exactly `expected` back.
fn ask(addr: SocketAddr, request: &[u8], expected: &[u8]) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream.write_all(request).expect("write");
    let mut reply = vec![0; expected.len()];
    stream.read_exact(&mut reply).expect("reply");
    assert_eq!(String::from_utf8_lossy(&reply), String::from_utf8_lossy(expected));
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status();
    assert!(status.expect("run kill").success());
}

/// Waits for the child to exit, failing the test after the deadline.
fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(start.elapsed() < DEADLINE, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serves_and_exits_cleanly_on_sigterm() {
    let mut server = spawn(&["--port", "0", "--databases", "4"]);
    ask(server.addr, b"PING\r\n", b"+PONG\r\n");
    ask(server.addr, b"CONFIG GET databases\r\n", b"*2\r\n$9\r\ndatabases\r\n$1\r\n4\r\n");
    signal(&server.child, "TERM");
    assert!(wait_exit(&mut server.child).success());
}

#[test]
fn exits_cleanly_on_sigint() {
    let mut server = spawn(&["--port", "0"]);
    signal(&server.child, "INT");
    assert!(wait_exit(&mut server.child).success());
}

#[test]
fn reads_a_config_file_and_flags_override_it() {
    let path = std::env::temp_dir().join(format!("memora-binary-{}.conf", std::process::id()));
    std::fs::write(
        &path,
        "# test config\nport 1\nbind \"127.0.0.1\"\ndatabases 2\nmaxclients 5\nappendonly no\n",
    )
    .expect("write config");
    let path_text = path.to_string_lossy().into_owned();
    let server = spawn(&[&path_text, "--port", "0", "--lfu-log-factor", "3"]);
    ask(server.addr, b"SELECT 2\r\n", b"-ERR DB index is out of range\r\n");
    ask(server.addr, b"CONFIG GET maxclients\r\n", b"*2\r\n$10\r\nmaxclients\r\n$1\r\n5\r\n");
    ask(server.addr, b"CONFIG GET lfu-log-factor\r\n", b"*2\r\n$14\r\nlfu-log-factor\r\n$1\r\n3\r\n");
    drop(server);
    let _ = std::fs::remove_file(path);
}

#[test]
fn bad_configuration_is_fatal() {
    let path = std::env::temp_dir().join(format!("memora-binary-bad-{}.conf", std::process::id()));
    std::fs::write(&path, "port 0\nno-such-directive yes\n").expect("write config");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--port".into(), "99999".into()], "argument must be between 0 and 65535 inclusive"),
        (vec![path.to_string_lossy().into_owned()], ">>> 'no-such-directive yes'"),
        (vec!["--bind".into(), "nowhere".into()], "Invalid bind address"),
    ];
    for (args, message) in cases {
        let output = Command::new(BINARY).args(&args).output().expect("run");
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("*** FATAL CONFIG FILE ERROR ***"), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_closed_stdout_is_no_reason_to_fail() {
    let mut server = spawn(&["--port", "0"]);
    // Close our end of the pipe: the shutdown messages then go nowhere.
    drop(server.stdout.take());
    signal(&server.child, "TERM");
    let status = wait_exit(&mut server.child);
    let mut stderr = String::new();
    if let Some(mut pipe) = server.child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(status.success(), "{status:?} {stderr}");
}

#[test]
fn help_and_version() {
    let help = Command::new(BINARY).arg("--help").output().expect("run");
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: memora-server"));
    let version = Command::new(BINARY).arg("--version").output().expect("run");
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("memora-server v="));
}
