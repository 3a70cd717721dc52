//! Guards pub/sub: channels, patterns and shard channels, counts, PUBSUB introspection, the
//! RESP2 subscribe-state rules, the slow-subscriber policy (bounded queue, disconnect,
//! counter), and concurrent publishers and subscribers.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use memora_engine::{BufferLimit, Disconnected, Engine, ManualClock, Message, Reply, Session};

const WAIT: Duration = Duration::from_secs(10);

fn push(items: &[&str], count: i64) -> Reply {
    let mut out: Vec<Reply> = items.iter().map(Reply::bulk).collect();
    out.push(Reply::Integer(count));
    Reply::Push(out)
}

fn push_nil(kind: &str, count: i64) -> Reply {
    Reply::Push(vec![Reply::bulk(kind), Reply::Null, Reply::Integer(count)])
}

fn message(channel: &str, payload: &str) -> Reply {
    Reply::Push(vec![Reply::bulk("message"), Reply::bulk(channel), Reply::bulk(payload)])
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(Reply::bulk).collect())
}

/// Every queued frame of `session`, without waiting.
fn drain(session: &mut Session) -> Vec<Reply> {
    let mut out = Vec::new();
    while let Ok(Some(reply)) = session.try_message() {
        out.push(reply);
    }
    out
}

#[test]
fn subscribe_publish_unsubscribe_through_sessions() {
    let engine = Engine::new();
    let mut sub = Session::new(&engine);
    let mut publisher = Session::new(&engine);
    assert_eq!(sub.execute(&["SUBSCRIBE", "a", "b"]), push(&["subscribe", "a"], 1));
    assert_eq!(drain(&mut sub), vec![push(&["subscribe", "b"], 2)]);
    assert!(sub.is_subscribed());
    assert_eq!(publisher.execute(&["PUBLISH", "a", "hello"]), Reply::Integer(1));
    assert_eq!(publisher.execute(&["PUBLISH", "nobody", "x"]), Reply::Integer(0));
    assert_eq!(sub.message_timeout(WAIT), Ok(Some(message("a", "hello"))));
    // Unsubscribing from everything confirms each channel, oldest first, then leaves
    // subscribe state.
    assert_eq!(sub.execute(&["UNSUBSCRIBE"]), push(&["unsubscribe", "a"], 1));
    assert_eq!(drain(&mut sub), vec![push(&["unsubscribe", "b"], 0)]);
    assert!(!sub.is_subscribed());
    assert_eq!(sub.execute(&["UNSUBSCRIBE"]), push_nil("unsubscribe", 0));
    assert_eq!(sub.execute(&["GET", "k"]), Reply::Null, "out of subscribe state");
    assert_eq!(publisher.execute(&["PUBLISH", "a", "gone"]), Reply::Integer(0));
}

#[test]
fn patterns_and_counts_follow_redis() {
    let engine = Engine::new();
    let mut sub = Session::new(&engine);
    assert_eq!(sub.execute(&["PSUBSCRIBE", "news.*"]), push(&["psubscribe", "news.*"], 1));
    assert_eq!(sub.execute(&["SUBSCRIBE", "news.it"]), push(&["subscribe", "news.it"], 2));
    // A channel subscriber that also matches a pattern gets (and counts) both.
    assert_eq!(engine.publish(b"news.it", b"m"), 2);
    assert_eq!(sub.message_timeout(WAIT), Ok(Some(message("news.it", "m"))));
    let pmessage = Reply::Push(vec![
        Reply::bulk("pmessage"),
        Reply::bulk("news.*"),
        Reply::bulk("news.it"),
        Reply::bulk("m"),
    ]);
    assert_eq!(sub.message_timeout(WAIT), Ok(Some(pmessage)));
    assert_eq!(engine.publish(b"sport", b"m"), 0);
    assert_eq!(sub.execute(&["UNSUBSCRIBE"]), push(&["unsubscribe", "news.it"], 1));
    assert_eq!(sub.execute(&["UNSUBSCRIBE"]), push_nil("unsubscribe", 1), "the pattern still counts");
    assert_eq!(sub.execute(&["PUNSUBSCRIBE", "nope"]), push(&["punsubscribe", "nope"], 1));
    assert_eq!(sub.execute(&["PUNSUBSCRIBE"]), push(&["punsubscribe", "news.*"], 0));
    assert_eq!(sub.execute(&["PUNSUBSCRIBE"]), push_nil("punsubscribe", 0));
}

#[test]
fn shard_channels_are_their_own_namespace() {
    let engine = Engine::new();
    let mut sub = Session::new(&engine);
    assert_eq!(sub.execute(&["SSUBSCRIBE", "s1"]), push(&["ssubscribe", "s1"], 1));
    assert_eq!(sub.execute(&["SUBSCRIBE", "s1"]), push(&["subscribe", "s1"], 1), "counts apart");
    assert_eq!(engine.spublish(b"s1", b"x"), 1);
    let smessage = Reply::Push(vec![Reply::bulk("smessage"), Reply::bulk("s1"), Reply::bulk("x")]);
    assert_eq!(sub.message_timeout(WAIT), Ok(Some(smessage)));
    assert_eq!(engine.publish(b"s1", b"y"), 1);
    assert_eq!(sub.message_timeout(WAIT), Ok(Some(message("s1", "y"))));
    assert_eq!(engine.execute(&["SPUBLISH", "s1", "z"]), Reply::Integer(1), "the command form");
    let smessage = Reply::Push(vec![Reply::bulk("smessage"), Reply::bulk("s1"), Reply::bulk("z")]);
    assert_eq!(sub.message_timeout(WAIT), Ok(Some(smessage)));
    let mut other = Session::new(&engine);
    assert_eq!(other.execute(&["PUBSUB", "SHARDCHANNELS"]), bulks(&["s1"]));
    assert_eq!(other.execute(&["PUBSUB", "SHARDNUMSUB", "s1", "x"]), {
        Reply::Array(vec![Reply::bulk("s1"), Reply::Integer(1), Reply::bulk("x"), Reply::Integer(0)])
    });
    assert_eq!(sub.execute(&["SUNSUBSCRIBE"]), push(&["sunsubscribe", "s1"], 0));
    assert_eq!(sub.execute(&["SUNSUBSCRIBE"]), push_nil("sunsubscribe", 0));
    assert!(sub.is_subscribed(), "still on the plain channel");
}

#[test]
fn pubsub_introspection() {
    let engine = Engine::new();
    let mut a = Session::new(&engine);
    let mut b = Session::new(&engine);
    a.execute(&["SUBSCRIBE", "news", "sport"]);
    b.execute(&["SUBSCRIBE", "news"]);
    b.execute(&["PSUBSCRIBE", "n*", "x*"]);
    a.execute(&["PSUBSCRIBE", "n*"]);
    let mut c = Session::new(&engine);
    let Reply::Array(mut channels) = c.execute(&["PUBSUB", "CHANNELS"]) else { panic!() };
    channels.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(Reply::Array(channels), bulks(&["news", "sport"]));
    assert_eq!(c.execute(&["PUBSUB", "CHANNELS", "s*"]), bulks(&["sport"]));
    assert_eq!(
        c.execute(&["PUBSUB", "NUMSUB", "news", "sport", "none"]),
        Reply::Array(vec![
            Reply::bulk("news"),
            Reply::Integer(2),
            Reply::bulk("sport"),
            Reply::Integer(1),
            Reply::bulk("none"),
            Reply::Integer(0),
        ])
    );
    assert_eq!(c.execute(&["PUBSUB", "NUMSUB"]), Reply::Array(vec![]));
    assert_eq!(c.execute(&["PUBSUB", "NUMPAT"]), Reply::Integer(2), "distinct patterns");
    assert!(c.execute(&["PUBSUB", "NUMPAT", "x"]).is_error());
    let info = engine.info(&[b"stats", b"clients"]);
    assert!(info.contains("pubsub_channels:2\r\n"), "{info}");
    assert!(info.contains("pubsub_patterns:2\r\n"), "{info}");
    assert!(info.contains("pubsub_clients:2\r\n"), "{info}");
    drop(a);
    assert_eq!(
        c.execute(&["PUBSUB", "NUMSUB", "sport"]),
        Reply::Array(vec![Reply::bulk("sport"), Reply::Integer(0)])
    );
    assert_eq!(c.execute(&["PUBSUB", "CHANNELS"]), bulks(&["news"]), "a dropped session unsubscribes");
    assert!(engine.info(&[b"clients"]).contains("pubsub_clients:1\r\n"));
}

#[test]
fn resp2_subscribe_state_allows_only_pubsub_commands() {
    let engine = Engine::new();
    let mut s = Session::new(&engine);
    s.execute(&["SUBSCRIBE", "a"]);
    let refused = |name: &str| {
        format!(
            "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are \
             allowed in this context"
        )
    };
    let text = |reply: Reply| match reply {
        Reply::Error(err) => err.to_string(),
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(text(s.execute(&["GET", "x"])), refused("get"));
    assert_eq!(text(s.execute(&["config", "get", "hz"])), refused("config|get"));
    assert_eq!(text(s.execute(&["PUBLISH", "a", "b"])), refused("publish"));
    // Unknown commands and arity errors come first, as in Redis.
    assert!(text(s.execute(&["NOSUCH"])).starts_with("ERR unknown command"));
    assert_eq!(text(s.execute(&["GET"])), "ERR wrong number of arguments for 'get' command");
    assert_eq!(s.execute(&["PING"]), bulks(&["pong", ""]));
    assert_eq!(s.execute(&["PING", "hi"]), bulks(&["pong", "hi"]));
    assert_eq!(s.execute(&["PSUBSCRIBE", "p*"]), push(&["psubscribe", "p*"], 2));
    // RESET leaves subscribe state and drops the subscriptions.
    assert_eq!(s.execute(&["RESET"]), Reply::simple("RESET"));
    assert!(!s.is_subscribed());
    assert_eq!(s.execute(&["PING"]), Reply::simple("PONG"));
    assert_eq!(engine.publish(b"a", b"x"), 0);
    assert_eq!(s.execute(&["GET", "x"]), Reply::Null);
}

#[test]
fn client_list_shows_subscriptions_and_filters_pubsub_clients() {
    let engine = Engine::new();
    let mut sub = Session::new(&engine);
    let mut plain = Session::new(&engine);
    sub.execute(&["SUBSCRIBE", "a", "b"]);
    sub.execute(&["PSUBSCRIBE", "x*"]);
    let text = |reply: Reply| match reply {
        Reply::Verbatim { text, .. } => String::from_utf8(text).expect("utf8"),
        other => panic!("{other:?}"),
    };
    let pubsub = text(plain.execute(&["CLIENT", "LIST", "TYPE", "pubsub"]));
    assert_eq!(pubsub.lines().count(), 1, "{pubsub}");
    assert!(pubsub.contains(&format!("id={} ", sub.id())), "{pubsub}");
    assert!(pubsub.contains(" flags=P ") && pubsub.contains(" sub=2 psub=1 ssub=0 "), "{pubsub}");
    let normal = text(plain.execute(&["CLIENT", "LIST", "TYPE", "normal"]));
    assert!(
        normal.contains(&format!("id={} ", plain.id())) && !normal.contains(&format!("id={} ", sub.id()))
    );
    sub.execute(&["RESET"]);
    let pubsub = text(plain.execute(&["CLIENT", "LIST", "TYPE", "pubsub"]));
    assert_eq!(pubsub, "", "RESET left subscribe state");
}

#[test]
fn resp3_subscribe_state_allows_everything() {
    let engine = Engine::new();
    let mut s = Session::new(&engine);
    s.execute(&["HELLO", "3"]);
    s.execute(&["SUBSCRIBE", "a"]);
    assert_eq!(s.execute(&["SET", "k", "v"]), Reply::OK);
    assert_eq!(s.execute(&["PING"]), Reply::simple("PONG"));
    assert_eq!(s.execute(&["PUBLISH", "a", "self"]), Reply::Integer(1));
    assert_eq!(drain(&mut s), vec![message("a", "self")]);
}

#[test]
fn command_info_describes_the_pubsub_family() {
    let engine = Engine::new();
    let Reply::Array(info) = engine.execute(&["COMMAND", "INFO", "subscribe", "publish", "ssubscribe"])
    else {
        panic!()
    };
    let flags = |i: usize| match &info[i] {
        Reply::Array(fields) => (fields[1].clone(), fields[2].clone(), fields[3].clone()),
        other => panic!("{other:?}"),
    };
    let set =
        |names: &[&str]| Reply::Set(names.iter().map(|n| Reply::Simple(n.to_string().into())).collect());
    assert_eq!(
        flags(0),
        (Reply::Integer(-2), set(&["pubsub", "noscript", "loading", "stale"]), Reply::Integer(0))
    );
    assert_eq!(
        flags(1),
        (Reply::Integer(3), set(&["pubsub", "loading", "stale", "fast"]), Reply::Integer(0))
    );
    assert_eq!(flags(2).2, Reply::Integer(1), "SSUBSCRIBE names shard channels in key positions");
}

#[test]
fn a_slow_subscriber_is_disconnected_at_the_hard_limit() {
    let limit = BufferLimit { hard_bytes: 64 * 1024, soft_bytes: 0, soft_secs: 0 };
    let engine = Engine::builder().pubsub_buffer_limit(limit).build();
    let mut slow = engine.subscriber();
    let mut fast = engine.subscriber();
    slow.subscribe(&["c"]);
    fast.subscribe(&["c"]);
    let payload = vec![b'x'; 1000];
    let mut published = 0;
    // Never blocks: publishing goes on whatever the slow subscriber does.
    for _ in 0..1000 {
        assert_eq!(engine.publish(b"c", &payload), 2, "both receivers count until dropped");
        published += 1;
        while let Ok(Some(_)) = fast.try_recv() {}
        if slow.is_disconnected() {
            break;
        }
    }
    assert!(slow.is_disconnected(), "the slow subscriber went past 64 KiB");
    assert!(published < 100, "disconnected at the limit, after {published} messages");
    assert!(!fast.is_disconnected());
    assert_eq!(slow.try_recv(), Err(Disconnected), "queued messages are dropped, the owner is told");
    assert_eq!(slow.recv_timeout(Duration::from_millis(1)), Err(Disconnected));
    assert!(engine.info(&[b"stats"]).contains("client_output_buffer_limit_disconnections:1\r\n"));
    // Seeing the disconnection dropped its registrations.
    assert_eq!(engine.pubsub_numsub(b"c"), 1);
    assert_eq!(engine.publish(b"c", b"after"), 1);
}

#[test]
fn a_subscriber_above_the_soft_limit_for_too_long_is_disconnected() {
    let clock = ManualClock::new(1_000_000);
    let limit = BufferLimit { hard_bytes: 0, soft_bytes: 4096, soft_secs: 60 };
    let engine = Engine::builder().clock(clock.clone()).pubsub_buffer_limit(limit).build();
    let mut sub = engine.subscriber();
    sub.subscribe(&["c"]);
    let payload = vec![b'x'; 1024];
    for _ in 0..8 {
        engine.publish(b"c", &payload);
    }
    assert!(!sub.is_disconnected(), "above the soft limit, but not for long");
    clock.advance(Duration::from_secs(30));
    engine.publish(b"c", &payload);
    assert!(!sub.is_disconnected());
    clock.advance(Duration::from_secs(31));
    engine.publish(b"c", &payload);
    assert!(sub.is_disconnected(), "above the soft limit for over 60 s");
}

#[test]
fn a_session_over_the_limit_reports_the_disconnection() {
    let limit = BufferLimit { hard_bytes: 4096, soft_bytes: 0, soft_secs: 0 };
    let engine = Engine::builder().pubsub_buffer_limit(limit).build();
    let mut s = Session::new(&engine);
    s.execute(&["SUBSCRIBE", "c"]);
    for _ in 0..10 {
        engine.publish(b"c", [b'y'; 1000]);
    }
    assert_eq!(s.try_message(), Err(Disconnected));
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn the_receive_future_is_woken_by_a_publish() {
    let engine = Engine::new();
    let mut sub = engine.subscriber();
    sub.subscribe(&["c"]);
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    {
        let mut recv = pin!(sub.recv());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        assert_eq!(engine.publish(b"c", b"hi"), 1);
        assert!(flag.0.load(Ordering::SeqCst), "the publish woke the task");
        match recv.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(Message::Message { payload, .. })) => assert_eq!(&*payload, b"hi"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn concurrent_publishers_and_subscribers_see_every_message_once_in_order() {
    const PUBLISHERS: usize = 3;
    const SUBSCRIBERS: usize = 3;
    const MESSAGES: usize = 2000;
    let engine = Engine::new();
    let mut subscribers: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| {
            let mut s = engine.subscriber();
            s.subscribe(&["stress"]);
            s.psubscribe(&["str*"]);
            s
        })
        .collect();
    std::thread::scope(|scope| {
        for p in 0..PUBLISHERS {
            let engine = engine.clone();
            scope.spawn(move || {
                for i in 0..MESSAGES {
                    let payload = format!("{p}:{i}");
                    assert_eq!(engine.publish(b"stress", payload.as_bytes()), 2 * SUBSCRIBERS);
                }
            });
        }
        for sub in &mut subscribers {
            scope.spawn(move || {
                // Per publisher, the next index expected on the channel and on the pattern.
                let mut next = [[0usize; 2]; PUBLISHERS];
                for _ in 0..2 * PUBLISHERS * MESSAGES {
                    let message = sub.recv_timeout(WAIT).expect("connected").expect("in time");
                    let (kind, payload) = match message {
                        Message::Message { payload, .. } => (0, payload),
                        Message::PMessage { payload, .. } => (1, payload),
                        other => panic!("{other:?}"),
                    };
                    let text = std::str::from_utf8(&payload).expect("utf8");
                    let (p, i) = text.split_once(':').expect("p:i");
                    let (p, i): (usize, usize) = (p.parse().expect("p"), i.parse().expect("i"));
                    assert_eq!(next[p][kind], i, "publisher {p}'s messages in order, none twice");
                    next[p][kind] += 1;
                }
                assert_eq!(sub.try_recv(), Ok(None), "nothing extra");
            });
        }
    });
}
