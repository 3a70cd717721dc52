use super::*;

fn run(args: &[&str]) -> Result<ServerConfig, ConfigError> {
    match Cli::parse(args.iter().copied())? {
        Cli::Run(config) => Ok(*config),
        other => panic!("expected a run config, got {other:?}"),
    }
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("memora-config-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write temp config");
    path
}

#[test]
fn defaults() {
    let config = run(&[]).unwrap();
    assert_eq!(config.port, 6379);
    assert_eq!(config.bind_text(), "127.0.0.1");
    assert_eq!(config.databases, 16);
    assert_eq!(config.maxclients, 10_000);
    assert_eq!(config.hz, None);
    assert_eq!(config.busy_poll_us, 50);
    assert!(config.engine_params.is_empty());
}

#[test]
fn flags() {
    let config = run(&[
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "-::1",
        "--databases",
        "4",
        "--hz",
        "50",
        "--proto-max-bulk-len",
        "2mb",
        "--maxclients",
        "3",
        "--io-threads",
        "2",
        "--busy-poll-us",
        "0",
    ])
    .unwrap();
    assert_eq!(config.port, 0);
    assert_eq!(config.bind_text(), "127.0.0.1 -::1");
    assert!(config.bind[1].optional);
    assert_eq!(config.databases, 4);
    assert_eq!(config.hz, Some(50));
    assert_eq!(config.proto_max_bulk_len, Some(2 * 1024 * 1024));
    assert_eq!(config.maxclients, 3);
    assert_eq!(config.io_threads, 2);
    assert_eq!(config.busy_poll_us, 0);
}

#[test]
fn file_then_flags_override() {
    let path = temp_file(
        "override.conf",
        "# a comment\n\nport 6380\r\n  bind \"127.0.0.1\"  \ndatabases 4\nlfu-log-factor 5\nsave \"\"\n",
    );
    let path_text = path.to_string_lossy().into_owned();
    let config = run(&[&path_text, "--port", "7000", "--lfu-log-factor", "7"]).unwrap();
    assert_eq!(config.port, 7000);
    assert_eq!(config.databases, 4);
    let params: Vec<(&str, &str)> =
        config.engine_params.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect();
    assert_eq!(params, [("save", ""), ("lfu-log-factor", "7")]);
    assert_eq!(config.engine_params[1].origin.line_number, 9);
    let _ = std::fs::remove_file(path);
}

#[test]
fn fatal_reports() {
    let err = run(&["--port", "70000"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "\n*** FATAL CONFIG FILE ERROR ***\nReading the configuration file, at line 1\n>>> 'port \"70000\"'\n\
         argument must be between 0 and 65535 inclusive"
    );
    let path = temp_file("bad.conf", "port 6380\nnonsense\n");
    let err = run(&[&path.to_string_lossy()]).unwrap_err();
    assert!(
        err.to_string().contains("at line 2\n>>> 'nonsense'\nBad directive or wrong number of arguments")
    );
    let _ = std::fs::remove_file(path);
    let err = run(&["--bind", "not-an-ip"]).unwrap_err();
    assert!(err.to_string().contains("Invalid bind address 'not-an-ip'"), "{err}");
    let err = run(&["--port", "abc"]).unwrap_err();
    assert!(err.to_string().contains("argument couldn't be parsed into an integer"));
    let err = run(&["--port", "1", "2"]).unwrap_err();
    assert!(err.to_string().contains("wrong number of arguments"));
    let path = temp_file("quotes.conf", "bind \"127.0.0.1\n");
    let err = run(&[&path.to_string_lossy()]).unwrap_err();
    assert!(err.to_string().contains("Unbalanced quotes in configuration line"));
    let _ = std::fs::remove_file(path);
    assert!(matches!(run(&["/nonexistent/memora.conf"]), Err(ConfigError::Read { .. })));
}

#[test]
fn help_and_version() {
    assert_eq!(Cli::parse(["--help"]).unwrap(), Cli::Help);
    assert_eq!(Cli::parse(["-v"]).unwrap(), Cli::Version);
    assert!(Cli::usage().contains("--port"));
}

#[test]
fn flag_values_are_quoted_safely() {
    let config = run(&["--notify-keyspace-events", "K\"x\\ y"]).unwrap();
    assert_eq!(config.engine_params[0].value, "K\"x\\ y");
}
