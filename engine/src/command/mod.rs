//! The command table and dispatch.
//!
//! Every command is one [`CommandSpec`] in [`table::COMMANDS`]: name, arity, flags, key
//! positions, documentation and handler. Dispatch, arity errors, unknown-command errors,
//! per-command statistics and `COMMAND` all read the table; later layers (read-only replicas,
//! ACLs, cluster routing, transactions) read the same flags and key positions.
//!
//! Handlers take the session and the full argv (`argv[0]` is the name) and return a
//! [`Reply`]. They parse with [`args`], call the typed API (the one implementation), and map
//! its result into a reply.

pub(crate) mod args;
mod blocking;
mod connection;
mod hashes;
mod introspection;
mod keys;
mod lists;
mod pubsub;
mod server;
mod sets;
mod sort;
mod strings;
pub(crate) mod table;
pub(crate) mod transactions;
mod zsets;

use std::sync::OnceLock;

use hashbrown::HashTable;

use crate::error::Error;
use crate::reply::Reply;
use crate::session::Session;
use crate::stats::{StatsShard, bump};

pub use table::{CommandFlags, CommandSpec, KeySpec};

/// A command handler.
pub(crate) type Handler = fn(&mut Session, &[&[u8]]) -> Reply;

/// Longest command or subcommand name; longer names cannot be in the table.
const NAME_MAX: usize = 32;

/// Table indexes by [`name_hash`], for top-level commands and `container|sub` entries.
type NameIndex = HashTable<usize>;

/// Names of at most 8 bytes (almost every command) lower-cased and packed into a `u64`, with
/// their length and table index: a lookup is one multiply and one word comparison.
type ShortIndex = HashTable<(u64, u8, usize)>;

fn index() -> &'static (NameIndex, ShortIndex) {
    static INDEX: OnceLock<(NameIndex, ShortIndex)> = OnceLock::new();
    INDEX.get_or_init(|| {
        let commands = &*table::COMMANDS;
        let mut index = HashTable::with_capacity(commands.len());
        let mut short = HashTable::new();
        for (i, spec) in commands.iter().enumerate() {
            let name = spec.name.as_bytes();
            index.insert_unique(name_hash(name), i, |&j| name_hash(commands[j].name.as_bytes()));
            if let Some(packed) = pack_short(name) {
                let len = name.len() as u8;
                short.insert_unique(short_hash(packed, len), (packed, len, i), |&(p, l, _)| short_hash(p, l));
            }
        }
        (index, short)
    })
}

/// A name of at most 8 bytes, lower-cased, little-endian in a `u64` (zero-padded).
#[inline]
fn pack_short(name: &[u8]) -> Option<u64> {
    if name.len() > 8 {
        return None;
    }
    Some(
        name.iter()
            .enumerate()
            .fold(0, |packed, (i, b)| packed | u64::from(b.to_ascii_lowercase()) << (8 * i)),
    )
}

/// Hash of a packed short name and its length (the length tells `"get"` from `"get\0"`).
#[inline]
fn short_hash(packed: u64, len: u8) -> u64 {
    (packed ^ u64::from(len) << 56).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A hash of a command name that ignores ASCII case (FNV-1a over lower-cased bytes), for
/// names longer than 8 bytes; no lower-cased copy is made.
#[inline]
fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325, |hash: u64, &b| {
        (hash ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Looks a name up, case-insensitively, without allocating.
#[inline]
fn lookup(name: &[u8]) -> Option<usize> {
    let (index, short) = index();
    if let Some(packed) = pack_short(name) {
        let len = name.len() as u8;
        return short.find(short_hash(packed, len), |&(p, l, _)| p == packed && l == len).map(|&(_, _, i)| i);
    }
    if name.len() > NAME_MAX {
        return None;
    }
    let commands = &*table::COMMANDS;
    // Table names are lower case: compare byte by byte.
    let same = |table_name: &[u8]| {
        table_name.len() == name.len()
            && table_name.iter().zip(name).all(|(t, n)| *t == n.to_ascii_lowercase())
    };
    index.find(name_hash(name), |&i| same(commands[i].name.as_bytes())).copied()
}

/// The last two command names a session ran, as sent (case and all), with their table
/// indexes: a client repeats a few commands, so most lookups are one short comparison.
#[derive(Debug, Default)]
pub(crate) struct NameCache {
    /// Most recent first: (name bytes, zero-padded; length, 0 when empty; table index).
    entries: [([u8; 16], u8, u16); 2],
}

impl NameCache {
    /// The table index of `name` (any case), through the cache.
    #[inline]
    pub(crate) fn lookup(&mut self, name: &[u8]) -> Option<usize> {
        let len = name.len();
        if len == 0 || len > 16 {
            return lookup(name);
        }
        let hit =
            self.entries.iter().position(|(bytes, l, _)| usize::from(*l) == len && bytes[..len] == *name);
        match hit {
            Some(0) => Some(usize::from(self.entries[0].2)),
            Some(_) => {
                self.entries.swap(0, 1);
                Some(usize::from(self.entries[0].2))
            }
            None => {
                let index = lookup(name)?;
                let mut bytes = [0u8; 16];
                bytes[..len].copy_from_slice(name);
                self.entries[1] = self.entries[0];
                self.entries[0] = (bytes, len as u8, u16::try_from(index).ok()?);
                Some(index)
            }
        }
    }
}

/// Looks up `container|sub`.
fn lookup_sub(container: &str, sub: &[u8]) -> Option<usize> {
    let mut full = [0u8; NAME_MAX];
    let total = container.len() + 1 + sub.len();
    if total > NAME_MAX {
        return None;
    }
    full[..container.len()].copy_from_slice(container.as_bytes());
    full[container.len()] = b'|';
    full[container.len() + 1..total].copy_from_slice(sub);
    lookup(&full[..total])
}

/// The table index of the command `argv` names, subcommand resolved, arity checked.
#[cfg(test)]
pub(crate) fn resolve(argv: &[&[u8]]) -> Result<usize, Error> {
    resolve_spec(table::commands(), argv, lookup).map(|(index, _)| index)
}

/// [`resolve`] against `commands` (the table, dereferenced once by the caller), with the
/// top-level name looked up by `lookup` (a session's cache in front of the table's index);
/// returns the entry too.
#[inline(always)]
fn resolve_spec<'t>(
    commands: &'t [CommandSpec],
    argv: &[&[u8]],
    lookup: impl FnOnce(&[u8]) -> Option<usize>,
) -> Result<(usize, &'t CommandSpec), Error> {
    let Some(&name) = argv.first() else {
        return Err(Error::msg("ERR empty command"));
    };
    let Some(mut index) = lookup(name) else {
        return Err(unknown_command(argv));
    };
    let mut spec = commands.get(index).ok_or_else(|| unknown_command(argv))?;
    if spec.flags.contains(CommandFlags::CONTAINER) && argv.len() >= 2 {
        index = lookup_sub(spec.name, argv[1]).ok_or_else(|| Error::UnknownSubcommand {
            sub: clip(argv[1], 128),
            command: spec.upper_name(),
        })?;
        spec = commands.get(index).ok_or_else(|| unknown_command(argv))?;
    }
    if !spec.arity_ok(argv.len()) {
        return Err(Error::arity(spec.name));
    }
    Ok((index, spec))
}

/// Up to `max` bytes of `arg`, stopping at a NUL byte (C's `%.*s`), with CR and LF turned
/// into spaces so the error stays one protocol line.
fn clip(arg: &[u8], max: usize) -> String {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len()).min(max);
    String::from_utf8_lossy(&arg[..end]).replace(['\r', '\n'], " ")
}

/// Redis's unknown-command text: the name (128 bytes at most), then quoted arguments while the
/// argument text is under 128 bytes, each clipped to what is left of those 128.
fn unknown_command(argv: &[&[u8]]) -> Error {
    let mut args = String::new();
    for arg in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push('\'');
        args.push_str(&clip(arg, room));
        args.push_str("' ");
    }
    Error::UnknownCommand { name: clip(argv[0], 128), args }
}

/// Runs one command for `session`: resolve, check, run, count.
pub(crate) fn dispatch(session: &mut Session, argv: &[&[u8]]) -> Reply {
    let commands = table::commands();
    let names = &mut session.names;
    let (index, spec) = match resolve_spec(commands, argv, |name| names.lookup(name)) {
        Ok(found) => found,
        Err(err) => {
            if let Some(index) = argv.first().and_then(|name| lookup(name)) {
                let inner = &*session.engine.inner;
                inner.stats.with_local(|shard| bump(&shard.commands[index].rejected, 1));
            }
            return Reply::Error(transactions::rejected(session, argv, err));
        }
    };
    // As Redis: the RESP2 subscribe-state restriction comes before MULTI queueing.
    if session.pubsub.is_some()
        && let Some(refused) = pubsub::subscribe_context_error(session, spec.name)
    {
        return refused;
    }
    if session.multi.is_some() && !transactions::runs_inside_multi(spec) {
        // As Redis: out of memory with nothing to evict, queueing is refused (a queue can
        // grow without bound) and the transaction marked.
        if session.engine.inner.refuses_growth() {
            return Reply::Error(transactions::rejected(session, argv, Error::OutOfMemory));
        }
        return transactions::queue(session, index, spec, argv);
    }
    run_spec(session, index, spec, argv)
}

/// Runs the resolved command `index` for `session` and counts it.
pub(crate) fn run(session: &mut Session, index: usize, argv: &[&[u8]]) -> Reply {
    let spec = &table::commands()[index];
    run_spec(session, index, spec, argv)
}

/// [`run`] with the table entry at hand.
#[inline(always)]
fn run_spec(session: &mut Session, index: usize, spec: &CommandSpec, argv: &[&[u8]]) -> Reply {
    // Timing one call in TIMING_SAMPLE_EVERY (at random, weighted by that) estimates the
    // time per command without a clock read around every call: on virtual machines such a
    // read can cost more than a GET (measured here: ~300 ns per pair after a cache-missing
    // GET of ~150 ns).
    let sampled = timing_sampled();
    let start = if sampled { timing_clock().raw() } else { 0 };
    let reply = (spec.handler)(session, argv);
    let elapsed_ns = if sampled {
        let clock = timing_clock();
        clock.delta_as_nanos(start, clock.raw()).saturating_mul(TIMING_SAMPLE_EVERY)
    } else {
        0
    };
    let inner = &*session.engine.inner;
    let failed = reply.is_error();
    let record = |shard: &StatsShard| {
        if let Some(counters) = shard.commands.get(index) {
            bump(&counters.calls, 1);
            if sampled {
                bump(&counters.nanos, elapsed_ns);
            }
            if failed {
                bump(&counters.failed, 1);
            }
        }
    };
    match &session.stats {
        Some(block) => record(block),
        None => inner.stats.with_local(record),
    }
    if let Some(client) = &session.client {
        client.last_command.store(index + 1, std::sync::atomic::Ordering::Relaxed);
        client.last_active_ms.store(inner.cached_ms(), std::sync::atomic::Ordering::Relaxed);
    }
    reply
}

/// One call in this many is timed for the per-command statistics (a power of two).
pub(crate) const TIMING_SAMPLE_EVERY: u64 = 16;

/// Is this call one of the timed ones? Each call is, independently, with probability
/// 1 / [`TIMING_SAMPLE_EVERY`] (the engine's per-thread generator), so no command pattern can
/// alias with the sampling and every command's total is estimated without bias.
#[inline(always)]
fn timing_sampled() -> bool {
    crate::keyspace::access::fast_random() >> (32 - TIMING_SAMPLE_EVERY.trailing_zeros()) == 0
}

/// The clock for per-command timing: the TSC where usable (a few ns a reading).
fn timing_clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_cache_answers_like_the_table() {
        let mut cache = NameCache::default();
        for name in [
            &b"GET"[..],
            b"get",
            b"SET",
            b"GET",
            b"gEt",
            b"nosuch",
            b"",
            b"incrbyfloat",
            b"a-very-long-command-name",
        ] {
            assert_eq!(cache.lookup(name), lookup(name), "{name:?}");
            assert_eq!(cache.lookup(name), lookup(name), "{name:?} again");
        }
        assert_eq!(cache.lookup(b"get\0"), None);
    }

    #[test]
    fn about_one_call_in_sixteen_is_timed() {
        let n = 160_000;
        let timed = (0..n).filter(|_| timing_sampled()).count();
        let expected = n / TIMING_SAMPLE_EVERY as usize;
        assert!(timed.abs_diff(expected) < expected / 10, "{timed} timed of {n}");
        // Alternating commands are both sampled (no aliasing with a pattern of period 2).
        let (mut even, mut odd) = (0, 0);
        for i in 0..n {
            if timing_sampled() {
                if i % 2 == 0 { even += 1 } else { odd += 1 }
            }
        }
        assert!(even > expected / 3 && odd > expected / 3, "{even} / {odd}");
    }

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(lookup(b"GET"), lookup(b"get"));
        assert_eq!(lookup(b"get\0"), None, "a NUL is part of the name");
        assert_eq!(lookup(b"IncrByFloat"), lookup(b"incrbyfloat"));
        assert!(lookup(b"incrbyfloat").is_some());
        assert_eq!(lookup(b"ge"), None);
        for spec in table::COMMANDS.iter() {
            let upper = spec.name.to_ascii_uppercase();
            assert_eq!(lookup(upper.as_bytes()).map(|i| table::COMMANDS[i].name), Some(spec.name));
        }
        assert!(lookup(b"gEt").is_some());
        assert!(lookup(b"nosuchcommand").is_none());
        assert!(lookup(&[b'a'; 100]).is_none());
    }

    #[test]
    fn resolve_errors() {
        assert_eq!(
            resolve(&[b"foo", b"a", b"b"]).unwrap_err().to_string(),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            resolve(&[b"get"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            resolve(&[b"config", b"nope"]).unwrap_err().to_string(),
            "ERR unknown subcommand 'nope'. Try CONFIG HELP."
        );
        assert_eq!(
            resolve(&[b"config", b"get"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'config|get' command"
        );
        assert_eq!(resolve(&[]).unwrap_err().to_string(), "ERR empty command");
    }

    #[test]
    fn unknown_command_text_is_clipped_like_redis() {
        let long_a = [b'a'; 100];
        let long_b = [b'b'; 100];
        let text = resolve(&[b"foo", &long_a, &long_b]).unwrap_err().to_string();
        let expected = format!(
            "ERR unknown command 'foo', with args beginning with: '{}' '{}' ",
            "a".repeat(100),
            "b".repeat(25)
        );
        assert_eq!(text, expected);
        let text = resolve(&[b"x\r\ny", b"a\0b"]).unwrap_err().to_string();
        assert_eq!(text, "ERR unknown command 'x  y', with args beginning with: 'a' ");
        let text = resolve(&[b"client", b"no\npe"]).unwrap_err().to_string();
        assert_eq!(text, "ERR unknown subcommand 'no pe'. Try CLIENT HELP.");
    }

    #[test]
    fn every_entry_is_reachable_and_sane() {
        for (i, spec) in table::COMMANDS.iter().enumerate() {
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(spec.name.len() <= NAME_MAX, "{}", spec.name);
            assert_ne!(spec.arity, 0, "{}", spec.name);
            assert!(!spec.summary.is_empty(), "{}", spec.name);
            match spec.name.split_once('|') {
                Some((container, sub)) => {
                    assert_eq!(lookup_sub(container, sub.as_bytes()), Some(i));
                    let parent = lookup(container.as_bytes()).expect("container present");
                    assert!(table::COMMANDS[parent].flags.contains(CommandFlags::CONTAINER));
                }
                None => assert_eq!(lookup(spec.name.as_bytes()), Some(i)),
            }
        }
    }
}
