//! Transactions: atomic runs over declared keys, and optimistic `WATCH`es.
//!
//! [`Engine::transaction`] write-locks the stripes of the keys it is given, in the one global
//! lock order (database, then stripe), runs a closure, and releases them: no other thread sees
//! part of what the closure did, and two transactions never deadlock. `EXEC` runs its queued
//! commands the same way. While the locks are held, the engine's ordinary code finds them
//! through the thread's held-stripe record (`keyspace::held`) instead of locking again.
//!
//! [`Engine::watch`] is the optimistic form, Redis's `WATCH`: every change to a watched key
//! (a write, a delete, an expiry, a flush) raises the watch's flag, and
//! [`Watch::commit`] runs its closure atomically only if the flag is still down.
//! [`Engine::optimistic`] retries the read-then-commit cycle until it goes through.
//!
//! Clients blocked on keys (`BLPOP`) that a transaction writes are served after it commits,
//! so they see all of it.

use std::sync::Arc;

use crate::blocking::deferring_service;
use crate::engine::{Engine, Inner};
use crate::keyspace::held::StripeLocks;
use crate::keyspace::watch::WatchFlag;

/// The stripes a transaction locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LockScope {
    /// The stripes of these keys (database, key); none by default.
    Keys(Vec<(usize, Vec<u8>)>),
    /// Every stripe of every database (commands whose keys cannot be told in advance).
    All,
}

impl Default for LockScope {
    fn default() -> Self {
        LockScope::Keys(Vec::new())
    }
}

impl LockScope {
    /// Adds the stripes of `keys` in `db` (nothing to add to `All`).
    pub(crate) fn add<K: AsRef<[u8]>>(&mut self, db: usize, keys: impl IntoIterator<Item = K>) {
        if let LockScope::Keys(list) = self {
            list.extend(keys.into_iter().map(|k| (db, k.as_ref().to_vec())));
        }
    }
}

impl Inner {
    /// Runs `f` with the stripes of `scope` write-locked for this thread, then serves the
    /// clients blocked on keys it wrote. Inside another transaction on this thread, `f` runs
    /// in that one (its stripes must have been declared there).
    ///
    /// **Locking behaviour:** holds every stripe of `scope` while `f` runs; other threads
    /// touching them wait.
    pub(crate) fn atomically<R>(&self, scope: &LockScope, f: impl FnOnce() -> R) -> R {
        let (result, written) = deferring_service(|| {
            let locks = match scope {
                LockScope::Keys(keys) => self.lock_order(keys.iter().map(|(db, k)| (*db, k.as_slice()))),
                LockScope::All => (0..self.dbs.len())
                    .flat_map(|db| (0..self.dbs[db].stripe_count()).map(move |s| (db, s)))
                    .collect(),
            };
            let locks: Vec<_> = locks.into_iter().map(|(db, s)| self.dbs[db].stripe(s)).collect();
            let _held = StripeLocks::acquire(&self.dbs, &locks);
            f()
        });
        if !written.is_empty() {
            self.blocked.serve(written);
        }
        result
    }
}

impl Engine {
    /// Runs `f` atomically over `keys` (in this handle's database): their stripes are
    /// write-locked for the whole call, so no other thread sees part of what `f` does, and
    /// `f` sees no other thread's writes to them. `f` gets this engine handle and uses the
    /// ordinary typed API.
    ///
    /// **Locking behaviour:** holds the stripes of `keys` while `f` runs. `f` must only touch
    /// the keys it declared (keys that share a stripe with one are allowed but not promised):
    /// touching another **panics**, as it could neither be atomic nor keep the lock order.
    /// A transaction inside `f` runs inside this one. Clients blocked on keys `f` writes are
    /// served after it returns.
    ///
    /// ```
    /// use memora_engine::Engine;
    ///
    /// let engine = Engine::new();
    /// engine.set(b"a", b"10", Default::default()).unwrap();
    /// // Move 3 from a to b; nobody sees the total change.
    /// engine.transaction(&[b"a", b"b"], |tx| -> memora_engine::Result<()> {
    ///     tx.decr_by(b"a", 3)?;
    ///     tx.incr_by(b"b", 3)?;
    ///     Ok(())
    /// }).unwrap();
    /// assert_eq!(engine.get(b"b").unwrap(), Some(b"3".to_vec()));
    /// ```
    pub fn transaction<K: AsRef<[u8]>, R>(&self, keys: &[K], f: impl FnOnce(&Engine) -> R) -> R {
        let mut scope = LockScope::Keys(Vec::with_capacity(keys.len()));
        scope.add(self.db, keys);
        self.inner.atomically(&scope, || f(self))
    }

    /// Starts watching `keys` (in this handle's database), as Redis's `WATCH`: any change to
    /// one of them from now on (by anyone, this thread included) makes [`Watch::commit`]
    /// refuse. A key that is expired already counts as absent, not as changed.
    ///
    /// **Locking behaviour:** write-locks each key's stripe briefly.
    ///
    /// ```
    /// use memora_engine::Engine;
    ///
    /// let engine = Engine::new();
    /// engine.set(b"n", b"1", Default::default()).unwrap();
    /// let watch = engine.watch(&[b"n"]);
    /// let n = engine.get(b"n").unwrap();
    /// engine.incr(b"n").unwrap(); // someone else changes it...
    /// assert_eq!(watch.commit(|tx| tx.set(b"n", b"100", Default::default())), None);
    /// ```
    pub fn watch<K: AsRef<[u8]>>(&self, keys: &[K]) -> Watch {
        let mut watch =
            Watch { engine: self.clone(), flag: Arc::new(WatchFlag::default()), keys: Vec::new() };
        watch.add(self.db, keys);
        watch
    }

    /// The optimistic read-modify-write loop: watches `keys`, runs `read` (unlocked), then
    /// commits `write` with `read`'s result if no watched key changed meanwhile; otherwise
    /// starts over. Returns `write`'s result.
    ///
    /// ```
    /// use memora_engine::Engine;
    ///
    /// let engine = Engine::new();
    /// // Double a counter, safely against concurrent writers.
    /// let doubled = engine.optimistic(
    ///     &[b"n"],
    ///     |e| e.get(b"n").unwrap().map_or(0, |v| String::from_utf8_lossy(&v).parse::<i64>().unwrap_or(0)),
    ///     |tx, n| { tx.set(b"n", (n * 2).to_string(), Default::default()).unwrap(); n * 2 },
    /// );
    /// assert_eq!(doubled, 0);
    /// ```
    pub fn optimistic<K: AsRef<[u8]>, T, R>(
        &self,
        keys: &[K],
        mut read: impl FnMut(&Engine) -> T,
        mut write: impl FnMut(&Engine, T) -> R,
    ) -> R {
        loop {
            let watch = self.watch(keys);
            let seen = read(self);
            if let Some(result) = watch.commit(|tx| write(tx, seen)) {
                return result;
            }
        }
    }
}

/// Watched keys (see [`Engine::watch`]). Dropping it stops watching.
#[derive(Debug)]
pub struct Watch {
    engine: Engine,
    flag: Arc<WatchFlag>,
    /// (database, key), without duplicates.
    keys: Vec<(usize, Vec<u8>)>,
}

impl Watch {
    /// Watches `keys` of database `db` too.
    pub(crate) fn add<K: AsRef<[u8]>>(&mut self, db: usize, keys: &[K]) {
        for key in keys {
            let key = key.as_ref();
            if self.keys.iter().any(|(d, k)| *d == db && k.as_slice() == key) {
                continue;
            }
            let mut set = self.engine.inner.write_set([(db, key)]);
            // An expired key is deleted first, so that its expiry is not taken for a change.
            let _ = set.entry(db, key);
            set.stripe_of(db, key).watch(key, &self.flag);
            drop(set);
            self.keys.push((db, key.to_vec()));
        }
    }

    /// Has a watched key changed since watching began?
    ///
    /// A key that has expired since but was not yet reclaimed is only seen by
    /// [`Watch::commit`], which reclaims it.
    pub fn is_dirty(&self) -> bool {
        self.flag.is_dirty()
    }

    /// The watched keys and their databases.
    pub(crate) fn scope(&self) -> LockScope {
        LockScope::Keys(self.keys.clone())
    }

    /// Under the transaction's locks (which must cover the watched keys): did a watched key
    /// change? Expired ones are reclaimed first, which counts as a change.
    pub(crate) fn changed_under_locks(&self) -> bool {
        for (db, key) in &self.keys {
            let _ = self.engine.inner.write_set([(*db, key.as_slice())]).entry(*db, key);
        }
        self.flag.is_dirty()
    }

    /// Runs `f` atomically over the watched keys if none of them changed since watching
    /// began; `None` (and `f` not run) otherwise. Stops watching either way.
    ///
    /// **Locking behaviour:** as [`Engine::transaction`] over the watched keys.
    pub fn commit<R>(self, f: impl FnOnce(&Engine) -> R) -> Option<R> {
        self.commit_with::<&[u8], R>(&[], f)
    }

    /// As [`Watch::commit`], with `more_keys` (in the watch's engine handle's database)
    /// locked too, for writes to keys that were not watched.
    pub fn commit_with<K: AsRef<[u8]>, R>(self, more_keys: &[K], f: impl FnOnce(&Engine) -> R) -> Option<R> {
        let mut scope = self.scope();
        scope.add(self.engine.db, more_keys);
        let engine = self.engine.clone();
        engine.inner.atomically(&scope, || (!self.changed_under_locks()).then(|| f(&engine)))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        for (db, key) in &self.keys {
            let mut set = self.engine.inner.write_set([(*db, key.as_slice())]);
            set.stripe_of(*db, key).unwatch(key, &self.flag);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::ManualClock;

    fn manual_engine() -> (Engine, ManualClock) {
        let clock = ManualClock::new(1_000_000);
        (Engine::builder().clock(clock.clone()).build(), clock)
    }

    #[test]
    fn a_change_by_anyone_makes_commit_refuse() {
        let engine = Engine::new();
        let watch = engine.watch(&[b"k"]);
        assert!(!watch.is_dirty());
        engine.set(b"other", b"x", Default::default()).expect("set");
        assert!(!watch.is_dirty(), "other keys do not count");
        engine.set(b"k", b"x", Default::default()).expect("set");
        assert!(watch.is_dirty());
        assert_eq!(watch.commit(|_| 1), None);
        assert_eq!(engine.watch(&[b"k"]).commit(|tx| tx.del(&[b"k"])), Some(1));
    }

    #[test]
    fn watching_stops_when_the_watch_goes() {
        let engine = Engine::new();
        let watch = engine.watch(&[b"a", b"b", b"a"]);
        assert_eq!(watch.keys.len(), 2);
        let stripe_of = |key: &[u8]| {
            let db = &engine.inner.dbs[0];
            db.read(db.stripe_for(engine.inner.hash(key))).watched_keys()
        };
        assert!(stripe_of(b"a") >= 1);
        assert_eq!(engine.stats().total_watched_keys, 2);
        drop(watch);
        assert_eq!(stripe_of(b"a") + stripe_of(b"b"), 0);
    }

    #[test]
    fn expiry_after_watch_is_a_change_but_before_is_not() {
        let (engine, clock) = manual_engine();
        engine.set_ex(b"gone", b"v", Duration::from_millis(100)).expect("set");
        engine.set_ex(b"later", b"v", Duration::from_millis(100)).expect("set");
        clock.advance(Duration::from_millis(200));
        let watch = engine.watch(&[b"gone"]);
        assert_eq!(watch.commit(|_| ()), Some(()), "expired before WATCH: not a change");
        engine.set_ex(b"later", b"v", Duration::from_millis(100)).expect("set");
        let watch = engine.watch(&[b"later"]);
        clock.advance(Duration::from_millis(200));
        assert_eq!(watch.commit(|_| ()), None, "expired after WATCH: a change");
    }

    #[test]
    fn flush_and_swapdb_count_as_changes_of_existing_keys() {
        let engine = Engine::new();
        engine.set(b"k", b"v", Default::default()).expect("set");
        let present = engine.watch(&[b"k"]);
        let absent = engine.watch(&[b"nothing"]);
        engine.flushdb();
        assert!(present.is_dirty());
        assert!(!absent.is_dirty(), "Redis only counts keys that existed");
        let db1 = engine.select(1).expect("db 1");
        db1.set(b"nothing", b"v", Default::default()).expect("set");
        engine.swapdb(0, 1).expect("swap");
        assert!(absent.is_dirty(), "the key appears in db 0");
        let stripe = &engine.inner.dbs[0];
        assert!(stripe.len() == 1, "contents moved, watchers stayed");
    }

    #[test]
    fn transaction_holds_its_keys_against_other_threads() {
        let engine = Engine::new();
        engine.set(b"a", b"100", Default::default()).expect("set");
        std::thread::scope(|scope| {
            for _ in 0..2 {
                let engine = engine.clone();
                scope.spawn(move || {
                    for _ in 0..2_000 {
                        engine.transaction(&[b"a", b"b"], |tx| {
                            tx.decr(b"a").expect("decr");
                            tx.incr(b"b").expect("incr");
                        });
                    }
                });
            }
            let engine = engine.clone();
            scope.spawn(move || {
                for _ in 0..2_000 {
                    let values = engine.mget(&[b"a", b"b"]);
                    let sum: i64 = values
                        .iter()
                        .map(|v| {
                            v.as_deref().map_or(0, |v| String::from_utf8_lossy(v).parse::<i64>().unwrap_or(0))
                        })
                        .sum();
                    assert_eq!(sum, 100, "a transaction was seen half done");
                }
            });
        });
        assert_eq!(engine.get(b"b").expect("get"), Some(b"4000".to_vec()));
    }

    #[test]
    #[should_panic(expected = "did not declare")]
    fn an_undeclared_key_panics() {
        let engine = Engine::builder().stripes(1024).build();
        // Find a key on another stripe than "a".
        let stripe = |k: &[u8]| engine.inner.dbs[0].stripe_for(engine.inner.hash(k));
        let other =
            (0..).map(|i| format!("k{i}")).find(|k| stripe(k.as_bytes()) != stripe(b"a")).expect("key");
        engine.transaction(&[b"a"], |tx| tx.get(other.as_bytes()).map(drop)).expect("get");
    }

    #[test]
    fn a_blocking_pop_inside_a_transaction_times_out_at_once_instead_of_deadlocking() {
        let engine = Engine::new();
        // Waiting forever would hold the transaction's locks against every pusher.
        let popped = engine.transaction(&[b"queue"], |tx| tx.blpop(&[b"queue"], None));
        assert_eq!(popped.expect("blpop"), None);
        let popped = engine.transaction(&[b"queue"], |tx| {
            tx.rpush(b"queue", &[b"x"]).expect("rpush");
            tx.blpop(&[b"queue"], None)
        });
        assert_eq!(popped.expect("blpop"), Some((b"queue".to_vec(), b"x".to_vec())));
    }

    #[test]
    fn optimistic_retries_until_it_commits() {
        let engine = Engine::new();
        std::thread::scope(|scope| {
            for _ in 0..2 {
                let engine = engine.clone();
                scope.spawn(move || {
                    for _ in 0..500 {
                        engine.optimistic(
                            &[b"n"],
                            |e| {
                                e.get(b"n")
                                    .expect("get")
                                    .map_or(0, |v| String::from_utf8_lossy(&v).parse().unwrap_or(0))
                            },
                            |tx, n: i64| tx.set(b"n", (n + 1).to_string(), Default::default()).expect("set"),
                        );
                    }
                });
            }
        });
        assert_eq!(engine.get(b"n").expect("get"), Some(b"1000".to_vec()), "no lost update");
    }
}
