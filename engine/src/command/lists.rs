//! Handlers for list commands: parse argv, call the typed API in `crate::lists`.

use super::args::{Args, is, mpop_args};
use super::blocking::{block_on, parse_timeout};
use super::table::{BL, CommandSpec, F, KEY1, KeySpec, MK, NOKEYS, NS, OOM, R, W, cmd, k};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::lists::{InsertPosition, ListEnd, LposOptions, Popped, RANK_ZERO};
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

/// `numkeys key [key ...] LEFT|RIGHT [COUNT count]` from `argv[at]` (LMPOP, BLMPOP).
fn parse_mpop<'a>(argv: &'a [&'a [u8]], at: usize) -> Result<(&'a [&'a [u8]], ListEnd, usize)> {
    let (keys, end, count) = mpop_args(argv, at)?;
    Ok((keys, list_end(end)?, count))
}

fn popped_reply(popped: Option<Popped>) -> Reply {
    match popped {
        Some(popped) => Reply::Array(vec![Reply::Bulk(popped.key), array(popped.elements)]),
        None => Reply::NullArray,
    }
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
fn lmpop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        let (keys, end, count) = parse_mpop(argv, 1)?;
        Ok(popped_reply(s.engine_db().lmpop(keys, end, count)?))
    })())
}

fn to_vecs(keys: &[&[u8]]) -> Vec<Vec<u8>> {
    keys.iter().map(|k| k.to_vec()).collect()
}

/// `BLPOP`/`BRPOP key [key ...] timeout`.
fn bpop(s: &mut Session, argv: &[&[u8]], end: ListEnd) -> Reply {
    let Some((timeout, keys)) = argv[1..].split_last() else { return Error::Syntax.into() };
    let deadline = match parse_timeout(timeout) {
        Ok(deadline) => deadline,
        Err(err) => return err.into(),
    };
    let keys = to_vecs(keys);
    let attempt = Box::new(move |engine: &Engine, keys: &[Vec<u8>]| {
        let popped = engine.lmpop(keys, end, 1)?;
        Ok(popped.and_then(|mut p| {
            p.elements.pop().map(|element| Reply::Array(vec![Reply::Bulk(p.key), Reply::Bulk(element)]))
        }))
    });
    block_on(s, keys, deadline, attempt, Reply::NullArray)
}

fn blpop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    bpop(s, argv, ListEnd::Left)
}

fn brpop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    bpop(s, argv, ListEnd::Right)
}

/// The blocking move behind BLMOVE and BRPOPLPUSH.
fn bmove(
    s: &mut Session,
    source: &[u8],
    destination: &[u8],
    from: ListEnd,
    to: ListEnd,
    timeout: &[u8],
) -> Reply {
    let deadline = match parse_timeout(timeout) {
        Ok(deadline) => deadline,
        Err(err) => return err.into(),
    };
    let (src, dst) = (source.to_vec(), destination.to_vec());
    let attempt = Box::new(move |engine: &Engine, _: &[Vec<u8>]| {
        Ok(engine.lmove(&src, &dst, from, to)?.map(Reply::Bulk))
    });
    block_on(s, vec![source.to_vec()], deadline, attempt, Reply::Null)
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`.
fn blmove(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let ends = list_end(argv[3]).and_then(|from| Ok((from, list_end(argv[4])?)));
    match ends {
        Ok((from, to)) => bmove(s, argv[1], argv[2], from, to, argv[5]),
        Err(err) => err.into(),
    }
}

/// `BRPOPLPUSH source destination timeout`.
fn brpoplpush(s: &mut Session, argv: &[&[u8]]) -> Reply {
    bmove(s, argv[1], argv[2], ListEnd::Right, ListEnd::Left, argv[3])
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
fn blmpop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let parsed = parse_timeout(argv[1]).and_then(|deadline| Ok((deadline, parse_mpop(argv, 2)?)));
    let (deadline, (keys, end, count)) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => return err.into(),
    };
    let keys = to_vecs(keys);
    let attempt = Box::new(move |engine: &Engine, keys: &[Vec<u8>]| {
        Ok(engine.lmpop(keys, end, count)?.map(|p| popped_reply(Some(p))))
    });
    block_on(s, keys, deadline, attempt, Reply::NullArray)
}

/// Every argument but the last (the timeout).
const KEYS_BUT_LAST: KeySpec = k(1, -2, 1);
const KEY12: KeySpec = k(1, 2, 1);

/// The list commands.
#[rustfmt::skip]
pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd!("lpush", -3, W.union(OOM).union(F), KEY1, "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", lpush),
    cmd!("rpush", -3, W.union(OOM).union(F), KEY1, "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", rpush),
    cmd!("lpushx", -3, W.union(OOM).union(F), KEY1, "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", lpushx),
    cmd!("rpushx", -3, W.union(OOM).union(F), KEY1, "list", "2.2.0", "Appends an element to a list only when the list exists.", rpushx),
    cmd!("lpop", -2, W.union(F), KEY1, "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", lpop),
    cmd!("rpop", -2, W.union(F), KEY1, "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", rpop),
    cmd!("llen", 2, R.union(F), KEY1, "list", "1.0.0", "Returns the length of a list.", llen),
    cmd!("lrange", 4, R, KEY1, "list", "1.0.0", "Returns a range of elements from a list.", lrange),
    cmd!("lindex", 3, R, KEY1, "list", "1.0.0", "Returns an element from a list by its index.", lindex),
    cmd!("lset", 4, W.union(OOM), KEY1, "list", "1.0.0", "Sets the value of an element in a list by its index.", lset),
    cmd!("linsert", 5, W.union(OOM), KEY1, "list", "2.2.0", "Inserts an element before or after another element in a list.", linsert),
    cmd!("lrem", 4, W, KEY1, "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", lrem),
    cmd!("ltrim", 4, W, KEY1, "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", ltrim),
    cmd!("lpos", -3, R, KEY1, "list", "6.0.6", "Returns the index of matching elements in a list.", lpos),
    cmd!("lmove", 5, W.union(OOM), KEY12, "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", lmove),
    cmd!("rpoplpush", 3, W.union(OOM), KEY12, "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", rpoplpush),
    cmd!("lmpop", -4, W.union(MK), NOKEYS, "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", lmpop),
    cmd!("blpop", -3, W.union(BL).union(NS), KEYS_BUT_LAST, "list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blpop),
    cmd!("brpop", -3, W.union(BL).union(NS), KEYS_BUT_LAST, "list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", brpop),
    cmd!("brpoplpush", 4, W.union(OOM).union(BL).union(NS), KEY12, "list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", brpoplpush),
    cmd!("blmove", 6, W.union(OOM).union(BL).union(NS), KEY12, "list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", blmove),
    cmd!("blmpop", -5, W.union(BL).union(MK), NOKEYS, "list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blmpop),
];
