//! Handlers for connection commands: PING, ECHO, SELECT, QUIT, RESET, HELLO, AUTH, CLIENT.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::args::{c_str, db_index, error_quoting, is};
use crate::error::Error;
use crate::info::REDIS_COMPAT_VERSION;
use crate::num::parse_i64;
use crate::reply::Reply;
use crate::session::{ClientInfo, Protocol, Session};

pub(super) fn ping(s: &mut Session, argv: &[&[u8]]) -> Reply {
    if argv.len() <= 2 && s.protocol == Protocol::Resp2 && s.is_subscribed() {
        // In RESP2 subscribe state PING answers in the message format, as Redis.
        let message = argv.get(1).copied().unwrap_or_default();
        return Reply::Array(vec![Reply::bulk("pong"), Reply::bulk(message)]);
    }
    match argv {
        [_] => Reply::simple("PONG"),
        [_, message] => Reply::bulk(message),
        _ => Error::arity("ping").into(),
    }
}

pub(super) fn echo(_s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::bulk(argv[1])
}

pub(super) fn select(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match db_index(argv[1], s.engine_db().databases()) {
        Ok(db) => {
            s.set_db(db);
            Reply::OK
        }
        Err(err) => err.into(),
    }
}

pub(super) fn quit(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    s.closing = true;
    Reply::OK
}

pub(super) fn reset(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    s.multi = None;
    s.watch = None;
    s.reset_pubsub();
    s.set_db(0);
    s.set_protocol(Protocol::Resp2);
    // As Redis's `clearClientConnectionState`: the name goes too.
    if let Some(client) = &s.client {
        *client.name.lock() = None;
    }
    Reply::simple("RESET")
}

/// Without ACLs the only user is `default`, which needs no password: any password works for
/// it, as on a Redis server with no `requirepass`.
fn check_auth(user: &[u8]) -> Result<(), Error> {
    if user == b"default" {
        Ok(())
    } else {
        Err(Error::msg("WRONGPASS invalid username-password pair or user is disabled."))
    }
}

pub(super) fn auth(_s: &mut Session, argv: &[&[u8]]) -> Reply {
    match argv {
        [_, _password] => Error::msg(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        )
        .into(),
        [_, user, _password] => match check_auth(user) {
            Ok(()) => Reply::OK,
            Err(err) => err.into(),
        },
        _ => Error::Syntax.into(),
    }
}

pub(super) fn hello(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let mut protocol = s.protocol;
    let mut name = None;
    if let Some(version) = argv.get(1) {
        protocol = match parse_i64(version) {
            Ok(2) => Protocol::Resp2,
            Ok(3) => Protocol::Resp3,
            Ok(_) => return Error::msg("NOPROTO unsupported protocol version").into(),
            Err(_) => return Error::msg("ERR Protocol version is not an integer or out of range").into(),
        };
    }
    let mut i = 2;
    while i < argv.len() {
        let remaining = argv.len() - i - 1;
        if is(argv[i], "auth") && remaining >= 2 {
            if let Err(err) = check_auth(argv[i + 1]) {
                return err.into();
            }
            i += 3;
        } else if is(argv[i], "setname") && remaining >= 1 {
            if let Err(err) = validate_name(argv[i + 1]) {
                return err.into();
            }
            name = Some(argv[i + 1].to_vec());
            i += 2;
        } else {
            return error_quoting(&format!("ERR Syntax error in HELLO option '{}'", c_str(argv[i]))).into();
        }
    }
    s.set_protocol(protocol);
    if let (Some(name), Some(client)) = (name, &s.client) {
        *client.name.lock() = Some(name);
    }
    Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_COMPAT_VERSION)),
        (Reply::bulk("proto"), Reply::Integer(protocol.version())),
        (Reply::bulk("id"), Reply::Integer(s.id() as i64)),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ])
}

/// Client names may not contain spaces, newlines or other special characters.
fn validate_name(name: &[u8]) -> Result<(), Error> {
    if name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err(Error::msg("ERR Client names cannot contain spaces, newlines or special characters."))
    }
}

pub(super) fn client_id(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    Reply::Integer(s.id() as i64)
}

pub(super) fn client_getname(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    let name = s.client.as_ref().and_then(|c| c.name.lock().clone());
    Reply::bulk_or_null(name)
}

pub(super) fn client_setname(s: &mut Session, argv: &[&[u8]]) -> Reply {
    if let Err(err) = validate_name(argv[2]) {
        return err.into();
    }
    if let Some(client) = &s.client {
        *client.name.lock() = (!argv[2].is_empty()).then(|| argv[2].to_vec());
    }
    Reply::OK
}

/// Is the client in subscribe state (`flags=P`, `CLIENT LIST TYPE pubsub`)?
fn is_pubsub(client: &ClientInfo) -> bool {
    client.subscriptions.iter().any(|n| n.load(Ordering::Relaxed) > 0)
}

/// One `CLIENT LIST` line, in Redis's field order for the fields this engine tracks.
fn client_line(client: &ClientInfo, now_ms: u64, out: &mut String) {
    let addr = |a: &parking_lot::Mutex<Option<std::net::SocketAddr>>| {
        a.lock().map_or(String::new(), |a| a.to_string())
    };
    let name =
        client.name.lock().as_deref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
    let last_cmd = client.last_command.load(Ordering::Relaxed);
    let cmd = last_cmd.checked_sub(1).map_or("NULL", |i| super::table::COMMANDS[i].name);
    let idle_secs = now_ms.saturating_sub(client.last_active_ms.load(Ordering::Relaxed)) / 1000;
    let [sub, psub, ssub] = client.subscriptions.each_ref().map(|n| n.load(Ordering::Relaxed));
    let _ = writeln!(
        out,
        "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db={} sub={sub} psub={psub} ssub={ssub} \
         multi=-1 cmd={} user=default redir=-1 resp={}",
        client.id,
        addr(&client.peer),
        addr(&client.local),
        name,
        client.created.elapsed().as_secs(),
        idle_secs,
        if is_pubsub(client) { "P" } else { "N" },
        client.db.load(Ordering::Relaxed),
        cmd,
        client.protocol.load(Ordering::Relaxed),
    );
}

pub(super) fn client_info(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    let mut out = String::new();
    if let Some(client) = &s.client {
        client_line(client, s.engine_db().inner.clock.coarse_now_ms(), &mut out);
    }
    Reply::Verbatim { format: *b"txt", text: out.into_bytes() }
}

pub(super) fn client_list(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let inner = &s.engine_db().inner;
    let mut ids: Option<Vec<u64>> = None;
    // `TYPE`: `Some(true)` pubsub clients only, `Some(false)` normal ones only.
    let mut pubsub_type: Option<bool> = None;
    match argv.get(2) {
        None => {}
        Some(arg) if is(arg, "type") && argv.len() == 4 => {
            if !(is(argv[3], "normal")
                || is(argv[3], "master")
                || is(argv[3], "replica")
                || is(argv[3], "pubsub"))
            {
                return error_quoting(&format!("ERR Unknown client type '{}'", c_str(argv[3]))).into();
            }
            if is(argv[3], "normal") || is(argv[3], "pubsub") {
                pubsub_type = Some(is(argv[3], "pubsub"));
            } else {
                ids = Some(Vec::new());
            }
        }
        Some(arg) if is(arg, "id") && argv.len() >= 4 => {
            // Any integer is accepted, as in Redis; ids no client has (0, negative) match none.
            let parsed: Result<Vec<u64>, Error> = argv[3..]
                .iter()
                .map(|a| {
                    parse_i64(a)
                        .map(|n| u64::try_from(n).unwrap_or(0))
                        .map_err(|_| Error::msg("ERR Invalid client ID"))
                })
                .collect();
            match parsed {
                Ok(list) => ids = Some(list),
                Err(err) => return err.into(),
            }
        }
        Some(_) => return Error::Syntax.into(),
    }
    let now_ms = inner.clock.coarse_now_ms();
    let mut out = String::new();
    for client in inner.clients.snapshot() {
        if ids.as_ref().is_none_or(|ids| ids.contains(&client.id))
            && pubsub_type.is_none_or(|pubsub| pubsub == is_pubsub(&client))
        {
            client_line(&client, now_ms, &mut out);
        }
    }
    Reply::Verbatim { format: *b"txt", text: out.into_bytes() }
}

pub(super) fn client_help(_s: &mut Session, _argv: &[&[u8]]) -> Reply {
    super::introspection::help_reply(
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "LIST [TYPE <normal|master|replica|pubsub>]",
            "LIST [ID <id> [<id> ...]]",
            "    Return information about client connections.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::reply::Reply;
    use crate::session::Session;

    #[test]
    fn reset_clears_the_client_name() {
        let engine = Engine::new();
        let mut session = Session::new(&engine);
        assert_eq!(session.execute(&["CLIENT", "SETNAME", "tester"]), Reply::OK);
        assert_eq!(session.execute(&["RESET"]), Reply::simple("RESET"));
        assert_eq!(session.execute(&["CLIENT", "GETNAME"]), Reply::Null);
    }

    #[test]
    fn client_list_id_takes_any_integer() {
        let engine = Engine::new();
        let mut session = Session::new(&engine);
        let empty = Reply::Verbatim { format: *b"txt", text: Vec::new() };
        assert_eq!(session.execute(&["CLIENT", "LIST", "ID", "0"]), empty);
        assert_eq!(session.execute(&["CLIENT", "LIST", "ID", "-5"]), empty);
        assert!(session.execute(&["CLIENT", "LIST", "ID", "abc"]).is_error());
    }
}
