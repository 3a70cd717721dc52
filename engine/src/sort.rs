//! `SORT` and `SORT_RO` on [`Engine`]: the typed API the `execute` handlers call.
//!
//! The source (a list, set or sorted set) is copied out under its stripe's read lock; then
//! `BY` and `GET` patterns are resolved with ordinary one-key reads, and a `STORE` takes the
//! destination's write lock last. The elements are therefore one consistent snapshot, but
//! the keys the patterns name are read one by one afterwards (a concurrent write to a weight
//! key may or may not be seen), and the stored list is written after those reads. Redis runs
//! the whole command at once; here no lock is held across keys, so a SORT never blocks
//! writers of the keys its patterns name, and never deadlocks with them.
//!
//! Semantics follow Redis 7.2: a missing source sorts as an empty list; `BY` with a pattern
//! without `*` skips sorting (lists and sorted sets keep their order, `DESC` reverses it, and
//! `LIMIT` applies to that order; a set is sorted with `ALPHA` anyway when its result is
//! stored, so the stored list is deterministic); a pattern key that is missing (or of the wrong
//! type) weighs 0 numerically and sorts first with `ALPHA`; numeric weights are read as C's
//! `strtod` reads them; ties in numeric order fall back to the elements' bytes. `ALPHA`
//! compares bytes, which is `strcoll` in the C locale (Redis's `strcoll` stops at a NUL byte
//! when replying; with `STORE` it compares whole strings; both are followed here).

use crate::db::{Lookup, Ttl};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::notify::NotifyFlags;
use crate::types::list::List;
use crate::value::{NewValue, Value, ValueRef};

/// Options of [`Engine::sort`], as `SORT`'s arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortOptions<'a> {
    /// `BY pattern`: weigh each element by the key (or `key->field` hash field) the pattern
    /// names with `*` replaced by the element. A pattern without `*` (`nosort`) skips sorting.
    pub by: Option<&'a [u8]>,
    /// `LIMIT offset count`: a negative offset is 0, a negative count means "to the end".
    pub limit: Option<(i64, i64)>,
    /// `GET pattern`s: for each element, the value each pattern names (`#` is the element).
    /// Empty: the elements themselves.
    pub get: Vec<&'a [u8]>,
    /// `DESC`: largest first.
    pub desc: bool,
    /// `ALPHA`: compare as byte strings rather than numbers.
    pub alpha: bool,
    /// `STORE destination`: store the result as a list (deleting the key when the result is
    /// empty) instead of returning it.
    pub store: Option<&'a [u8]>,
}

/// What [`Engine::sort`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortOutcome {
    /// The result (no `STORE`): elements, or for each element one value per `GET` pattern,
    /// `None` where a pattern names nothing.
    Elements(Vec<Option<Vec<u8>>>),
    /// With `STORE`: the length of the stored list.
    Stored(usize),
}

/// The type of the sorted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    List,
    Set,
    ZSet,
}

/// The elements to sort, copied out of the source.
#[derive(Debug)]
struct Loaded {
    elements: Vec<Vec<u8>>,
    /// The inclusive window of `elements` to output; `None` when empty.
    window: Option<(usize, usize)>,
}

/// The bytes C string functions see: up to the first NUL.
fn c_bytes(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Does the pattern contain a `*` (as C's `strchr` finds it, before any NUL)?
fn has_star(pattern: &[u8]) -> bool {
    c_bytes(pattern).contains(&b'*')
}

/// Redis's `LIMIT` window over `len` elements: the inclusive `(start, end)` range, `None` when
/// it is empty.
fn limit_window(limit: Option<(i64, i64)>, len: usize) -> Option<(usize, usize)> {
    let (offset, count) = limit.unwrap_or((0, -1));
    let len = i128::try_from(len).unwrap_or(i128::MAX);
    let start = i128::from(offset).max(0);
    let end = if count < 0 { len - 1 } else { start + i128::from(count) - 1 };
    let end = end.min(len - 1);
    if start >= len || end < start {
        return None;
    }
    Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
}

/// Where a pattern points for one element.
#[derive(Debug, PartialEq, Eq)]
enum Target<'p> {
    /// `#`: the element itself.
    Element,
    /// A string key.
    Key(Vec<u8>),
    /// A field of a hash key (`pattern->field`).
    Field(Vec<u8>, &'p [u8]),
}

/// Resolves `pattern` for `element`: the first `*` is replaced by the element; a `->field`
/// suffix after it (with a non-empty field) names a hash field. `None` when the pattern has no
/// `*`, which names nothing.
fn target<'p>(pattern: &'p [u8], element: &[u8]) -> Option<Target<'p>> {
    let visible = c_bytes(pattern);
    if visible == b"#" {
        return Some(Target::Element);
    }
    let star = visible.iter().position(|&b| b == b'*')?;
    let after = &visible[star + 1..];
    let arrow = after.windows(2).position(|w| w == b"->").map(|at| star + 1 + at);
    let (postfix_end, field) = match arrow {
        Some(at) if at + 2 < visible.len() => (at, Some(&pattern[at + 2..])),
        _ => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(star + element.len() + postfix_end - star);
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(&pattern[star + 1..postfix_end]);
    Some(match field {
        Some(field) => Target::Field(key, field),
        None => Target::Key(key),
    })
}

/// A weight as `SORT` reads it with `strtod`: leading white space allowed, the empty string is
/// 0, the text ends at a NUL; trailing characters, NaN, overflow and underflow are errors.
fn parse_weight(bytes: &[u8]) -> Option<f64> {
    let visible = c_bytes(bytes);
    if visible.is_empty() {
        return Some(0.0);
    }
    let text = std::str::from_utf8(visible).ok()?;
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    crate::num::parse_f64_strict(trimmed.as_bytes())
}

/// How elements are compared.
#[derive(Debug)]
enum Weights {
    /// By number (the element, or its `BY` value); ties by the elements' bytes.
    Numeric(Vec<f64>),
    /// By the element's bytes.
    Alpha,
    /// By the `BY` values' bytes; a missing value sorts first.
    AlphaBy(Vec<Option<Vec<u8>>>),
}

impl Engine {
    /// `SORT` / `SORT_RO`: sorts (or with a `BY` pattern without `*`, just pages) the list,
    /// set or sorted set at `key`, then returns or stores the elements or the values the `GET`
    /// patterns name. See the module documentation for the consistency it gives.
    ///
    /// **Locking behaviour:** holds the source's stripe read lock while copying it, then
    /// one stripe lock at a time for each pattern lookup and for the `STORE` destination.
    ///
    /// ```
    /// use memora_engine::{Engine, SortOptions, SortOutcome};
    /// let engine = Engine::new();
    /// engine.rpush(b"l", &[b"3", b"1", b"2"]).unwrap();
    /// let sorted = engine.sort(b"l", &SortOptions::default()).unwrap();
    /// let expected = ["1", "2", "3"].map(|e| Some(e.as_bytes().to_vec())).to_vec();
    /// assert_eq!(sorted, SortOutcome::Elements(expected));
    /// ```
    pub fn sort(&self, key: impl AsRef<[u8]>, options: &SortOptions<'_>) -> Result<SortOutcome> {
        let mut by = options.by;
        let mut alpha = options.alpha;
        let mut dont_sort = by.is_some_and(|pattern| !has_star(pattern));
        let loaded = self.inner.read(self.db, key.as_ref(), Lookup::READ, |found| {
            let value = found.map(|found| found.value);
            let kind = match value {
                None | Some(ValueRef::List(_)) => SourceKind::List,
                Some(ValueRef::Set(_)) => SourceKind::Set,
                Some(ValueRef::ZSet(_)) => SourceKind::ZSet,
                Some(_) => return Err(Error::WrongType),
            };
            if dont_sort && kind == SourceKind::Set && options.store.is_some() {
                // A set's own order is arbitrary: sort what is stored so it is deterministic.
                (dont_sort, alpha, by) = (false, true, None);
            }
            Ok(load(value, dont_sort, options))
        })?;
        let Loaded { mut elements, window } = loaded;
        if !dont_sort {
            let weights = self.weights(&elements, by, alpha)?;
            sort_elements(&mut elements, weights, options.desc, options.store.is_some());
        }
        let selected = window.map_or(&[][..], |(start, end)| &elements[start..=end]);
        match options.store {
            None => Ok(SortOutcome::Elements(self.sort_output(selected, &options.get))),
            Some(destination) => {
                let values = self.sort_output(selected, &options.get);
                Ok(SortOutcome::Stored(self.store_list(destination, values)?))
            }
        }
    }

    /// The value `pattern` names for `element`: a string key's value or a hash field's.
    fn pattern_value(&self, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
        match target(pattern, element)? {
            Target::Element => Some(element.to_vec()),
            Target::Key(key) => self.inner.read(self.db, &key, Lookup::READ, |found| {
                found.and_then(|found| found.value.string_to_vec())
            }),
            // A key of another type names nothing.
            Target::Field(key, field) => self.hget(&key, field).ok().flatten(),
        }
    }

    /// Each element's sort weight.
    fn weights(&self, elements: &[Vec<u8>], by: Option<&[u8]>, alpha: bool) -> Result<Weights> {
        if alpha {
            return Ok(match by {
                None => Weights::Alpha,
                Some(pattern) => {
                    Weights::AlphaBy(elements.iter().map(|e| self.pattern_value(pattern, e)).collect())
                }
            });
        }
        let mut scores = Vec::with_capacity(elements.len());
        let mut bad = false;
        for element in elements {
            let score = match by {
                None => parse_weight(element),
                Some(pattern) => match self.pattern_value(pattern, element) {
                    None => Some(0.0),
                    Some(value) => parse_weight(&value),
                },
            };
            bad |= score.is_none();
            scores.push(score.unwrap_or(0.0));
        }
        if bad {
            return Err(Error::msg("ERR One or more scores can't be converted into double"));
        }
        Ok(Weights::Numeric(scores))
    }

    /// The reply values for the selected elements: the elements, or per element one value per
    /// `GET` pattern.
    fn sort_output(&self, selected: &[Vec<u8>], get: &[&[u8]]) -> Vec<Option<Vec<u8>>> {
        if get.is_empty() {
            return selected.iter().map(|e| Some(e.clone())).collect();
        }
        let mut out = Vec::with_capacity(selected.len().saturating_mul(get.len()));
        for element in selected {
            out.extend(get.iter().map(|pattern| self.pattern_value(pattern, element)));
        }
        out
    }

    /// Stores `values` as the list at `destination` (missing values as empty strings),
    /// replacing it and its expiry, or deletes it when there are none. Returns the length.
    fn store_list(&self, destination: &[u8], values: Vec<Option<Vec<u8>>>) -> Result<usize> {
        let config = self.inner.list_config();
        crate::db::write_set_growing!(let mut locked = self.inner, [(self.db, destination)]);
        let mut entry = locked.entry(self.db, destination);
        if values.is_empty() {
            if entry.delete() {
                entry.notify(NotifyFlags::GENERIC, "del");
            }
            return Ok(0);
        }
        let mut list = List::new();
        for value in &values {
            list.push_back(value.as_deref().unwrap_or_default(), config);
        }
        entry.put(NewValue::Owned(Value::List(Box::new(list))), Ttl::Clear);
        entry.notify(NotifyFlags::LIST, "sortstore");
        Ok(values.len())
    }
}

/// Copies the elements out of the source (`None`: a missing key, an empty list). Without
/// sorting, a list or sorted set yields just the `LIMIT` window, in its order (reversed by
/// `DESC`); otherwise every element, and the window applies after sorting.
fn load(value: Option<ValueRef<'_>>, dont_sort: bool, options: &SortOptions<'_>) -> Loaded {
    let len = match value {
        Some(ValueRef::List(list)) => list.len(),
        Some(ValueRef::Set(set)) => set.len(),
        Some(ValueRef::ZSet(zset)) => zset.len(),
        _ => 0,
    };
    let window = limit_window(options.limit, len);
    let mut elements = Vec::new();
    match value {
        Some(ValueRef::List(list)) if dont_sort => {
            if let Some((start, end)) = window {
                if options.desc {
                    elements = list.range(len - 1 - end, len - 1 - start);
                    elements.reverse();
                } else {
                    elements = list.range(start, end);
                }
            }
            return Loaded { window: window.map(|(start, end)| (0, end - start)), elements };
        }
        Some(ValueRef::ZSet(zset)) if dont_sort => {
            if let Some((start, end)) = window {
                let from = if options.desc { len - 1 - start } else { start };
                zset.range(from, end - start + 1, options.desc, |member, _| elements.push(member.to_vec()));
            }
            return Loaded { window: window.map(|(start, end)| (0, end - start)), elements };
        }
        Some(ValueRef::List(list)) if len > 0 => elements = list.range(0, len - 1),
        Some(ValueRef::Set(set)) => elements = set.members(),
        Some(ValueRef::ZSet(zset)) => zset.for_each(|member, _| elements.push(member.to_vec())),
        _ => {}
    }
    Loaded { elements, window }
}

/// The bytes `ALPHA` compares: the whole string when storing, up to a NUL when replying.
fn alpha_key(bytes: &[u8], store: bool) -> &[u8] {
    if store { bytes } else { c_bytes(bytes) }
}

/// Sorts `elements` by `weights`. `store` selects whole-string comparison for `ALPHA` (Redis
/// compares with `strcoll`, up to a NUL, only when replying).
fn sort_elements(elements: &mut Vec<Vec<u8>>, weights: Weights, desc: bool, store: bool) {
    let directed = |order: std::cmp::Ordering| if desc { order.reverse() } else { order };
    match weights {
        Weights::Alpha => elements.sort_by(|a, b| directed(alpha_key(a, store).cmp(alpha_key(b, store)))),
        Weights::AlphaBy(values) => {
            let mut pairs: Vec<(Option<Vec<u8>>, Vec<u8>)> =
                values.into_iter().zip(elements.drain(..)).collect();
            pairs.sort_by(|(a, _), (b, _)| {
                let a = a.as_deref().map(|a| alpha_key(a, store));
                let b = b.as_deref().map(|b| alpha_key(b, store));
                directed(a.cmp(&b))
            });
            elements.extend(pairs.into_iter().map(|(_, element)| element));
        }
        Weights::Numeric(scores) => {
            let mut pairs: Vec<(f64, Vec<u8>)> = scores.into_iter().zip(elements.drain(..)).collect();
            pairs.sort_by(|(a, x), (b, y)| {
                directed(a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal).then_with(|| x.cmp(y)))
            });
            elements.extend(pairs.into_iter().map(|(_, element)| element));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_windows_follow_redis() {
        assert_eq!(limit_window(None, 3), Some((0, 2)));
        assert_eq!(limit_window(None, 0), None);
        assert_eq!(limit_window(Some((1, 1)), 3), Some((1, 1)));
        assert_eq!(limit_window(Some((-5, -1)), 3), Some((0, 2)));
        assert_eq!(limit_window(Some((1, -7)), 3), Some((1, 2)));
        assert_eq!(limit_window(Some((5, 2)), 3), None);
        assert_eq!(limit_window(Some((0, 0)), 3), None);
        assert_eq!(limit_window(Some((2, i64::MAX)), 3), Some((2, 2)));
        assert_eq!(limit_window(Some((i64::MAX, i64::MAX)), 3), None);
    }

    #[test]
    fn patterns_substitute_the_first_star() {
        assert_eq!(target(b"#", b"e"), Some(Target::Element));
        assert_eq!(target(b"#\0x", b"e"), Some(Target::Element));
        assert_eq!(target(b"nosort", b"e"), None);
        assert_eq!(target(b"w_*", b"e"), Some(Target::Key(b"w_e".to_vec())));
        assert_eq!(target(b"w_*_*", b"e"), Some(Target::Key(b"w_e_*".to_vec())));
        assert_eq!(target(b"h_*->f", b"e"), Some(Target::Field(b"h_e".to_vec(), b"f")));
        assert_eq!(target(b"h_*x->f->g", b"e"), Some(Target::Field(b"h_ex".to_vec(), b"f->g")));
        // An empty field name: the arrow is part of the key.
        assert_eq!(target(b"h_*->", b"e"), Some(Target::Key(b"h_e->".to_vec())));
        // An arrow before the star does not count.
        assert_eq!(target(b"a->b*", b"e"), Some(Target::Key(b"a->be".to_vec())));
        // A star after a NUL is invisible to C's strchr.
        assert_eq!(target(b"a\0*", b"e"), None);
    }

    #[test]
    fn weights_parse_as_strtod() {
        assert_eq!(parse_weight(b""), Some(0.0));
        assert_eq!(parse_weight(b" 1.5"), Some(1.5));
        assert_eq!(parse_weight(b"0x10"), Some(16.0));
        assert_eq!(parse_weight(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_weight(b"7\0junk"), Some(7.0));
        assert_eq!(parse_weight(b"1 "), None);
        assert_eq!(parse_weight(b"   "), None);
        assert_eq!(parse_weight(b"nan"), None);
        assert_eq!(parse_weight(b"1e400"), None);
        assert_eq!(parse_weight(b"abc"), None);
    }

    fn elements(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|e| e.as_bytes().to_vec()).collect()
    }

    #[test]
    fn numeric_ties_fall_back_to_bytes_and_desc_reverses_both() {
        let mut list = elements(&["b", "a", "c"]);
        sort_elements(&mut list, Weights::Numeric(vec![1.0, 1.0, 0.0]), false, false);
        assert_eq!(list, elements(&["c", "a", "b"]));
        sort_elements(&mut list, Weights::Numeric(vec![0.0, 1.0, 1.0]), true, false);
        assert_eq!(list, elements(&["b", "a", "c"]));
    }

    #[test]
    fn alpha_compares_up_to_nul_when_replying_and_whole_strings_when_storing() {
        let mut list = vec![b"a\0z".to_vec(), b"a\0b".to_vec()];
        sort_elements(&mut list, Weights::Alpha, false, false);
        assert_eq!(list, vec![b"a\0z".to_vec(), b"a\0b".to_vec()], "equal up to the NUL: stable");
        sort_elements(&mut list, Weights::Alpha, false, true);
        assert_eq!(list, vec![b"a\0b".to_vec(), b"a\0z".to_vec()]);
        let mut list = elements(&["x", "y", "z"]);
        let by = vec![Some(b"b".to_vec()), None, Some(b"a".to_vec())];
        sort_elements(&mut list, Weights::AlphaBy(by), false, false);
        assert_eq!(list, elements(&["y", "z", "x"]));
    }
}
