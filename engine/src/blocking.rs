//! Blocking commands (`BLPOP` and friends): clients waiting on keys.
//!
//! A blocking command first runs its non-blocking form (its *attempt*). When that finds
//! nothing, the command registers a [`Waiter`] in a first-come-first-served queue per key it
//! names, then waits: a thread on a condition variable ([`BlockedCommand::wait`]), an async
//! task through a `Waker` (`BlockedCommand` is a `Future`).
//!
//! Every [`crate::db::WriteSet`] notes the keys it writes while any client is blocked, and
//! once its locks are released [`Blocked::serve`] runs: for each such key, the oldest waiter's
//! attempt is run **by the writer**, and its result handed over; then the next waiter, until
//! an attempt finds nothing. A waiter's state lock is held while its attempt runs and while
//! it gives up (timeout, cancellation), so each waiter is served at most once and an element
//! is never popped for a client that already left. A waiter registers before it tries once
//! more, so a push that lands between its first attempt and its registration is not missed.
//!
//! Serving is not reentrant: a write made by an attempt (`BLMOVE` pushing to its destination)
//! queues its keys, and the outer loop serves them next, so chains of blocked moves resolve
//! without recursion.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::engine::{Engine, Inner};
use crate::error::Result;
use crate::reply::Reply;

/// A key in a database.
type DbKey = (usize, Vec<u8>);

/// A blocked command's non-blocking form, given the keys it waits on: `Ok(Some(_))` when it
/// could be served.
pub(crate) type Attempt<T> = Box<dyn Fn(&Engine, &[Vec<u8>]) -> Result<Option<T>> + Send + Sync>;

/// What the serving side needs of a waiter, whatever its result type.
trait Pending: Send + Sync {
    /// Tries to serve the waiter.
    fn try_serve(&self) -> Served;
    /// The database it waits in.
    fn db(&self) -> usize;
    /// The keys it waits on.
    fn keys(&self) -> &[Vec<u8>];
}

/// Outcome of one serving attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    /// Served now, or finished before (served elsewhere, timed out, cancelled): drop it from
    /// the queues and look at the next waiter.
    Done,
    /// Nothing for it yet: it stays first in line, and the key is not ready for anyone.
    NotYet,
}

/// A waiter's mutable state, behind its lock.
struct State<T> {
    /// Served, timed out or cancelled.
    finished: bool,
    /// The result, until its owner takes it.
    result: Option<Result<T>>,
    /// The async task to wake when served.
    waker: Option<Waker>,
}

/// One blocked command. See the module docs.
pub(crate) struct Waiter<T> {
    keys: Vec<Vec<u8>>,
    /// The engine (weak: the engine owns its waiters) and database the attempt runs in.
    inner: Weak<Inner>,
    db: usize,
    attempt: Attempt<T>,
    state: Mutex<State<T>>,
    served: Condvar,
}

impl<T: Send> Pending for Waiter<T> {
    fn try_serve(&self) -> Served {
        let mut state = self.state.lock();
        if state.finished {
            return Served::Done;
        }
        let Some(inner) = self.inner.upgrade() else { return Served::Done };
        let engine = Engine { inner, db: self.db };
        match (self.attempt)(&engine, &self.keys) {
            Ok(Some(value)) => state.result = Some(Ok(value)),
            // A key of the wrong type (or any other error) keeps the client blocked, as in
            // Redis: the key is not ready for it.
            Ok(None) | Err(_) => return Served::NotYet,
        }
        state.finished = true;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        self.served.notify_all();
        Served::Done
    }

    fn db(&self) -> usize {
        self.db
    }

    fn keys(&self) -> &[Vec<u8>] {
        &self.keys
    }
}

/// The waiters of one engine, per key.
#[derive(Default)]
pub(crate) struct Blocked {
    /// Registered waiters; 0 lets every write skip the bookkeeping.
    waiting: AtomicUsize,
    queues: Mutex<HashMap<DbKey, VecDeque<Arc<dyn Pending>>>>,
}

impl std::fmt::Debug for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocked").field("waiting", &self.waiting.load(Ordering::Relaxed)).finish()
    }
}

thread_local! {
    /// Set while this thread serves waiters.
    static SERVING: Cell<bool> = const { Cell::new(false) };
    /// Keys written by attempts while serving, served next by the outer loop.
    static PENDING: RefCell<Vec<DbKey>> = const { RefCell::new(Vec::new()) };
}

impl Blocked {
    /// Is any client blocked? (One atomic load: the cost of blocking support for writes.)
    #[inline]
    pub(crate) fn any(&self) -> bool {
        // SeqCst pairs with the registration: a writer that misses a waiter registered just
        // now is seen by that waiter's second attempt (see the module docs).
        self.waiting.load(Ordering::SeqCst) > 0
    }

    /// Number of blocked clients (`INFO clients`' `blocked_clients`).
    pub(crate) fn count(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    fn register(&self, waiter: Arc<dyn Pending>) {
        let mut queues = self.queues.lock();
        let mut seen: Vec<&[u8]> = Vec::new();
        for key in waiter.keys() {
            if !seen.contains(&key.as_slice()) {
                seen.push(key);
                queues.entry((waiter.db(), key.clone())).or_default().push_back(Arc::clone(&waiter));
            }
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
    }

    /// Removes a waiter from its queues (once: later calls find nothing to remove).
    fn unregister(&self, waiter: &Arc<dyn Pending>) {
        let mut queues = self.queues.lock();
        let mut found = false;
        for key in waiter.keys() {
            let key = (waiter.db(), key.clone());
            if let Some(queue) = queues.get_mut(&key) {
                let before = queue.len();
                queue.retain(|w| !Arc::ptr_eq(w, waiter));
                found |= queue.len() != before;
                if queue.is_empty() {
                    queues.remove(&key);
                }
            }
        }
        if found {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn first(&self, key: &DbKey) -> Option<Arc<dyn Pending>> {
        self.queues.lock().get(key).and_then(|queue| queue.front().cloned())
    }

    /// Serves keys left pending on this thread (when no serving loop is running here).
    fn serve_pending(&self) {
        if SERVING.with(Cell::get) {
            return;
        }
        let pending = PENDING.with(|pending| std::mem::take(&mut *pending.borrow_mut()));
        if !pending.is_empty() {
            self.serve(pending);
        }
    }

    /// Serves the clients blocked on `ready` keys (written since the last call), oldest
    /// first. Called with no stripe lock held.
    pub(crate) fn serve(&self, ready: Vec<DbKey>) {
        if SERVING.with(Cell::get) {
            PENDING.with(|pending| pending.borrow_mut().extend(ready));
            return;
        }
        SERVING.with(|serving| serving.set(true));
        let mut work: VecDeque<DbKey> = ready.into();
        while let Some(key) = work.pop_front() {
            while let Some(waiter) = self.first(&key) {
                let served = waiter.try_serve();
                work.extend(PENDING.with(|pending| std::mem::take(&mut *pending.borrow_mut())));
                if served == Served::NotYet {
                    break;
                }
                self.unregister(&waiter);
            }
        }
        SERVING.with(|serving| serving.set(false));
    }
}

/// Runs `f` with serving deferred on this thread; returns its result and the keys its writes
/// left for serving.
pub(crate) fn deferring_service<R>(f: impl FnOnce() -> R) -> (R, Vec<DbKey>) {
    let outer = SERVING.with(|serving| serving.replace(true));
    let before = PENDING.with(|pending| pending.borrow().len());
    let result = f();
    SERVING.with(|serving| serving.set(outer));
    let written = if outer {
        // An outer serving loop collects them itself.
        Vec::new()
    } else {
        PENDING.with(|pending| pending.borrow_mut().split_off(before))
    };
    (result, written)
}

/// Blocks on `keys` until `attempt` succeeds or `deadline` passes: the typed API's waiting.
/// Returns `Ok(None)` on timeout.
pub(crate) fn block_thread<T: Send + 'static>(
    engine: &Engine,
    keys: Vec<Vec<u8>>,
    deadline: Option<Instant>,
    attempt: Attempt<T>,
) -> Result<Option<T>> {
    match start(engine, keys, attempt)? {
        Start::Ready(value) => Ok(Some(value)),
        Start::WouldBlock => Ok(None),
        Start::Waiting(handle) => handle.wait(deadline),
    }
}

/// The instant `timeout` from now (`None`: wait forever; a timeout too large to represent
/// also waits forever).
pub(crate) fn deadline_after(timeout: Option<std::time::Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// How a blocking command started.
pub(crate) enum Start<T: Send + 'static> {
    /// Served at once.
    Ready(T),
    /// Nothing to serve, and waiting is impossible: this thread runs a transaction, whose
    /// locks would keep every writer out. Answer as a timeout (Redis: a blocking command
    /// inside MULTI/EXEC does not block).
    WouldBlock,
    /// Registered and waiting.
    Waiting(Handle<T>),
}

/// Runs `attempt`; when it finds nothing, registers a waiter on `keys` and tries once more.
pub(crate) fn start<T: Send + 'static>(
    engine: &Engine,
    keys: Vec<Vec<u8>>,
    attempt: Attempt<T>,
) -> Result<Start<T>> {
    if let Some(value) = attempt(engine, &keys)? {
        return Ok(Start::Ready(value));
    }
    if crate::keyspace::held::in_transaction() {
        return Ok(Start::WouldBlock);
    }
    let db = engine.db;
    let waiter = Arc::new(Waiter {
        keys,
        inner: Arc::downgrade(&engine.inner),
        db,
        attempt,
        state: Mutex::new(State { finished: false, result: None, waker: None }),
        served: Condvar::new(),
    });
    let pending: Arc<dyn Pending> = waiter.clone();
    engine.inner.blocked.register(Arc::clone(&pending));
    let handle = Handle { waiter, pending, inner: Arc::downgrade(&engine.inner), done: false };
    // A write between the first attempt and the registration saw no waiter: try again.
    // Serving is deferred meanwhile: this waiter's lock is held, and the attempt's own write
    // must not try to serve this very waiter.
    {
        let mut state = handle.waiter.state.lock();
        // A writer may have served it between the registration and this lock.
        if let Some(result) = state.result.take() {
            state.finished = true;
            drop(state);
            let value = handle.finish_with(result?);
            return Ok(Start::Ready(value));
        }
        let waiter = &handle.waiter;
        let (attempted, written) = deferring_service(|| (waiter.attempt)(engine, &waiter.keys));
        if !written.is_empty() {
            // Serve others after this waiter is settled (below), with no lock held.
            PENDING.with(|pending| pending.borrow_mut().extend(written));
        }
        match attempted {
            Ok(Some(value)) => {
                state.finished = true;
                drop(state);
                let value = handle.finish_with(value);
                engine.inner.blocked.serve_pending();
                return Ok(Start::Ready(value));
            }
            Ok(None) => {}
            Err(err) => {
                state.finished = true;
                drop(state);
                handle.release();
                engine.inner.blocked.serve_pending();
                return Err(err);
            }
        }
    }
    engine.inner.blocked.serve_pending();
    Ok(Start::Waiting(handle))
}

/// The owner's side of a registered waiter. Dropping it gives up waiting.
pub(crate) struct Handle<T: Send + 'static> {
    waiter: Arc<Waiter<T>>,
    pending: Arc<dyn Pending>,
    inner: Weak<Inner>,
    done: bool,
}

impl<T: Send + 'static> Handle<T> {
    fn release(&self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.blocked.unregister(&self.pending);
        }
    }

    fn finish_with(mut self, value: T) -> T {
        self.release();
        self.done = true;
        value
    }

    /// The result if served; otherwise marks the waiter finished (it will not be served).
    fn take_or_give_up(&mut self) -> Option<Result<T>> {
        let mut state = self.waiter.state.lock();
        state.finished = true;
        let result = state.result.take();
        drop(state);
        self.release();
        self.done = true;
        result
    }

    /// Waits on the condition variable until served or `deadline`.
    pub(crate) fn wait(mut self, deadline: Option<Instant>) -> Result<Option<T>> {
        {
            let mut state = self.waiter.state.lock();
            while !state.finished {
                match deadline {
                    Some(deadline) => {
                        if self.waiter.served.wait_until(&mut state, deadline).timed_out() {
                            break;
                        }
                    }
                    None => self.waiter.served.wait(&mut state),
                }
            }
        }
        self.take_or_give_up().transpose()
    }

    /// Gives up waiting: the result if it was served meanwhile, else `None`.
    pub(crate) fn give_up(mut self) -> Result<Option<T>> {
        self.take_or_give_up().transpose()
    }

    fn poll_served(&mut self, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut state = self.waiter.state.lock();
        if let Some(result) = state.result.take() {
            drop(state);
            self.release();
            self.done = true;
            return Poll::Ready(result);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T: Send + 'static> Drop for Handle<T> {
    fn drop(&mut self) {
        if !self.done {
            self.waiter.state.lock().finished = true;
            self.release();
        }
    }
}

/// A command that blocked (`BLPOP` with nothing to pop): a `Future` of its reply for async
/// servers, or [`BlockedCommand::wait`] for threads.
///
/// The embedder owns the timeout: when [`BlockedCommand::deadline`] passes, call
/// [`BlockedCommand::expire`], which returns the command's timeout reply, or its real reply
/// if it was served meanwhile (never drop a served command: its element would be lost).
/// Dropping it otherwise just stops waiting.
pub struct BlockedCommand {
    handle: Handle<Reply>,
    deadline: Option<Instant>,
    timeout_reply: Reply,
}

impl std::fmt::Debug for BlockedCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockedCommand").field("deadline", &self.deadline).finish_non_exhaustive()
    }
}

impl BlockedCommand {
    pub(crate) fn new(handle: Handle<Reply>, deadline: Option<Instant>, timeout_reply: Reply) -> Self {
        BlockedCommand { handle, deadline, timeout_reply }
    }

    /// When the command times out; `None` blocks until served.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Blocks the calling thread until the command is served or times out; returns its reply.
    pub fn wait(self) -> Reply {
        let BlockedCommand { handle, deadline, timeout_reply } = self;
        match handle.wait(deadline) {
            Ok(Some(reply)) => reply,
            Ok(None) => timeout_reply,
            Err(err) => Reply::Error(err),
        }
    }

    /// Stops waiting (at the deadline, or when the client goes away): the reply it was served
    /// with if that happened first, else the timeout reply.
    pub fn expire(self) -> Reply {
        let BlockedCommand { handle, timeout_reply, .. } = self;
        match handle.give_up() {
            Ok(Some(reply)) => reply,
            Ok(None) => timeout_reply,
            Err(err) => Reply::Error(err),
        }
    }
}

impl Future for BlockedCommand {
    type Output = Reply;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let this = self.get_mut();
        this.handle.poll_served(cx).map(|result| result.unwrap_or_else(Reply::Error))
    }
}
