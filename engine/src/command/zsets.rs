//! Handlers for sorted set commands: parse argv (in Redis's order, so the first error is the
//! one Redis reports), call the typed API in `crate::zsets`, shape replies per protocol.
//!
//! Scores are [`Reply::Double`]: RESP3 doubles, RESP2 bulk strings. Member/score lists are
//! flat in RESP2 and `[member, score]` pairs in RESP3, as Redis 7 answers.

use super::args::{CollectionScan, collection_scan, is, mpop_args};
use super::blocking::{block_on, parse_timeout};
use super::table::{BL, CommandSpec, F, KEY1, MK, NOKEYS, NS, OOM, R, W, cmd, k};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::num::{format_double, parse_f64_strict, parse_i64};
use crate::reply::Reply;
use crate::session::{Protocol, Session};
use crate::zsets::{Aggregate, LexBound, ScoreBound, ScoredMember, ZAddOptions, ZRangeBy, ZRangeOptions};

/// The sorted set commands' table entries.
#[rustfmt::skip]
pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd!("zadd", -4, W.union(OOM).union(F), KEY1, "sorted-set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", zadd),
    cmd!("zincrby", 4, W.union(OOM).union(F), KEY1, "sorted-set", "1.2.0", "Increments the score of a member in a sorted set.", zincrby),
    cmd!("zrem", -3, W.union(F), KEY1, "sorted-set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", zrem),
    cmd!("zscore", 3, R.union(F), KEY1, "sorted-set", "1.2.0", "Returns the score of a member in a sorted set.", zscore),
    cmd!("zmscore", -3, R.union(F), KEY1, "sorted-set", "6.2.0", "Returns the score of one or more members in a sorted set.", zmscore),
    cmd!("zcard", 2, R.union(F), KEY1, "sorted-set", "1.2.0", "Returns the number of members in a sorted set.", zcard),
    cmd!("zcount", 4, R.union(F), KEY1, "sorted-set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", zcount),
    cmd!("zlexcount", 4, R.union(F), KEY1, "sorted-set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", zlexcount),
    cmd!("zrank", -3, R.union(F), KEY1, "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", zrank),
    cmd!("zrevrank", -3, R.union(F), KEY1, "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", zrevrank),
    cmd!("zrange", -4, R, KEY1, "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes.", zrange),
    cmd!("zrangestore", -5, W.union(OOM), k(1, 2, 1), "sorted-set", "6.2.0", "Stores a range of members from sorted set in a key.", zrangestore),
    cmd!("zrevrange", -4, R, KEY1, "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", zrevrange),
    cmd!("zrangebyscore", -4, R, KEY1, "sorted-set", "1.0.5", "Returns members in a sorted set within a range of scores.", zrangebyscore),
    cmd!("zrevrangebyscore", -4, R, KEY1, "sorted-set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", zrevrangebyscore),
    cmd!("zrangebylex", -4, R, KEY1, "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range.", zrangebylex),
    cmd!("zrevrangebylex", -4, R, KEY1, "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", zrevrangebylex),
    cmd!("zremrangebyrank", 4, W, KEY1, "sorted-set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", zremrangebyrank),
    cmd!("zremrangebyscore", 4, W, KEY1, "sorted-set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", zremrangebyscore),
    cmd!("zremrangebylex", 4, W, KEY1, "sorted-set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", zremrangebylex),
    cmd!("zpopmin", -2, W.union(F), KEY1, "sorted-set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmin),
    cmd!("zpopmax", -2, W.union(F), KEY1, "sorted-set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmax),
    cmd!("zmpop", -4, W.union(MK), NOKEYS, "sorted-set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", zmpop),
    cmd!("bzpopmin", -3, W.union(NS).union(F).union(BL), k(1, -2, 1), "sorted-set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzpopmin),
    cmd!("bzpopmax", -3, W.union(NS).union(F).union(BL), k(1, -2, 1), "sorted-set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", bzpopmax),
    cmd!("bzmpop", -5, W.union(BL).union(MK), NOKEYS, "sorted-set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzmpop),
    cmd!("zrandmember", -2, R, KEY1, "sorted-set", "6.2.0", "Returns one or more random members from a sorted set.", zrandmember),
    cmd!("zunion", -3, R.union(MK), NOKEYS, "sorted-set", "6.2.0", "Returns the union of multiple sorted sets.", zunion),
    cmd!("zinter", -3, R.union(MK), NOKEYS, "sorted-set", "6.2.0", "Returns the intersect of multiple sorted sets.", zinter),
    cmd!("zdiff", -3, R.union(MK), NOKEYS, "sorted-set", "6.2.0", "Returns the difference between multiple sorted sets.", zdiff),
    cmd!("zunionstore", -4, W.union(OOM).union(MK), KEY1, "sorted-set", "2.0.0", "Stores the union of multiple sorted sets in a key.", zunionstore),
    cmd!("zinterstore", -4, W.union(OOM).union(MK), KEY1, "sorted-set", "2.0.0", "Stores the intersect of multiple sorted sets in a key.", zinterstore),
    cmd!("zdiffstore", -4, W.union(OOM).union(MK), KEY1, "sorted-set", "6.2.0", "Stores the difference of multiple sorted sets in a key.", zdiffstore),
    cmd!("zintercard", -3, R.union(MK), NOKEYS, "sorted-set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", zintercard),
    cmd!("zscan", -3, R, KEY1, "sorted-set", "2.8.0", "Iterates over members and scores of a sorted set.", zscan),
];

fn reply_of(result: Result<Reply>) -> Reply {
    result.unwrap_or_else(Reply::Error)
}

fn count_reply(result: Result<usize>) -> Reply {
    result.map(|n| n as i64).into()
}

/// A score argument (`ERR value is not a valid float` when bad). Plain integers, what clients
/// mostly send, skip the general parser.
fn score_arg(arg: &[u8]) -> Result<f64> {
    match small_integer(arg) {
        Some(score) => Ok(score),
        None => parse_f64_strict(arg).ok_or(Error::NotFloat),
    }
}

/// `[-]digits` with at most 15 digits (leading zeros allowed), as the `f64` `strtod` reads
/// from it: exact, since every such integer is below 2^53; `-0` is `-0.0`. `None` for any
/// other text, which the general parser then reads.
fn small_integer(arg: &[u8]) -> Option<f64> {
    let (negative, digits) = match arg {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, arg),
    };
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let mut value = 0u64;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(digit - b'0');
    }
    let value = value as f64;
    Some(if negative { -value } else { value })
}

/// Members with scores: flat in RESP2, pairs in RESP3; members only without `withscores`.
fn scored_reply(s: &Session, members: Vec<ScoredMember>, withscores: bool) -> Reply {
    if !withscores {
        return Reply::Array(members.into_iter().map(|(m, _)| Reply::Bulk(m)).collect());
    }
    if s.protocol() == Protocol::Resp3 {
        return pairs_reply(members);
    }
    Reply::Array(members.into_iter().flat_map(|(m, score)| [Reply::Bulk(m), Reply::Double(score)]).collect())
}

/// Members with scores as `[member, score]` pairs, whatever the protocol.
fn pairs_reply(members: Vec<ScoredMember>) -> Reply {
    Reply::Array(
        members
            .into_iter()
            .map(|(m, score)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(score)]))
            .collect(),
    )
}

fn double_or_null(score: Option<f64>) -> Reply {
    score.map_or(Reply::Null, Reply::Double)
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`.
fn zadd(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        let mut options = ZAddOptions::default();
        let mut incr = false;
        let mut at = 2;
        while let Some(arg) = argv.get(at) {
            match () {
                () if is(arg, "nx") => options.nx = true,
                () if is(arg, "xx") => options.xx = true,
                () if is(arg, "gt") => options.gt = true,
                () if is(arg, "lt") => options.lt = true,
                () if is(arg, "ch") => options.ch = true,
                () if is(arg, "incr") => incr = true,
                () => break,
            }
            at += 1;
        }
        let rest = &argv[at..];
        if rest.is_empty() || !rest.len().is_multiple_of(2) {
            return Err(Error::Syntax);
        }
        options.check()?;
        if incr && rest.len() > 2 {
            return Err(Error::msg("ERR INCR option supports a single increment-element pair"));
        }
        if let [score, member] = rest {
            // One pair, the usual call: no list to allocate.
            let score = score_arg(score)?;
            let engine = s.engine_db();
            if incr {
                return Ok(double_or_null(engine.zadd_incr(argv[1], options, score, member)?));
            }
            return Ok(Reply::Integer(engine.zadd(argv[1], options, &[(score, member)])? as i64));
        }
        let mut pairs = Vec::with_capacity(rest.len() / 2);
        for pair in rest.chunks_exact(2) {
            pairs.push((score_arg(pair[0])?, pair[1]));
        }
        Ok(Reply::Integer(s.engine_db().zadd(argv[1], options, &pairs)? as i64))
    })())
}

fn zincrby(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of(
        score_arg(argv[2]).and_then(|incr| s.engine_db().zincrby(argv[1], incr, argv[3])).map(Reply::Double),
    )
}

fn zrem(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().zrem(argv[1], &argv[2..]))
}

fn zscore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of(s.engine_db().zscore(argv[1], argv[2]).map(double_or_null))
}

fn zmscore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of(
        s.engine_db()
            .zmscore(argv[1], &argv[2..])
            .map(|scores| Reply::Array(scores.into_iter().map(double_or_null).collect())),
    )
}

fn zcard(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().zcard(argv[1]))
}

fn score_range(min: &[u8], max: &[u8]) -> Result<ZRangeBy> {
    Ok(ZRangeBy::Score { min: ScoreBound::parse(min)?, max: ScoreBound::parse(max)? })
}

fn lex_range(min: &[u8], max: &[u8]) -> Result<ZRangeBy> {
    Ok(ZRangeBy::Lex { min: LexBound::parse(min)?, max: LexBound::parse(max)? })
}

fn zcount(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(score_range(argv[2], argv[3]).and_then(|by| s.engine_db().zcount(argv[1], by)))
}

fn zlexcount(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(lex_range(argv[2], argv[3]).and_then(|by| s.engine_db().zcount(argv[1], by)))
}

/// `ZRANK`/`ZREVRANK key member [WITHSCORE]` (`WITHSCORE` since Redis 7.2).
fn rank(s: &mut Session, argv: &[&[u8]], rev: bool) -> Reply {
    let withscore = match argv.len() {
        3 => false,
        4 if is(argv[3], "withscore") => true,
        _ => return Error::Syntax.into(),
    };
    match s.engine_db().zrank(argv[1], argv[2], rev) {
        Ok(Some((rank, score))) if withscore => {
            Reply::Array(vec![Reply::Integer(rank as i64), Reply::Double(score)])
        }
        Ok(Some((rank, _))) => Reply::Integer(rank as i64),
        Ok(None) if withscore => Reply::NullArray,
        Ok(None) => Reply::Null,
        Err(err) => err.into(),
    }
}

fn zrank(s: &mut Session, argv: &[&[u8]]) -> Reply {
    rank(s, argv, false)
}

fn zrevrank(s: &mut Session, argv: &[&[u8]]) -> Reply {
    rank(s, argv, true)
}

/// How a range command reads its `min max` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

/// A parsed range command: the request and whether scores are wanted.
struct RangeRequest {
    range: ZRangeOptions,
    withscores: bool,
}

/// Parses `key min max [options]` from `argv[at]` on, as Redis's `zrangeGenericCommand`:
/// `kind`/`rev` fixed by the command, or `None` where `ZRANGE`'s options choose.
fn parse_range(
    argv: &[&[u8]],
    at: usize,
    store: bool,
    kind: Option<RangeKind>,
    rev: Option<bool>,
) -> Result<RangeRequest> {
    let (mut kind_opt, mut rev_opt) = (kind, rev);
    let (mut withscores, mut limit) = (false, None);
    let mut j = at + 3;
    while j < argv.len() {
        let (arg, left) = (argv[j], argv.len() - j - 1);
        if !store && is(arg, "withscores") {
            withscores = true;
        } else if is(arg, "limit") && left >= 2 {
            limit = Some((parse_i64(argv[j + 1])?, parse_i64(argv[j + 2])?));
            j += 2;
        } else if rev_opt.is_none() && is(arg, "rev") {
            rev_opt = Some(true);
        } else if kind_opt.is_none() && is(arg, "bylex") {
            kind_opt = Some(RangeKind::Lex);
        } else if kind_opt.is_none() && is(arg, "byscore") {
            kind_opt = Some(RangeKind::Score);
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let (kind, rev) = (kind_opt.unwrap_or(RangeKind::Rank), rev_opt.unwrap_or(false));
    if limit.is_some() && kind == RangeKind::Rank {
        return Err(Error::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(Error::msg("ERR syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    let (mut min, mut max) = (argv[at + 1], argv[at + 2]);
    if rev && kind != RangeKind::Rank {
        // Reversed score and lex ranges are given as `max min`.
        std::mem::swap(&mut min, &mut max);
    }
    let by = match kind {
        RangeKind::Rank => ZRangeBy::Rank { start: parse_i64(min)?, stop: parse_i64(max)? },
        RangeKind::Score => score_range(min, max)?,
        RangeKind::Lex => lex_range(min, max)?,
    };
    Ok(RangeRequest { range: ZRangeOptions { by, rev, limit }, withscores })
}

fn range_command(s: &mut Session, argv: &[&[u8]], kind: Option<RangeKind>, rev: Option<bool>) -> Reply {
    reply_of((|| {
        let request = parse_range(argv, 1, false, kind, rev)?;
        let members = s.engine_db().zrange(argv[1], &request.range)?;
        Ok(scored_reply(s, members, request.withscores))
    })())
}

fn zrange(s: &mut Session, argv: &[&[u8]]) -> Reply {
    range_command(s, argv, None, None)
}

fn zrevrange(s: &mut Session, argv: &[&[u8]]) -> Reply {
    range_command(s, argv, Some(RangeKind::Rank), Some(true))
}

fn zrangebyscore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    range_command(s, argv, Some(RangeKind::Score), Some(false))
}

fn zrevrangebyscore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    range_command(s, argv, Some(RangeKind::Score), Some(true))
}

fn zrangebylex(s: &mut Session, argv: &[&[u8]]) -> Reply {
    range_command(s, argv, Some(RangeKind::Lex), Some(false))
}

fn zrevrangebylex(s: &mut Session, argv: &[&[u8]]) -> Reply {
    range_command(s, argv, Some(RangeKind::Lex), Some(true))
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`.
fn zrangestore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(
        parse_range(argv, 2, true, None, None)
            .and_then(|request| s.engine_db().zrangestore(argv[1], argv[2], &request.range)),
    )
}

fn zremrangebyrank(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply((|| {
        let by = ZRangeBy::Rank { start: parse_i64(argv[2])?, stop: parse_i64(argv[3])? };
        s.engine_db().zremrange(argv[1], by)
    })())
}

fn zremrangebyscore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(score_range(argv[2], argv[3]).and_then(|by| s.engine_db().zremrange(argv[1], by)))
}

fn zremrangebylex(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(lex_range(argv[2], argv[3]).and_then(|by| s.engine_db().zremrange(argv[1], by)))
}

/// `ZPOPMIN`/`ZPOPMAX key [count]`: RESP3 answers a count with pairs, no count with one flat
/// pair.
fn zpop(s: &mut Session, argv: &[&[u8]], max: bool) -> Reply {
    reply_of((|| {
        let count = match argv.len() {
            2 => None,
            3 => {
                let bad = || Error::msg("ERR value is out of range, must be positive");
                let n = parse_i64(argv[2]).map_err(|_| bad())?;
                Some(usize::try_from(n).map_err(|_| bad())?)
            }
            _ => return Err(Error::Syntax),
        };
        let popped = s.engine_db().zpop(argv[1], max, count.unwrap_or(1))?;
        if count.is_some() && s.protocol() == Protocol::Resp3 {
            return Ok(pairs_reply(popped));
        }
        Ok(Reply::Array(
            popped.into_iter().flat_map(|(m, score)| [Reply::Bulk(m), Reply::Double(score)]).collect(),
        ))
    })())
}

fn zpopmin(s: &mut Session, argv: &[&[u8]]) -> Reply {
    zpop(s, argv, false)
}

fn zpopmax(s: &mut Session, argv: &[&[u8]]) -> Reply {
    zpop(s, argv, true)
}

/// `numkeys key [key ...] MIN|MAX [COUNT count]` from `argv[at]` (ZMPOP, BZMPOP): the keys,
/// whether to pop the maximum, and the count.
fn parse_zmpop<'a>(argv: &'a [&'a [u8]], at: usize) -> Result<(&'a [&'a [u8]], bool, usize)> {
    let (keys, which, count) = mpop_args(argv, at)?;
    let max = match which {
        arg if is(arg, "min") => false,
        arg if is(arg, "max") => true,
        _ => return Err(Error::Syntax),
    };
    Ok((keys, max, count))
}

fn zmpop_reply(popped: Option<(Vec<u8>, Vec<ScoredMember>)>) -> Reply {
    match popped {
        Some((key, popped)) => Reply::Array(vec![Reply::Bulk(key), pairs_reply(popped)]),
        None => Reply::NullArray,
    }
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`.
fn zmpop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        let (keys, max, count) = parse_zmpop(argv, 1)?;
        Ok(zmpop_reply(s.engine_db().zmpop(keys, max, count)?))
    })())
}

/// `BZPOPMIN`/`BZPOPMAX key [key ...] timeout`: `[key, member, score]`.
fn bzpop(s: &mut Session, argv: &[&[u8]], max: bool) -> Reply {
    let Some((timeout, keys)) = argv[1..].split_last() else { return Error::Syntax.into() };
    let deadline = match parse_timeout(timeout) {
        Ok(deadline) => deadline,
        Err(err) => return err.into(),
    };
    let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    let attempt = Box::new(move |engine: &Engine, keys: &[Vec<u8>]| {
        let popped = engine.zmpop(keys, max, 1)?;
        Ok(popped.and_then(|(key, mut members)| {
            members.pop().map(|(member, score)| {
                Reply::Array(vec![Reply::Bulk(key), Reply::Bulk(member), Reply::Double(score)])
            })
        }))
    });
    block_on(s, keys, deadline, attempt, Reply::NullArray)
}

fn bzpopmin(s: &mut Session, argv: &[&[u8]]) -> Reply {
    bzpop(s, argv, false)
}

fn bzpopmax(s: &mut Session, argv: &[&[u8]]) -> Reply {
    bzpop(s, argv, true)
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`.
fn bzmpop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let parsed = parse_timeout(argv[1]).and_then(|deadline| Ok((deadline, parse_zmpop(argv, 2)?)));
    let (deadline, (keys, max, count)) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => return err.into(),
    };
    let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    let attempt = Box::new(move |engine: &Engine, keys: &[Vec<u8>]| {
        Ok(engine.zmpop(keys, max, count)?.map(|p| zmpop_reply(Some(p))))
    });
    block_on(s, keys, deadline, attempt, Reply::NullArray)
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`.
fn zrandmember(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        if argv.len() == 2 {
            let mut picked = s.engine_db().zrandmember(argv[1], 1)?;
            return Ok(Reply::bulk_or_null(picked.pop().map(|(m, _)| m)));
        }
        // Redis's order: the count, then the option, then the count's range with scores.
        let count = parse_i64(argv[2])?;
        if count == i64::MIN {
            return Err(Error::msg(format!(
                "ERR value is out of range, value must between {} and {}",
                -i64::MAX,
                i64::MAX
            )));
        }
        let withscores = match argv.len() {
            3 => false,
            4 if is(argv[3], "withscores") => true,
            _ => return Err(Error::Syntax),
        };
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
            return Err(Error::msg("ERR value is out of range"));
        }
        let picked = s.engine_db().zrandmember(argv[1], count)?;
        Ok(scored_reply(s, picked, withscores))
    })())
}

/// What the algebra commands' arguments say.
struct AlgebraArgs<'a> {
    keys: &'a [&'a [u8]],
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: usize,
}

/// Which algebra command is parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AlgebraCommand {
    Union,
    Inter,
    Diff,
    Card,
}

/// Parses `numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]` (or `[LIMIT n]`
/// for `ZINTERCARD`) from `argv[at]`, as Redis's `zunionInterDiffGenericCommand`.
fn parse_algebra<'a>(
    argv: &'a [&'a [u8]],
    at: usize,
    command: AlgebraCommand,
    store: bool,
    name: &str,
) -> Result<AlgebraArgs<'a>> {
    let numkeys = parse_i64(argv[at])?;
    if numkeys < 1 {
        return Err(Error::msg(format!("ERR at least 1 input key is needed for '{name}' command")));
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > argv.len() - at - 1 {
        return Err(Error::Syntax);
    }
    let keys = &argv[at + 1..at + 1 + numkeys];
    parse_algebra_options(argv, at + 1 + numkeys, keys, command, store)
}

/// The options after the keys of an algebra command.
fn parse_algebra_options<'a>(
    argv: &'a [&'a [u8]],
    from: usize,
    keys: &'a [&'a [u8]],
    command: AlgebraCommand,
    store: bool,
) -> Result<AlgebraArgs<'a>> {
    let numkeys = keys.len();
    let mut parsed =
        AlgebraArgs { keys, weights: Vec::new(), aggregate: Aggregate::Sum, withscores: false, limit: 0 };
    let scored = matches!(command, AlgebraCommand::Union | AlgebraCommand::Inter);
    let mut j = from;
    while j < argv.len() {
        let (arg, left) = (argv[j], argv.len() - j);
        if scored && left > numkeys && is(arg, "weights") {
            let weight_args = &argv[j + 1..j + 1 + numkeys];
            parsed.weights = weight_args
                .iter()
                .map(|w| parse_f64_strict(w).ok_or(Error::msg("ERR weight value is not a float")))
                .collect::<Result<_>>()?;
            j += 1 + numkeys;
        } else if scored && left >= 2 && is(arg, "aggregate") {
            parsed.aggregate = match argv[j + 1] {
                a if is(a, "sum") => Aggregate::Sum,
                a if is(a, "min") => Aggregate::Min,
                a if is(a, "max") => Aggregate::Max,
                _ => return Err(Error::Syntax),
            };
            j += 2;
        } else if !store && command != AlgebraCommand::Card && is(arg, "withscores") {
            parsed.withscores = true;
            j += 1;
        } else if command == AlgebraCommand::Card && left >= 2 && is(arg, "limit") {
            let bad = || Error::msg("ERR LIMIT can't be negative");
            let n = parse_i64(argv[j + 1]).map_err(|_| bad())?;
            parsed.limit = usize::try_from(n).map_err(|_| bad())?;
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok(parsed)
}

/// Parses an algebra command; Redis reports a key of the wrong type before a bad option, so
/// a parse error that follows valid keys is preceded by a type check of those keys.
fn parse_algebra_checked<'a>(
    s: &Session,
    argv: &'a [&'a [u8]],
    at: usize,
    command: AlgebraCommand,
    store: bool,
    name: &str,
) -> Result<AlgebraArgs<'a>> {
    let parsed = parse_algebra(argv, at, command, store, name);
    if let Err(err) = &parsed
        && let Ok(numkeys) = parse_i64(argv[at])
        && numkeys >= 1
        && let Some(keys) = usize::try_from(numkeys).ok().and_then(|n| argv.get(at + 1..at + 1 + n))
        && !matches!(err, Error::Message(text) if text.starts_with("ERR at least 1 input key"))
    {
        s.engine_db().zalgebra_check_types(keys)?;
    }
    parsed
}

fn algebra(s: &mut Session, argv: &[&[u8]], command: AlgebraCommand, name: &str) -> Reply {
    reply_of((|| {
        let args = parse_algebra_checked(s, argv, 1, command, false, name)?;
        let engine = s.engine_db();
        let members = match command {
            AlgebraCommand::Union => engine.zunion(args.keys, &args.weights, args.aggregate)?,
            AlgebraCommand::Inter => engine.zinter(args.keys, &args.weights, args.aggregate)?,
            AlgebraCommand::Diff => engine.zdiff(args.keys)?,
            AlgebraCommand::Card => {
                return Ok(Reply::Integer(engine.zintercard(args.keys, args.limit)? as i64));
            }
        };
        Ok(scored_reply(s, members, args.withscores))
    })())
}

fn algebra_store(s: &mut Session, argv: &[&[u8]], command: AlgebraCommand, name: &str) -> Reply {
    count_reply((|| {
        let args = parse_algebra_checked(s, argv, 2, command, true, name)?;
        let engine = s.engine_db();
        match command {
            AlgebraCommand::Inter => engine.zinterstore(argv[1], args.keys, &args.weights, args.aggregate),
            AlgebraCommand::Diff => engine.zdiffstore(argv[1], args.keys),
            _ => engine.zunionstore(argv[1], args.keys, &args.weights, args.aggregate),
        }
    })())
}

fn zunion(s: &mut Session, argv: &[&[u8]]) -> Reply {
    algebra(s, argv, AlgebraCommand::Union, "zunion")
}

fn zinter(s: &mut Session, argv: &[&[u8]]) -> Reply {
    algebra(s, argv, AlgebraCommand::Inter, "zinter")
}

fn zdiff(s: &mut Session, argv: &[&[u8]]) -> Reply {
    algebra(s, argv, AlgebraCommand::Diff, "zdiff")
}

fn zintercard(s: &mut Session, argv: &[&[u8]]) -> Reply {
    algebra(s, argv, AlgebraCommand::Card, "zintercard")
}

fn zunionstore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    algebra_store(s, argv, AlgebraCommand::Union, "zunionstore")
}

fn zinterstore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    algebra_store(s, argv, AlgebraCommand::Inter, "zinterstore")
}

fn zdiffstore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    algebra_store(s, argv, AlgebraCommand::Diff, "zdiffstore")
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`: scores as text, flat after each member.
fn zscan(s: &mut Session, argv: &[&[u8]]) -> Reply {
    reply_of((|| {
        let CollectionScan { cursor, pattern, count, .. } = collection_scan(argv, false)?;
        let (next, found) = s.engine_db().zscan(argv[1], cursor, pattern, count)?;
        let items =
            found.into_iter().flat_map(|(m, score)| [Reply::Bulk(m), Reply::bulk(format_double(score))]);
        Ok(Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(items.collect())]))
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_scores_read_as_the_general_parser_reads_them() {
        let texts = [
            "0",
            "-0",
            "7",
            "-7",
            "000000012345",
            "999999999999999",
            "-999999999999999",
            "9007199254740993",
            "1000000000000000",
            "+5",
            "5.5",
            "",
            "-",
            "1e3",
            " 1",
            "12a",
            "--1",
            "0x10",
            "-inf",
        ];
        for text in texts {
            let general = parse_f64_strict(text.as_bytes()).map(f64::to_bits);
            if let Some(fast) = small_integer(text.as_bytes()) {
                assert_eq!(Some(fast.to_bits()), general, "{text:?}");
            }
            assert_eq!(score_arg(text.as_bytes()).ok().map(f64::to_bits), general, "{text:?}");
        }
        assert_eq!(small_integer(b"-0").map(f64::is_sign_negative), Some(true));
        assert_eq!(small_integer(b"000000012345"), Some(12_345.0));
        assert_eq!(small_integer(b"1000000000000000"), None, "16 digits: the general parser");
        assert_eq!(small_integer(b"+5"), None);
    }
}
