//! Handlers for hash commands: parse argv, call the typed API in `crate::hashes`.

use super::args::{collection_scan, is};
use super::table::{CommandSpec, F, KEY1, OOM, R, W, cmd};
use crate::error::{Error, Result};
use crate::keys::ExpireCondition;
use crate::num::parse_i64;
use crate::reply::Reply;
use crate::session::{Protocol, Session};
use crate::value::KeyType;

/// The hash commands' table entries.
#[rustfmt::skip]
pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd!("hset", -4, W.union(OOM).union(F), KEY1, "hash", "2.0.0", "Creates or modifies the value of a field in a hash.", hset),
    cmd!("hsetnx", 4, W.union(OOM).union(F), KEY1, "hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", hsetnx),
    cmd!("hmset", -4, W.union(OOM).union(F), KEY1, "hash", "2.0.0", "Sets the values of multiple fields.", hmset),
    cmd!("hget", 3, R.union(F), KEY1, "hash", "2.0.0", "Returns the value of a field in a hash.", hget),
    cmd!("hmget", -3, R.union(F), KEY1, "hash", "2.0.0", "Returns the values of all fields in a hash.", hmget),
    cmd!("hdel", -3, W.union(F), KEY1, "hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", hdel),
    cmd!("hlen", 2, R.union(F), KEY1, "hash", "2.0.0", "Returns the number of fields in a hash.", hlen),
    cmd!("hexists", 3, R.union(F), KEY1, "hash", "2.0.0", "Determines whether a field exists in a hash.", hexists),
    cmd!("hstrlen", 3, R.union(F), KEY1, "hash", "3.2.0", "Returns the length of the value of a field.", hstrlen),
    cmd!("hgetall", 2, R, KEY1, "hash", "2.0.0", "Returns all fields and values in a hash.", hgetall),
    cmd!("hkeys", 2, R, KEY1, "hash", "2.0.0", "Returns all fields in a hash.", hkeys),
    cmd!("hvals", 2, R, KEY1, "hash", "2.0.0", "Returns all values in a hash.", hvals),
    cmd!("hincrby", 4, W.union(OOM).union(F), KEY1, "hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", hincrby),
    cmd!("hincrbyfloat", 4, W.union(OOM).union(F), KEY1, "hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", hincrbyfloat),
    cmd!("hrandfield", -2, R, KEY1, "hash", "6.2.0", "Returns one or more random fields from a hash.", hrandfield),
    cmd!("hscan", -3, R, KEY1, "hash", "2.8.0", "Iterates over fields and values of a hash.", hscan),
    cmd!("hexpire", -6, W.union(F), KEY1, "hash", "7.4.0", "Set expiry for hash field using relative time to expire (seconds)", hexpire),
    cmd!("hpexpire", -6, W.union(F), KEY1, "hash", "7.4.0", "Set expiry for hash field using relative time to expire (milliseconds)", hpexpire),
    cmd!("hexpireat", -6, W.union(F), KEY1, "hash", "7.4.0", "Set expiry for hash field using an absolute Unix timestamp (seconds)", hexpireat),
    cmd!("hpexpireat", -6, W.union(F), KEY1, "hash", "7.4.0", "Set expiry for hash field using an absolute Unix timestamp (milliseconds)", hpexpireat),
    cmd!("hpersist", -5, W.union(F), KEY1, "hash", "7.4.0", "Removes the expiration time for each specified field", hpersist),
    cmd!("httl", -5, R.union(F), KEY1, "hash", "7.4.0", "Returns the TTL in seconds of a hash field.", httl),
    cmd!("hpttl", -5, R.union(F), KEY1, "hash", "7.4.0", "Returns the TTL in milliseconds of a hash field.", hpttl),
    cmd!("hexpiretime", -5, R.union(F), KEY1, "hash", "7.4.0", "Returns the expiration time of a hash field as a Unix timestamp, in seconds.", hexpiretime),
    cmd!("hpexpiretime", -5, R.union(F), KEY1, "hash", "7.4.0", "Returns the expiration time of a hash field as a Unix timestamp, in msec.", hpexpiretime),
];

/// Latest field expiry Redis accepts, in Unix milliseconds (`HFE_MAX_ABS_TIME_MSEC`: 2^46 - 1).
const FIELD_EXPIRE_MAX_MS: i64 = (1 << 46) - 1;

fn count_reply(result: Result<usize>) -> Reply {
    result.map(|n| n as i64).into()
}

fn bulks(list: Vec<Vec<u8>>) -> Reply {
    Reply::Array(list.into_iter().map(Reply::Bulk).collect())
}

fn codes(result: Result<Vec<i64>>) -> Reply {
    match result {
        Ok(codes) => Reply::Array(codes.into_iter().map(Reply::Integer).collect()),
        Err(err) => err.into(),
    }
}

/// The pairs of `HSET`/`HMSET` (argv after the key), or the arity error when one is odd.
fn pairs<'a>(argv: &[&'a [u8]], name: &'static str) -> Result<Vec<(&'a [u8], &'a [u8])>> {
    if argv.len() % 2 == 1 {
        return Err(Error::arity(name));
    }
    Ok(argv[2..].chunks_exact(2).map(|pair| (pair[0], pair[1])).collect())
}

fn hset(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(pairs(argv, "hset").and_then(|pairs| s.engine_db().hset(argv[1], &pairs)))
}

fn hmset(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match pairs(argv, "hmset").and_then(|pairs| s.engine_db().hset(argv[1], &pairs)) {
        Ok(_) => Reply::OK,
        Err(err) => err.into(),
    }
}

fn hsetnx(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().hsetnx(argv[1], argv[2], argv[3]).into()
}

fn hget(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match s.engine_db().hget(argv[1], argv[2]) {
        Ok(value) => Reply::bulk_or_null(value),
        Err(err) => err.into(),
    }
}

fn hmget(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match s.engine_db().hmget(argv[1], &argv[2..]) {
        Ok(values) => Reply::Array(values.into_iter().map(Reply::bulk_or_null).collect()),
        Err(err) => err.into(),
    }
}

fn hdel(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().hdel(argv[1], &argv[2..]))
}

fn hlen(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().hlen(argv[1]))
}

fn hexists(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().hexists(argv[1], argv[2]).into()
}

fn hstrlen(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().hstrlen(argv[1], argv[2]))
}

fn hgetall(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match s.engine_db().hgetall(argv[1]) {
        Ok(entries) => {
            Reply::Map(entries.into_iter().map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v))).collect())
        }
        Err(err) => err.into(),
    }
}

fn hkeys(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().hkeys(argv[1]).map_or_else(Reply::from, bulks)
}

fn hvals(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().hvals(argv[1]).map_or_else(Reply::from, bulks)
}

fn hincrby(s: &mut Session, argv: &[&[u8]]) -> Reply {
    parse_i64(argv[3]).and_then(|delta| s.engine_db().hincrby(argv[1], argv[2], delta)).into()
}

fn hincrbyfloat(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match s.engine_db().hincrbyfloat(argv[1], argv[2], argv[3]) {
        Ok(text) => Reply::Bulk(text),
        Err(err) => err.into(),
    }
}

/// `HRANDFIELD key [count [WITHVALUES]]`: the count and whether values are wanted.
fn parse_hrandfield(argv: &[&[u8]]) -> Result<(i64, bool)> {
    let count = parse_i64(argv[2])?;
    if count == i64::MIN {
        return Err(Error::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withvalues = match argv.len() {
        3 => false,
        4 if is(argv[3], "withvalues") => true,
        _ => return Err(Error::Syntax),
    };
    // Refuse what could not be answered rather than allocate without bound.
    if count.unsigned_abs() > (i64::MAX as u64) / 2 && (withvalues || count < 0) {
        return Err(Error::msg("ERR value is out of range"));
    }
    Ok((count, withvalues))
}

fn hrandfield(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let engine = s.engine_db();
    if argv.len() == 2 {
        return match engine.hrandfield(argv[1], 1) {
            Ok(mut picked) => Reply::bulk_or_null(picked.pop().map(|(field, _)| field)),
            Err(err) => err.into(),
        };
    }
    let (count, withvalues) = match parse_hrandfield(argv) {
        Ok(parsed) => parsed,
        Err(err) => return err.into(),
    };
    let picked = match engine.hrandfield(argv[1], count) {
        Ok(picked) => picked,
        Err(err) => return err.into(),
    };
    if !withvalues {
        return bulks(picked.into_iter().map(|(field, _)| field).collect());
    }
    let resp3 = s.protocol() == Protocol::Resp3;
    let mut out = Vec::with_capacity(picked.len() * if resp3 { 1 } else { 2 });
    for (field, value) in picked {
        if resp3 {
            out.push(Reply::Array(vec![Reply::Bulk(field), Reply::Bulk(value)]));
        } else {
            out.extend([Reply::Bulk(field), Reply::Bulk(value)]);
        }
    }
    Reply::Array(out)
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]`.
fn hscan(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let (cursor, pattern, count, novalues) = match collection_scan(argv, true) {
        Ok(scan) => (scan.cursor, scan.pattern, scan.count, scan.novalues),
        Err(err) => return err.into(),
    };
    match s.engine_db().hscan(argv[1], cursor, pattern, count) {
        Ok((next, found)) => {
            let mut items = Vec::with_capacity(found.len() * 2);
            for (field, value) in found {
                items.push(Reply::Bulk(field));
                if !novalues {
                    items.push(Reply::Bulk(value));
                }
            }
            Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(items)])
        }
        Err(err) => err.into(),
    }
}

/// An argument error, unless the key holds another type than a hash: Redis looks the key up
/// before it parses the field-expiry commands' arguments, so WRONGTYPE wins.
fn wrongtype_first(s: &Session, key: &[u8], err: Error) -> Reply {
    match s.engine_db().key_type(key) {
        Some(t) if t != KeyType::Hash => Error::WrongType.into(),
        _ => err.into(),
    }
}

/// `FIELDS numfields field...` from `argv[at]` on; `numfields_error` is the wording for a bad
/// count (it differs between the commands that set expiries and those that read them).
fn parse_fields<'a>(
    argv: &'a [&'a [u8]],
    at: usize,
    numfields_error: &'static str,
) -> Result<&'a [&'a [u8]]> {
    if !argv.get(at).is_some_and(|arg| is(arg, "fields")) {
        return Err(Error::msg("ERR Mandatory argument FIELDS is missing or not at the right position"));
    }
    let count = argv
        .get(at + 1)
        .and_then(|arg| parse_i64(arg).ok())
        .filter(|&n| n >= 1)
        .ok_or(Error::msg(numfields_error))?;
    let fields = &argv[(at + 2).min(argv.len())..];
    if usize::try_from(count).ok() != Some(fields.len()) {
        return Err(Error::msg("ERR The `numfields` parameter must match the number of arguments"));
    }
    Ok(fields)
}

/// How the field-expiry setters read their time argument.
#[derive(Debug, Clone, Copy)]
struct TimeArg {
    /// Seconds (`HEXPIRE`, `HEXPIREAT`) rather than milliseconds.
    seconds: bool,
    /// Relative to now (`HEXPIRE`, `HPEXPIRE`) rather than absolute.
    relative: bool,
    name: &'static str,
}

/// `H[P]EXPIRE[AT] key time [NX|XX|GT|LT] FIELDS numfields field...`: the absolute expiry in
/// Unix milliseconds, the condition and the fields, checked in Redis's order.
fn parse_hexpire<'a>(
    argv: &'a [&'a [u8]],
    time: TimeArg,
    now_ms: u64,
) -> Result<(u64, ExpireCondition, &'a [&'a [u8]])> {
    let mut at = parse_i64(argv[2])?;
    if at < 0 {
        return Err(Error::msg("ERR invalid expire time, must be >= 0"));
    }
    if time.seconds {
        if at > FIELD_EXPIRE_MAX_MS / 1000 {
            return Err(Error::InvalidExpireTime(time.name));
        }
        at *= 1000;
    }
    let base = if time.relative { now_ms as i64 } else { 0 };
    if at > FIELD_EXPIRE_MAX_MS - base {
        return Err(Error::InvalidExpireTime(time.name));
    }
    let at = (at + base) as u64;
    let mut condition = ExpireCondition::default();
    let mut fields_at = 3;
    let flag = argv[3];
    if is(flag, "nx") {
        condition.nx = true;
    } else if is(flag, "xx") {
        condition.xx = true;
    } else if is(flag, "gt") {
        condition.gt = true;
    } else if is(flag, "lt") {
        condition.lt = true;
    }
    if condition != ExpireCondition::default() {
        fields_at += 1;
    }
    let fields = parse_fields(argv, fields_at, "ERR Parameter `numFields` should be greater than 0")?;
    Ok((at, condition, fields))
}

fn hexpire_generic(s: &mut Session, argv: &[&[u8]], time: TimeArg) -> Reply {
    let engine = s.engine_db();
    let now_ms = engine.inner.clock.now_ms();
    match parse_hexpire(argv, time, now_ms) {
        Ok((at_ms, condition, fields)) => codes(engine.hpexpireat(argv[1], at_ms, condition, fields)),
        Err(err) => wrongtype_first(s, argv[1], err),
    }
}

fn hexpire(s: &mut Session, argv: &[&[u8]]) -> Reply {
    hexpire_generic(s, argv, TimeArg { seconds: true, relative: true, name: "hexpire" })
}

fn hpexpire(s: &mut Session, argv: &[&[u8]]) -> Reply {
    hexpire_generic(s, argv, TimeArg { seconds: false, relative: true, name: "hpexpire" })
}

fn hexpireat(s: &mut Session, argv: &[&[u8]]) -> Reply {
    hexpire_generic(s, argv, TimeArg { seconds: true, relative: false, name: "hexpireat" })
}

fn hpexpireat(s: &mut Session, argv: &[&[u8]]) -> Reply {
    hexpire_generic(s, argv, TimeArg { seconds: false, relative: false, name: "hpexpireat" })
}

/// The typed call behind an `HTTL`-style command: engine, key, fields to per-field codes.
type FieldsCall = fn(&crate::Engine, &[u8], &[&[u8]]) -> Result<Vec<i64>>;

/// `HTTL`-style commands and `HPERSIST`: `key FIELDS numfields field...`.
fn fields_command(s: &mut Session, argv: &[&[u8]], run: FieldsCall) -> Reply {
    match parse_fields(argv, 2, "ERR Number of fields must be a positive integer") {
        Ok(fields) => codes(run(s.engine_db(), argv[1], fields)),
        Err(err) => wrongtype_first(s, argv[1], err),
    }
}

fn hpersist(s: &mut Session, argv: &[&[u8]]) -> Reply {
    fields_command(s, argv, |e, key, fields| e.hpersist(key, fields))
}

fn httl(s: &mut Session, argv: &[&[u8]]) -> Reply {
    fields_command(s, argv, |e, key, fields| e.httl(key, fields))
}

fn hpttl(s: &mut Session, argv: &[&[u8]]) -> Reply {
    fields_command(s, argv, |e, key, fields| e.hpttl(key, fields))
}

fn hexpiretime(s: &mut Session, argv: &[&[u8]]) -> Reply {
    fields_command(s, argv, |e, key, fields| e.hexpiretime(key, fields))
}

fn hpexpiretime(s: &mut Session, argv: &[&[u8]]) -> Reply {
    fields_command(s, argv, |e, key, fields| e.hpexpiretime(key, fields))
}
