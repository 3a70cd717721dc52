//! `COMMAND` and its subcommands, answered from the command table, plus the shared HELP reply.

use super::args::is;
use super::table::{COMMANDS, CommandFlags, CommandSpec, subcommands_of};
use crate::error::Error;
use crate::reply::Reply;
use crate::session::Session;

/// Handler for container commands called with a subcommand the table lacks; dispatch
/// resolves subcommands before calling handlers, so this only answers the bare container.
pub(super) fn container(_s: &mut Session, argv: &[&[u8]]) -> Reply {
    let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
    Error::msg(format!("ERR wrong number of arguments for '{name}' command")).into()
}

/// The reply of a `X HELP` subcommand: Redis's layout, a status line per text line.
pub(super) fn help_reply(command: &str, lines: &[&str]) -> Reply {
    let mut out = vec![Reply::Simple(
        format!("{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    )];
    out.extend(lines.iter().map(|line| Reply::Simple(line.to_string().into())));
    out.push(Reply::simple("HELP"));
    out.push(Reply::simple("    Print this help."));
    Reply::Array(out)
}

/// Flag names as `COMMAND INFO` prints them.
fn flag_names(flags: CommandFlags) -> Vec<Reply> {
    const NAMES: [(CommandFlags, &str); 14] = [
        (CommandFlags::WRITE, "write"),
        (CommandFlags::READONLY, "readonly"),
        (CommandFlags::DENYOOM, "denyoom"),
        (CommandFlags::ADMIN, "admin"),
        (CommandFlags::PUBSUB, "pubsub"),
        (CommandFlags::NOSCRIPT, "noscript"),
        (CommandFlags::BLOCKING, "blocking"),
        (CommandFlags::LOADING, "loading"),
        (CommandFlags::STALE, "stale"),
        (CommandFlags::FAST, "fast"),
        (CommandFlags::NO_AUTH, "no_auth"),
        (CommandFlags::MOVABLE_KEYS, "movablekeys"),
        (CommandFlags::ALLOW_BUSY, "allow_busy"),
        (CommandFlags::SKIP_SLOWLOG, "skip_slowlog"),
    ];
    NAMES.iter().filter(|(flag, _)| flags.contains(*flag)).map(|(_, name)| Reply::simple(name)).collect()
}

/// Commands Redis puts in `@dangerous` without their being `admin`.
const DANGEROUS: [&str; 7] = ["keys", "flushdb", "flushall", "swapdb", "info", "sort", "sort_ro"];

/// Generic commands Redis files under the collection types they read rather than `@keyspace`.
const SORTING: [&str; 2] = ["sort", "sort_ro"];

/// ACL categories as Redis assigns them, derived from the flags and group: containers are only
/// `@slow`; data commands of the `server` group (DBSIZE, FLUSHDB, ...) are `@keyspace`;
/// COMMAND and its subcommands are `@connection`.
fn categories(spec: &CommandSpec) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut push = |c: &str| out.push(Reply::Simple(c.to_string().into()));
    let command_family = spec.name == "command" || spec.name.starts_with("command|");
    if spec.flags.contains(CommandFlags::CONTAINER) && !command_family {
        push("@slow");
        return out;
    }
    if spec.flags.contains(CommandFlags::WRITE) {
        push("@write");
    }
    if spec.flags.contains(CommandFlags::READONLY) {
        push("@read");
    }
    let data = spec.flags.intersects(CommandFlags::WRITE.union(CommandFlags::READONLY));
    match spec.group {
        "string" => push("@string"),
        "list" => push("@list"),
        "hash" => push("@hash"),
        "set" => push("@set"),
        "sorted-set" => push("@sortedset"),
        "generic" if SORTING.contains(&spec.name) => {
            push("@set");
            push("@sortedset");
            push("@list");
        }
        "generic" => push("@keyspace"),
        // MEMORY USAGE reads a key but is filed under `server` alone.
        "server" if data && !spec.name.starts_with("memory|") => push("@keyspace"),
        "connection" => push("@connection"),
        "pubsub" if spec.flags.contains(CommandFlags::PUBSUB) => push("@pubsub"),
        _ if command_family => push("@connection"),
        _ => {}
    }
    if spec.flags.contains(CommandFlags::ADMIN) {
        push("@admin");
        push("@dangerous");
    } else if DANGEROUS.contains(&spec.name) {
        push("@dangerous");
    }
    push(if spec.flags.contains(CommandFlags::FAST) { "@fast" } else { "@slow" });
    if spec.flags.contains(CommandFlags::BLOCKING) {
        push("@blocking");
    }
    if spec.group == "transactions" {
        push("@transaction");
    }
    out
}

/// One command's `COMMAND INFO` entry (Redis 7 layout).
fn info_entry(spec: &CommandSpec) -> Reply {
    let subcommands = if spec.flags.contains(CommandFlags::CONTAINER) {
        subcommands_of(spec.name).map(info_entry).collect()
    } else {
        Vec::new()
    };
    Reply::Array(vec![
        Reply::bulk(spec.name),
        Reply::Integer(i64::from(spec.arity)),
        Reply::Set(flag_names(spec.flags)),
        Reply::Integer(i64::from(spec.keys.first)),
        Reply::Integer(i64::from(spec.keys.last)),
        Reply::Integer(i64::from(spec.keys.step)),
        Reply::Set(categories(spec)),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(subcommands),
    ])
}

/// One command's `COMMAND DOCS` entry.
fn docs_entry(spec: &CommandSpec) -> Reply {
    let mut fields = vec![
        (Reply::bulk("summary"), Reply::bulk(spec.summary)),
        (Reply::bulk("since"), Reply::bulk(spec.since)),
        (Reply::bulk("group"), Reply::bulk(spec.group)),
    ];
    if spec.flags.contains(CommandFlags::CONTAINER) {
        let subs = subcommands_of(spec.name).map(|sub| (Reply::bulk(sub.name), docs_entry(sub))).collect();
        fields.push((Reply::bulk("subcommands"), Reply::Map(subs)));
    }
    Reply::Map(fields)
}

fn top_level() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().filter(|spec| !spec.name.contains('|'))
}

fn find(name: &[u8]) -> Option<&'static CommandSpec> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    COMMANDS.iter().find(|spec| spec.name == name)
}

pub(super) fn command(_s: &mut Session, _argv: &[&[u8]]) -> Reply {
    Reply::Array(top_level().map(info_entry).collect())
}

pub(super) fn command_count(_s: &mut Session, _argv: &[&[u8]]) -> Reply {
    Reply::Integer(top_level().count() as i64)
}

pub(super) fn command_info(_s: &mut Session, argv: &[&[u8]]) -> Reply {
    if argv.len() == 2 {
        return Reply::Array(top_level().map(info_entry).collect());
    }
    Reply::Array(argv[2..].iter().map(|name| find(name).map_or(Reply::NullArray, info_entry)).collect())
}

pub(super) fn command_docs(_s: &mut Session, argv: &[&[u8]]) -> Reply {
    let specs: Vec<&CommandSpec> = if argv.len() == 2 {
        top_level().collect()
    } else {
        argv[2..].iter().filter_map(|n| find(n)).collect()
    };
    Reply::Map(specs.into_iter().map(|spec| (Reply::bulk(spec.name), docs_entry(spec))).collect())
}

pub(super) fn command_list(_s: &mut Session, argv: &[&[u8]]) -> Reply {
    let filter = match argv {
        [_, _] => None,
        [_, _, by, kind, value] if is(by, "filterby") => Some((*kind, *value)),
        _ => return Error::Syntax.into(),
    };
    let keep = |spec: &CommandSpec| match filter {
        None => true,
        Some((kind, value)) if is(kind, "pattern") => {
            crate::glob::glob_match(value, spec.name.as_bytes(), true)
        }
        Some((kind, value)) if is(kind, "aclcat") => {
            let wanted = format!("@{}", String::from_utf8_lossy(value).to_ascii_lowercase());
            categories(spec).iter().any(|c| matches!(c, Reply::Simple(name) if *name == wanted))
        }
        Some(_) => false,
    };
    Reply::Array(COMMANDS.iter().filter(|spec| keep(spec)).map(|spec| Reply::bulk(spec.name)).collect())
}

pub(super) fn command_getkeys(_s: &mut Session, argv: &[&[u8]]) -> Reply {
    // Redis's order: the command (a container alone is itself, with a subcommand the
    // subcommand), then whether it takes keys at all, then its arity.
    let target = &argv[2..];
    let invalid = || Error::msg("ERR Invalid command specified").into();
    let Some(mut index) = super::lookup(target[0]) else { return invalid() };
    if COMMANDS[index].flags.contains(CommandFlags::CONTAINER) && target.len() >= 2 {
        match super::lookup_sub(COMMANDS[index].name, target[1]) {
            Some(sub) => index = sub,
            None => return invalid(),
        }
    }
    let spec = &COMMANDS[index];
    let movable = spec.flags.contains(CommandFlags::MOVABLE_KEYS);
    if spec.keys.first == 0 && !movable {
        return Error::msg("ERR The command has no key arguments").into();
    }
    if !spec.arity_ok(target.len()) {
        return Error::msg("ERR Invalid number of arguments specified for command").into();
    }
    let positions: Vec<usize> = if movable {
        match super::table::movable_key_positions(spec.name, target) {
            Some(positions) => positions,
            None => return Error::msg("ERR Invalid arguments specified for command").into(),
        }
    } else {
        spec.keys.positions(target.len()).collect()
    };
    let keys: Vec<Reply> = positions.into_iter().map(|i| Reply::bulk(target[i])).collect();
    if keys.is_empty() {
        return Error::msg("ERR The command has no key arguments").into();
    }
    Reply::Array(keys)
}

pub(super) fn command_help(_s: &mut Session, _argv: &[&[u8]]) -> Reply {
    help_reply(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    fn names(replies: Vec<Reply>) -> Vec<String> {
        let mut out: Vec<String> = replies
            .into_iter()
            .map(|r| match r {
                Reply::Simple(name) => name.into_owned(),
                other => panic!("{other:?}"),
            })
            .collect();
        out.sort();
        out
    }

    fn spec(name: &str) -> &'static CommandSpec {
        COMMANDS.iter().find(|s| s.name == name).expect("in table")
    }

    #[test]
    fn categories_follow_redis() {
        assert_eq!(names(categories(spec("keys"))), ["@dangerous", "@keyspace", "@read", "@slow"]);
        assert_eq!(names(categories(spec("flushall"))), ["@dangerous", "@keyspace", "@slow", "@write"]);
        assert_eq!(names(categories(spec("dbsize"))), ["@fast", "@keyspace", "@read"]);
        assert_eq!(names(categories(spec("object"))), ["@slow"]);
        assert_eq!(names(categories(spec("command|info"))), ["@connection", "@slow"]);
        assert_eq!(names(categories(spec("command"))), ["@connection", "@slow"]);
        assert_eq!(names(categories(spec("info"))), ["@dangerous", "@slow"]);
        assert_eq!(names(categories(spec("get"))), ["@fast", "@read", "@string"]);
        let sort = ["@dangerous", "@list", "@set", "@slow", "@sortedset", "@write"];
        assert_eq!(names(categories(spec("sort"))), sort);
        let sort_ro = ["@dangerous", "@list", "@read", "@set", "@slow", "@sortedset"];
        assert_eq!(names(categories(spec("sort_ro"))), sort_ro);
    }

    #[test]
    fn getkeys_checks_command_then_keys_then_arity() {
        let engine = Engine::new();
        assert_eq!(engine.execute(&["COMMAND", "GETKEYS", "GET", "k"]), Reply::Array(vec![Reply::bulk("k")]));
        let text = |argv: &[&str]| match engine.execute(argv) {
            Reply::Error(err) => err.to_string(),
            other => panic!("{argv:?}: {other:?}"),
        };
        // Keyless before arity, arity before keys, unknown subcommand is an unknown command.
        assert_eq!(text(&["COMMAND", "GETKEYS", "DBSIZE", "x"]), "ERR The command has no key arguments");
        assert_eq!(text(&["COMMAND", "GETKEYS", "PING"]), "ERR The command has no key arguments");
        assert_eq!(
            text(&["COMMAND", "GETKEYS", "GET", "a", "b"]),
            "ERR Invalid number of arguments specified for command"
        );
        assert_eq!(text(&["COMMAND", "GETKEYS", "OBJECT", "NOPE"]), "ERR Invalid command specified");
        assert_eq!(text(&["COMMAND", "GETKEYS", "OBJECT", "x"]), "ERR Invalid command specified");
    }
}
