//! The systems under test, behind one small interface.
//!
//! A [`Store`] is shared by all benchmark threads; each thread takes its own [`Worker`] (an
//! engine handle, a `Session`, or a plain reference) and runs its operations through it.
//! Every `get` returns an owned copy of the value (`Vec<u8>`), as Memora's `Engine::get`
//! does, so no system is measured returning a borrow or a reference-counted handle while
//! another copies.
//!
//! The peers use `ahash` (Memora's hash function) and `Box<[u8]>` keys and values, so the
//! comparison measures the maps, not the hash function or the container type.

use std::time::Duration;

use memora_engine::{Engine, Session, SetOptions};

/// The hasher every peer map uses.
pub type PeerHasher = ahash::RandomState;

/// A key-value system under test, shared by the benchmark threads.
pub trait Store: Sync {
    /// The per-thread handle operations run through.
    type Worker<'a>: Worker
    where
        Self: 'a;

    /// A handle for one thread.
    fn worker(&self) -> Self::Worker<'_>;

    /// Number of entries (after [`Store::settle`]), to check a preload kept everything.
    fn len(&self) -> usize;

    /// Is the store empty?
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Finishes deferred work (moka's write buffers); a no-op for the others.
    fn settle(&self) {}
}

/// One thread's handle on a [`Store`].
pub trait Worker {
    /// The value at `key`, copied out.
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>>;
    /// Sets `key` to `value`, replacing any value.
    fn set(&mut self, key: &[u8], value: &[u8]);
}

/// Memora through its typed API (`Engine::get` / `Engine::set`); each worker is a clone of
/// the engine handle, as an embedder would hand one to each thread.
#[derive(Debug, Clone)]
pub struct MemoraTyped(pub Engine);

impl Store for MemoraTyped {
    type Worker<'a> = Engine;

    fn worker(&self) -> Engine {
        self.0.clone()
    }

    fn len(&self) -> usize {
        self.0.dbsize()
    }
}

impl Worker for Engine {
    #[inline]
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        Engine::get(self, key).expect("GET of a string key")
    }

    #[inline]
    fn set(&mut self, key: &[u8], value: &[u8]) {
        Engine::set(self, key, value, SetOptions::default()).expect("SET");
    }
}

/// Memora with a time to live on every key it sets (`Engine::set_ex`); reads as
/// [`MemoraTyped`].
#[derive(Debug, Clone)]
pub struct MemoraWithTtl(pub Engine, pub Duration);

/// [`MemoraWithTtl`]'s worker.
#[derive(Debug)]
pub struct TtlWorker {
    engine: Engine,
    ttl: Duration,
}

impl Store for MemoraWithTtl {
    type Worker<'a> = TtlWorker;

    fn worker(&self) -> TtlWorker {
        TtlWorker { engine: self.0.clone(), ttl: self.1 }
    }

    fn len(&self) -> usize {
        self.0.dbsize()
    }
}

impl Worker for TtlWorker {
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.engine.get(key).expect("GET of a string key")
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.engine.set_ex(key, value, self.ttl).expect("SET EX");
    }
}

/// Memora through `Session::execute(argv)`, one session per thread; argv is an array of
/// borrowed slices on the stack, so nothing is allocated per operation on the caller's side.
#[derive(Debug, Clone)]
pub struct MemoraExecute(pub Engine);

/// [`MemoraExecute`]'s worker: one client session.
#[derive(Debug)]
pub struct SessionWorker(pub Session);

impl Store for MemoraExecute {
    type Worker<'a> = SessionWorker;

    fn worker(&self) -> SessionWorker {
        SessionWorker(Session::new(&self.0))
    }

    fn len(&self) -> usize {
        self.0.dbsize()
    }
}

impl Worker for SessionWorker {
    #[inline]
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        match self.0.execute(&[b"GET".as_slice(), key]) {
            memora_engine::Reply::Bulk(bytes) => Some(bytes),
            memora_engine::Reply::Null => None,
            other => panic!("GET answered {other:?}"),
        }
    }

    #[inline]
    fn set(&mut self, key: &[u8], value: &[u8]) {
        let reply = self.0.execute(&[b"SET".as_slice(), key, value]);
        debug_assert_eq!(reply, memora_engine::Reply::OK);
        std::hint::black_box(reply);
    }
}

/// `dashmap::DashMap<Box<[u8]>, Box<[u8]>>`.
#[derive(Debug, Default)]
pub struct DashMapStore(pub dashmap::DashMap<Box<[u8]>, Box<[u8]>, PeerHasher>);

impl Store for DashMapStore {
    type Worker<'a> = &'a DashMapStore;

    fn worker(&self) -> &DashMapStore {
        self
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl Worker for &DashMapStore {
    #[inline]
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).map(|value| value.to_vec())
    }

    #[inline]
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.0.insert(key.into(), value.into());
    }
}

/// `scc::HashMap<Box<[u8]>, Box<[u8]>>`.
#[derive(Debug, Default)]
pub struct SccStore(pub scc::HashMap<Box<[u8]>, Box<[u8]>, PeerHasher>);

impl Store for SccStore {
    type Worker<'a> = &'a SccStore;

    fn worker(&self) -> &SccStore {
        self
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl Worker for &SccStore {
    #[inline]
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.read_sync(key, |_, value| value.to_vec())
    }

    #[inline]
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.0.upsert_sync(key.into(), value.into());
    }
}

/// `moka::sync::Cache<Box<[u8]>, Box<[u8]>>` with room for every key (its `get` clones the
/// boxed value, which is the owned copy).
#[derive(Debug)]
pub struct MokaStore(pub moka::sync::Cache<Box<[u8]>, Box<[u8]>, PeerHasher>);

impl MokaStore {
    /// A cache holding up to `capacity` entries.
    pub fn new(capacity: usize) -> MokaStore {
        MokaStore(
            moka::sync::Cache::builder().max_capacity(capacity as u64).build_with_hasher(PeerHasher::new()),
        )
    }
}

impl Store for MokaStore {
    type Worker<'a> = &'a MokaStore;

    fn worker(&self) -> &MokaStore {
        self
    }

    fn len(&self) -> usize {
        self.0.entry_count() as usize
    }

    fn settle(&self) {
        self.0.run_pending_tasks();
    }
}

impl Worker for &MokaStore {
    #[inline]
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).map(Vec::from)
    }

    #[inline]
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.0.insert(key.into(), value.into());
    }
}

/// The `quick_cache` cache type used here.
pub type QuickCache = quick_cache::sync::Cache<Box<[u8]>, Box<[u8]>, quick_cache::UnitWeighter, PeerHasher>;

/// `quick_cache::sync::Cache<Box<[u8]>, Box<[u8]>>` with room for every key.
#[derive(Debug)]
pub struct QuickCacheStore(pub QuickCache);

impl QuickCacheStore {
    /// A cache holding up to `capacity` entries.
    pub fn new(capacity: usize) -> QuickCacheStore {
        QuickCacheStore(QuickCache::with(
            capacity,
            capacity as u64,
            quick_cache::UnitWeighter,
            PeerHasher::new(),
            Default::default(),
        ))
    }
}

impl Store for QuickCacheStore {
    type Worker<'a> = &'a QuickCacheStore;

    fn worker(&self) -> &QuickCacheStore {
        self
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl Worker for &QuickCacheStore {
    #[inline]
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).map(Vec::from)
    }

    #[inline]
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.0.insert(key.into(), value.into());
    }
}

/// Something to do with a freshly built [`Store`] of any type (see [`SystemKind::build`]).
pub trait StoreVisitor {
    /// What the visit returns.
    type Output;
    /// Runs on the built store.
    fn visit<S: Store + 'static>(self, store: S) -> Self::Output;
}

/// The systems the binaries know, by command-line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemKind {
    /// Memora's typed API, default settings (16 databases).
    Memora,
    /// Memora's typed API with a single database.
    MemoraDb1,
    /// Memora's typed API, every key set with a one-hour TTL (`set_ex`).
    MemoraTtl,
    /// Memora through `Session::execute`.
    MemoraExecute,
    /// `dashmap`.
    DashMap,
    /// `scc::HashMap`.
    Scc,
    /// `moka::sync::Cache`.
    Moka,
    /// `quick_cache::sync::Cache`.
    QuickCache,
}

impl SystemKind {
    /// Every system, in table order.
    pub const ALL: [SystemKind; 8] = [
        SystemKind::Memora,
        SystemKind::MemoraDb1,
        SystemKind::MemoraTtl,
        SystemKind::MemoraExecute,
        SystemKind::DashMap,
        SystemKind::Scc,
        SystemKind::Moka,
        SystemKind::QuickCache,
    ];

    /// The command-line and table name.
    pub fn name(self) -> &'static str {
        match self {
            SystemKind::Memora => "memora",
            SystemKind::MemoraDb1 => "memora-db1",
            SystemKind::MemoraTtl => "memora-ttl",
            SystemKind::MemoraExecute => "memora-exec",
            SystemKind::DashMap => "dashmap",
            SystemKind::Scc => "scc",
            SystemKind::Moka => "moka",
            SystemKind::QuickCache => "quick_cache",
        }
    }

    /// The system called `name`, if any.
    pub fn parse(name: &str) -> Option<SystemKind> {
        SystemKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Builds an empty store of this kind with room for `capacity` entries (caches only; the
    /// maps grow) and hands it to `visitor`.
    pub fn build<V: StoreVisitor>(self, capacity: usize, visitor: V) -> V::Output {
        match self {
            SystemKind::Memora => visitor.visit(MemoraTyped(Engine::new())),
            SystemKind::MemoraDb1 => visitor.visit(MemoraTyped(Engine::builder().databases(1).build())),
            SystemKind::MemoraTtl => visitor.visit(MemoraWithTtl(Engine::new(), Duration::from_secs(3600))),
            SystemKind::MemoraExecute => visitor.visit(MemoraExecute(Engine::new())),
            SystemKind::DashMap => {
                visitor.visit(DashMapStore(dashmap::DashMap::with_hasher(PeerHasher::new())))
            }
            SystemKind::Scc => visitor.visit(SccStore(scc::HashMap::with_hasher(PeerHasher::new()))),
            SystemKind::Moka => visitor.visit(MokaStore::new(capacity)),
            SystemKind::QuickCache => visitor.visit(QuickCacheStore::new(capacity)),
        }
    }
}

/// Inserts keys and values `0..data.len()` through one worker, then settles the store.
pub fn preload<S: Store>(store: &S, data: &crate::workload::Dataset) {
    let mut worker = store.worker();
    for index in 0..data.len() {
        worker.set(data.key(index), data.value(index));
    }
    drop(worker);
    store.settle();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Dataset;

    struct CheckRoundTrip<'a>(&'a Dataset);

    impl StoreVisitor for CheckRoundTrip<'_> {
        type Output = ();
        fn visit<S: Store + 'static>(self, store: S) {
            preload(&store, self.0);
            assert_eq!(store.len(), self.0.len());
            let mut worker = store.worker();
            assert_eq!(worker.get(self.0.key(5)).as_deref(), Some(self.0.value(5)));
            worker.set(self.0.key(5), self.0.value(6));
            assert_eq!(worker.get(self.0.key(5)).as_deref(), Some(self.0.value(6)));
            assert_eq!(worker.get(b"absent"), None);
        }
    }

    #[test]
    fn every_system_round_trips() {
        let data = Dataset::new(1000);
        for kind in SystemKind::ALL {
            kind.build(2 * data.len(), CheckRoundTrip(&data));
        }
    }
}
