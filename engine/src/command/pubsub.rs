//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB.
//!
//! # Several confirmations from one command
//!
//! Redis answers `SUBSCRIBE a b c` with one confirmation per channel (`["subscribe", "a", 1]`,
//! ...). Here the command's reply is the **first** confirmation; the others are put at the
//! head of the session's message queue, ahead of any message, so a server that writes the
//! session's queued messages after each reply (see `Session::try_message`) sends exactly
//! Redis's sequence. Confirmations are `Reply::Push` (RESP3 `>`, RESP2 arrays), as Redis.

use super::table::{ALLKEYS, CT, CommandSpec, F, KEY1, LD, NOKEYS, NS, ST, cmd};
use std::sync::atomic::Ordering;

use crate::command::table::CommandFlags;
use crate::error::Error;
use crate::pubsub::{Space, Subscriber};
use crate::reply::Reply;
use crate::session::{Protocol, Session};

const PS: CommandFlags = CommandFlags::PUBSUB;
/// (P|S)SUBSCRIBE and their UNSUBSCRIBE forms.
const SUB: CommandFlags = PS.union(NS).union(LD).union(ST);
/// PUBLISH, SPUBLISH.
const PUB: CommandFlags = PS.union(LD).union(ST).union(F);
/// PUBSUB's introspection subcommands.
const INTRO: CommandFlags = PS.union(LD).union(ST);

/// The pub/sub table.
#[rustfmt::skip]
pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd!("subscribe", -2, SUB, NOKEYS, "pubsub", "2.0.0", "Listens for messages published to channels.", subscribe),
    cmd!("unsubscribe", -1, SUB, NOKEYS, "pubsub", "2.0.0", "Stops listening to messages posted to channels.", unsubscribe),
    cmd!("psubscribe", -2, SUB, NOKEYS, "pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns.", psubscribe),
    cmd!("punsubscribe", -1, SUB, NOKEYS, "pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns.", punsubscribe),
    cmd!("ssubscribe", -2, SUB, ALLKEYS, "pubsub", "7.0.0", "Listens for messages published to shard channels.", ssubscribe),
    cmd!("sunsubscribe", -1, SUB, ALLKEYS, "pubsub", "7.0.0", "Stops listening to messages posted to shard channels.", sunsubscribe),
    cmd!("publish", 3, PUB, NOKEYS, "pubsub", "2.0.0", "Posts a message to a channel.", publish),
    cmd!("spublish", 3, PUB, KEY1, "pubsub", "7.0.0", "Post a message to a shard channel", spublish),
    cmd!("pubsub", -2, CT, NOKEYS, "pubsub", "2.8.0", "A container for Pub/Sub commands.", super::introspection::container),
    cmd!("pubsub|channels", -2, INTRO, NOKEYS, "pubsub", "2.8.0", "Returns the active channels.", pubsub_channels),
    cmd!("pubsub|numsub", -2, INTRO, NOKEYS, "pubsub", "2.8.0", "Returns a count of subscribers to channels.", pubsub_numsub),
    cmd!("pubsub|numpat", 2, INTRO, NOKEYS, "pubsub", "2.8.0", "Returns a count of unique pattern subscriptions.", pubsub_numpat),
    cmd!("pubsub|shardchannels", -2, INTRO, NOKEYS, "pubsub", "7.0.0", "Returns the active shard channels.", pubsub_shardchannels),
    cmd!("pubsub|shardnumsub", -2, INTRO, NOKEYS, "pubsub", "7.0.0", "Returns the count of subscribers of shard channels.", pubsub_shardnumsub),
    cmd!("pubsub|help", 2, LD.union(ST), NOKEYS, "pubsub", "6.2.0", "Returns helpful text about the different subcommands.", pubsub_help),
];

/// The error for a command a RESP2 client in subscribe state may not run, or `None` when it
/// may (`full_name` is the table name, `container|sub` for subcommands).
pub(crate) fn subscribe_context_error(session: &Session, full_name: &str) -> Option<Reply> {
    if session.protocol != Protocol::Resp2 || !session.is_subscribed() {
        return None;
    }
    const ALLOWED: [&str; 9] = [
        "subscribe",
        "unsubscribe",
        "psubscribe",
        "punsubscribe",
        "ssubscribe",
        "sunsubscribe",
        "ping",
        "quit",
        "reset",
    ];
    if ALLOWED.contains(&full_name) {
        return None;
    }
    Some(Reply::Error(Error::msg(format!(
        "ERR Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
         are allowed in this context"
    ))))
}

/// The confirmation Redis sends for one (un)subscription.
fn confirmation(kind: &'static str, name: Option<&[u8]>, count: usize) -> Reply {
    Reply::Push(vec![Reply::bulk(kind), name.map_or(Reply::Null, Reply::bulk), Reply::Integer(count as i64)])
}

/// Subscribes or unsubscribes the session to `names` in `space`, answering as the module
/// docs say.
fn change(s: &mut Session, space: Space, kind: &'static str, subscribe: bool, names: &[&[u8]]) -> Reply {
    if !subscribe && s.pubsub.is_none() {
        return confirmation(kind, None, 0);
    }
    let hub = &s.engine.inner.pubsub;
    let subscriber = s.pubsub.get_or_insert_with(|| Subscriber::new(hub));
    let subscriber = &mut *subscriber;
    let listed;
    let names: Vec<&[u8]> = if !subscribe && names.is_empty() {
        listed = subscriber.list(space);
        listed.iter().map(|n| &n[..]).collect()
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        return confirmation(kind, None, subscriber.count_for(space));
    }
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        if subscribe {
            subscriber.add(space, name);
        } else {
            subscriber.drop_name(space, name);
        }
        replies.push(confirmation(kind, Some(name), subscriber.count_for(space)));
    }
    let rest = replies.split_off(1);
    if !rest.is_empty() {
        subscriber.mailbox.push_front_replies(rest);
    }
    if let Some(client) = &s.client {
        // What `CLIENT LIST` shows.
        for (i, space) in [Space::Channel, Space::Pattern, Space::Shard].into_iter().enumerate() {
            client.subscriptions[i].store(subscriber.count_in(space), Ordering::Relaxed);
        }
    }
    replies.pop().unwrap_or(Reply::Null)
}

fn subscribe(s: &mut Session, argv: &[&[u8]]) -> Reply {
    change(s, Space::Channel, "subscribe", true, &argv[1..])
}

fn unsubscribe(s: &mut Session, argv: &[&[u8]]) -> Reply {
    change(s, Space::Channel, "unsubscribe", false, &argv[1..])
}

fn psubscribe(s: &mut Session, argv: &[&[u8]]) -> Reply {
    change(s, Space::Pattern, "psubscribe", true, &argv[1..])
}

fn punsubscribe(s: &mut Session, argv: &[&[u8]]) -> Reply {
    change(s, Space::Pattern, "punsubscribe", false, &argv[1..])
}

fn ssubscribe(s: &mut Session, argv: &[&[u8]]) -> Reply {
    change(s, Space::Shard, "ssubscribe", true, &argv[1..])
}

fn sunsubscribe(s: &mut Session, argv: &[&[u8]]) -> Reply {
    change(s, Space::Shard, "sunsubscribe", false, &argv[1..])
}

fn publish(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::Integer(s.engine_db().publish(argv[1], argv[2]) as i64)
}

fn spublish(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::Integer(s.engine_db().spublish(argv[1], argv[2]) as i64)
}

fn channels_reply(names: Vec<Vec<u8>>) -> Reply {
    Reply::Array(names.into_iter().map(Reply::Bulk).collect())
}

fn pubsub_channels(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match argv {
        [_, _] => channels_reply(s.engine_db().pubsub_channels(None)),
        [_, _, pattern] => channels_reply(s.engine_db().pubsub_channels(Some(pattern))),
        _ => Error::arity("pubsub|channels").into(),
    }
}

fn pubsub_shardchannels(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match argv {
        [_, _] => channels_reply(s.engine_db().pubsub_shard_channels(None)),
        [_, _, pattern] => channels_reply(s.engine_db().pubsub_shard_channels(Some(pattern))),
        _ => Error::arity("pubsub|shardchannels").into(),
    }
}

fn numsub_reply(argv: &[&[u8]], count: impl Fn(&[u8]) -> usize) -> Reply {
    let mut out = Vec::with_capacity(2 * argv.len().saturating_sub(2));
    for channel in &argv[2..] {
        out.push(Reply::bulk(channel));
        out.push(Reply::Integer(count(channel) as i64));
    }
    Reply::Array(out)
}

fn pubsub_numsub(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let engine = s.engine_db();
    numsub_reply(argv, |c| engine.pubsub_numsub(c))
}

fn pubsub_shardnumsub(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let engine = s.engine_db();
    numsub_reply(argv, |c| engine.pubsub_shard_numsub(c))
}

fn pubsub_numpat(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    Reply::Integer(s.engine_db().pubsub_numpat() as i64)
}

fn pubsub_help(_s: &mut Session, _argv: &[&[u8]]) -> Reply {
    super::introspection::help_reply(
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::reply::Reply;
    use crate::session::Session;

    fn push(items: &[&str], count: i64) -> Reply {
        let mut v: Vec<Reply> = items.iter().map(Reply::bulk).collect();
        v.push(Reply::Integer(count));
        Reply::Push(v)
    }

    #[test]
    fn several_channels_confirm_in_order() {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        assert_eq!(s.execute(&["SUBSCRIBE", "a", "b", "a"]), push(&["subscribe", "a"], 1));
        assert_eq!(s.try_message(), Ok(Some(push(&["subscribe", "b"], 2))));
        assert_eq!(s.try_message(), Ok(Some(push(&["subscribe", "a"], 2))));
        assert_eq!(s.try_message(), Ok(None));
    }

    #[test]
    fn pubsub_help_and_unknown_subcommand() {
        let engine = Engine::new();
        let help = engine.execute(&["PUBSUB", "HELP"]);
        assert!(matches!(help, Reply::Array(ref lines) if lines.len() == 14), "{help:?}");
        let Reply::Error(err) = engine.execute(&["PUBSUB", "FOO"]) else { panic!("an error") };
        assert_eq!(err.to_string(), "ERR unknown subcommand 'FOO'. Try PUBSUB HELP.");
    }
}
