//! [`Engine`], its builder and its shared state.

use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::clock::{Clock, SystemClock};
use crate::command::table::COMMANDS;
use crate::config::ExtraParams;
use crate::error::{Error, Result};
use crate::evict::{Admission, EvictionPolicy, Listener, Removal};
use crate::expire::ExpireCursor;
use crate::keyspace::access::LfuTuning;
use crate::keyspace::{KeyHasher, Keyspace};
use crate::memory::MemoryAccounting;
use crate::session::ClientRegistry;
use crate::stats::StatsCounters;
use crate::types::hash::HashLimits;
use crate::types::list::ListConfig;
use crate::types::set::SetLimits;
use crate::types::zset::ZSetLimits;

/// Default number of stripes per database.
pub const DEFAULT_STRIPES: usize = 128;
/// Default number of databases (Redis's `databases`).
pub const DEFAULT_DATABASES: usize = 16;
/// Default largest string, in bytes (Redis's `proto-max-bulk-len`, 512 MiB).
pub const DEFAULT_PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// Builds an [`Engine`]. Every setting has a default; see each method.
///
/// ```
/// use memora_engine::{Engine, ManualClock};
///
/// let engine = Engine::builder()
///     .stripes(64)
///     .databases(4)
///     .clock(ManualClock::new(0))
///     .build();
/// assert_eq!(engine.databases(), 4);
/// ```
#[must_use]
#[derive(Debug)]
pub struct EngineBuilder {
    stripes: usize,
    databases: usize,
    clock: Arc<dyn Clock>,
    hz: u32,
    background_maintenance: bool,
    proto_max_bulk_len: u64,
    lfu: LfuTuning,
    set_limits: SetLimits,
    hash_limits: HashLimits,
    zset_limits: ZSetLimits,
    list: ListConfig,
    pubsub_limit: crate::pubsub::BufferLimit,
    maxmemory: u64,
    policy: EvictionPolicy,
    samples: u32,
    admission: Admission,
    listener: Option<Listener>,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            stripes: DEFAULT_STRIPES,
            databases: DEFAULT_DATABASES,
            clock: Arc::new(SystemClock),
            hz: 10,
            background_maintenance: false,
            proto_max_bulk_len: DEFAULT_PROTO_MAX_BULK_LEN,
            lfu: LfuTuning { log_factor: 10, decay_minutes: 1 },
            set_limits: SetLimits::DEFAULT,
            hash_limits: HashLimits::DEFAULT,
            zset_limits: ZSetLimits::DEFAULT,
            list: ListConfig::default(),
            pubsub_limit: crate::pubsub::BufferLimit::DEFAULT,
            maxmemory: 0,
            policy: EvictionPolicy::NoEviction,
            samples: crate::evict::DEFAULT_SAMPLES,
            admission: Admission::Always,
            listener: None,
        }
    }
}

impl EngineBuilder {
    /// Stripes (locks) per database, rounded up to a power of two; default
    /// [`DEFAULT_STRIPES`]. More stripes mean less contention and more fixed memory
    /// (about 256 bytes per stripe per database).
    pub fn stripes(mut self, stripes: usize) -> Self {
        self.stripes = stripes.clamp(1, 1 << 16).next_power_of_two();
        self
    }

    /// Number of databases (`SELECT 0..n`); default [`DEFAULT_DATABASES`], at least 1.
    pub fn databases(mut self, databases: usize) -> Self {
        self.databases = databases.clamp(1, 1 << 16);
        self
    }

    /// The time source; default [`SystemClock`]. Tests pass a [`crate::ManualClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Maintenance cycles per second for the background thread (Redis's `hz`); default 10,
    /// clamped to 1..=500.
    pub fn hz(mut self, hz: u32) -> Self {
        self.hz = hz.clamp(1, 500);
        self
    }

    /// Start a background thread that runs [`Engine::run_maintenance`] `hz` times a second and
    /// stops when the last handle to the engine is dropped. Default off: the embedder calls
    /// `run_maintenance` itself, or starts the thread later with
    /// [`Engine::start_background_maintenance`].
    pub fn background_maintenance(mut self, on: bool) -> Self {
        self.background_maintenance = on;
        self
    }

    /// Largest string in bytes (Redis's `proto-max-bulk-len`); default 512 MiB.
    pub fn proto_max_bulk_len(mut self, bytes: u64) -> Self {
        self.proto_max_bulk_len = bytes.max(1024 * 1024);
        self
    }

    /// LFU counter tuning (Redis's `lfu-log-factor`, `lfu-decay-time`); defaults 10 and 1.
    pub fn lfu(mut self, log_factor: u32, decay_minutes: u32) -> Self {
        self.lfu = LfuTuning { log_factor, decay_minutes };
        self
    }

    /// When a set leaves its compact forms (Redis's `set-max-intset-entries`,
    /// `set-max-listpack-entries`, `set-max-listpack-value`); defaults 512, 128 and 64 bytes.
    pub fn set_limits(
        mut self,
        intset_entries: usize,
        listpack_entries: usize,
        listpack_value: usize,
    ) -> Self {
        self.set_limits = SetLimits { intset_entries, listpack_entries, listpack_value };
        self
    }

    /// When a hash leaves its compact form (Redis's `hash-max-listpack-entries` and
    /// `hash-max-listpack-value`); defaults 128 fields and 64 bytes.
    pub fn hash_limits(mut self, listpack_entries: usize, listpack_value: usize) -> Self {
        self.hash_limits = HashLimits { listpack_entries, listpack_value };
        self
    }

    /// When a sorted set leaves its compact form (Redis's `zset-max-listpack-entries` and
    /// `zset-max-listpack-value`); defaults 128 and 64 bytes.
    pub fn zset_limits(mut self, listpack_entries: usize, listpack_value: usize) -> Self {
        self.zset_limits = ZSetLimits { listpack_entries, listpack_value };
        self
    }

    /// Node size limit of lists (Redis's `list-max-listpack-size`): negative `-1..=-5` caps a
    /// node at 4, 8, 16, 32 or 64 KiB (below -5 counts as -5), positive caps its entry count
    /// (0 counts as 1). Default -2 (8 KiB).
    pub fn list_max_listpack_size(mut self, fill: i32) -> Self {
        self.list.fill = fill;
        self
    }

    /// Nodes kept uncompressed at each end of a list (Redis's `list-compress-depth`); the
    /// nodes between are LZ4-compressed when that saves space. Default 1: only the two end
    /// nodes, where pushes and pops happen, are raw. 0 disables compression.
    pub fn list_compress_depth(mut self, depth: u32) -> Self {
        self.list.depth = depth as usize;
        self
    }

    /// The output buffer limit of pub/sub subscribers (Redis's `client-output-buffer-limit
    /// pubsub`); default [`crate::BufferLimit::DEFAULT`] (32 MiB hard, 8 MiB for 60 s soft).
    pub fn pubsub_buffer_limit(mut self, limit: crate::pubsub::BufferLimit) -> Self {
        self.pubsub_limit = limit;
        self
    }

    /// Memory limit in bytes (Redis's `maxmemory`); default 0, no limit. Writes that may
    /// grow memory past it evict keys under [`EngineBuilder::maxmemory_policy`], or fail with
    /// [`Error::OutOfMemory`] under [`EvictionPolicy::NoEviction`]. Also settable at run time
    /// with `CONFIG SET maxmemory`.
    pub fn maxmemory(mut self, bytes: u64) -> Self {
        self.maxmemory = bytes;
        self
    }

    /// Which keys go when memory is full (Redis's `maxmemory-policy`); default
    /// [`EvictionPolicy::NoEviction`].
    pub fn maxmemory_policy(mut self, policy: EvictionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Keys sampled per eviction (Redis's `maxmemory-samples`); default 5, clamped to 1..=64.
    /// More samples follow exact LRU/LFU more closely, at more work per eviction.
    pub fn maxmemory_samples(mut self, samples: u32) -> Self {
        self.samples = samples.clamp(1, crate::evict::MAX_SAMPLES);
        self
    }

    /// An admission filter for pure-cache use (see [`Admission`]); default
    /// [`Admission::Always`]. The TinyLFU sketch is sized for the number of keys `maxmemory`
    /// holds at about 100 bytes a key (at least 64K keys' worth; 8 bytes per key).
    pub fn admission(mut self, admission: Admission) -> Self {
        self.admission = admission;
        self
    }

    /// A function called for every key that expires, is evicted, deleted, or has its value
    /// replaced (see [`crate::RemovalCause`]), with the database and the key.
    ///
    /// **Locking behaviour:** called on the thread that made the change, after the stripe
    /// locks of the change are released (inside a transaction, while the transaction still
    /// holds its stripes). The listener may read and write the engine from that thread, but
    /// must not wait for another thread that uses the engine.
    ///
    /// ```
    /// use memora_engine::{Engine, RemovalCause};
    /// use std::sync::{Arc, Mutex};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = Arc::clone(&seen);
    /// let engine = Engine::builder()
    ///     .removal_listener(move |removal| log.lock().unwrap().push((removal.key.to_vec(), removal.cause)))
    ///     .build();
    /// engine.set(b"k", b"1", Default::default()).unwrap();
    /// engine.set(b"k", b"2", Default::default()).unwrap();
    /// engine.del(&[b"k"]);
    /// assert_eq!(
    ///     *seen.lock().unwrap(),
    ///     vec![(b"k".to_vec(), RemovalCause::Replaced), (b"k".to_vec(), RemovalCause::Deleted)]
    /// );
    /// ```
    pub fn removal_listener(mut self, listener: impl Fn(&Removal<'_>) + Send + Sync + 'static) -> Self {
        self.listener = Some(Listener(Arc::new(listener)));
        self
    }

    /// Builds the engine.
    pub fn build(self) -> Engine {
        let clock = Arc::clone(&self.clock);
        let inner = Arc::new(Inner {
            dbs: (0..self.databases).map(|_| Keyspace::new(self.stripes)).collect(),
            hasher: KeyHasher::new(),
            clock_is_cheap: self.clock.is_cheap(),
            cached_ms: AtomicU64::new(self.clock.coarse_now_ms()),
            clock: self.clock,
            config: RuntimeConfig {
                hz: AtomicU32::new(self.hz),
                proto_max_bulk_len: AtomicU64::new(self.proto_max_bulk_len),
                lfu_log_factor: AtomicU32::new(self.lfu.log_factor),
                lfu_decay_time: AtomicU32::new(self.lfu.decay_minutes),
                set_max_intset_entries: AtomicU64::new(self.set_limits.intset_entries as u64),
                set_max_listpack_entries: AtomicU64::new(self.set_limits.listpack_entries as u64),
                set_max_listpack_value: AtomicU64::new(self.set_limits.listpack_value as u64),
                hash_max_listpack_entries: AtomicU64::new(self.hash_limits.listpack_entries as u64),
                hash_max_listpack_value: AtomicU64::new(self.hash_limits.listpack_value as u64),
                zset_max_listpack_entries: AtomicU64::new(self.zset_limits.listpack_entries as u64),
                zset_max_listpack_value: AtomicU64::new(self.zset_limits.listpack_value as u64),
                list_max_listpack_size: AtomicI32::new(self.list.fill),
                list_compress_depth: AtomicU32::new(self.list.depth as u32),
            },
            stats: StatsCounters::new(COMMANDS.len()),
            clients: ClientRegistry::default(),
            extra_params: ExtraParams::default(),
            started: Instant::now(),
            expire_cursor: Mutex::new(ExpireCursor::default()),
            avg_ttl_ms: (0..self.databases).map(|_| AtomicU64::new(0)).collect(),
            maintenance: Mutex::new(None),
            blocked: crate::blocking::Blocked::default(),
            pubsub: Arc::new(crate::pubsub::PubSub::new(Arc::clone(&clock), self.pubsub_limit)),
            notify_flags: std::sync::atomic::AtomicU32::new(0),
            memory: MemoryAccounting::new(self.databases * self.stripes, 0, self.maxmemory),
            policy: AtomicU8::new(self.policy.index() as u8),
            lfu_mode: std::sync::atomic::AtomicBool::new(self.policy.is_lfu()),
            lru_refresh: AtomicU32::new(crate::keyspace::access::LRU_REFRESH_MAX),
            samples: AtomicU32::new(self.samples),
            evicted: Default::default(),
            listener: self.listener,
            sketch: (self.admission == Admission::TinyLfu).then(|| {
                let keys = usize::try_from(self.maxmemory / 100).unwrap_or(usize::MAX);
                crate::evict::sketch::FrequencySketch::with_capacity(keys.clamp(1 << 16, 1 << 28))
            }),
        });
        inner.refresh_fixed_memory();
        let engine = Engine { inner, db: 0 };
        if self.background_maintenance {
            engine.start_background_maintenance();
        }
        engine
    }
}

/// Settings that `CONFIG SET` can change while the engine runs.
#[derive(Debug)]
pub(crate) struct RuntimeConfig {
    pub(crate) hz: AtomicU32,
    pub(crate) proto_max_bulk_len: AtomicU64,
    pub(crate) lfu_log_factor: AtomicU32,
    pub(crate) lfu_decay_time: AtomicU32,
    pub(crate) set_max_intset_entries: AtomicU64,
    pub(crate) set_max_listpack_entries: AtomicU64,
    pub(crate) set_max_listpack_value: AtomicU64,
    /// `hash-max-listpack-entries` (alias `hash-max-ziplist-entries`).
    pub(crate) hash_max_listpack_entries: AtomicU64,
    /// `hash-max-listpack-value` (alias `hash-max-ziplist-value`).
    pub(crate) hash_max_listpack_value: AtomicU64,
    pub(crate) zset_max_listpack_entries: AtomicU64,
    pub(crate) zset_max_listpack_value: AtomicU64,
    /// `list-max-listpack-size` as set (normalized when read, see [`normalize_list_fill`]).
    pub(crate) list_max_listpack_size: AtomicI32,
    /// `list-compress-depth`.
    pub(crate) list_compress_depth: AtomicU32,
}

/// A `list-max-listpack-size` value as lists use it: 0 means 1 entry, below -5 means -5.
pub(crate) fn normalize_list_fill(fill: i32) -> i32 {
    match fill {
        0 => 1,
        fill => fill.max(-5),
    }
}

impl Inner {
    /// The list node limits and compression depth in force.
    pub(crate) fn list_config(&self) -> ListConfig {
        ListConfig {
            fill: normalize_list_fill(self.config.list_max_listpack_size.load(Ordering::Relaxed)),
            depth: self.config.list_compress_depth.load(Ordering::Relaxed) as usize,
        }
    }
}

/// State shared by every handle of one engine.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) dbs: Box<[Keyspace]>,
    pub(crate) hasher: KeyHasher,
    pub(crate) clock: Arc<dyn Clock>,
    /// `clock.is_cheap()`, read once.
    clock_is_cheap: bool,
    /// The current Unix millisecond for access bookkeeping (see [`Inner::coarse_ms`]).
    cached_ms: AtomicU64,
    pub(crate) config: RuntimeConfig,
    pub(crate) stats: StatsCounters,
    pub(crate) clients: ClientRegistry,
    pub(crate) extra_params: ExtraParams,
    pub(crate) started: Instant,
    pub(crate) expire_cursor: Mutex<ExpireCursor>,
    /// Per database, a running estimate of the remaining TTL of keys with an expiry, from the
    /// active expiry cycle's samples (as Redis's `avg_ttl`).
    pub(crate) avg_ttl_ms: Box<[AtomicU64]>,
    maintenance: Mutex<Option<Maintenance>>,
    /// Clients blocked on keys (`BLPOP` and friends).
    pub(crate) blocked: crate::blocking::Blocked,
    /// Pub/sub channels, patterns and subscribers.
    pub(crate) pubsub: Arc<crate::pubsub::PubSub>,
    /// `notify-keyspace-events` as `NotifyFlags` bits (0: off, the default).
    pub(crate) notify_flags: AtomicU32,
    /// Used memory and `maxmemory` (see `crate::memory`).
    pub(crate) memory: MemoryAccounting,
    /// `maxmemory-policy`, as [`EvictionPolicy::index`].
    policy: AtomicU8,
    /// Is the policy an LFU one? Read on every key access, so kept as its own flag: deriving
    /// it from `policy` (one load and two compares) measured 12-15% fewer GETs a second
    /// (compare, 2 threads, uniform 90/10, same instruction count under callgrind), a
    /// layout effect. Set after `policy`; a reader between the two stores handles one access
    /// in the previous mode, as any access racing the switch would.
    lfu_mode: std::sync::atomic::AtomicBool,
    /// LRU access times are restamped only once they are this many units old (see
    /// [`Inner::lru_refresh_units`]).
    lru_refresh: AtomicU32,
    /// `maxmemory-samples`.
    pub(crate) samples: AtomicU32,
    /// Keys evicted, per policy in force at the time ([`EvictionPolicy::index`]).
    pub(crate) evicted: [AtomicU64; EvictionPolicy::ALL.len()],
    /// The removal listener, if any.
    pub(crate) listener: Option<Listener>,
    /// The admission sketch, when [`Admission::TinyLfu`] is on.
    pub(crate) sketch: Option<crate::evict::sketch::FrequencySketch>,
}

impl Inner {
    /// Current set representation thresholds.
    pub(crate) fn set_limits(&self) -> SetLimits {
        let load = |a: &AtomicU64| usize::try_from(a.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
        SetLimits {
            intset_entries: load(&self.config.set_max_intset_entries),
            listpack_entries: load(&self.config.set_max_listpack_entries),
            listpack_value: load(&self.config.set_max_listpack_value),
        }
    }

    /// Current hash representation thresholds.
    pub(crate) fn hash_limits(&self) -> HashLimits {
        let load = |a: &AtomicU64| usize::try_from(a.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
        HashLimits {
            listpack_entries: load(&self.config.hash_max_listpack_entries),
            listpack_value: load(&self.config.hash_max_listpack_value),
        }
    }

    /// Current sorted set representation thresholds.
    pub(crate) fn zset_limits(&self) -> ZSetLimits {
        let load = |a: &AtomicU64| usize::try_from(a.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
        ZSetLimits {
            listpack_entries: load(&self.config.zset_max_listpack_entries),
            listpack_value: load(&self.config.zset_max_listpack_value),
        }
    }

    /// Current LFU tuning.
    #[inline]
    pub(crate) fn lfu_tuning(&self) -> LfuTuning {
        LfuTuning {
            log_factor: self.config.lfu_log_factor.load(Ordering::Relaxed),
            decay_minutes: self.config.lfu_decay_time.load(Ordering::Relaxed),
        }
    }

    /// Unix milliseconds for access bookkeeping (LRU/LFU metadata, client idle times),
    /// without a clock read per call: a shared cached time, refreshed by every 256th call on
    /// each thread, by each maintenance cycle and whenever a command reads the precise clock.
    /// A thread resuming after a long pause with no maintenance running may stamp a few
    /// accesses with the time of the last refresh. Cheap clocks (test clocks) are read every
    /// time.
    #[inline]
    pub(crate) fn coarse_ms(&self) -> u64 {
        self.coarse_ms_and_tick().0
    }

    /// [`Inner::coarse_ms`] and this thread's access tick (a counter of calls, which access
    /// sampling reuses).
    #[inline]
    pub(crate) fn coarse_ms_and_tick(&self) -> (u64, u32) {
        use std::cell::Cell;
        const REFRESH_EVERY: u32 = 256;
        thread_local! {
            static TICKS: Cell<u32> = const { Cell::new(0) };
        }
        let tick = TICKS.with(|t| {
            let tick = t.get();
            t.set(tick.wrapping_add(1));
            tick
        });
        let ms = if self.clock_is_cheap {
            self.clock.coarse_now_ms()
        } else if tick.is_multiple_of(REFRESH_EVERY) {
            self.observe_time_ms(self.clock.coarse_now_ms())
        } else {
            self.cached_ms.load(Ordering::Relaxed)
        };
        (ms, tick)
    }

    /// The cached time as it stands (see [`Inner::coarse_ms`]), without counting an access:
    /// for bookkeeping that tolerates some staleness.
    #[inline]
    pub(crate) fn cached_ms(&self) -> u64 {
        if self.clock_is_cheap {
            return self.clock.coarse_now_ms();
        }
        self.cached_ms.load(Ordering::Relaxed)
    }

    /// Records a clock reading in the cached time; returns it.
    #[inline]
    pub(crate) fn observe_time_ms(&self, now_ms: u64) -> u64 {
        if self.cached_ms.load(Ordering::Relaxed) < now_ms {
            self.cached_ms.store(now_ms, Ordering::Relaxed);
        }
        now_ms
    }

    /// The `maxmemory-policy` in force.
    #[inline]
    pub(crate) fn eviction_policy(&self) -> EvictionPolicy {
        EvictionPolicy::from_index(usize::from(self.policy.load(Ordering::Relaxed)))
    }

    /// Sets the `maxmemory-policy`.
    pub(crate) fn set_eviction_policy(&self, policy: EvictionPolicy) {
        self.policy.store(policy.index() as u8, Ordering::Relaxed);
        self.lfu_mode.store(policy.is_lfu(), Ordering::Relaxed);
    }

    /// How old (in LRU units) an access time must be before an access restamps it.
    ///
    /// Restamping writes the slot's cache line, which on a hot key read by several threads
    /// bounces the line between cores on every access. So an access time is only refreshed
    /// once it is older than 1/64 of the idle time of recent LRU victims (an average kept by
    /// eviction), between one unit (4 ms) and one second (Redis's own resolution, kept while
    /// nothing is evicted): precision where eviction needs it, quiet lines elsewhere.
    #[inline(always)]
    pub(crate) fn lru_refresh_units(&self) -> u32 {
        self.lru_refresh.load(Ordering::Relaxed)
    }

    /// The admission sketch's estimate for a key hash (0 without a sketch).
    pub(crate) fn admission_frequency(&self, hash: u64) -> u8 {
        self.sketch.as_ref().map_or(0, |sketch| sketch.frequency(hash))
    }

    /// Counts one eviction under `policy` (`evicted_keys`, `evicted_per_policy`).
    pub(crate) fn count_eviction(&self, policy: EvictionPolicy) {
        self.evicted[policy.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Notes the idle time of an LRU victim, for [`Inner::lru_refresh_units`].
    pub(crate) fn note_victim_idle_ms(&self, idle_ms: u64) {
        use crate::keyspace::access::{LRU_REFRESH_MAX, LRU_UNIT_MS};
        let units = (idle_ms / LRU_UNIT_MS / 64).clamp(1, u64::from(LRU_REFRESH_MAX)) as u32;
        let current = self.lru_refresh.load(Ordering::Relaxed);
        // Moves a sixteenth of the way (at least one unit) toward the new victim's figure:
        // an average over recent victims, stored only when it moves, so the line stays shared.
        let next = match units.cmp(&current) {
            std::cmp::Ordering::Greater => current + ((units - current) / 16).max(1),
            std::cmp::Ordering::Less => current - ((current - units) / 16).max(1),
            std::cmp::Ordering::Equal => current,
        };
        if next != current {
            self.lru_refresh.store(next, Ordering::Relaxed);
        }
    }

    /// Does access metadata hold LFU counters (an LFU policy is in force)?
    #[inline(always)]
    pub(crate) fn lfu_mode(&self) -> bool {
        self.lfu_mode.load(Ordering::Relaxed)
    }

    /// Is memory over `maxmemory` under `noeviction`, so that writes that may grow memory are
    /// refused before they run (transactions check this while queueing and at `EXEC`)?
    pub(crate) fn refuses_growth(&self) -> bool {
        self.memory.over_limit() && self.eviction_policy() == EvictionPolicy::NoEviction
    }

    /// Sets `maxmemory` (0: none). Turning a limit on brings the shared estimate up to date
    /// first: writes keep it only while a limit is set (see `crate::memory`).
    pub(crate) fn set_maxmemory(&self, limit: u64) {
        let was = self.memory.limit();
        self.memory.set_limit(limit);
        if was == 0 && limit != 0 {
            // The limit is stored first, so writers report from now on; then every stripe's
            // change since its last report is reported, under its lock.
            self.refresh_fixed_memory();
            for keyspace in self.dbs.iter() {
                for i in 0..keyspace.stripe_count() {
                    self.memory.report_now(&mut keyspace.write(i));
                }
            }
        }
    }

    /// Recomputes the bytes of fixed structures (stripe arrays, statistics blocks).
    pub(crate) fn refresh_fixed_memory(&self) -> usize {
        let fixed = self.stats.memory_bytes()
            + self.dbs.iter().map(Keyspace::fixed_bytes).sum::<usize>()
            + self.sketch.as_ref().map_or(0, |sketch| sketch.heap_bytes());
        self.memory.set_fixed(fixed);
        fixed
    }

    /// Largest string allowed.
    pub(crate) fn max_string_len(&self) -> u64 {
        self.config.proto_max_bulk_len.load(Ordering::Relaxed)
    }

    /// Checks that a string of `len` bytes is allowed.
    pub(crate) fn check_string_len(&self, len: u64) -> Result<()> {
        if len > self.max_string_len() { Err(Error::StringTooLong) } else { Ok(()) }
    }
}

/// A handle to an in-process cache with Redis's data model.
///
/// Cheap to clone (an `Arc` and a database index); every clone shares the same data. The
/// typed methods (`get`, `set`, `incr`, ...) act on the handle's database, 0 unless chosen
/// with [`Engine::select`]; [`Engine::execute`] and [`crate::Session`] run Redis commands.
///
/// ```
/// use memora_engine::Engine;
///
/// let engine = Engine::new();
/// engine.set(b"greeting", b"hello", Default::default()).unwrap();
/// assert_eq!(engine.get(b"greeting").unwrap(), Some(b"hello".to_vec()));
/// assert_eq!(engine.incr(b"counter").unwrap(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
    pub(crate) db: usize,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine with default settings (see [`EngineBuilder`]).
    pub fn new() -> Engine {
        EngineBuilder::default().build()
    }

    /// A builder for an engine with custom settings.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// A handle to the same engine acting on database `db`.
    pub fn select(&self, db: usize) -> Result<Engine> {
        if db >= self.inner.dbs.len() {
            return Err(Error::DbIndexOutOfRange);
        }
        Ok(Engine { inner: Arc::clone(&self.inner), db })
    }

    /// The database this handle acts on.
    pub fn db_index(&self) -> usize {
        self.db
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.inner.dbs.len()
    }

    /// Runs one maintenance cycle: reclaims expired keys by sampling, within a time budget of
    /// a quarter of the cycle's period (1000 ms / `hz`), as Redis's active expire cycle.
    /// Returns how many keys it deleted.
    pub fn run_maintenance(&self) -> u64 {
        let hz = u64::from(self.inner.config.hz.load(Ordering::Relaxed).max(1));
        let budget = Duration::from_micros(250_000 / hz);
        self.inner.observe_time_ms(self.inner.clock.coarse_now_ms());
        let expired = self.inner.active_expire_cycle(budget);
        // `used_memory_peak`: writes track it only under a limit; sample it here otherwise
        // (one brief read lock per stripe).
        if self.inner.memory.limit() == 0 {
            self.used_memory();
        }
        expired
    }

    /// Starts the background maintenance thread if it is not running. The thread stops when
    /// [`Engine::stop_background_maintenance`] is called or the last handle is dropped.
    pub fn start_background_maintenance(&self) {
        let mut slot = self.inner.maintenance.lock();
        if slot.is_none() {
            *slot = Some(Maintenance::start(Arc::downgrade(&self.inner)));
        }
    }

    /// Stops the background maintenance thread, waiting for it to finish its cycle.
    pub fn stop_background_maintenance(&self) {
        let maintenance = self.inner.maintenance.lock().take();
        drop(maintenance);
    }

    /// Is the background maintenance thread running?
    pub fn background_maintenance_running(&self) -> bool {
        self.inner.maintenance.lock().is_some()
    }
}

/// The background maintenance thread. Holds only a weak reference to the engine, so it never
/// keeps it alive; dropping this stops the thread and joins it.
#[derive(Debug)]
struct Maintenance {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Maintenance {
    fn start(engine: Weak<Inner>) -> Maintenance {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("memora-maintenance".into())
            .spawn(move || {
                loop {
                    let period = {
                        let Some(inner) = engine.upgrade() else { return };
                        let hz = u64::from(inner.config.hz.load(Ordering::Relaxed).max(1));
                        let period = Duration::from_micros(1_000_000 / hz);
                        inner.observe_time_ms(inner.clock.coarse_now_ms());
                        inner.active_expire_cycle(period / 4);
                        period
                    };
                    let (lock, condvar) = &*signal;
                    let mut stopped = lock.lock();
                    if !*stopped {
                        condvar.wait_for(&mut stopped, period);
                    }
                    if *stopped {
                        return;
                    }
                }
            })
            .ok();
        Maintenance { stop, thread }
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        let (lock, condvar) = &*self.stop;
        *lock.lock() = true;
        condvar.notify_all();
        if let Some(thread) = self.thread.take() {
            // The thread itself may drop the last engine handle (its temporary upgrade); it
            // must not join itself. It sees the stop flag and exits.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_rounds_stripes_and_clamps() {
        let engine = Engine::builder().stripes(100).databases(0).build();
        assert_eq!(engine.inner.dbs[0].stripe_count(), 128);
        assert_eq!(engine.databases(), 1);
    }

    #[test]
    fn select_checks_range() {
        let engine = Engine::builder().databases(2).build();
        assert_eq!(engine.select(1).map(|e| e.db_index()), Ok(1));
        assert_eq!(engine.select(2).err(), Some(Error::DbIndexOutOfRange));
    }

    #[test]
    fn background_thread_stops_on_drop() {
        let engine = Engine::builder().background_maintenance(true).hz(100).build();
        assert!(engine.background_maintenance_running());
        let weak = Arc::downgrade(&engine.inner);
        drop(engine);
        // The thread holds only a weak reference, upgraded for the length of one cycle: the
        // engine is gone as soon as that cycle ends.
        let deadline = Instant::now() + Duration::from_secs(10);
        while weak.upgrade().is_some() {
            assert!(Instant::now() < deadline, "maintenance thread kept the engine alive");
            std::thread::yield_now();
        }
    }

    #[test]
    fn background_thread_can_be_stopped_and_restarted() {
        let engine = Engine::builder().hz(100).build();
        engine.start_background_maintenance();
        engine.stop_background_maintenance();
        assert!(!engine.background_maintenance_running());
        engine.start_background_maintenance();
        assert!(engine.background_maintenance_running());
    }
}
