//! Handlers for list commands: parse argv, call the typed API in `crate::lists`.

use super::args::{Args, is};
use super::table::{CommandFlags, CommandSpec, KeySpec};
use crate::error::{Error, Result};
use crate::lists::{InsertPosition, ListEnd, LposOptions, RANK_ZERO};
use crate::num::parse_i64;
use crate::reply::Reply;
use crate::session::Session;

/// Bulk replies for a list of elements.
fn array(elements: Vec<Vec<u8>>) -> Reply {
    Reply::Array(elements.into_iter().map(Reply::Bulk).collect())
}

fn reply_of(result: Result<Reply>) -> Reply {
    result.unwrap_or_else(Reply::Error)
}

/// A non-negative count as Redis's `getPositiveLongFromObjectOrReply` with `message`: any
/// bad input (not an integer, negative) is that message.
fn positive(arg: &[u8], message: &'static str) -> Result<usize> {
    let n = parse_i64(arg).map_err(|_| Error::msg(message))?;
    usize::try_from(n).map_err(|_| Error::msg(message))
}

/// `LEFT` or `RIGHT`.
fn list_end(arg: &[u8]) -> Result<ListEnd> {
    if is(arg, "left") {
        Ok(ListEnd::Left)
    } else if is(arg, "right") {
        Ok(ListEnd::Right)
    } else {
        Err(Error::Syntax)
    }
}

fn lpush(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().lpush(argv[1], &argv[2..]).map(|n| n as i64).into()
}

fn rpush(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().rpush(argv[1], &argv[2..]).map(|n| n as i64).into()
}

fn lpushx(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().lpushx(argv[1], &argv[2..]).map(|n| n as i64).into()
}

fn rpushx(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().rpushx(argv[1], &argv[2..]).map(|n| n as i64).into()
}

/// `LPOP`/`RPOP key [count]`: one element (or null), or with a count an array (or the null
/// array when the key is absent).
fn pop(s: &mut Session, argv: &[&[u8]], end: ListEnd) -> Reply {
    if argv.len() > 3 {
        return Error::arity(if end == ListEnd::Left { "lpop" } else { "rpop" }).into();
    }
    let Some(&count) = argv.get(2) else {
        return s.engine_db().pop(argv[1], end).into();
    };
    reply_of((|| {
        let count = positive(count, "ERR value is out of range, must be positive")?;
        Ok(s.engine_db().pop_count(argv[1], end, count)?.map_or(Reply::NullArray, array))
    })())
}

fn lpop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    pop(s, argv, ListEnd::Left)
}

fn rpop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    pop(s, argv, ListEnd::Right)
}

fn llen(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().llen(argv[1]).map(|n| n as i64).into()
}

fn lrange(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        let (start, stop) = (parse_i64(argv[2])?, parse_i64(argv[3])?);
        Ok(array(s.engine_db().lrange(argv[1], start, stop)?))
    })())
}

fn lindex(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| Ok(s.engine_db().lindex(argv[1], parse_i64(argv[2])?)?.into()))())
}

fn lset(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        s.engine_db().lset(argv[1], parse_i64(argv[2])?, argv[3])?;
        Ok(Reply::OK)
    })())
}

fn linsert(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let position = if is(argv[2], "before") {
        InsertPosition::Before
    } else if is(argv[2], "after") {
        InsertPosition::After
    } else {
        return Error::Syntax.into();
    };
    s.engine_db().linsert(argv[1], position, argv[3], argv[4]).into()
}

fn lrem(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| Ok(Reply::Integer(s.engine_db().lrem(argv[1], parse_i64(argv[2])?, argv[3])? as i64)))())
}

fn ltrim(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        s.engine_db().ltrim(argv[1], parse_i64(argv[2])?, parse_i64(argv[3])?)?;
        Ok(Reply::OK)
    })())
}

/// Parses `LPOS`'s options; returns them and whether `COUNT` was given.
fn lpos_options(argv: &[&[u8]]) -> Result<(LposOptions, bool)> {
    let mut options = LposOptions::default();
    let mut has_count = false;
    let mut args = Args::new(argv, 3);
    while let Some(arg) = args.next() {
        if is(arg, "rank") {
            let rank = args.int()?;
            if rank == i64::MIN {
                return Err(Error::msg(format!(
                    "ERR value is out of range, value must between {} and {}",
                    -i64::MAX,
                    i64::MAX
                )));
            }
            if rank == 0 {
                return Err(Error::msg(RANK_ZERO));
            }
            options.rank = rank;
        } else if is(arg, "count") {
            options.count = positive(args.value()?, "ERR COUNT can't be negative")?;
            has_count = true;
        } else if is(arg, "maxlen") {
            options.maxlen = positive(args.value()?, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok((options, has_count))
}

fn lpos(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        let (options, has_count) = lpos_options(argv)?;
        let found = s.engine_db().lpos(argv[1], argv[2], options)?;
        let as_int = |index: usize| Reply::Integer(index as i64);
        Ok(if has_count {
            Reply::Array(found.into_iter().map(as_int).collect())
        } else {
            found.first().copied().map_or(Reply::Null, as_int)
        })
    })())
}

fn lmove(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        let (from, to) = (list_end(argv[3])?, list_end(argv[4])?);
        Ok(s.engine_db().lmove(argv[1], argv[2], from, to)?.into())
    })())
}

fn rpoplpush(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().rpoplpush(argv[1], argv[2]).into()
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
fn lmpop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        let numkeys_error = "ERR numkeys should be greater than 0";
        let numkeys = parse_i64(argv[1]).map_err(|_| Error::msg(numkeys_error))?;
        let numkeys = usize::try_from(numkeys).ok().filter(|&n| n > 0).ok_or(Error::msg(numkeys_error))?;
        // The direction follows the keys; no room for it is a syntax error.
        let end_at = numkeys.checked_add(2).filter(|&at| at < argv.len()).ok_or(Error::Syntax)?;
        let keys = &argv[2..end_at];
        let end = list_end(argv[end_at])?;
        let mut count = None;
        let mut args = Args::new(argv, 3 + numkeys);
        while let Some(arg) = args.next() {
            if !is(arg, "count") || count.is_some() {
                return Err(Error::Syntax);
            }
            let n = parse_i64(args.value()?).ok().filter(|&n| n > 0);
            count = Some(n.ok_or(Error::msg("ERR count should be greater than 0"))?);
        }
        let count = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
        Ok(match s.engine_db().lmpop(keys, end, count)? {
            Some(popped) => Reply::Array(vec![Reply::Bulk(popped.key), array(popped.elements)]),
            None => Reply::NullArray,
        })
    })())
}

const W: CommandFlags = CommandFlags::WRITE;
const R: CommandFlags = CommandFlags::READONLY;
const OOM: CommandFlags = CommandFlags::DENYOOM;
const F: CommandFlags = CommandFlags::FAST;
const MK: CommandFlags = CommandFlags::MOVABLE_KEYS;
const KEY1: KeySpec = KeySpec { first: 1, last: 1, step: 1 };
const KEY12: KeySpec = KeySpec { first: 1, last: 2, step: 1 };
const NOKEYS: KeySpec = KeySpec { first: 0, last: 0, step: 0 };

macro_rules! cmd {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $since:literal, $summary:literal, $handler:path) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: "list",
            since: $since,
            summary: $summary,
            handler: $handler,
        }
    };
}

/// The list commands.
#[rustfmt::skip]
pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd!("lpush", -3, W.union(OOM).union(F), KEY1, "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", lpush),
    cmd!("rpush", -3, W.union(OOM).union(F), KEY1, "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", rpush),
    cmd!("lpushx", -3, W.union(OOM).union(F), KEY1, "2.2.0", "Prepends one or more elements to a list only when the list exists.", lpushx),
    cmd!("rpushx", -3, W.union(OOM).union(F), KEY1, "2.2.0", "Appends an element to a list only when the list exists.", rpushx),
    cmd!("lpop", -2, W.union(F), KEY1, "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", lpop),
    cmd!("rpop", -2, W.union(F), KEY1, "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", rpop),
    cmd!("llen", 2, R.union(F), KEY1, "1.0.0", "Returns the length of a list.", llen),
    cmd!("lrange", 4, R, KEY1, "1.0.0", "Returns a range of elements from a list.", lrange),
    cmd!("lindex", 3, R, KEY1, "1.0.0", "Returns an element from a list by its index.", lindex),
    cmd!("lset", 4, W.union(OOM), KEY1, "1.0.0", "Sets the value of an element in a list by its index.", lset),
    cmd!("linsert", 5, W.union(OOM), KEY1, "2.2.0", "Inserts an element before or after another element in a list.", linsert),
    cmd!("lrem", 4, W, KEY1, "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", lrem),
    cmd!("ltrim", 4, W, KEY1, "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", ltrim),
    cmd!("lpos", -3, R, KEY1, "6.0.6", "Returns the index of matching elements in a list.", lpos),
    cmd!("lmove", 5, W.union(OOM), KEY12, "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", lmove),
    cmd!("rpoplpush", 3, W.union(OOM), KEY12, "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", rpoplpush),
    cmd!("lmpop", -4, W.union(MK), NOKEYS, "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", lmpop),
];
