//! Blocking list commands: threads and async waiters served first come, first served,
//! exactly once; timeouts; cancellation.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use memora_engine::{Engine, Execution, Reply, Session};

fn bulk(text: &str) -> Reply {
    Reply::Bulk(text.as_bytes().to_vec())
}

fn pair(key: &str, element: &str) -> Reply {
    Reply::Array(vec![bulk(key), bulk(element)])
}

fn blocked(engine: &Engine) -> u64 {
    engine.stats().blocked_clients
}

/// Waits (briefly, polling) until `n` clients are blocked.
fn until_blocked(engine: &Engine, n: u64) {
    let start = Instant::now();
    while blocked(engine) != n {
        assert!(start.elapsed() < Duration::from_secs(10), "expected {n} blocked clients");
        thread::sleep(Duration::from_millis(1));
    }
}

struct ThreadWaker(thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls a future to completion on this thread.
fn run<F: Future>(mut future: Pin<&mut F>) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park_timeout(Duration::from_millis(50));
    }
}

#[test]
fn served_at_once_when_data_is_there_and_times_out_otherwise() {
    let engine = Engine::new();
    engine.rpush(b"l", &[b"a"]).expect("rpush");
    assert_eq!(
        engine.blpop(&[&b"none"[..], b"l"], Some(Duration::from_secs(1))),
        Ok(Some((b"l".to_vec(), b"a".to_vec())))
    );
    let start = Instant::now();
    assert_eq!(engine.blpop(&[b"l"], Some(Duration::from_millis(30))), Ok(None));
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(blocked(&engine), 0, "a timed-out waiter is gone");
    let mut s = Session::new(&engine);
    assert_eq!(s.execute(&["BLPOP", "l", "0.02"]), Reply::NullArray);
    assert_eq!(s.execute(&["BLMOVE", "l", "d", "LEFT", "RIGHT", "0.01"]), Reply::Null);
    assert_eq!(s.execute(&["BLMPOP", "0.01", "1", "l", "LEFT"]), Reply::NullArray);
}

#[test]
fn errors_come_back_at_once() {
    let engine = Engine::new();
    let mut s = Session::new(&engine);
    s.execute(&["SET", "str", "v"]);
    let err = |reply: Reply| match reply {
        Reply::Error(e) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(
        err(s.execute(&["BLPOP", "str", "0"])),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(err(s.execute(&["BLPOP", "l", "x"])), "ERR timeout is not a float or out of range");
    assert_eq!(err(s.execute(&["BRPOP", "l", "-1"])), "ERR timeout is negative");
    assert_eq!(err(s.execute(&["BLMOVE", "a", "b", "UP", "LEFT", "0"])), "ERR syntax error");
    assert_eq!(err(s.execute(&["BLMPOP", "0", "0", "l", "LEFT"])), "ERR numkeys should be greater than 0");
    assert_eq!(
        err(s.execute(&["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "0"])),
        "ERR count should be greater than 0"
    );
    assert_eq!(blocked(&engine), 0);
}

#[test]
fn waiters_are_served_in_arrival_order_exactly_once() {
    let engine = Engine::new();
    let mut handles = Vec::new();
    for i in 0..3u64 {
        let e = engine.clone();
        handles.push(thread::spawn(move || e.blpop(&[b"q"], Some(Duration::from_secs(20)))));
        until_blocked(&engine, i + 1);
    }
    // One push of three elements: the first waiter gets the head, and so on.
    assert_eq!(engine.rpush(b"q", &[b"a", b"b", b"c", b"d"]), Ok(4));
    let got: Vec<_> =
        handles.into_iter().map(|h| h.join().expect("thread").expect("ok").expect("served")).collect();
    let elements: Vec<&[u8]> = got.iter().map(|(_, e)| e.as_slice()).collect();
    assert_eq!(elements, [&b"a"[..], b"b", b"c"]);
    assert_eq!(engine.lrange(b"q", 0, -1), Ok(vec![b"d".to_vec()]), "the rest stays");
    assert_eq!(blocked(&engine), 0);
}

#[test]
fn a_blocked_move_feeds_the_next_waiter() {
    let engine = Engine::new();
    let mover = {
        let e = engine.clone();
        thread::spawn(move || {
            e.blmove(b"src", b"mid", memora_engine::ListEnd::Left, memora_engine::ListEnd::Right, None)
        })
    };
    until_blocked(&engine, 1);
    let popper = {
        let e = engine.clone();
        thread::spawn(move || e.brpop(&[b"mid"], None))
    };
    until_blocked(&engine, 2);
    engine.lpush(b"src", &[b"x"]).expect("lpush");
    assert_eq!(mover.join().expect("thread"), Ok(Some(b"x".to_vec())));
    assert_eq!(popper.join().expect("thread"), Ok(Some((b"mid".to_vec(), b"x".to_vec()))));
    assert_eq!(engine.exists(&[b"src", b"mid"]), 0);
}

#[test]
fn async_waiters_resolve_on_push_and_expire_cleanly() {
    let engine = Engine::new();
    let mut s = Session::new(&engine);
    let Execution::Blocked(mut waiting) = s.execute_async(&["BRPOP", "a", "b", "0"]) else {
        panic!("blocks")
    };
    assert_eq!(waiting.deadline(), None);
    assert_eq!(blocked(&engine), 1);
    let pusher = {
        let e = engine.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            e.rpush(b"b", &[b"1", b"2"]).expect("rpush")
        })
    };
    assert_eq!(run(Pin::new(&mut waiting)), pair("b", "2"));
    pusher.join().expect("thread");
    assert_eq!(blocked(&engine), 0);

    // Expired before anything arrived: the timeout reply, and the waiter is gone.
    let Execution::Blocked(waiting) = s.execute_async(&["BLPOP", "c", "5"]) else { panic!("blocks") };
    assert!(waiting.deadline().is_some());
    assert_eq!(waiting.expire(), Reply::NullArray);
    assert_eq!(blocked(&engine), 0);
    engine.rpush(b"c", &[b"kept"]).expect("rpush");
    assert_eq!(engine.llen(b"c"), Ok(1), "nobody took it");

    // Served before the embedder got to expire it: the real reply, nothing lost.
    let Execution::Blocked(waiting) = s.execute_async(&["BLPOP", "d", "5"]) else { panic!("blocks") };
    engine.rpush(b"d", &[b"v"]).expect("rpush");
    assert_eq!(waiting.expire(), pair("d", "v"));

    // Dropped (client gone): it stops waiting and takes nothing.
    let Execution::Blocked(waiting) = s.execute_async(&["BLPOP", "e", "0"]) else { panic!("blocks") };
    drop(waiting);
    assert_eq!(blocked(&engine), 0);
    engine.rpush(b"e", &[b"v"]).expect("rpush");
    assert_eq!(engine.llen(b"e"), Ok(1));
}

#[test]
fn a_key_of_another_type_keeps_the_client_blocked() {
    let engine = Engine::new();
    let mut s = Session::new(&engine);
    let Execution::Blocked(waiting) = s.execute_async(&["BLPOP", "k", "0"]) else { panic!("blocks") };
    engine.set(b"k", b"string", Default::default()).expect("set");
    assert_eq!(blocked(&engine), 1);
    engine.del(&[b"k"]);
    engine.rpush(b"k", &[b"now"]).expect("rpush");
    assert_eq!(waiting.wait(), pair("k", "now"));
}

#[test]
fn many_consumers_and_producers_lose_and_duplicate_nothing() {
    let engine = Engine::new();
    const PER_PRODUCER: usize = 2_000;
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let e = engine.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(Some((_, element))) =
                    e.blpop(&[&b"work"[..], b"other"], Some(Duration::from_millis(300)))
                {
                    got.push(element);
                }
                got
            })
        })
        .collect();
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let e = engine.clone();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    let key: &[u8] = if i % 3 == 0 { b"other" } else { b"work" };
                    e.rpush(key, &[format!("{p}:{i}")]).expect("rpush");
                }
            })
        })
        .collect();
    producers.into_iter().for_each(|h| h.join().expect("producer"));
    let mut all: Vec<Vec<u8>> = consumers.into_iter().flat_map(|h| h.join().expect("consumer")).collect();
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "no element was delivered twice");
    let left = engine.llen(b"work").expect("llen") + engine.llen(b"other").expect("llen");
    assert_eq!((total, left), (2 * PER_PRODUCER, 0), "every element was delivered");
    assert_eq!(blocked(&engine), 0);
}

#[test]
fn sorted_set_pops_block_too() {
    let engine = Engine::new();
    let waiter = {
        let e = engine.clone();
        thread::spawn(move || e.bzpopmin(&[b"z"], Some(Duration::from_secs(20))))
    };
    until_blocked(&engine, 1);
    let mut s = Session::new(&engine);
    assert_eq!(s.execute(&["ZADD", "z", "3", "c", "1", "a", "2", "b"]), Reply::Integer(3));
    assert_eq!(waiter.join().expect("thread"), Ok(Some((b"z".to_vec(), b"a".to_vec(), 1.0))));
    assert_eq!(
        s.execute(&["BZPOPMAX", "none", "z", "0"]),
        Reply::Array(vec![bulk("z"), bulk("c"), Reply::Double(3.0)])
    );
    assert_eq!(s.execute(&["BZPOPMIN", "none", "0.01"]), Reply::NullArray);
    let Execution::Blocked(waiting) = s.execute_async(&["BZMPOP", "0", "2", "x", "y", "MAX", "COUNT", "5"])
    else {
        panic!("blocks")
    };
    engine.zadd(b"y", Default::default(), &[(1.5, b"m".as_slice())]).expect("zadd");
    assert_eq!(
        waiting.wait(),
        Reply::Array(vec![bulk("y"), Reply::Array(vec![Reply::Array(vec![bulk("m"), Reply::Double(1.5)])])])
    );
    assert_eq!(blocked(&engine), 0);
}
