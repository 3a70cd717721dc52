//! The typed list API: `impl Engine` for LPUSH, LPOP, LRANGE and the rest of Redis's list
//! commands. The `execute` handlers in `command::lists` parse argv and call these.
//!
//! A key never holds an empty list: every command that removes elements deletes the key
//! when the last one goes. The representation lives in `types::list`.

use crate::blocking::deadline_after;
use crate::db::{EntryMut, Lookup, Ttl};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::notify::NotifyFlags;
use crate::types::list::{List, ListConfig};
use crate::value::{KeyType, NewValue, Value, ValueRef};

/// An end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListEnd {
    /// The head (`LEFT`, index 0).
    Left,
    /// The tail (`RIGHT`, index -1).
    Right,
}

/// Where [`Engine::linsert`] puts the new element relative to the pivot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertPosition {
    /// Just before the pivot.
    Before,
    /// Just after the pivot.
    After,
}

/// Options of [`Engine::lpos`], as `LPOS`'s `RANK`, `COUNT` and `MAXLEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LposOptions {
    /// Which match to start from: 1 = the first from the head, -1 = the first from the tail.
    /// Zero is an error.
    pub rank: i64,
    /// How many matches to return at most; 0 = all of them.
    pub count: usize,
    /// How many elements to compare at most; 0 = the whole list.
    pub maxlen: usize,
}

impl Default for LposOptions {
    fn default() -> Self {
        LposOptions { rank: 1, count: 1, maxlen: 0 }
    }
}

/// What [`Engine::lmpop`] popped, and from which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popped {
    /// The key popped from.
    pub key: Vec<u8>,
    /// The elements, in pop order.
    pub elements: Vec<Vec<u8>>,
}

/// `LPOS`'s error for `RANK 0`.
pub(crate) const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                         or use negative to start from the end of the list";

/// The list at `value`, or WRONGTYPE.
fn list_of(value: ValueRef<'_>) -> Result<&List> {
    match value {
        ValueRef::List(list) => Ok(list),
        _ => Err(Error::WrongType),
    }
}

/// The list in `entry` for changing: `None` when the key is absent, WRONGTYPE when it holds
/// another type.
fn list_mut<'a>(entry: &'a mut EntryMut<'_>) -> Result<Option<&'a mut List>> {
    match entry.value() {
        None => return Ok(None),
        Some(ValueRef::List(_)) => {}
        Some(_) => return Err(Error::WrongType),
    }
    match entry.value_mut() {
        Some(Value::List(list)) => Ok(Some(list)),
        _ => Err(Error::WrongType),
    }
}

/// Resolves a possibly negative index against `len`; `None` when out of range.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let index = if index < 0 { len.checked_add(index)? } else { index };
    (0..len).contains(&index).then_some(index as usize)
}

/// Resolves LRANGE/LTRIM's `start` and `stop` against `len`: the inclusive range, or `None`
/// when it is empty.
fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len.saturating_add(start) } else { start }.max(0);
    let stop = if stop < 0 { len.saturating_add(stop) } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

fn push_at(list: &mut List, end: ListEnd, element: &[u8], config: ListConfig) {
    match end {
        ListEnd::Left => list.push_front(element, config),
        ListEnd::Right => list.push_back(element, config),
    }
}

fn pop_at(list: &mut List, end: ListEnd, config: ListConfig) -> Option<Vec<u8>> {
    match end {
        ListEnd::Left => list.pop_front(config),
        ListEnd::Right => list.pop_back(config),
    }
}

/// The keyspace event of a push at `end`.
fn push_event(end: ListEnd) -> &'static str {
    match end {
        ListEnd::Left => "lpush",
        ListEnd::Right => "rpush",
    }
}

/// The keyspace event of a pop at `end`.
fn pop_event(end: ListEnd) -> &'static str {
    match end {
        ListEnd::Left => "lpop",
        ListEnd::Right => "rpop",
    }
}

/// Pops up to `count` elements from `end` of the list in `entry` (present, a list), deleting
/// the key if it empties; records the pop and `del` events when `notify`.
fn pop_from_entry(
    entry: &mut EntryMut<'_>,
    end: ListEnd,
    count: usize,
    config: ListConfig,
    notify: bool,
) -> Vec<Vec<u8>> {
    let Ok(Some(list)) = list_mut(entry) else { return Vec::new() };
    let mut popped = Vec::with_capacity(count.min(list.len()));
    while popped.len() < count {
        match pop_at(list, end, config) {
            Some(element) => popped.push(element),
            None => break,
        }
    }
    let emptied = list.is_empty();
    if notify && !popped.is_empty() {
        entry.notify(NotifyFlags::LIST, pop_event(end));
    }
    if emptied {
        entry.delete();
        if notify {
            entry.notify(NotifyFlags::GENERIC, "del");
        }
    }
    popped
}

impl Engine {
    /// Runs `f` on the list at `key` under its stripe's read lock; `None` when absent.
    fn read_list<R>(&self, key: &[u8], f: impl FnOnce(&List) -> R) -> Result<Option<R>> {
        self.inner.read(self.db, key, Lookup::READ, |found| {
            found.map(|found| list_of(found.value).map(f)).transpose()
        })
    }

    /// Pushes `elements` one by one at `end`, creating the list unless `existing_only`;
    /// returns the new length (0 when `existing_only` and the key is absent).
    fn push(
        &self,
        key: &[u8],
        end: ListEnd,
        elements: &[impl AsRef<[u8]>],
        existing_only: bool,
    ) -> Result<usize> {
        let config = self.inner.list_config();
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        if let Some(list) = list_mut(&mut entry)? {
            for element in elements {
                push_at(list, end, element.as_ref(), config);
            }
            let len = list.len();
            if !elements.is_empty() {
                entry.notify(NotifyFlags::LIST, push_event(end));
            }
            return Ok(len);
        }
        if existing_only || elements.is_empty() {
            return Ok(0);
        }
        let mut list = List::new();
        for element in elements {
            push_at(&mut list, end, element.as_ref(), config);
        }
        let len = list.len();
        entry.put(NewValue::Owned(Value::List(Box::new(list))), Ttl::Keep);
        entry.notify(NotifyFlags::LIST, push_event(end));
        Ok(len)
    }

    /// `LPUSH`: inserts `elements` at the head, each in turn (so the last ends up first),
    /// creating the list if needed. Returns the new length.
    ///
    /// ```
    /// let engine = memora_engine::Engine::new();
    /// assert_eq!(engine.lpush(b"l", &[b"a", b"b"]).unwrap(), 2);
    /// assert_eq!(engine.lrange(b"l", 0, -1).unwrap(), vec![b"b".to_vec(), b"a".to_vec()]);
    /// ```
    ///
    /// **Locking behaviour:** takes the key's stripe write lock for the whole push.
    pub fn lpush(&self, key: impl AsRef<[u8]>, elements: &[impl AsRef<[u8]>]) -> Result<usize> {
        self.push(key.as_ref(), ListEnd::Left, elements, false)
    }

    /// `RPUSH`: appends `elements` at the tail, creating the list if needed.
    pub fn rpush(&self, key: impl AsRef<[u8]>, elements: &[impl AsRef<[u8]>]) -> Result<usize> {
        self.push(key.as_ref(), ListEnd::Right, elements, false)
    }

    /// `LPUSHX`: as [`Engine::lpush`], only when the list exists (0 otherwise).
    pub fn lpushx(&self, key: impl AsRef<[u8]>, elements: &[impl AsRef<[u8]>]) -> Result<usize> {
        self.push(key.as_ref(), ListEnd::Left, elements, true)
    }

    /// `RPUSHX`: as [`Engine::rpush`], only when the list exists (0 otherwise).
    pub fn rpushx(&self, key: impl AsRef<[u8]>, elements: &[impl AsRef<[u8]>]) -> Result<usize> {
        self.push(key.as_ref(), ListEnd::Right, elements, true)
    }

    /// `LPOP key`: removes and returns the head element; `None` if absent.
    pub fn lpop(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.pop(key, ListEnd::Left)
    }

    /// `RPOP key`: removes and returns the tail element; `None` if absent.
    pub fn rpop(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.pop(key, ListEnd::Right)
    }

    /// `LPOP key` / `RPOP key`: removes and returns one element from `end`; `None` if absent.
    pub fn pop(&self, key: impl AsRef<[u8]>, end: ListEnd) -> Result<Option<Vec<u8>>> {
        Ok(self.pop_count(key, end, 1)?.and_then(|mut popped| popped.pop()))
    }

    /// `LPOP key count` / `RPOP key count`: removes up to `count` elements from `end`, in pop
    /// order. `None` when the key is absent; an empty vector for `count == 0` on a list.
    pub fn pop_count(
        &self,
        key: impl AsRef<[u8]>,
        end: ListEnd,
        count: usize,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let key = key.as_ref();
        let config = self.inner.list_config();
        let mut set = self.inner.write_set([(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        if list_mut(&mut entry)?.is_none() {
            return Ok(None);
        }
        Ok(Some(pop_from_entry(&mut entry, end, count, config, true)))
    }

    /// `LLEN`: the list's length, 0 when absent.
    pub fn llen(&self, key: impl AsRef<[u8]>) -> Result<usize> {
        Ok(self.read_list(key.as_ref(), List::len)?.unwrap_or(0))
    }

    /// `LRANGE`: elements `start..=stop`; negative indexes count from the tail (-1 = last),
    /// out-of-range ends are clamped.
    pub fn lrange(&self, key: impl AsRef<[u8]>, start: i64, stop: i64) -> Result<Vec<Vec<u8>>> {
        let range = self.read_list(key.as_ref(), |list| match resolve_range(start, stop, list.len()) {
            Some((first, last)) => list.range(first, last),
            None => Vec::new(),
        })?;
        Ok(range.unwrap_or_default())
    }

    /// `LINDEX`: the element at `index` (negative counts from the tail); `None` when absent or
    /// out of range.
    pub fn lindex(&self, key: impl AsRef<[u8]>, index: i64) -> Result<Option<Vec<u8>>> {
        let found =
            self.read_list(key.as_ref(), |list| resolve_index(index, list.len()).and_then(|i| list.get(i)))?;
        Ok(found.flatten())
    }

    /// `LSET`: replaces the element at `index`. `ERR no such key` when absent, `ERR index out
    /// of range` when the index is.
    pub fn lset(&self, key: impl AsRef<[u8]>, index: i64, element: impl AsRef<[u8]>) -> Result<()> {
        let key = key.as_ref();
        let config = self.inner.list_config();
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        let list = list_mut(&mut entry)?.ok_or(Error::NoSuchKey)?;
        let index = resolve_index(index, list.len()).ok_or_else(|| Error::msg("ERR index out of range"))?;
        list.set(index, element.as_ref(), config);
        entry.notify(NotifyFlags::LIST, "lset");
        Ok(())
    }

    /// `LINSERT`: inserts `element` before or after the first occurrence of `pivot`. Returns
    /// the new length, -1 when the pivot is not found, 0 when the key is absent.
    pub fn linsert(
        &self,
        key: impl AsRef<[u8]>,
        position: InsertPosition,
        pivot: impl AsRef<[u8]>,
        element: impl AsRef<[u8]>,
    ) -> Result<i64> {
        let (key, pivot) = (key.as_ref(), pivot.as_ref());
        let config = self.inner.list_config();
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        let Some(list) = list_mut(&mut entry)? else { return Ok(0) };
        let mut found = None;
        list.scan(false, |index, candidate| {
            if candidate == pivot {
                found = Some(index);
            }
            found.is_none()
        });
        let Some(index) = found else { return Ok(-1) };
        let at = match position {
            InsertPosition::Before => index,
            InsertPosition::After => index + 1,
        };
        list.insert(at, element.as_ref(), config);
        let len = list.len() as i64;
        entry.notify(NotifyFlags::LIST, "linsert");
        Ok(len)
    }

    /// `LREM`: removes occurrences of `element`: the first `count` from the head when
    /// positive, the last `-count` from the tail when negative, all of them when 0. Returns
    /// how many were removed.
    pub fn lrem(&self, key: impl AsRef<[u8]>, count: i64, element: impl AsRef<[u8]>) -> Result<usize> {
        let (key, element) = (key.as_ref(), element.as_ref());
        let config = self.inner.list_config();
        let mut set = self.inner.write_set([(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        let Some(list) = list_mut(&mut entry)? else { return Ok(0) };
        let limit = match count.unsigned_abs() {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let mut matches = Vec::new();
        list.scan(count < 0, |index, candidate| {
            if candidate == element {
                matches.push(index);
            }
            matches.len() < limit
        });
        if matches.is_empty() {
            return Ok(0);
        }
        matches.sort_unstable();
        list.retain(|index, _| matches.binary_search(&index).is_err(), config);
        let emptied = list.is_empty();
        entry.notify(NotifyFlags::LIST, "lrem");
        if emptied {
            entry.delete();
            entry.notify(NotifyFlags::GENERIC, "del");
        }
        Ok(matches.len())
    }

    /// `LTRIM`: keeps only elements `start..=stop` (indexes as in [`Engine::lrange`]),
    /// deleting the key when nothing remains.
    pub fn ltrim(&self, key: impl AsRef<[u8]>, start: i64, stop: i64) -> Result<()> {
        let key = key.as_ref();
        let config = self.inner.list_config();
        let mut set = self.inner.write_set([(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        let Some(list) = list_mut(&mut entry)? else { return Ok(()) };
        let len = list.len();
        let (front, back) = match resolve_range(start, stop, len) {
            Some((first, last)) => (first, len - 1 - last),
            None => (len, 0),
        };
        list.trim(front, back, config);
        let emptied = list.is_empty();
        entry.notify(NotifyFlags::LIST, "ltrim");
        if emptied {
            entry.delete();
            entry.notify(NotifyFlags::GENERIC, "del");
        }
        Ok(())
    }

    /// `LPOS`: indexes of elements equal to `element`, as [`LposOptions`] selects them
    /// (at most one with the default `count` of 1). Empty when the key is absent.
    pub fn lpos(
        &self,
        key: impl AsRef<[u8]>,
        element: impl AsRef<[u8]>,
        options: LposOptions,
    ) -> Result<Vec<usize>> {
        let element = element.as_ref();
        if options.rank == 0 {
            return Err(Error::msg(RANK_ZERO));
        }
        let skip = usize::try_from(options.rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
        let found = self.read_list(key.as_ref(), |list| {
            let (mut found, mut matches, mut compared) = (Vec::new(), 0usize, 0usize);
            list.scan(options.rank < 0, |index, candidate| {
                compared += 1;
                if candidate == element {
                    if matches >= skip {
                        found.push(index);
                    }
                    matches += 1;
                }
                (options.count == 0 || found.len() < options.count)
                    && (options.maxlen == 0 || compared < options.maxlen)
            });
            found
        })?;
        Ok(found.unwrap_or_default())
    }

    /// `LMOVE`: pops from `from` of `source` and pushes to `to` of `destination`, atomically;
    /// returns the element, `None` when `source` is absent. The same key rotates the list.
    ///
    /// **Locking behaviour:** write-locks both keys' stripes at once.
    pub fn lmove(
        &self,
        source: impl AsRef<[u8]>,
        destination: impl AsRef<[u8]>,
        from: ListEnd,
        to: ListEnd,
    ) -> Result<Option<Vec<u8>>> {
        let (source, destination) = (source.as_ref(), destination.as_ref());
        let config = self.inner.list_config();
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, source), (self.db, destination)]);
        let mut entry = set.entry(self.db, source);
        let Some(list) = list_mut(&mut entry)? else { return Ok(None) };
        if source == destination {
            // Pop and push on the one list: it never empties, so the key (and its TTL) stays.
            let element = pop_at(list, from, config);
            if let Some(element) = &element {
                push_at(list, to, element, config);
                // As Redis 7.0: the push's event first, then the pop's.
                entry.notify(NotifyFlags::LIST, push_event(to));
                entry.notify(NotifyFlags::LIST, pop_event(from));
            }
            return Ok(element);
        }
        let target_type = set.entry(self.db, destination).value().map(ValueRef::key_type);
        if target_type.is_some_and(|t| t != KeyType::List) {
            return Err(Error::WrongType);
        }
        let popped = pop_from_entry(&mut set.entry(self.db, source), from, 1, config, false).pop();
        let Some(element) = popped else { return Ok(None) };
        let mut target = set.entry(self.db, destination);
        match list_mut(&mut target)? {
            Some(list) => push_at(list, to, &element, config),
            None => {
                let mut list = List::new();
                push_at(&mut list, to, &element, config);
                target.put(NewValue::Owned(Value::List(Box::new(list))), Ttl::Keep);
            }
        }
        // As Redis 7.0: the push's event, then the pop's, then `del` if the source emptied.
        target.notify(NotifyFlags::LIST, push_event(to));
        let source_gone = !set.entry(self.db, source).exists();
        set.notify(NotifyFlags::LIST, pop_event(from), self.db, source);
        if source_gone {
            set.notify(NotifyFlags::GENERIC, "del", self.db, source);
        }
        Ok(Some(element))
    }

    /// `RPOPLPUSH`: [`Engine::lmove`] from the tail of `source` to the head of `destination`.
    pub fn rpoplpush(
        &self,
        source: impl AsRef<[u8]>,
        destination: impl AsRef<[u8]>,
    ) -> Result<Option<Vec<u8>>> {
        self.lmove(source, destination, ListEnd::Right, ListEnd::Left)
    }

    /// `LMPOP`: pops up to `count` elements from `end` of the first non-empty list among
    /// `keys`; returns its key and the elements, `None` when every key is absent. A key of
    /// another type before the first list is WRONGTYPE.
    ///
    /// **Locking behaviour:** write-locks every key's stripe at once.
    pub fn lmpop(&self, keys: &[impl AsRef<[u8]>], end: ListEnd, count: usize) -> Result<Option<Popped>> {
        let config = self.inner.list_config();
        let mut set = self.inner.write_set(keys.iter().map(|key| (self.db, key.as_ref())));
        for key in keys {
            let key = key.as_ref();
            let mut entry = set.entry(self.db, key);
            if list_mut(&mut entry)?.is_some() {
                let elements = pop_from_entry(&mut entry, end, count, config, true);
                return Ok(Some(Popped { key: key.to_vec(), elements }));
            }
        }
        Ok(None)
    }
}

/// Blocking list commands (typed API for threads). Each waits until it can be served, first
/// come first served with other blocked clients, or until `timeout` passes (`None`: no
/// limit), and returns `None` on timeout. Async servers block through
/// [`crate::Session::execute_async`] instead.
impl Engine {
    /// `BLPOP`: the first element of the first non-empty list among `keys`, with its key.
    pub fn blpop(
        &self,
        keys: &[impl AsRef<[u8]>],
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.bpop(keys, ListEnd::Left, timeout)
    }

    /// `BRPOP`: as [`Engine::blpop`], from the tail.
    pub fn brpop(
        &self,
        keys: &[impl AsRef<[u8]>],
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.bpop(keys, ListEnd::Right, timeout)
    }

    fn bpop(
        &self,
        keys: &[impl AsRef<[u8]>],
        end: ListEnd,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let popped = self.blmpop(keys, end, 1, timeout)?;
        Ok(popped.and_then(|mut p| p.elements.pop().map(|element| (p.key, element))))
    }

    /// `BLMPOP`: [`Engine::lmpop`], waiting while every list is empty.
    pub fn blmpop(
        &self,
        keys: &[impl AsRef<[u8]>],
        end: ListEnd,
        count: usize,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<Popped>> {
        let keys = keys.iter().map(|k| k.as_ref().to_vec()).collect();
        let attempt = Box::new(move |engine: &Engine, keys: &[Vec<u8>]| engine.lmpop(keys, end, count));
        crate::blocking::block_thread(self, keys, deadline_after(timeout), attempt)
    }

    /// `BLMOVE`: [`Engine::lmove`], waiting while `source` is empty.
    pub fn blmove(
        &self,
        source: impl AsRef<[u8]>,
        destination: impl AsRef<[u8]>,
        from: ListEnd,
        to: ListEnd,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<Vec<u8>>> {
        let (source, destination) = (source.as_ref().to_vec(), destination.as_ref().to_vec());
        let key = source.clone();
        let attempt =
            Box::new(move |engine: &Engine, _: &[Vec<u8>]| engine.lmove(&source, &destination, from, to));
        crate::blocking::block_thread(self, vec![key], deadline_after(timeout), attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn engine_with(items: &[&str]) -> Engine {
        let engine = Engine::builder().list_max_listpack_size(2).build();
        engine.rpush(b"l", &strings(items)).expect("rpush");
        engine
    }

    #[test]
    fn encoding_follows_node_count() {
        let engine = Engine::builder().list_max_listpack_size(3).build();
        engine.rpush(b"l", &[b"a", b"b", b"c"]).expect("rpush");
        assert_eq!(engine.object_encoding(b"l"), Some("listpack"));
        assert_eq!(engine.key_type(b"l"), Some(crate::KeyType::List));
        engine.rpush(b"l", &[b"d"]).expect("rpush");
        assert_eq!(engine.object_encoding(b"l"), Some("quicklist"));
        assert_eq!(engine.rpop(b"l"), Ok(Some(b"d".to_vec())));
        assert_eq!(engine.lpop(b"l"), Ok(Some(b"a".to_vec())));
        assert_eq!(engine.object_encoding(b"l"), Some("listpack"));
    }

    #[test]
    fn config_parameters_apply_to_later_commands() {
        let engine = Engine::new();
        assert_eq!(engine.config_value("list-max-listpack-size").as_deref(), Some("-2"));
        assert_eq!(engine.config_value("list-compress-depth").as_deref(), Some("1"));
        engine.config_set(&[("list-max-ziplist-size", "1"), ("list-compress-depth", "0")]).expect("valid");
        assert_eq!(engine.config_value("list-max-listpack-size").as_deref(), Some("1"));
        assert_eq!(engine.inner.list_config(), ListConfig { fill: 1, depth: 0 });
        engine.rpush(b"l", &[b"a", b"b"]).expect("rpush");
        assert_eq!(engine.object_encoding(b"l"), Some("quicklist"));
        engine.config_set(&[("list-max-listpack-size", "-100")]).expect("valid");
        assert_eq!(engine.inner.list_config().fill, -5, "below -5 counts as -5");
        assert!(engine.config_set(&[("list-compress-depth", "-1")]).is_err());
    }

    #[test]
    fn ranges_resolve_as_redis() {
        assert_eq!(resolve_range(0, -1, 3), Some((0, 2)));
        assert_eq!(resolve_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(resolve_range(2, 1, 3), None);
        assert_eq!(resolve_range(3, 5, 3), None);
        assert_eq!(resolve_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
    }

    #[test]
    fn push_pop_and_emptied_lists_are_deleted() {
        let engine = engine_with(&["a", "b", "c"]);
        assert_eq!(engine.lpushx(b"none", &[b"x"]), Ok(0));
        assert_eq!(engine.exists(&[b"none"]), 0);
        assert_eq!(engine.pop(b"l", ListEnd::Left), Ok(Some(b"a".to_vec())));
        assert_eq!(engine.pop_count(b"l", ListEnd::Right, 0), Ok(Some(vec![])));
        assert_eq!(engine.pop_count(b"l", ListEnd::Right, 10), Ok(Some(strings(&["c", "b"]))));
        assert_eq!(engine.exists(&[b"l"]), 0, "an emptied list is deleted");
        assert_eq!(engine.pop_count(b"l", ListEnd::Right, 1), Ok(None));
        assert_eq!(engine.llen(b"l"), Ok(0));
    }

    #[test]
    fn indexes_and_sets() {
        let engine = engine_with(&["a", "b", "c", "d", "e"]);
        assert_eq!(engine.lindex(b"l", -1), Ok(Some(b"e".to_vec())));
        assert_eq!(engine.lindex(b"l", 5), Ok(None));
        assert_eq!(engine.lindex(b"l", -6), Ok(None));
        assert_eq!(engine.lset(b"l", -2, b"D"), Ok(()));
        assert_eq!(engine.lset(b"l", 5, b"x").unwrap_err().to_string(), "ERR index out of range");
        assert_eq!(engine.lset(b"nope", 0, b"x"), Err(Error::NoSuchKey));
        assert_eq!(engine.lrange(b"l", -3, -1), Ok(strings(&["c", "D", "e"])));
        assert_eq!(engine.lrange(b"l", 3, 1), Ok(vec![]));
    }

    #[test]
    fn insert_remove_trim() {
        let engine = engine_with(&["a", "b", "a", "c", "a"]);
        assert_eq!(engine.linsert(b"l", InsertPosition::Before, b"zz", b"x"), Ok(-1));
        assert_eq!(engine.linsert(b"missing", InsertPosition::Before, b"a", b"x"), Ok(0));
        assert_eq!(engine.linsert(b"l", InsertPosition::After, b"c", b"x"), Ok(6));
        assert_eq!(engine.lrem(b"l", -2, b"a"), Ok(2));
        assert_eq!(engine.lrange(b"l", 0, -1), Ok(strings(&["a", "b", "c", "x"])));
        assert_eq!(engine.lrem(b"l", 0, b"zz"), Ok(0));
        assert_eq!(engine.ltrim(b"l", 1, -2), Ok(()));
        assert_eq!(engine.lrange(b"l", 0, -1), Ok(strings(&["b", "c"])));
        assert_eq!(engine.ltrim(b"l", 5, 10), Ok(()));
        assert_eq!(engine.exists(&[b"l"]), 0);
    }

    #[test]
    fn lpos_options() {
        let engine = engine_with(&["a", "b", "c", "1", "2", "3", "c", "c"]);
        let pos = |rank, count, maxlen| engine.lpos(b"l", b"c", LposOptions { rank, count, maxlen });
        assert_eq!(pos(1, 1, 0), Ok(vec![2]));
        assert_eq!(pos(2, 1, 0), Ok(vec![6]));
        assert_eq!(pos(-1, 1, 0), Ok(vec![7]));
        assert_eq!(pos(1, 0, 0), Ok(vec![2, 6, 7]));
        assert_eq!(pos(-2, 0, 0), Ok(vec![6, 2]));
        assert_eq!(pos(1, 0, 3), Ok(vec![2]));
        assert_eq!(pos(1, 0, 2), Ok(vec![]));
        assert_eq!(pos(5, 1, 0), Ok(vec![]));
        assert_eq!(pos(0, 1, 0).unwrap_err().to_string(), RANK_ZERO);
        assert_eq!(pos(i64::MIN + 1, 1, 0), Ok(vec![]));
    }

    #[test]
    fn lmove_rotates_the_same_key_and_checks_types() {
        let engine = engine_with(&["a", "b", "c"]);
        assert_eq!(engine.lmove(b"l", b"l", ListEnd::Left, ListEnd::Right), Ok(Some(b"a".to_vec())));
        assert_eq!(engine.lrange(b"l", 0, -1), Ok(strings(&["b", "c", "a"])));
        engine.set(b"s", b"x", Default::default()).expect("set");
        assert_eq!(engine.lmove(b"l", b"s", ListEnd::Left, ListEnd::Left), Err(Error::WrongType));
        assert_eq!(engine.llen(b"l"), Ok(3), "nothing popped on a type error");
        assert_eq!(engine.lmove(b"none", b"s", ListEnd::Left, ListEnd::Left), Ok(None));
        assert_eq!(engine.rpoplpush(b"l", b"m"), Ok(Some(b"a".to_vec())));
        assert_eq!(engine.lpush(b"s", &[b"x"]), Err(Error::WrongType));
        assert_eq!(engine.get(b"l"), Err(Error::WrongType));
        let single = engine_with(&["only"]);
        single.expire(b"l", std::time::Duration::from_secs(100), Default::default()).expect("expire");
        assert_eq!(single.lmove(b"l", b"l", ListEnd::Right, ListEnd::Left), Ok(Some(b"only".to_vec())));
        assert!(matches!(single.ttl(b"l"), Some(Some(_))), "rotation keeps the key and its ttl");
    }

    #[test]
    fn lmpop_takes_the_first_non_empty_list() {
        let engine = engine_with(&["a", "b", "c"]);
        assert_eq!(
            engine.lmpop(&[&b"x"[..], b"l"], ListEnd::Right, 2),
            Ok(Some(Popped { key: b"l".to_vec(), elements: strings(&["c", "b"]) }))
        );
        assert_eq!(engine.lmpop(&[b"x"], ListEnd::Left, 1), Ok(None));
        engine.set(b"s", b"v", Default::default()).expect("set");
        assert_eq!(engine.lmpop(&[&b"s"[..], b"l"], ListEnd::Left, 1), Err(Error::WrongType));
    }
}
