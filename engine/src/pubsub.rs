//! Pub/sub: channels, patterns and shard channels, and the bounded queues that carry messages
//! to subscribers.
//!
//! # Registry
//!
//! [`PubSub`] (one per engine) maps each channel, each pattern and each shard channel to the
//! queues of its subscribers, each map behind its own `RwLock`. `PUBLISH` takes the channel
//! map's read lock and, when any pattern is subscribed (one relaxed load tells), the pattern
//! map's read lock, and pushes into each receiver's queue; it never touches a keyspace lock,
//! never waits for a subscriber and allocates the channel and payload once (`Arc<[u8]>`),
//! shared by every receiver. Subscribing takes the write lock of one map.
//!
//! # Slow subscribers
//!
//! Each subscriber's queue is bounded in bytes (a message costs its channel, pattern and
//! payload lengths plus [`MESSAGE_OVERHEAD_BYTES`]), with Redis's `client-output-buffer-limit
//! pubsub` policy, default `32mb 8mb 60`: a push that would take the queue past the **hard**
//! limit, or a queue that stayed above the **soft** limit for longer than the soft seconds,
//! disconnects the subscriber. Disconnecting drops its queued messages, marks it disconnected
//! (every receive then answers [`Disconnected`], and a waiting thread or task is woken),
//! counts in `client_output_buffer_limit_disconnections` (`INFO stats`), and stops further
//! deliveries; the subscriber's registrations go when it is dropped or sees the disconnection.
//! A publisher therefore never blocks and memory never grows past the limits, whatever a
//! subscriber's pace. The soft limit's clock is the engine's (injectable) clock.
//!
//! # Receiving
//!
//! [`Subscriber`] is the typed API: subscribe and unsubscribe methods, and a receiving side
//! for threads ([`Subscriber::recv_timeout`], [`Subscriber::try_recv`]) and for async code
//! ([`Subscriber::recv`], a `Future`, or [`Subscriber::poll_recv`]): a push wakes the
//! condition variable and the registered `Waker`.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use crate::clock::Clock;
use crate::engine::Engine;
use crate::glob::glob_match;
use crate::reply::Reply;

/// Bytes counted for each queued message on top of its channel, pattern and payload.
pub const MESSAGE_OVERHEAD_BYTES: usize = 64;

/// Shared, immutable bytes (a channel name or a payload), allocated once per publish.
pub type Bytes = Arc<[u8]>;

/// A message delivered to a subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Published to a channel the subscriber subscribed to (`message`).
    Message {
        /// The channel.
        channel: Bytes,
        /// What was published.
        payload: Bytes,
    },
    /// Published to a channel matching a subscribed pattern (`pmessage`).
    PMessage {
        /// The subscribed pattern that matched.
        pattern: Bytes,
        /// The channel.
        channel: Bytes,
        /// What was published.
        payload: Bytes,
    },
    /// Published with `SPUBLISH` to a subscribed shard channel (`smessage`).
    SMessage {
        /// The shard channel.
        channel: Bytes,
        /// What was published.
        payload: Bytes,
    },
}

impl Message {
    /// The message as Redis sends it: a push of `message`/`pmessage`/`smessage`, then the
    /// pattern (pmessage only), the channel and the payload.
    pub fn to_reply(&self) -> Reply {
        match self {
            Message::Message { channel, payload } => {
                Reply::Push(vec![Reply::bulk("message"), Reply::bulk(channel), Reply::bulk(payload)])
            }
            Message::PMessage { pattern, channel, payload } => Reply::Push(vec![
                Reply::bulk("pmessage"),
                Reply::bulk(pattern),
                Reply::bulk(channel),
                Reply::bulk(payload),
            ]),
            Message::SMessage { channel, payload } => {
                Reply::Push(vec![Reply::bulk("smessage"), Reply::bulk(channel), Reply::bulk(payload)])
            }
        }
    }

    /// Bytes this message counts against its subscriber's limits.
    fn cost_bytes(&self) -> usize {
        MESSAGE_OVERHEAD_BYTES
            + match self {
                Message::Message { channel, payload } | Message::SMessage { channel, payload } => {
                    channel.len() + payload.len()
                }
                Message::PMessage { pattern, channel, payload } => {
                    pattern.len() + channel.len() + payload.len()
                }
            }
    }
}

/// The subscriber went past its output buffer limit and was disconnected: its queued messages
/// were dropped and it receives nothing more. Make a new subscriber to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the subscriber exceeded its output buffer limit and was disconnected")]
pub struct Disconnected;

/// Redis's `client-output-buffer-limit` for the pubsub class: hard bytes, soft bytes and
/// soft seconds; 0 disables a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimit {
    /// A queue this large disconnects its subscriber at once.
    pub hard_bytes: u64,
    /// A queue above this for longer than `soft_secs` disconnects its subscriber.
    pub soft_bytes: u64,
    /// How long a queue may stay above `soft_bytes`.
    pub soft_secs: u64,
}

impl BufferLimit {
    /// Redis's default: `pubsub 32mb 8mb 60`.
    pub const DEFAULT: BufferLimit =
        BufferLimit { hard_bytes: 32 * 1024 * 1024, soft_bytes: 8 * 1024 * 1024, soft_secs: 60 };
}

/// What a queue holds: messages, and (for sessions) confirmations written after a reply.
#[derive(Debug)]
pub(crate) enum Item {
    Message(Message),
    Reply(Reply),
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Item>,
    bytes: usize,
    /// When the queue went above the soft limit (engine clock, ms), while it stays above.
    over_soft_since_ms: Option<u64>,
    disconnected: bool,
    waker: Option<Waker>,
}

/// One subscriber's queue, shared by the registry (the pushing side) and its owner.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    queue: Mutex<Queue>,
    arrived: Condvar,
}

impl Mailbox {
    /// Queues `message` unless that breaks a limit, in which case the subscriber is
    /// disconnected. Returns whether the subscriber is (still) connected.
    fn deliver(&self, message: Message, hub: &PubSub, limit: BufferLimit) -> bool {
        let cost = message.cost_bytes();
        let mut queue = self.queue.lock();
        if queue.disconnected {
            return false;
        }
        let bytes = queue.bytes + cost;
        let over_hard = limit.hard_bytes > 0 && bytes as u64 > limit.hard_bytes;
        let over_soft = limit.soft_bytes > 0 && bytes as u64 > limit.soft_bytes;
        let soft_expired = if over_soft {
            let now_ms = hub.clock.now_ms();
            let since = *queue.over_soft_since_ms.get_or_insert(now_ms);
            now_ms.saturating_sub(since) > limit.soft_secs.saturating_mul(1000)
        } else {
            queue.over_soft_since_ms = None;
            false
        };
        if over_hard || soft_expired {
            queue.disconnected = true;
            queue.items.clear();
            queue.bytes = 0;
            hub.disconnections.fetch_add(1, Ordering::Relaxed);
        } else {
            queue.items.push_back(Item::Message(message));
            queue.bytes = bytes;
        }
        let waker = queue.waker.take();
        drop(queue);
        self.arrived.notify_one();
        if let Some(waker) = waker {
            waker.wake();
        }
        !(over_hard || soft_expired)
    }

    /// Puts session confirmations first in line (they follow the command's reply).
    pub(crate) fn push_front_replies(&self, replies: Vec<Reply>) {
        let mut queue = self.queue.lock();
        for reply in replies.into_iter().rev() {
            queue.items.push_front(Item::Reply(reply));
        }
    }

    fn pop(&self, queue: &mut Queue) -> Option<Result<Item, Disconnected>> {
        if queue.disconnected {
            return Some(Err(Disconnected));
        }
        let item = queue.items.pop_front()?;
        if let Item::Message(message) = &item {
            queue.bytes = queue.bytes.saturating_sub(message.cost_bytes());
        }
        Some(Ok(item))
    }

    pub(crate) fn try_pop(&self) -> Option<Result<Item, Disconnected>> {
        let mut queue = self.queue.lock();
        self.pop(&mut queue)
    }

    pub(crate) fn pop_until(&self, deadline: Option<Instant>) -> Option<Result<Item, Disconnected>> {
        let mut queue = self.queue.lock();
        loop {
            if let Some(item) = self.pop(&mut queue) {
                return Some(item);
            }
            match deadline {
                Some(deadline) => {
                    if self.arrived.wait_until(&mut queue, deadline).timed_out() {
                        return self.pop(&mut queue);
                    }
                }
                None => self.arrived.wait(&mut queue),
            }
        }
    }

    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Result<Item, Disconnected>> {
        let mut queue = self.queue.lock();
        match self.pop(&mut queue) {
            Some(item) => Poll::Ready(item),
            None => {
                match &queue.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => queue.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    pub(crate) fn is_disconnected(&self) -> bool {
        self.queue.lock().disconnected
    }

    /// Messages and confirmations waiting.
    pub(crate) fn len(&self) -> usize {
        self.queue.lock().items.len()
    }
}

/// The three namespaces of subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    /// `SUBSCRIBE` channels.
    Channel,
    /// `PSUBSCRIBE` patterns.
    Pattern,
    /// `SSUBSCRIBE` shard channels.
    Shard,
}

type Map = HashMap<Bytes, Vec<Arc<Mailbox>>, ahash::RandomState>;

/// The engine's pub/sub registry. See the module docs.
#[derive(Debug)]
pub(crate) struct PubSub {
    channels: RwLock<Map>,
    patterns: RwLock<Map>,
    shards: RwLock<Map>,
    /// Pattern subscriptions in force (PUBLISH skips the pattern map when 0).
    pattern_subscriptions: AtomicUsize,
    /// Subscribers with at least one subscription (`pubsub_clients`).
    pub(crate) subscribed_clients: AtomicUsize,
    /// Subscribers disconnected for going past a limit.
    pub(crate) disconnections: AtomicU64,
    hard_bytes: AtomicU64,
    soft_bytes: AtomicU64,
    soft_secs: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl PubSub {
    pub(crate) fn new(clock: Arc<dyn Clock>, limit: BufferLimit) -> PubSub {
        PubSub {
            channels: RwLock::default(),
            patterns: RwLock::default(),
            shards: RwLock::default(),
            pattern_subscriptions: AtomicUsize::new(0),
            subscribed_clients: AtomicUsize::new(0),
            disconnections: AtomicU64::new(0),
            hard_bytes: AtomicU64::new(limit.hard_bytes),
            soft_bytes: AtomicU64::new(limit.soft_bytes),
            soft_secs: AtomicU64::new(limit.soft_secs),
            clock,
        }
    }

    /// The limits in force.
    pub(crate) fn limit(&self) -> BufferLimit {
        BufferLimit {
            hard_bytes: self.hard_bytes.load(Ordering::Relaxed),
            soft_bytes: self.soft_bytes.load(Ordering::Relaxed),
            soft_secs: self.soft_secs.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn set_limit(&self, limit: BufferLimit) {
        self.hard_bytes.store(limit.hard_bytes, Ordering::Relaxed);
        self.soft_bytes.store(limit.soft_bytes, Ordering::Relaxed);
        self.soft_secs.store(limit.soft_secs, Ordering::Relaxed);
    }

    fn map(&self, space: Space) -> &RwLock<Map> {
        match space {
            Space::Channel => &self.channels,
            Space::Pattern => &self.patterns,
            Space::Shard => &self.shards,
        }
    }

    fn add(&self, space: Space, name: &Bytes, mailbox: &Arc<Mailbox>) {
        self.map(space).write().entry(Arc::clone(name)).or_default().push(Arc::clone(mailbox));
        if space == Space::Pattern {
            self.pattern_subscriptions.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn remove(&self, space: Space, name: &[u8], mailbox: &Arc<Mailbox>) {
        let mut map = self.map(space).write();
        let Some(list) = map.get_mut(name) else { return };
        let before = list.len();
        list.retain(|m| !Arc::ptr_eq(m, mailbox));
        let removed = before - list.len();
        if list.is_empty() {
            map.remove(name);
        }
        if space == Space::Pattern {
            self.pattern_subscriptions.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// `PUBLISH`: delivers to the channel's subscribers and the matching patterns'; returns
    /// how many subscriptions it reached (a subscriber disconnected by this very message is
    /// counted, as Redis counts a client it then closes).
    pub(crate) fn publish(&self, channel: &[u8], payload: &[u8]) -> usize {
        let mut shared: Option<(Bytes, Bytes)> = None;
        let mut bytes = || shared.get_or_insert_with(|| (Bytes::from(channel), Bytes::from(payload))).clone();
        let mut receivers = 0;
        let limit = self.limit();
        if let Some(list) = self.channels.read().get(channel) {
            let (channel, payload) = bytes();
            for mailbox in list {
                let message =
                    Message::Message { channel: Arc::clone(&channel), payload: Arc::clone(&payload) };
                mailbox.deliver(message, self, limit);
                receivers += 1;
            }
        }
        if self.pattern_subscriptions.load(Ordering::Relaxed) > 0 {
            for (pattern, list) in self.patterns.read().iter() {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let (channel, payload) = bytes();
                for mailbox in list {
                    let message = Message::PMessage {
                        pattern: Arc::clone(pattern),
                        channel: Arc::clone(&channel),
                        payload: Arc::clone(&payload),
                    };
                    mailbox.deliver(message, self, limit);
                    receivers += 1;
                }
            }
        }
        receivers
    }

    /// `SPUBLISH`: delivers to the shard channel's subscribers.
    pub(crate) fn spublish(&self, channel: &[u8], payload: &[u8]) -> usize {
        let map = self.shards.read();
        let Some(list) = map.get(channel) else { return 0 };
        let (channel, payload) = (Bytes::from(channel), Bytes::from(payload));
        let limit = self.limit();
        for mailbox in list {
            let message = Message::SMessage { channel: Arc::clone(&channel), payload: Arc::clone(&payload) };
            mailbox.deliver(message, self, limit);
        }
        list.len()
    }

    /// Active channels (or shard channels) matching `pattern` (all when `None`).
    pub(crate) fn active(&self, space: Space, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.map(space)
            .read()
            .keys()
            .filter(|name| pattern.is_none_or(|p| glob_match(p, name, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one channel (or shard channel).
    pub(crate) fn subscriber_count(&self, space: Space, name: &[u8]) -> usize {
        self.map(space).read().get(name).map_or(0, Vec::len)
    }

    /// Distinct names subscribed in `space` (`pubsub_channels`, `PUBSUB NUMPAT`, ...).
    pub(crate) fn names(&self, space: Space) -> usize {
        self.map(space).read().len()
    }
}

/// Subscriptions of one subscriber in one namespace, each with its sequence number so that
/// they can be listed in the order they were made (`UNSUBSCRIBE` with no argument).
#[derive(Debug, Default)]
struct Names {
    map: HashMap<Bytes, u64, ahash::RandomState>,
    next: u64,
}

impl Names {
    fn contains(&self, name: &[u8]) -> bool {
        self.map.contains_key(name)
    }

    fn insert(&mut self, name: Bytes) {
        self.map.insert(name, self.next);
        self.next += 1;
    }

    fn remove(&mut self, name: &[u8]) -> bool {
        self.map.remove(name).is_some()
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    /// The names, oldest first.
    fn list(&self) -> Vec<Bytes> {
        let mut names: Vec<(&Bytes, &u64)> = self.map.iter().collect();
        names.sort_unstable_by_key(|(_, seq)| **seq);
        names.into_iter().map(|(name, _)| Arc::clone(name)).collect()
    }
}

/// A subscriber: its subscriptions and its bounded message queue. See the module docs.
///
/// ```
/// use std::time::Duration;
/// use memora_engine::{Engine, Message};
///
/// let engine = Engine::new();
/// let mut subscriber = engine.subscriber();
/// assert_eq!(subscriber.subscribe(&["news"]), 1);
/// assert_eq!(engine.publish(b"news", b"hello"), 1);
/// match subscriber.recv_timeout(Duration::from_secs(1)) {
///     Ok(Some(Message::Message { channel, payload })) => {
///         assert_eq!((&*channel, &*payload), (&b"news"[..], &b"hello"[..]));
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct Subscriber {
    hub: Arc<PubSub>,
    pub(crate) mailbox: Arc<Mailbox>,
    channels: Names,
    patterns: Names,
    shards: Names,
}

impl Subscriber {
    pub(crate) fn new(hub: &Arc<PubSub>) -> Subscriber {
        Subscriber {
            hub: Arc::clone(hub),
            mailbox: Arc::default(),
            channels: Names::default(),
            patterns: Names::default(),
            shards: Names::default(),
        }
    }

    fn names(&mut self, space: Space) -> &mut Names {
        match space {
            Space::Channel => &mut self.channels,
            Space::Pattern => &mut self.patterns,
            Space::Shard => &mut self.shards,
        }
    }

    /// Channels plus patterns subscribed (the count `SUBSCRIBE` and `PSUBSCRIBE` report).
    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Shard channels subscribed (the count `SSUBSCRIBE` reports).
    pub fn shard_subscription_count(&self) -> usize {
        self.shards.len()
    }

    fn total(&self) -> usize {
        self.subscription_count() + self.shard_subscription_count()
    }

    /// Names subscribed in `space` alone.
    pub(crate) fn count_in(&self, space: Space) -> usize {
        match space {
            Space::Channel => self.channels.len(),
            Space::Pattern => self.patterns.len(),
            Space::Shard => self.shards.len(),
        }
    }

    /// The count a confirmation in `space` reports.
    pub(crate) fn count_for(&self, space: Space) -> usize {
        match space {
            Space::Shard => self.shard_subscription_count(),
            _ => self.subscription_count(),
        }
    }

    /// Subscribes to one name; returns whether it was new.
    pub(crate) fn add(&mut self, space: Space, name: &[u8]) -> bool {
        if self.names(space).contains(name) {
            return false;
        }
        let was_subscribed = self.total() > 0;
        let name: Bytes = Bytes::from(name);
        self.names(space).insert(Arc::clone(&name));
        if !self.mailbox.is_disconnected() {
            self.hub.add(space, &name, &self.mailbox);
        }
        if !was_subscribed {
            self.hub.subscribed_clients.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Unsubscribes from one name; returns whether it was subscribed.
    pub(crate) fn drop_name(&mut self, space: Space, name: &[u8]) -> bool {
        if !self.names(space).remove(name) {
            return false;
        }
        self.hub.remove(space, name, &self.mailbox);
        if self.total() == 0 {
            self.hub.subscribed_clients.fetch_sub(1, Ordering::Relaxed);
        }
        true
    }

    /// The names subscribed in `space`, oldest first.
    pub(crate) fn list(&self, space: Space) -> Vec<Bytes> {
        match space {
            Space::Channel => self.channels.list(),
            Space::Pattern => self.patterns.list(),
            Space::Shard => self.shards.list(),
        }
    }

    fn apply<A: AsRef<[u8]>>(&mut self, space: Space, names: &[A], subscribe: bool) -> usize {
        let all: Vec<Bytes>;
        let names: Vec<&[u8]> = if !subscribe && names.is_empty() {
            all = self.list(space);
            all.iter().map(|n| &n[..]).collect()
        } else {
            names.iter().map(AsRef::as_ref).collect()
        };
        for name in names {
            if subscribe {
                self.add(space, name);
            } else {
                self.drop_name(space, name);
            }
        }
        self.count_for(space)
    }

    /// `SUBSCRIBE`: returns the channels plus patterns now subscribed.
    pub fn subscribe<A: AsRef<[u8]>>(&mut self, channels: &[A]) -> usize {
        self.apply(Space::Channel, channels, true)
    }

    /// `UNSUBSCRIBE` (every channel when `channels` is empty): returns the channels plus
    /// patterns still subscribed.
    pub fn unsubscribe<A: AsRef<[u8]>>(&mut self, channels: &[A]) -> usize {
        self.apply(Space::Channel, channels, false)
    }

    /// `PSUBSCRIBE` (glob-style patterns): returns the channels plus patterns now subscribed.
    pub fn psubscribe<A: AsRef<[u8]>>(&mut self, patterns: &[A]) -> usize {
        self.apply(Space::Pattern, patterns, true)
    }

    /// `PUNSUBSCRIBE` (every pattern when `patterns` is empty).
    pub fn punsubscribe<A: AsRef<[u8]>>(&mut self, patterns: &[A]) -> usize {
        self.apply(Space::Pattern, patterns, false)
    }

    /// `SSUBSCRIBE`: returns the shard channels now subscribed.
    pub fn ssubscribe<A: AsRef<[u8]>>(&mut self, channels: &[A]) -> usize {
        self.apply(Space::Shard, channels, true)
    }

    /// `SUNSUBSCRIBE` (every shard channel when `channels` is empty).
    pub fn sunsubscribe<A: AsRef<[u8]>>(&mut self, channels: &[A]) -> usize {
        self.apply(Space::Shard, channels, false)
    }

    /// Was this subscriber disconnected for going past its output buffer limit?
    pub fn is_disconnected(&self) -> bool {
        self.mailbox.is_disconnected()
    }

    /// Messages waiting.
    pub fn pending(&self) -> usize {
        self.mailbox.len()
    }

    /// Drops every registration, keeping the local lists (after a disconnection).
    fn forget_registrations(&mut self) {
        for space in [Space::Channel, Space::Pattern, Space::Shard] {
            for name in self.list(space) {
                self.hub.remove(space, &name, &self.mailbox);
            }
        }
    }

    fn message_of(
        &mut self,
        item: Option<Result<Item, Disconnected>>,
    ) -> Result<Option<Message>, Disconnected> {
        match item {
            None => Ok(None),
            Some(Ok(Item::Message(message))) => Ok(Some(message)),
            // A typed subscriber never queues replies; skip one if it is there.
            Some(Ok(Item::Reply(_))) => Ok(None),
            Some(Err(Disconnected)) => {
                self.forget_registrations();
                Err(Disconnected)
            }
        }
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Result<Option<Message>, Disconnected> {
        let item = self.mailbox.try_pop();
        self.message_of(item)
    }

    /// Waits up to `timeout` for the next message (`Ok(None)` on timeout).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Message>, Disconnected> {
        let item = self.mailbox.pop_until(Instant::now().checked_add(timeout));
        self.message_of(item)
    }

    /// Polls for the next message, registering `cx`'s waker when there is none.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message, Disconnected>> {
        loop {
            return match self.mailbox.poll_pop(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(Item::Reply(_))) => continue,
                Poll::Ready(Ok(Item::Message(message))) => Poll::Ready(Ok(message)),
                Poll::Ready(Err(Disconnected)) => {
                    self.forget_registrations();
                    Poll::Ready(Err(Disconnected))
                }
            };
        }
    }

    /// The next message, as a future (for async code; no runtime needed).
    pub fn recv(&mut self) -> Recv<'_> {
        Recv { subscriber: self }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let subscribed = self.total() > 0;
        self.forget_registrations();
        if subscribed {
            self.hub.subscribed_clients.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The future [`Subscriber::recv`] returns.
#[derive(Debug)]
pub struct Recv<'a> {
    subscriber: &'a mut Subscriber,
}

impl Future for Recv<'_> {
    type Output = Result<Message, Disconnected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().subscriber.poll_recv(cx)
    }
}

impl Engine {
    /// A new subscriber with no subscriptions (see [`Subscriber`]).
    pub fn subscriber(&self) -> Subscriber {
        Subscriber::new(&self.inner.pubsub)
    }

    /// `PUBLISH`: sends `payload` to `channel`'s subscribers and the subscribers of matching
    /// patterns; returns how many received it. Never blocks on a subscriber and holds no
    /// keyspace lock.
    pub fn publish(&self, channel: impl AsRef<[u8]>, payload: impl AsRef<[u8]>) -> usize {
        self.inner.pubsub.publish(channel.as_ref(), payload.as_ref())
    }

    /// `SPUBLISH`: sends `payload` to the shard channel's subscribers.
    pub fn spublish(&self, channel: impl AsRef<[u8]>, payload: impl AsRef<[u8]>) -> usize {
        self.inner.pubsub.spublish(channel.as_ref(), payload.as_ref())
    }

    /// `PUBSUB CHANNELS [pattern]`: channels with at least one subscriber.
    pub fn pubsub_channels(&self, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.inner.pubsub.active(Space::Channel, pattern).iter().map(|c| c.to_vec()).collect()
    }

    /// `PUBSUB SHARDCHANNELS [pattern]`: shard channels with at least one subscriber.
    pub fn pubsub_shard_channels(&self, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.inner.pubsub.active(Space::Shard, pattern).iter().map(|c| c.to_vec()).collect()
    }

    /// `PUBSUB NUMSUB`: subscribers of `channel`.
    pub fn pubsub_numsub(&self, channel: impl AsRef<[u8]>) -> usize {
        self.inner.pubsub.subscriber_count(Space::Channel, channel.as_ref())
    }

    /// `PUBSUB SHARDNUMSUB`: subscribers of the shard channel.
    pub fn pubsub_shard_numsub(&self, channel: impl AsRef<[u8]>) -> usize {
        self.inner.pubsub.subscriber_count(Space::Shard, channel.as_ref())
    }

    /// `PUBSUB NUMPAT`: distinct patterns subscribed.
    pub fn pubsub_numpat(&self) -> usize {
        self.inner.pubsub.names(Space::Pattern)
    }

    /// The pub/sub output buffer limit in force (Redis's `client-output-buffer-limit pubsub`).
    pub fn pubsub_buffer_limit(&self) -> BufferLimit {
        self.inner.pubsub.limit()
    }

    /// Sets the pub/sub output buffer limit; applies to the next message of every subscriber.
    pub fn set_pubsub_buffer_limit(&self, limit: BufferLimit) {
        self.inner.pubsub.set_limit(limit);
    }
}

/// A session's side of pub/sub: subscribe state and its message queue. Messages and the
/// extra confirmations of a multi-channel (P|S)(UN)SUBSCRIBE come out as `Reply::Push`
/// frames, in order; a server writes them after each command's reply and whenever they
/// arrive.
impl crate::session::Session {
    /// In subscribe state (subscribed to at least one channel, pattern or shard channel)?
    /// In RESP2 only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET run then.
    pub fn is_subscribed(&self) -> bool {
        self.pubsub.as_ref().is_some_and(|p| p.total() > 0)
    }

    /// Has this session ever subscribed (so messages or confirmations may be queued)? Stays
    /// true after unsubscribing everything, until `RESET`.
    pub fn has_message_queue(&self) -> bool {
        self.pubsub.is_some()
    }

    /// The next queued message or confirmation, if any.
    pub fn try_message(&mut self) -> Result<Option<Reply>, Disconnected> {
        let Some(subscriber) = &self.pubsub else { return Ok(None) };
        let item = subscriber.mailbox.try_pop();
        Ok(item.transpose()?.map(reply_of))
    }

    /// Waits up to `timeout` for the next queued message or confirmation.
    pub fn message_timeout(&mut self, timeout: Duration) -> Result<Option<Reply>, Disconnected> {
        let Some(subscriber) = &self.pubsub else { return Ok(None) };
        let item = subscriber.mailbox.pop_until(Instant::now().checked_add(timeout));
        Ok(item.transpose()?.map(reply_of))
    }

    /// Polls for the next queued message or confirmation; never ready while the session has
    /// no message queue. `Err(Disconnected)`: the subscriber went past its output buffer
    /// limit and the connection should be closed, as Redis does.
    pub fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Result<Reply, Disconnected>> {
        match &self.pubsub {
            None => Poll::Pending,
            Some(subscriber) => subscriber.mailbox.poll_pop(cx).map(|item| item.map(reply_of)),
        }
    }

    /// Leaves subscribe state, dropping every subscription and queued message (`RESET`).
    pub(crate) fn reset_pubsub(&mut self) {
        self.pubsub = None;
        if let Some(client) = &self.client {
            for count in &client.subscriptions {
                count.store(0, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

fn reply_of(item: Item) -> Reply {
    match item {
        Item::Message(message) => message.to_reply(),
        Item::Reply(reply) => reply,
    }
}
