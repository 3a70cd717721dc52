//! Sorted set commands on [`Engine`]: the typed API that `execute` handlers call.
//!
//! A key never holds an empty sorted set: removing the last member deletes the key, and the
//! `STORE` forms delete the destination when the result is empty. Every range command reduces
//! to a window of ranks (the range's bounds are found by one descent each), then visits that
//! window. Commands on several keys lock every stripe they name at once.

use crate::notify::{NotifyFlags, notify_change, notify_store};
use std::collections::HashMap;

use crate::db::{EntryMut, Lookup, Ttl};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::keyspace::access::fast_random;
use crate::num::parse_f64_range;
use crate::types::zset::{Probe, ZSet, ZSetLimits};
use crate::value::{KeyType, NewValue, Value, ValueRef};

/// A member with its score.
pub type ScoredMember = (Vec<u8>, f64);

/// What `BZPOPMIN`/`BZPOPMAX` return: the key popped from, the member and its score.
pub type KeyedScoredMember = (Vec<u8>, Vec<u8>, f64);

/// `ERR resulting score is not a number (NaN)`.
fn nan_error() -> Error {
    Error::msg("ERR resulting score is not a number (NaN)")
}

/// One end of a score range: a score, included unless `exclusive` (`(1.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    /// The score.
    pub value: f64,
    /// Excludes the score itself.
    pub exclusive: bool,
}

impl ScoreBound {
    /// An inclusive bound.
    pub fn inclusive(value: f64) -> ScoreBound {
        ScoreBound { value, exclusive: false }
    }

    /// Parses `1.5`, `(1.5`, `-inf`, `+inf` as `ZRANGEBYSCORE` does; `ERR min or max is not a
    /// float` otherwise.
    pub fn parse(arg: &[u8]) -> Result<ScoreBound> {
        let (exclusive, text) = match arg.split_first() {
            Some((b'(', rest)) => (true, rest),
            _ => (false, arg),
        };
        let value = parse_f64_range(text).ok_or_else(|| Error::msg("ERR min or max is not a float"))?;
        Ok(ScoreBound { value, exclusive })
    }
}

/// One end of a lexicographic range (`ZRANGEBYLEX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[member`.
    Inclusive(Vec<u8>),
    /// `(member`.
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// Parses `-`, `+`, `[member` or `(member`; `ERR min or max not valid string range item`
    /// otherwise.
    pub fn parse(arg: &[u8]) -> Result<LexBound> {
        match arg.split_first() {
            Some((b'-', [])) => Ok(LexBound::Min),
            Some((b'+', [])) => Ok(LexBound::Max),
            Some((b'[', rest)) => Ok(LexBound::Inclusive(rest.to_vec())),
            Some((b'(', rest)) => Ok(LexBound::Exclusive(rest.to_vec())),
            _ => Err(Error::msg("ERR min or max not valid string range item")),
        }
    }
}

/// What a range selects.
#[derive(Debug, Clone, PartialEq)]
pub enum ZRangeBy {
    /// Ranks `start..=stop`; negative ranks count from the end.
    Rank {
        /// First rank.
        start: i64,
        /// Last rank (inclusive).
        stop: i64,
    },
    /// Scores between two bounds (lowest first, also for reversed ranges).
    Score {
        /// Lower bound.
        min: ScoreBound,
        /// Upper bound.
        max: ScoreBound,
    },
    /// Members between two bounds, for sets whose scores are all equal.
    Lex {
        /// Lower bound.
        min: LexBound,
        /// Upper bound.
        max: LexBound,
    },
}

/// A `ZRANGE` request.
#[derive(Debug, Clone, PartialEq)]
pub struct ZRangeOptions {
    /// The selection.
    pub by: ZRangeBy,
    /// Highest first.
    pub rev: bool,
    /// `LIMIT offset count` (score and lex ranges only): a negative offset selects nothing, a
    /// negative count means all.
    pub limit: Option<(i64, i64)>,
}

impl ZRangeOptions {
    /// Ranks `start..=stop`, lowest first.
    pub fn rank(start: i64, stop: i64) -> ZRangeOptions {
        ZRangeOptions { by: ZRangeBy::Rank { start, stop }, rev: false, limit: None }
    }
}

/// `ZADD` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddOptions {
    /// Only add new members.
    pub nx: bool,
    /// Only update existing members.
    pub xx: bool,
    /// Only update when the new score is greater.
    pub gt: bool,
    /// Only update when the new score is less.
    pub lt: bool,
    /// Count changed members too, not only added ones.
    pub ch: bool,
}

impl ZAddOptions {
    /// Redis's checks for clashing flags.
    pub fn check(&self) -> Result<()> {
        if self.nx && self.xx {
            return Err(Error::msg("ERR XX and NX options at the same time are not compatible"));
        }
        if [self.gt, self.lt, self.nx].iter().filter(|&&on| on).count() > 1 {
            return Err(Error::msg("ERR GT, LT, and/or NX options at the same time are not compatible"));
        }
        Ok(())
    }
}

/// How `ZUNION`/`ZINTER` combine a member's scores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Aggregate {
    /// The sum (the default).
    #[default]
    Sum,
    /// The smallest.
    Min,
    /// The largest.
    Max,
}

impl Aggregate {
    fn combine(self, a: f64, b: f64) -> f64 {
        match self {
            // inf + -inf is NaN; Redis makes it 0.
            Aggregate::Sum => zero_if_nan(a + b),
            Aggregate::Min => a.min(b),
            Aggregate::Max => a.max(b),
        }
    }
}

fn zero_if_nan(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x }
}

/// Which operation `ZUNION`, `ZINTER` and `ZDIFF` (and their `STORE` forms) compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algebra {
    Union,
    Inter,
    Diff,
}

/// Uniform 64-bit randomness for member sampling.
fn random64() -> u64 {
    u64::from(fast_random()) << 32 | u64::from(fast_random())
}

/// The sorted set at an entry, `None` when absent, WRONGTYPE when another type.
fn zset_of<'v>(value: Option<ValueRef<'v>>) -> Result<Option<&'v ZSet>> {
    match value {
        None => Ok(None),
        Some(ValueRef::ZSet(zset)) => Ok(Some(zset)),
        Some(_) => Err(Error::WrongType),
    }
}

/// Runs `f` on the entry's sorted set for changes (absent: `None`), then deletes the key if
/// the set ended up empty.
fn change_zset<R>(entry: &mut EntryMut<'_>, f: impl FnOnce(Option<&mut ZSet>) -> Result<R>) -> Result<R> {
    if entry.value().is_some_and(|v| v.key_type() != KeyType::ZSet) {
        return Err(Error::WrongType);
    }
    let result = match entry.value_mut() {
        Some(Value::ZSet(zset)) => f(Some(zset)),
        _ => f(None),
    };
    if entry.value().is_some_and(|v| matches!(v, ValueRef::ZSet(zset) if zset.len() == 0)) {
        entry.delete();
    }
    result
}

/// Stores `members` (sorted or not) as the sorted set at `entry`, replacing whatever was there
/// and dropping any expiry, or deletes the key when there are none. Returns the stored size.
fn store_zset(entry: &mut EntryMut<'_>, members: &[ScoredMember], limits: ZSetLimits) -> Result<usize> {
    if members.is_empty() {
        entry.delete();
        return Ok(0);
    }
    let longest = members.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut zset = ZSet::new_for(members.len(), longest, limits);
    for (member, score) in members {
        zset.insert(member, *score, limits)?;
    }
    let len = zset.len();
    entry.put(NewValue::Owned(Value::ZSet(Box::new(zset))), Ttl::Clear);
    Ok(len)
}

/// Resolves Redis's `start`/`stop` ranks (negative from the end) against `len`: the inclusive
/// window, or `None` when empty.
fn rank_window(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop.min(len - 1) };
    (start <= stop && start < len).then_some((start as usize, stop as usize))
}

/// The members a range selects, as ascending-rank `from` plus `count`, visited upwards or
/// (`rev`) downwards from `from`.
fn window(zset: &ZSet, range: &ZRangeOptions) -> (usize, usize, bool) {
    let len = zset.len();
    let (lo, hi) = match &range.by {
        ZRangeBy::Rank { start, stop } => {
            let Some((first, last)) = rank_window(*start, *stop, len) else { return (0, 0, range.rev) };
            let count = last - first + 1;
            return if range.rev { (len - 1 - first, count, true) } else { (first, count, false) };
        }
        ZRangeBy::Score { min, max } => {
            let lo = zset.count_before(if min.exclusive {
                Probe::ScoreAtMost(min.value)
            } else {
                Probe::ScoreBelow(min.value)
            });
            let hi = zset.count_before(if max.exclusive {
                Probe::ScoreBelow(max.value)
            } else {
                Probe::ScoreAtMost(max.value)
            });
            (lo, hi)
        }
        ZRangeBy::Lex { min, max } => {
            let at = |bound: &LexBound, upper: bool| match bound {
                LexBound::Min => 0,
                LexBound::Max => len,
                LexBound::Inclusive(m) if upper => zset.count_before(Probe::LexAtMost(m)),
                LexBound::Inclusive(m) => zset.count_before(Probe::LexBelow(m)),
                LexBound::Exclusive(m) if upper => zset.count_before(Probe::LexBelow(m)),
                LexBound::Exclusive(m) => zset.count_before(Probe::LexAtMost(m)),
            };
            (at(min, false), at(max, true))
        }
    };
    if hi <= lo {
        return (0, 0, range.rev);
    }
    let mut count = hi - lo;
    let mut skip = 0;
    if let Some((offset, limit)) = range.limit {
        let Ok(offset) = usize::try_from(offset) else { return (0, 0, range.rev) };
        skip = offset.min(count);
        count -= skip;
        if let Ok(limit) = usize::try_from(limit) {
            count = count.min(limit);
        }
    }
    if count == 0 {
        return (0, 0, range.rev);
    }
    if range.rev { (hi - 1 - skip, count, true) } else { (lo + skip, count, false) }
}

/// The members (with scores) that `range` selects, in the range's order.
fn collect_range(zset: &ZSet, range: &ZRangeOptions) -> Vec<ScoredMember> {
    let (from, count, rev) = window(zset, range);
    let mut out = Vec::with_capacity(count.min(1 << 16));
    zset.range(from, count, rev, |m, s| out.push((m.to_vec(), s)));
    out
}

/// Sorts scored members as a sorted set orders them.
fn sort_scored(members: &mut [ScoredMember]) {
    members.sort_by(|a, b| {
        a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0))
    });
}

/// A sorted set, or a plain set read as one (every score 1), for the algebra commands.
fn scored_members(value: Option<ValueRef<'_>>) -> Result<Option<HashMap<Vec<u8>, f64>>> {
    let mut out = HashMap::new();
    match value {
        None => return Ok(None),
        Some(ValueRef::ZSet(zset)) => zset.for_each(|m, s| {
            out.insert(m.to_vec(), s);
        }),
        Some(ValueRef::Set(set)) => set.for_each(|m| {
            out.insert(m.to_vec(), 1.0);
        }),
        Some(_) => return Err(Error::WrongType),
    }
    Ok(Some(out))
}

/// Checks that a value can take part in the algebra commands.
fn check_algebra_type(value: Option<ValueRef<'_>>) -> Result<()> {
    match value {
        None | Some(ValueRef::ZSet(_)) | Some(ValueRef::Set(_)) => Ok(()),
        Some(_) => Err(Error::WrongType),
    }
}

/// Folds the inputs (in key order, absent keys empty) into the result of `op`.
fn compute(
    op: Algebra,
    inputs: impl Iterator<Item = Option<HashMap<Vec<u8>, f64>>>,
    weights: &[f64],
    aggregate: Aggregate,
) -> Vec<ScoredMember> {
    let mut acc: Option<HashMap<Vec<u8>, f64>> = None;
    for (i, input) in inputs.enumerate() {
        let weight = weights.get(i).copied().unwrap_or(1.0);
        let weighted = |s: f64| if op == Algebra::Diff { s } else { zero_if_nan(s * weight) };
        let input = input.unwrap_or_default();
        acc = Some(match (op, acc) {
            (_, None) => input.into_iter().map(|(m, s)| (m, weighted(s))).collect(),
            (Algebra::Union, Some(mut acc)) => {
                for (m, s) in input {
                    let s = weighted(s);
                    acc.entry(m).and_modify(|old| *old = aggregate.combine(*old, s)).or_insert(s);
                }
                acc
            }
            (Algebra::Inter, Some(mut acc)) => {
                acc.retain(|m, old| match input.get(m) {
                    Some(&s) => {
                        *old = aggregate.combine(*old, weighted(s));
                        true
                    }
                    None => false,
                });
                acc
            }
            (Algebra::Diff, Some(mut acc)) => {
                acc.retain(|m, _| !input.contains_key(m));
                acc
            }
        });
    }
    let mut out: Vec<ScoredMember> = acc.unwrap_or_default().into_iter().collect();
    sort_scored(&mut out);
    out
}

impl Engine {
    /// `ZADD`: sets the scores of `pairs` (score, member) in the sorted set at `key`, created
    /// if absent, as `options` allow; returns how many members were added (with `ch`: added
    /// or changed).
    ///
    /// ```
    /// let engine = memora_engine::Engine::new();
    /// let added = engine.zadd(b"z", Default::default(), &[(1.0, b"a"), (2.0, b"b")]).unwrap();
    /// assert_eq!(added, 2);
    /// assert_eq!(engine.zscore(b"z", b"b").unwrap(), Some(2.0));
    /// ```
    pub fn zadd<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        options: ZAddOptions,
        pairs: &[(f64, M)],
    ) -> Result<usize> {
        options.check()?;
        let (added, changed, _) = self.zadd_inner(key.as_ref(), options, pairs, false)?;
        Ok(if options.ch { added + changed } else { added })
    }

    /// `ZADD ... INCR`: adds `increment` to `member`'s score (0 when absent) as `options`
    /// allow; returns the new score, or `None` when the options prevented the change.
    pub fn zadd_incr(
        &self,
        key: impl AsRef<[u8]>,
        options: ZAddOptions,
        increment: f64,
        member: impl AsRef<[u8]>,
    ) -> Result<Option<f64>> {
        options.check()?;
        let (_, _, score) = self.zadd_inner(key.as_ref(), options, &[(increment, member)], true)?;
        Ok(score)
    }

    /// `ZINCRBY`: adds `increment` to `member`'s score; returns the new score.
    pub fn zincrby(&self, key: impl AsRef<[u8]>, increment: f64, member: impl AsRef<[u8]>) -> Result<f64> {
        let (_, _, score) =
            self.zadd_inner(key.as_ref(), ZAddOptions::default(), &[(increment, member)], true)?;
        score.ok_or_else(nan_error)
    }

    /// The `ZADD` loop: (added, updated, last processed score).
    fn zadd_inner<M: AsRef<[u8]>>(
        &self,
        key: &[u8],
        options: ZAddOptions,
        pairs: &[(f64, M)],
        incr: bool,
    ) -> Result<(usize, usize, Option<f64>)> {
        let limits = self.inner.zset_limits();
        crate::db::write_set_growing!(let mut locked = self.inner, [(self.db, key)]);
        let mut entry = locked.entry(self.db, key);
        if entry.value().is_some_and(|v| v.key_type() != KeyType::ZSet) {
            return Err(Error::WrongType);
        }
        if !entry.exists() {
            if options.xx || pairs.is_empty() {
                return Ok((0, 0, None));
            }
            let longest = pairs.iter().map(|(_, m)| m.as_ref().len()).max().unwrap_or(0);
            let zset = ZSet::new_for(pairs.len(), longest, limits);
            entry.put(NewValue::Owned(Value::ZSet(Box::new(zset))), Ttl::Clear);
        }
        let outcome = change_zset(&mut entry, |zset| {
            let Some(zset) = zset else { return Ok((0, 0, None)) };
            let (mut added, mut updated, mut last) = (0, 0, None);
            for &(score, ref member) in pairs {
                if !incr {
                    zset.prefetch_update(member.as_ref(), score);
                }
                // One lookup per member: the closure sees the current score and picks the new.
                zset.upsert(member.as_ref(), limits, |current| {
                    let Some(current) = current else {
                        if options.xx {
                            return Ok(None);
                        }
                        added += 1;
                        last = Some(score);
                        return Ok(Some(score));
                    };
                    if options.nx {
                        return Ok(None);
                    }
                    let score = if incr { current + score } else { score };
                    if score.is_nan() {
                        return Err(nan_error());
                    }
                    if (options.lt && score >= current) || (options.gt && score <= current) {
                        return Ok(None);
                    }
                    last = Some(score);
                    if score != current {
                        updated += 1;
                    }
                    Ok(Some(score))
                })?;
            }
            Ok((added, updated, last))
        })?;
        let changed = outcome.0 + outcome.1 > 0;
        notify_change(&mut entry, changed, NotifyFlags::ZSET, if incr { "zincr" } else { "zadd" });
        Ok(outcome)
    }

    /// `ZREM`: removes `members`; returns how many were there.
    pub fn zrem<M: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, members: &[M]) -> Result<usize> {
        let key = key.as_ref();
        let mut locked = self.inner.write_set([(self.db, key)]);
        let mut entry = locked.entry(self.db, key);
        let removed = change_zset(&mut entry, |zset| {
            let Some(zset) = zset else { return Ok(0) };
            Ok(members.iter().filter(|m| zset.remove(m.as_ref())).count())
        })?;
        notify_change(&mut entry, removed > 0, NotifyFlags::ZSET, "zrem");
        Ok(removed)
    }

    /// Runs `f` on the sorted set at `key` (absent: `None`) under its read lock.
    fn with_zset<R>(&self, key: &[u8], f: impl FnOnce(Option<&ZSet>) -> Result<R>) -> Result<R> {
        self.inner.read(self.db, key, Lookup::READ, |found| f(zset_of(found.map(|f| f.value))?))
    }

    /// `ZSCORE`.
    pub fn zscore(&self, key: impl AsRef<[u8]>, member: impl AsRef<[u8]>) -> Result<Option<f64>> {
        self.with_zset(key.as_ref(), |zset| Ok(zset.and_then(|z| z.score(member.as_ref()))))
    }

    /// `ZMSCORE`: the score of each of `members`.
    pub fn zmscore<M: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, members: &[M]) -> Result<Vec<Option<f64>>> {
        self.with_zset(key.as_ref(), |zset| {
            Ok(members.iter().map(|m| zset.and_then(|z| z.score(m.as_ref()))).collect())
        })
    }

    /// `ZCARD`: the number of members (0 when absent).
    pub fn zcard(&self, key: impl AsRef<[u8]>) -> Result<usize> {
        self.with_zset(key.as_ref(), |zset| Ok(zset.map_or(0, ZSet::len)))
    }

    /// `ZCOUNT`/`ZLEXCOUNT`: the number of members a score or lex range selects (`by` must not
    /// be a rank range; one that is counts its ranks).
    pub fn zcount(&self, key: impl AsRef<[u8]>, by: ZRangeBy) -> Result<usize> {
        let range = ZRangeOptions { by, rev: false, limit: None };
        self.with_zset(key.as_ref(), |zset| Ok(zset.map_or(0, |z| window(z, &range).1)))
    }

    /// `ZRANK`/`ZREVRANK` (`rev`): the member's rank and score.
    pub fn zrank(
        &self,
        key: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
        rev: bool,
    ) -> Result<Option<(usize, f64)>> {
        let member = member.as_ref();
        self.with_zset(key.as_ref(), |zset| {
            let Some(zset) = zset else { return Ok(None) };
            let Some((rank, score)) = zset.rank(member) else { return Ok(None) };
            Ok(Some((if rev { zset.len() - 1 - rank } else { rank }, score)))
        })
    }

    /// `ZRANGE` (and `ZREVRANGE`, `ZRANGEBYSCORE`, `ZRANGEBYLEX`, ...): the selected members
    /// with their scores, in the range's order.
    ///
    /// ```
    /// use memora_engine::ZRangeOptions;
    /// let engine = memora_engine::Engine::new();
    /// engine.zadd(b"z", Default::default(), &[(1.0, b"a"), (2.0, b"b"), (3.0, b"c")]).unwrap();
    /// let top = engine.zrange(b"z", &ZRangeOptions::rank(-2, -1)).unwrap();
    /// assert_eq!(top, vec![(b"b".to_vec(), 2.0), (b"c".to_vec(), 3.0)]);
    /// ```
    pub fn zrange(&self, key: impl AsRef<[u8]>, range: &ZRangeOptions) -> Result<Vec<ScoredMember>> {
        self.with_zset(key.as_ref(), |zset| Ok(zset.map_or_else(Vec::new, |z| collect_range(z, range))))
    }

    /// `ZRANGESTORE`: stores the selected members at `dst`; returns how many.
    pub fn zrangestore(
        &self,
        dst: impl AsRef<[u8]>,
        src: impl AsRef<[u8]>,
        range: &ZRangeOptions,
    ) -> Result<usize> {
        let (dst, src) = (dst.as_ref(), src.as_ref());
        let limits = self.inner.zset_limits();
        crate::db::write_set_growing!(let mut locked = self.inner, [(self.db, src), (self.db, dst)]);
        let members = zset_of(locked.entry(self.db, src).value())?
            .map_or_else(Vec::new, |zset| collect_range(zset, range));
        let mut entry = locked.entry(self.db, dst);
        let existed = entry.exists();
        let stored = store_zset(&mut entry, &members, limits)?;
        notify_store(&mut entry, stored, existed, NotifyFlags::ZSET, "zrangestore");
        Ok(stored)
    }

    /// `ZREMRANGEBYRANK`/`ZREMRANGEBYSCORE`/`ZREMRANGEBYLEX`: removes the selected members;
    /// returns how many.
    pub fn zremrange(&self, key: impl AsRef<[u8]>, by: ZRangeBy) -> Result<usize> {
        let key = key.as_ref();
        let event = match by {
            ZRangeBy::Rank { .. } => "zremrangebyrank",
            ZRangeBy::Score { .. } => "zremrangebyscore",
            ZRangeBy::Lex { .. } => "zremrangebylex",
        };
        let range = ZRangeOptions { by, rev: false, limit: None };
        let mut locked = self.inner.write_set([(self.db, key)]);
        let mut entry = locked.entry(self.db, key);
        let removed = change_zset(&mut entry, |zset| {
            let Some(zset) = zset else { return Ok(0) };
            let doomed = collect_range(zset, &range);
            for (member, _) in &doomed {
                zset.remove(member);
            }
            Ok(doomed.len())
        })?;
        notify_change(&mut entry, removed > 0, NotifyFlags::ZSET, event);
        Ok(removed)
    }

    /// `ZPOPMIN`/`ZPOPMAX` (`max`): removes and returns up to `count` members from one end.
    pub fn zpop(&self, key: impl AsRef<[u8]>, max: bool, count: usize) -> Result<Vec<ScoredMember>> {
        let key = key.as_ref();
        let mut locked = self.inner.write_set([(self.db, key)]);
        let mut entry = locked.entry(self.db, key);
        let popped = change_zset(&mut entry, |zset| Ok(zset.map_or_else(Vec::new, |z| pop(z, max, count))))?;
        notify_change(
            &mut entry,
            !popped.is_empty(),
            NotifyFlags::ZSET,
            if max { "zpopmax" } else { "zpopmin" },
        );
        Ok(popped)
    }

    /// `ZMPOP`: pops up to `count` members from the first non-empty sorted set of `keys`;
    /// returns its key and the members, or `None` when all are empty.
    pub fn zmpop<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        max: bool,
        count: usize,
    ) -> Result<Option<(Vec<u8>, Vec<ScoredMember>)>> {
        let mut locked = self.inner.write_set(keys.iter().map(|k| (self.db, k.as_ref())));
        for key in keys {
            let key = key.as_ref();
            let mut entry = locked.entry(self.db, key);
            if zset_of(entry.value())?.is_some() {
                let popped =
                    change_zset(&mut entry, |zset| Ok(zset.map_or_else(Vec::new, |z| pop(z, max, count))))?;
                let event = if max { "zpopmax" } else { "zpopmin" };
                notify_change(&mut entry, !popped.is_empty(), NotifyFlags::ZSET, event);
                return Ok(Some((key.to_vec(), popped)));
            }
        }
        Ok(None)
    }

    /// `ZRANDMEMBER key count`: with `count >= 0`, up to `count` distinct random members; with
    /// `count < 0`, exactly `-count` random members, possibly repeated.
    pub fn zrandmember(&self, key: impl AsRef<[u8]>, count: i64) -> Result<Vec<ScoredMember>> {
        self.with_zset(key.as_ref(), |zset| {
            let Some(zset) = zset else { return Ok(Vec::new()) };
            let len = zset.len();
            let pick = |rank: usize| {
                let mut out = None;
                zset.range(rank, 1, false, |m, s| out = Some((m.to_vec(), s)));
                out
            };
            if count < 0 {
                let n = count.unsigned_abs();
                if n > (i64::MAX as u64) / 2 {
                    return Err(Error::msg("ERR value is out of range"));
                }
                return Ok((0..n).filter_map(|_| pick((random64() % len as u64) as usize)).collect());
            }
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            let mut all = Vec::new();
            if count >= len {
                zset.for_each(|m, s| all.push((m.to_vec(), s)));
                return Ok(all);
            }
            // Few wanted: distinct random ranks; many: drop random members from a full copy.
            if count * 3 < len {
                let mut picked = std::collections::HashSet::with_capacity(count);
                while picked.len() < count {
                    picked.insert((random64() % len as u64) as usize);
                }
                return Ok(picked.into_iter().filter_map(pick).collect());
            }
            zset.for_each(|m, s| all.push((m.to_vec(), s)));
            while all.len() > count {
                let at = (random64() % all.len() as u64) as usize;
                all.swap_remove(at);
            }
            Ok(all)
        })
    }

    /// `ZUNION`/`ZINTER`/`ZDIFF` over `keys`, read atomically.
    fn zalgebra<K: AsRef<[u8]>>(
        &self,
        op: Algebra,
        keys: &[K],
        weights: &[f64],
        aggregate: Aggregate,
    ) -> Result<Vec<ScoredMember>> {
        let locked = self.inner.read_set(keys.iter().map(|k| (self.db, k.as_ref())));
        let values: Vec<_> =
            keys.iter().map(|key| locked.get(self.db, key.as_ref(), Lookup::READ).map(|f| f.value)).collect();
        // Every type is checked before any input is read, so WRONGTYPE wins.
        for value in &values {
            check_algebra_type(*value)?;
        }
        let mut inputs = Vec::with_capacity(keys.len());
        for value in values {
            inputs.push(scored_members(value)?);
        }
        drop(locked);
        Ok(compute(op, inputs.into_iter(), weights, aggregate))
    }

    /// Checks that every one of `keys` is absent, a sorted set or a set (WRONGTYPE
    /// otherwise), as the algebra commands require.
    pub fn zalgebra_check_types<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<()> {
        let locked = self.inner.read_set(keys.iter().map(|k| (self.db, k.as_ref())));
        for key in keys {
            check_algebra_type(locked.get(self.db, key.as_ref(), Lookup::QUIET).map(|f| f.value))?;
        }
        Ok(())
    }

    /// `ZUNION`: every member of any of `keys` (sets count with score 1), its scores multiplied
    /// by the key's weight (default 1) and combined by `aggregate`.
    pub fn zunion<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        weights: &[f64],
        aggregate: Aggregate,
    ) -> Result<Vec<ScoredMember>> {
        self.zalgebra(Algebra::Union, keys, weights, aggregate)
    }

    /// `ZINTER`: the members in every one of `keys`, scored as [`Engine::zunion`].
    pub fn zinter<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        weights: &[f64],
        aggregate: Aggregate,
    ) -> Result<Vec<ScoredMember>> {
        self.zalgebra(Algebra::Inter, keys, weights, aggregate)
    }

    /// `ZDIFF`: the members of the first key in none of the others, with their scores.
    pub fn zdiff<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<ScoredMember>> {
        self.zalgebra(Algebra::Diff, keys, &[], Aggregate::Sum)
    }

    /// The `STORE` forms: computes over `keys` and stores at `dst` in one atomic step.
    fn zalgebra_store<K: AsRef<[u8]>>(
        &self,
        op: Algebra,
        dst: &[u8],
        keys: &[K],
        weights: &[f64],
        aggregate: Aggregate,
    ) -> Result<usize> {
        let limits = self.inner.zset_limits();
        let names = keys.iter().map(|k| (self.db, k.as_ref())).chain([(self.db, dst)]);
        crate::db::write_set_growing!(let mut locked = self.inner, names);
        for key in keys {
            check_algebra_type(locked.entry(self.db, key.as_ref()).value())?;
        }
        let mut inputs = Vec::with_capacity(keys.len());
        for key in keys {
            inputs.push(scored_members(locked.entry(self.db, key.as_ref()).value())?);
        }
        let members = compute(op, inputs.into_iter(), weights, aggregate);
        let event = match op {
            Algebra::Union => "zunionstore",
            Algebra::Inter => "zinterstore",
            Algebra::Diff => "zdiffstore",
        };
        let mut entry = locked.entry(self.db, dst);
        let existed = entry.exists();
        let stored = store_zset(&mut entry, &members, limits)?;
        notify_store(&mut entry, stored, existed, NotifyFlags::ZSET, event);
        Ok(stored)
    }

    /// `ZUNIONSTORE`: stores `ZUNION` at `dst`; returns its size.
    pub fn zunionstore<K: AsRef<[u8]>>(
        &self,
        dst: impl AsRef<[u8]>,
        keys: &[K],
        weights: &[f64],
        aggregate: Aggregate,
    ) -> Result<usize> {
        self.zalgebra_store(Algebra::Union, dst.as_ref(), keys, weights, aggregate)
    }

    /// `ZINTERSTORE`: stores `ZINTER` at `dst`; returns its size.
    pub fn zinterstore<K: AsRef<[u8]>>(
        &self,
        dst: impl AsRef<[u8]>,
        keys: &[K],
        weights: &[f64],
        aggregate: Aggregate,
    ) -> Result<usize> {
        self.zalgebra_store(Algebra::Inter, dst.as_ref(), keys, weights, aggregate)
    }

    /// `ZDIFFSTORE`: stores `ZDIFF` at `dst`; returns its size.
    pub fn zdiffstore<K: AsRef<[u8]>>(&self, dst: impl AsRef<[u8]>, keys: &[K]) -> Result<usize> {
        self.zalgebra_store(Algebra::Diff, dst.as_ref(), keys, &[], Aggregate::Sum)
    }

    /// `ZINTERCARD`: the size of the intersection, counting stops at `limit` (0: no limit).
    pub fn zintercard<K: AsRef<[u8]>>(&self, keys: &[K], limit: usize) -> Result<usize> {
        let n = self.zinter(keys, &[], Aggregate::Sum)?.len();
        Ok(if limit == 0 { n } else { n.min(limit) })
    }

    /// `ZSCAN` step: members (with scores) from `cursor` on (about `count`), those matching
    /// `pattern` when given, and the next cursor (0 when done).
    pub fn zscan(
        &self,
        key: impl AsRef<[u8]>,
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<(u64, Vec<ScoredMember>)> {
        self.with_zset(key.as_ref(), |zset| {
            let Some(zset) = zset else { return Ok((0, Vec::new())) };
            let mut out = Vec::new();
            let next = zset.scan(cursor, count, |m, s| {
                if pattern.is_none_or(|p| crate::glob::glob_match(p, m, false)) {
                    out.push((m.to_vec(), s));
                }
            });
            Ok((next, out))
        })
    }
}

/// Removes and returns up to `count` members from the low (or `max`: high) end.
fn pop(zset: &mut ZSet, max: bool, count: usize) -> Vec<ScoredMember> {
    let len = zset.len();
    let count = count.min(len);
    let mut out = Vec::with_capacity(count);
    let from = if max { len.saturating_sub(1) } else { 0 };
    zset.range(from, count, max, |m, s| out.push((m.to_vec(), s)));
    for (member, _) in &out {
        zset.remove(member);
    }
    out
}

/// Blocking sorted set commands (typed API for threads): each waits until it can be served,
/// first come first served with other blocked clients, or until `timeout` passes (`None`: no
/// limit), and returns `None` on timeout.
impl Engine {
    /// `BZPOPMIN`: the lowest-scoring member of the first non-empty sorted set among `keys`,
    /// with its key and score.
    pub fn bzpopmin<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<KeyedScoredMember>> {
        self.bzpop(keys, false, timeout)
    }

    /// `BZPOPMAX`: as [`Engine::bzpopmin`], the highest-scoring member.
    pub fn bzpopmax<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<KeyedScoredMember>> {
        self.bzpop(keys, true, timeout)
    }

    fn bzpop<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        max: bool,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<KeyedScoredMember>> {
        let popped = self.bzmpop(keys, max, 1, timeout)?;
        Ok(popped.and_then(|(key, mut members)| members.pop().map(|(member, score)| (key, member, score))))
    }

    /// `BZMPOP`: [`Engine::zmpop`], waiting while every sorted set is empty.
    pub fn bzmpop<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        max: bool,
        count: usize,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<(Vec<u8>, Vec<ScoredMember>)>> {
        let keys = keys.iter().map(|k| k.as_ref().to_vec()).collect();
        let attempt = Box::new(move |engine: &Engine, keys: &[Vec<u8>]| engine.zmpop(keys, max, count));
        crate::blocking::block_thread(self, keys, crate::blocking::deadline_after(timeout), attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(items: &[(&str, f64)]) -> Vec<ScoredMember> {
        items.iter().map(|(m, s)| (m.as_bytes().to_vec(), *s)).collect()
    }

    fn engine_with(items: &[(f64, &str)]) -> Engine {
        let engine = Engine::new();
        let pairs: Vec<(f64, &[u8])> = items.iter().map(|(s, m)| (*s, m.as_bytes())).collect();
        engine.zadd(b"z", ZAddOptions::default(), &pairs).expect("zadd");
        engine
    }

    #[test]
    fn rank_windows_follow_redis() {
        assert_eq!(rank_window(0, -1, 3), Some((0, 2)));
        assert_eq!(rank_window(-100, 100, 3), Some((0, 2)));
        assert_eq!(rank_window(2, 1, 3), None);
        assert_eq!(rank_window(3, 5, 3), None);
        assert_eq!(rank_window(-1, -1, 3), Some((2, 2)));
        assert_eq!(rank_window(0, -4, 3), None);
        assert_eq!(rank_window(0, 0, 0), None);
    }

    #[test]
    fn score_ranges_with_bounds_limits_and_rev() {
        let engine = engine_with(&[(1.0, "a"), (2.0, "b"), (2.0, "c"), (3.0, "d"), (f64::INFINITY, "e")]);
        let by = |min: &str, max: &str| ZRangeBy::Score {
            min: ScoreBound::parse(min.as_bytes()).expect("min"),
            max: ScoreBound::parse(max.as_bytes()).expect("max"),
        };
        let range = |by: ZRangeBy, rev: bool, limit: Option<(i64, i64)>| {
            engine.zrange(b"z", &ZRangeOptions { by, rev, limit }).expect("zrange")
        };
        assert_eq!(range(by("(1", "3"), false, None), scored(&[("b", 2.0), ("c", 2.0), ("d", 3.0)]));
        assert_eq!(range(by("-inf", "(2"), false, None), scored(&[("a", 1.0)]));
        assert_eq!(range(by("(3", "+inf"), false, None), scored(&[("e", f64::INFINITY)]));
        assert_eq!(range(by("2", "2"), true, None), scored(&[("c", 2.0), ("b", 2.0)]));
        assert_eq!(range(by("-inf", "inf"), false, Some((1, 2))), scored(&[("b", 2.0), ("c", 2.0)]));
        assert_eq!(range(by("-inf", "inf"), true, Some((1, 2))), scored(&[("d", 3.0), ("c", 2.0)]));
        assert_eq!(range(by("-inf", "inf"), false, Some((4, -1))), scored(&[("e", f64::INFINITY)]));
        assert_eq!(range(by("-inf", "inf"), false, Some((-1, 5))), vec![]);
        assert_eq!(range(by("-inf", "inf"), false, Some((9, 5))), vec![]);
        assert_eq!(range(by("3", "1"), false, None), vec![]);
        assert_eq!(range(by("(2", "(2"), false, None), vec![]);
        assert!(ScoreBound::parse(b"(x").is_err());
        assert!(ScoreBound::parse(b"nan").is_err());
        assert_eq!(engine.zcount(b"z", by("(1", "(3")), Ok(2));
    }

    #[test]
    fn lex_ranges_and_rank_ranges() {
        let engine = engine_with(&[(0.0, "a"), (0.0, "b"), (0.0, "c"), (0.0, "d")]);
        let lex = |min: &str, max: &str| ZRangeBy::Lex {
            min: LexBound::parse(min.as_bytes()).expect("min"),
            max: LexBound::parse(max.as_bytes()).expect("max"),
        };
        let names = |v: Vec<ScoredMember>| {
            v.into_iter().map(|(m, _)| String::from_utf8(m).expect("utf8")).collect::<Vec<_>>()
        };
        let get =
            |by, rev| names(engine.zrange(b"z", &ZRangeOptions { by, rev, limit: None }).expect("range"));
        assert_eq!(get(lex("-", "+"), false), ["a", "b", "c", "d"]);
        assert_eq!(get(lex("(a", "[c"), false), ["b", "c"]);
        assert_eq!(get(lex("[b", "(d"), true), ["c", "b"]);
        assert_eq!(get(lex("+", "-"), false), Vec::<String>::new());
        assert_eq!(engine.zcount(b"z", lex("[b", "+")), Ok(3));
        assert_eq!(get(ZRangeBy::Rank { start: -2, stop: -1 }, false), ["c", "d"]);
        assert_eq!(get(ZRangeBy::Rank { start: 0, stop: 1 }, true), ["d", "c"]);
        assert!(LexBound::parse(b"a").is_err());
        assert!(LexBound::parse(b"++").is_err());
        assert_eq!(engine.zremrange(b"z", lex("[b", "[c")), Ok(2));
        assert_eq!(engine.zremrange(b"z", ZRangeBy::Rank { start: 0, stop: -1 }), Ok(2));
        assert_eq!(engine.zcard(b"z"), Ok(0));
        assert_eq!(engine.key_type(b"z"), None, "emptied sets are deleted");
    }

    #[test]
    fn zadd_flags_and_incr() {
        let engine = engine_with(&[(1.0, "a")]);
        let opts = |nx, xx, gt, lt, ch| ZAddOptions { nx, xx, gt, lt, ch };
        assert_eq!(engine.zadd(b"z", opts(false, false, true, false, true), &[(0.5, b"a")]), Ok(0));
        assert_eq!(engine.zadd(b"z", opts(false, false, true, false, true), &[(5.0, b"a")]), Ok(1));
        assert_eq!(engine.zadd(b"z", opts(false, true, false, false, false), &[(5.0, b"new")]), Ok(0));
        assert_eq!(engine.zscore(b"z", b"new"), Ok(None));
        assert_eq!(
            engine.zadd(b"z", opts(true, false, false, false, true), &[(9.0, b"a"), (1.0, b"b")]),
            Ok(1)
        );
        assert_eq!(engine.zscore(b"z", b"a"), Ok(Some(5.0)));
        assert!(engine.zadd(b"z", opts(true, true, false, false, false), &[(1.0, b"a")]).is_err());
        assert!(engine.zadd(b"z", opts(false, false, true, true, false), &[(1.0, b"a")]).is_err());
        assert_eq!(engine.zadd_incr(b"z", opts(false, false, false, true, false), 1.0, b"a"), Ok(None));
        assert_eq!(engine.zadd_incr(b"z", ZAddOptions::default(), -1.0, b"a"), Ok(Some(4.0)));
        assert_eq!(engine.zincrby(b"z", f64::INFINITY, b"a"), Ok(f64::INFINITY));
        assert_eq!(engine.zincrby(b"z", f64::NEG_INFINITY, b"a"), Err(nan_error()));
        assert_eq!(engine.zadd(b"nokey", opts(false, true, false, false, false), &[(1.0, b"a")]), Ok(0));
        assert_eq!(engine.key_type(b"nokey"), None, "XX never creates the key");
    }

    #[test]
    fn algebra_weights_aggregates_and_sets() {
        let engine = engine_with(&[(1.0, "a"), (2.0, "b")]);
        engine.sadd(b"s", &[b"b", b"c"]).expect("sadd");
        assert_eq!(
            engine.zunion(&[&b"z"[..], b"s"], &[2.0, 3.0], Aggregate::Sum),
            Ok(scored(&[("a", 2.0), ("c", 3.0), ("b", 7.0)]))
        );
        assert_eq!(engine.zinter(&[&b"z"[..], b"s"], &[], Aggregate::Max), Ok(scored(&[("b", 2.0)])));
        assert_eq!(engine.zinter(&[&b"z"[..], b"s"], &[], Aggregate::Min), Ok(scored(&[("b", 1.0)])));
        assert_eq!(engine.zdiff(&[&b"z"[..], b"s"]), Ok(scored(&[("a", 1.0)])));
        assert_eq!(engine.zinterstore(b"d", &[&b"z"[..], b"missing"], &[], Aggregate::Sum), Ok(0));
        assert_eq!(engine.key_type(b"d"), None, "an empty result deletes the destination");
        assert_eq!(engine.zunionstore(b"d", &[&b"z"[..], b"s"], &[], Aggregate::Sum), Ok(3));
        assert_eq!(engine.zintercard(&[&b"z"[..], b"d"], 1), Ok(1));
        engine.set(b"str", b"v", Default::default()).expect("set");
        assert_eq!(engine.zunion(&[&b"missing"[..], b"str"], &[], Aggregate::Sum), Err(Error::WrongType));
        // inf * 0 and inf + -inf are 0, as in Redis.
        engine.zadd(b"i", ZAddOptions::default(), &[(f64::INFINITY, b"x")]).expect("zadd");
        engine.zadd(b"j", ZAddOptions::default(), &[(f64::NEG_INFINITY, b"x")]).expect("zadd");
        assert_eq!(engine.zunion(&[&b"i"[..], b"j"], &[], Aggregate::Sum), Ok(scored(&[("x", 0.0)])));
        assert_eq!(engine.zunion(&[&b"i"[..]], &[0.0], Aggregate::Sum), Ok(scored(&[("x", 0.0)])));
    }

    #[test]
    fn pops_ranks_and_random_members() {
        let engine = engine_with(&[(1.0, "a"), (2.0, "b"), (3.0, "c")]);
        assert_eq!(engine.zrank(b"z", b"c", false), Ok(Some((2, 3.0))));
        assert_eq!(engine.zrank(b"z", b"c", true), Ok(Some((0, 3.0))));
        assert_eq!(engine.zrank(b"z", b"x", true), Ok(None));
        assert_eq!(engine.zpop(b"z", true, 2), Ok(scored(&[("c", 3.0), ("b", 2.0)])));
        assert_eq!(engine.zpop(b"z", false, 0), Ok(vec![]));
        assert_eq!(engine.zrandmember(b"z", -3), Ok(scored(&[("a", 1.0), ("a", 1.0), ("a", 1.0)])));
        assert_eq!(
            engine.zmpop(&[&b"none"[..], b"z"], false, 5),
            Ok(Some((b"z".to_vec(), scored(&[("a", 1.0)]))))
        );
        assert_eq!(engine.zmpop(&[&b"z"[..]], false, 5), Ok(None));
        let engine = engine_with(&[
            (1.0, "a"),
            (2.0, "b"),
            (3.0, "c"),
            (4.0, "d"),
            (5.0, "e"),
            (6.0, "f"),
            (7.0, "g"),
        ]);
        for count in [1, 2, 5, 7, 9] {
            let picked = engine.zrandmember(b"z", count).expect("zrandmember");
            let distinct: std::collections::HashSet<_> = picked.iter().map(|(m, _)| m.clone()).collect();
            assert_eq!(distinct.len(), (count as usize).min(7));
            assert_eq!(picked.len(), distinct.len());
        }
    }

    #[test]
    fn config_parameters_choose_the_encoding() {
        let engine = Engine::new();
        assert_eq!(engine.config_value("zset-max-listpack-entries").as_deref(), Some("128"));
        assert_eq!(engine.config_value("zset-max-ziplist-value").as_deref(), Some("64"));
        engine.config_set(&[("zset-max-ziplist-entries", "2")]).expect("valid");
        engine.zadd(b"z", ZAddOptions::default(), &[(1.0, b"a"), (2.0, b"b")]).expect("zadd");
        assert_eq!(engine.object_encoding(b"z"), Some("listpack"));
        engine.zadd(b"z", ZAddOptions::default(), &[(3.0, b"c")]).expect("zadd");
        assert_eq!(engine.object_encoding(b"z"), Some("skiplist"));
        engine.zadd(b"big", ZAddOptions::default(), &[(1.0, b"a"), (2.0, b"b"), (3.0, b"c")]).expect("zadd");
        assert_eq!(engine.object_encoding(b"big"), Some("skiplist"), "created large for 3 members");
        assert_eq!(engine.key_type(b"big"), Some(KeyType::ZSet));
    }
}
