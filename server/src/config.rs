//! The server's settings, read from a redis.conf-style file and redis-server-style flags.
//!
//! `memora-server [config-file] [--name value ...]`: as with redis-server, every flag is a
//! configuration directive (`--port 7000` is the line `port 7000`), appended after the file's
//! lines so that flags override the file. Lines are split with Redis's quoting rules
//! ([`crate::resp::split_args`]); `#` starts a comment line.
//!
//! The server owns `port`, `bind`, `databases`, `maxclients`, `io-threads`, `busy-poll-us`,
//! `hz`, `proto-max-bulk-len` and `client-query-buffer-limit`. Any other directive is handed to
//! the engine as `CONFIG SET name value` once it is built; if the engine refuses it, startup fails with Redis's
//! `*** FATAL CONFIG FILE ERROR ***` report.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::resp::split_args;

/// Default TCP port.
pub const DEFAULT_PORT: u16 = 6379;
/// Default `maxclients`.
pub const DEFAULT_MAXCLIENTS: usize = 10_000;
/// Default number of databases.
pub const DEFAULT_DATABASES: usize = 16;
/// Default `client-query-buffer-limit`: 1 GiB, as Redis.
pub const DEFAULT_QUERY_BUFFER_LIMIT: u64 = 1024 * 1024 * 1024;
/// Default `busy-poll-us`: the longest polling window, in microseconds (see `busy_poll.rs`).
pub const DEFAULT_BUSY_POLL_US: u64 = 50;

/// One address to listen on (`bind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAddr {
    /// The address.
    pub ip: IpAddr,
    /// Written with a leading `-`: failing to bind it is not fatal (Redis's convention).
    pub optional: bool,
}

/// A directive the server passes to the engine with `CONFIG SET`, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineParam {
    /// Parameter name, lower case.
    pub name: String,
    /// Value: the directive's arguments joined by single spaces.
    pub value: String,
    /// Where the directive was written, for error reports.
    pub origin: Origin,
}

/// A configuration line's position, for Redis-style error reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// 1-based line number in the combined text (file lines, then one line per flag).
    pub line_number: usize,
    /// The line as written.
    pub line: String,
}

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// TCP port; 0 picks an ephemeral port.
    pub port: u16,
    /// Addresses to listen on; default `127.0.0.1`.
    pub bind: Vec<BindAddr>,
    /// Number of databases.
    pub databases: usize,
    /// Maintenance cycles per second; the engine's default when `None`.
    pub hz: Option<u32>,
    /// Largest bulk string accepted; the engine's default (512 MiB) when `None`.
    pub proto_max_bulk_len: Option<u64>,
    /// Most simultaneous clients; more are refused with `-ERR max number of clients reached`.
    pub maxclients: usize,
    /// Worker threads of the network runtime.
    pub io_threads: usize,
    /// Longest time, in microseconds, the network runtime polls for more requests after a
    /// batch before it sleeps (`busy-poll-us`; 0: never). The window adapts to the gaps
    /// between requests and stays 0 while they are longer than this. Only a current-thread
    /// runtime (`io-threads 1`) polls.
    pub busy_poll_us: u64,
    /// Most unprocessed input bytes per client; a client past it is disconnected.
    pub client_query_buffer_limit: u64,
    /// Other directives, for the engine's `CONFIG SET`.
    pub engine_params: Vec<EngineParam>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: DEFAULT_PORT,
            bind: vec![BindAddr { ip: IpAddr::V4(Ipv4Addr::LOCALHOST), optional: false }],
            databases: DEFAULT_DATABASES,
            hz: None,
            proto_max_bulk_len: None,
            maxclients: DEFAULT_MAXCLIENTS,
            io_threads: default_io_threads(),
            busy_poll_us: DEFAULT_BUSY_POLL_US,
            client_query_buffer_limit: DEFAULT_QUERY_BUFFER_LIMIT,
            engine_params: Vec::new(),
        }
    }
}

/// Three worker threads per four cores, at least one: like Redis's advice for `io-threads`,
/// leave a core for the rest of the machine (clients, the engine's maintenance thread). On
/// two cores that is one thread, which measured the fewest CPU cycles per request with a
/// local client.
fn default_io_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| (cores.get() * 3 / 4).max(1))
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cli {
    /// Run the server.
    Run(Box<ServerConfig>),
    /// Print usage and exit.
    Help,
    /// Print the version and exit.
    Version,
}

/// A configuration that cannot be used; `Display` is redis-server's fatal report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("Fatal error, can't open config file '{path}': {source}")]
    Read {
        /// The path given.
        path: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A directive is unknown, malformed or out of range.
    #[error(
        "\n*** FATAL CONFIG FILE ERROR ***\nReading the configuration file, at line {}\n>>> '{}'\n{reason}",
        origin.line_number,
        origin.line
    )]
    Directive {
        /// Where.
        origin: Origin,
        /// Redis's explanation (`Bad directive or wrong number of arguments`, ...).
        reason: String,
    },
}

impl ConfigError {
    fn directive(origin: &Origin, reason: impl Into<String>) -> ConfigError {
        ConfigError::Directive { origin: origin.clone(), reason: reason.into() }
    }
}

impl Cli {
    /// Parses `memora-server [config-file] [--name value ...] | --help | --version`, reading
    /// the file if one is named. `args` excludes the program name.
    pub fn parse<I, S>(args: I) -> Result<Cli, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        match args.first().map(String::as_str) {
            Some("-h" | "--help") => return Ok(Cli::Help),
            Some("-v" | "--version") => return Ok(Cli::Version),
            _ => {}
        }
        let (file, flags) = match args.split_first() {
            Some((first, rest)) if !first.starts_with("--") => (Some(first.as_str()), rest),
            _ => (None, &args[..]),
        };
        let mut text = match file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?,
            None => String::new(),
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&flags_to_lines(flags));
        let mut config = ServerConfig::default();
        config.apply_text(&text)?;
        Ok(Cli::Run(Box::new(config)))
    }

    /// Usage text for `--help`.
    pub fn usage() -> &'static str {
        "Usage: memora-server [/path/to/redis.conf] [options]\n\
         \x20      memora-server -v or --version\n\
         \x20      memora-server -h or --help\n\n\
         Examples:\n\
         \x20      memora-server (run with defaults: 127.0.0.1:6379)\n\
         \x20      memora-server /etc/memora/redis.conf\n\
         \x20      memora-server --port 7777 --bind 0.0.0.0\n\
         \x20      memora-server /etc/memora/redis.conf --databases 4 --maxclients 500\n\n\
         Options are configuration directives: port, bind, databases, hz, proto-max-bulk-len,\n\
         maxclients, io-threads, busy-poll-us, client-query-buffer-limit, and any parameter\n\
         the engine accepts in CONFIG SET.\n"
    }
}

/// Turns `--name a b --other c` into the lines `name "a" "b"` and `other "c"`.
fn flags_to_lines(flags: &[String]) -> String {
    let mut text = String::new();
    for flag in flags {
        match flag.strip_prefix("--") {
            Some(name) => {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(name);
            }
            None => {
                text.push(' ');
                text.push_str(&quote(flag));
            }
        }
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// `value` in double quotes, escaped so that [`split_args`] gives it back unchanged.
fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for ch in value.chars() {
        match ch {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            _ => quoted.push(ch),
        }
    }
    quoted.push('"');
    quoted
}

impl ServerConfig {
    /// Applies every line of a redis.conf-style `text`, later lines overriding earlier ones.
    pub fn apply_text(&mut self, text: &str) -> Result<(), ConfigError> {
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim_matches([' ', '\t', '\r', '\n']);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let origin = Origin { line_number: index + 1, line: line.to_owned() };
            let words = split_args(line.as_bytes())
                .map_err(|_| ConfigError::directive(&origin, "Unbalanced quotes in configuration line"))?;
            let words: Vec<String> =
                words.iter().map(|word| String::from_utf8_lossy(word).into_owned()).collect();
            let Some((name, args)) = words.split_first() else { continue };
            self.apply_directive(&name.to_ascii_lowercase(), args, &origin)?;
        }
        Ok(())
    }

    /// Applies one directive.
    pub fn apply_directive(
        &mut self,
        name: &str,
        args: &[String],
        origin: &Origin,
    ) -> Result<(), ConfigError> {
        let single = || match args {
            [value] => Ok(value.as_str()),
            _ => Err(ConfigError::directive(origin, "wrong number of arguments")),
        };
        match name {
            "port" => self.port = parse_integer(single()?, 0, 65535, origin)?,
            "bind" => self.bind = parse_bind(args, origin)?,
            "databases" => self.databases = parse_integer(single()?, 1, i32::MAX as u64, origin)?,
            "maxclients" => self.maxclients = parse_integer(single()?, 1, u32::MAX as u64, origin)?,
            "io-threads" => self.io_threads = parse_integer(single()?, 1, 128, origin)?,
            "busy-poll-us" => self.busy_poll_us = parse_integer(single()?, 0, 1_000_000, origin)?,
            "hz" => self.hz = Some(parse_integer(single()?, 1, 500, origin)?),
            "proto-max-bulk-len" => {
                self.proto_max_bulk_len = Some(parse_memory_at_least_1mb(single()?, origin)?)
            }
            "client-query-buffer-limit" => {
                self.client_query_buffer_limit = parse_memory_at_least_1mb(single()?, origin)?;
            }
            _ if args.is_empty() => {
                return Err(ConfigError::directive(origin, "Bad directive or wrong number of arguments"));
            }
            _ => self.set_engine_param(name, args.join(" "), origin),
        }
        Ok(())
    }

    /// Records `name value` for the engine, replacing an earlier value of the same name.
    fn set_engine_param(&mut self, name: &str, value: String, origin: &Origin) {
        self.engine_params.retain(|param| param.name != name);
        self.engine_params.push(EngineParam { name: name.to_owned(), value, origin: origin.clone() });
    }

    /// The `bind` value as CONFIG GET shows it.
    pub fn bind_text(&self) -> String {
        let addrs: Vec<String> = self.bind.iter().map(BindAddr::to_string).collect();
        addrs.join(" ")
    }
}

/// An integer within `min..=max`, with Redis 7's error texts.
fn parse_integer<T: TryFrom<u64>>(text: &str, min: u64, max: u64, origin: &Origin) -> Result<T, ConfigError> {
    let value: i128 = text
        .parse()
        .map_err(|_| ConfigError::directive(origin, "argument couldn't be parsed into an integer"))?;
    u64::try_from(value)
        .ok()
        .filter(|value| (min..=max).contains(value))
        .and_then(|value| T::try_from(value).ok())
        .ok_or_else(|| {
            ConfigError::directive(origin, format!("argument must be between {min} and {max} inclusive"))
        })
}

/// A memory amount (`512mb`, `1gb`, ...) of at least 1 MiB.
fn parse_memory_at_least_1mb(text: &str, origin: &Origin) -> Result<u64, ConfigError> {
    let bytes = memora_engine::parse_memory(text.as_bytes())
        .ok_or_else(|| ConfigError::directive(origin, "argument must be a memory value"))?;
    if bytes < 1024 * 1024 {
        return Err(ConfigError::directive(
            origin,
            "argument must be between 1048576 and 18446744073709551615 inclusive",
        ));
    }
    Ok(bytes)
}

/// `bind` addresses: `*` is every IPv4 address, `::*` every IPv6 one, a `-` prefix marks an
/// address whose bind failure is tolerated.
fn parse_bind(args: &[String], origin: &Origin) -> Result<Vec<BindAddr>, ConfigError> {
    if args.is_empty() {
        return Err(ConfigError::directive(origin, "wrong number of arguments"));
    }
    args.iter()
        .map(|arg| {
            let (optional, text) = match arg.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, arg.as_str()),
            };
            let ip = match text {
                "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                _ => text
                    .parse()
                    .map_err(|_| ConfigError::directive(origin, format!("Invalid bind address '{text}'")))?,
            };
            Ok(BindAddr { ip, optional })
        })
        .collect()
}

impl fmt::Display for BindAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.optional {
            f.write_str("-")?;
        }
        write!(f, "{}", self.ip)
    }
}

#[cfg(test)]
mod tests;
