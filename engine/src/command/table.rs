//! The command table: one [`CommandSpec`] per command and per subcommand.

use std::sync::LazyLock;

use super::{
    Handler, connection, hashes, introspection, keys, lists, pubsub, server, sets, sort, strings,
    transactions, zsets,
};

bitflags::bitflags! {
    /// Command properties, as `COMMAND INFO` lists them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct CommandFlags: u32 {
        /// May modify the keyspace.
        const WRITE = 1 << 0;
        /// Only reads.
        const READONLY = 1 << 1;
        /// May grow memory; refused when over `maxmemory`.
        const DENYOOM = 1 << 2;
        /// Administrative.
        const ADMIN = 1 << 3;
        /// Pub/sub related.
        const PUBSUB = 1 << 4;
        /// Not allowed from scripts.
        const NOSCRIPT = 1 << 5;
        /// May block the client.
        const BLOCKING = 1 << 6;
        /// Allowed while loading.
        const LOADING = 1 << 7;
        /// Allowed on a stale replica.
        const STALE = 1 << 8;
        /// O(1) or O(log n), never long.
        const FAST = 1 << 9;
        /// Allowed before authentication.
        const NO_AUTH = 1 << 10;
        /// Key positions depend on the arguments (not given by first/last/step alone).
        const MOVABLE_KEYS = 1 << 11;
        /// Has subcommands (`CONFIG GET`, ...), each its own table entry `container|sub`.
        const CONTAINER = 1 << 12;
        /// Allowed in a transaction but with connection-level effect (SELECT, ...).
        const CONNECTION = 1 << 13;
        /// Allowed while the server is busy running a long script or module command.
        const ALLOW_BUSY = 1 << 14;
        /// Not logged by the slow log (`EXEC`: its commands are, one by one).
        const SKIP_SLOWLOG = 1 << 15;
    }
}

/// Where a command's keys are in its argv, in Redis's legacy form: the first key index, the
/// last (negative counts from the end, -1 = last argument), and the step. `first == 0`: no keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// Index of the first key, 0 when the command takes no keys.
    pub first: i32,
    /// Index of the last key; negative counts from the end.
    pub last: i32,
    /// Distance between keys.
    pub step: i32,
}

impl KeySpec {
    /// The positions of the keys in an argv of `argc` arguments.
    pub fn positions(self, argc: usize) -> impl Iterator<Item = usize> {
        let argc = argc as i64;
        let first = i64::from(self.first);
        let last = if self.last < 0 { argc + i64::from(self.last) } else { i64::from(self.last) };
        let step = i64::from(self.step.max(1));
        let end = if first == 0 { 0 } else { last.min(argc - 1) + 1 };
        (first..end.max(first)).step_by(step as usize).map(|i| i as usize)
    }
}

/// One entry of the command table.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// Lower-case name; `container|sub` for subcommands.
    pub name: &'static str,
    /// Redis arity: `n > 0` exactly n arguments (name included), `n < 0` at least -n.
    pub arity: i32,
    /// Properties.
    pub flags: CommandFlags,
    /// Key positions.
    pub keys: KeySpec,
    /// Documentation group (`string`, `generic`, `server`, `connection`).
    pub group: &'static str,
    /// Redis version that introduced the command.
    pub since: &'static str,
    /// One-line description (`COMMAND DOCS`).
    pub summary: &'static str,
    pub(crate) handler: Handler,
}

impl CommandSpec {
    /// Does an argv of `argc` arguments satisfy the arity?
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity > 0 { argc == arity } else { argc >= -arity }
    }

    /// The container's name in upper case for `Try X HELP.` messages.
    pub(crate) fn upper_name(&self) -> &'static str {
        UPPER_CONTAINERS.iter().find(|(lower, _)| *lower == self.name).map_or("COMMAND", |(_, upper)| upper)
    }

    /// The subcommand part of a `container|sub` name.
    pub fn subcommand(&self) -> Option<&'static str> {
        self.name.split_once('|').map(|(_, sub)| sub)
    }
}

const UPPER_CONTAINERS: [(&str, &str); 6] = [
    ("config", "CONFIG"),
    ("memory", "MEMORY"),
    ("client", "CLIENT"),
    ("object", "OBJECT"),
    ("command", "COMMAND"),
    ("pubsub", "PUBSUB"),
];

pub(super) const W: CommandFlags = CommandFlags::WRITE;
pub(super) const R: CommandFlags = CommandFlags::READONLY;
pub(super) const OOM: CommandFlags = CommandFlags::DENYOOM;
pub(super) const F: CommandFlags = CommandFlags::FAST;
const ADMIN: CommandFlags = CommandFlags::ADMIN;
pub(super) const NS: CommandFlags = CommandFlags::NOSCRIPT;
pub(super) const MK: CommandFlags = CommandFlags::MOVABLE_KEYS;
pub(super) const BL: CommandFlags = CommandFlags::BLOCKING;
pub(super) const LD: CommandFlags = CommandFlags::LOADING;
pub(super) const ST: CommandFlags = CommandFlags::STALE;
const NA: CommandFlags = CommandFlags::NO_AUTH;
pub(super) const CT: CommandFlags = CommandFlags::CONTAINER;
const CN: CommandFlags = CommandFlags::CONNECTION;
/// Connection commands that work before auth and while busy: QUIT, RESET, HELLO, AUTH.
const HANDSHAKE: CommandFlags = NS.union(LD).union(ST).union(F).union(NA).union(CommandFlags::ALLOW_BUSY);

pub(super) const fn k(first: i32, last: i32, step: i32) -> KeySpec {
    KeySpec { first, last, step }
}
pub(super) const NOKEYS: KeySpec = k(0, 0, 0);
pub(super) const KEY1: KeySpec = k(1, 1, 1);
pub(super) const ALLKEYS: KeySpec = k(1, -1, 1);

macro_rules! cmd {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $group:literal, $since:literal, $summary:literal, $handler:path) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: $group,
            since: $since,
            summary: $summary,
            handler: $handler,
        }
    };
}
pub(super) use cmd;

/// Every command the engine knows: the core table (strings, keys, server, connection), then
/// each data type's own table. An entry's index here is its id for statistics.
pub(crate) static COMMANDS: LazyLock<Box<[CommandSpec]>> = LazyLock::new(|| {
    [
        CORE,
        lists::COMMANDS,
        sets::COMMANDS,
        hashes::COMMANDS,
        zsets::COMMANDS,
        sort::COMMANDS,
        transactions::COMMANDS,
        pubsub::COMMANDS,
    ]
    .into_iter()
    .flat_map(|table| table.iter().cloned())
    .collect()
});

/// The table as a slice (one `LazyLock` check; callers on hot paths keep the slice).
#[inline(always)]
pub(crate) fn commands() -> &'static [CommandSpec] {
    &COMMANDS
}

/// Strings, keys, databases, server and connection commands.
#[rustfmt::skip]
static CORE: &[CommandSpec] = &[
    // Strings.
    cmd!("get", 2, R.union(F), KEY1, "string", "1.0.0", "Returns the string value of a key.", strings::get),
    cmd!("set", -3, W.union(OOM), KEY1, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", strings::set),
    cmd!("setnx", 3, W.union(OOM).union(F), KEY1, "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", strings::setnx),
    cmd!("setex", 4, W.union(OOM), KEY1, "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", strings::setex),
    cmd!("psetex", 4, W.union(OOM), KEY1, "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", strings::psetex),
    cmd!("getset", 3, W.union(OOM).union(F), KEY1, "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", strings::getset),
    cmd!("getdel", 2, W.union(F), KEY1, "string", "6.2.0", "Returns the string value of a key after deleting the key.", strings::getdel),
    cmd!("getex", -2, W.union(F), KEY1, "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", strings::getex),
    cmd!("mget", -2, R.union(F), ALLKEYS, "string", "1.0.0", "Atomically returns the string values of one or more keys.", strings::mget),
    cmd!("mset", -3, W.union(OOM), k(1, -1, 2), "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", strings::mset),
    cmd!("msetnx", -3, W.union(OOM), k(1, -1, 2), "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", strings::msetnx),
    cmd!("append", 3, W.union(OOM).union(F), KEY1, "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", strings::append),
    cmd!("strlen", 2, R.union(F), KEY1, "string", "2.2.0", "Returns the length of a string value.", strings::strlen),
    cmd!("incr", 2, W.union(OOM).union(F), KEY1, "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", strings::incr),
    cmd!("decr", 2, W.union(OOM).union(F), KEY1, "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", strings::decr),
    cmd!("incrby", 3, W.union(OOM).union(F), KEY1, "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", strings::incrby),
    cmd!("decrby", 3, W.union(OOM).union(F), KEY1, "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", strings::decrby),
    cmd!("incrbyfloat", 3, W.union(OOM).union(F), KEY1, "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", strings::incrbyfloat),
    cmd!("getrange", 4, R, KEY1, "string", "2.4.0", "Returns a substring of the string stored at a key.", strings::getrange),
    cmd!("substr", 4, R, KEY1, "string", "1.0.0", "Returns a substring from a string value.", strings::getrange),
    cmd!("setrange", 4, W.union(OOM), KEY1, "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", strings::setrange),
    cmd!("lcs", -3, R, k(1, 2, 1), "string", "7.0.0", "Finds the longest common substring.", strings::lcs),
    // Keys.
    cmd!("del", -2, W, ALLKEYS, "generic", "1.0.0", "Deletes one or more keys.", keys::del),
    cmd!("unlink", -2, W.union(F), ALLKEYS, "generic", "4.0.0", "Asynchronously deletes one or more keys.", keys::unlink),
    cmd!("exists", -2, R.union(F), ALLKEYS, "generic", "1.0.0", "Determines whether one or more keys exist.", keys::exists),
    cmd!("type", 2, R.union(F), KEY1, "generic", "1.0.0", "Determines the type of value stored at a key.", keys::type_),
    cmd!("expire", -3, W.union(F), KEY1, "generic", "1.0.0", "Sets the expiration time of a key in seconds.", keys::expire),
    cmd!("pexpire", -3, W.union(F), KEY1, "generic", "2.6.0", "Sets the expiration time of a key in milliseconds.", keys::pexpire),
    cmd!("expireat", -3, W.union(F), KEY1, "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", keys::expireat),
    cmd!("pexpireat", -3, W.union(F), KEY1, "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", keys::pexpireat),
    cmd!("ttl", 2, R.union(F), KEY1, "generic", "1.0.0", "Returns the expiration time in seconds of a key.", keys::ttl),
    cmd!("pttl", 2, R.union(F), KEY1, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key.", keys::pttl),
    cmd!("expiretime", 2, R.union(F), KEY1, "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", keys::expiretime),
    cmd!("pexpiretime", 2, R.union(F), KEY1, "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", keys::pexpiretime),
    cmd!("persist", 2, W.union(F), KEY1, "generic", "2.2.0", "Removes the expiration time of a key.", keys::persist),
    cmd!("rename", 3, W, k(1, 2, 1), "generic", "1.0.0", "Renames a key and overwrites the destination.", keys::rename),
    cmd!("renamenx", 3, W.union(F), k(1, 2, 1), "generic", "1.0.0", "Renames a key only when the target key name doesn't exist.", keys::renamenx),
    cmd!("copy", -3, W.union(OOM), k(1, 2, 1), "generic", "6.2.0", "Copies the value of a key to a new key.", keys::copy),
    cmd!("move", 3, W.union(F), KEY1, "generic", "1.0.0", "Moves a key to another database.", keys::move_),
    cmd!("keys", 2, R, NOKEYS, "generic", "1.0.0", "Returns all key names that match a pattern.", keys::keys),
    cmd!("scan", -2, R, NOKEYS, "generic", "2.8.0", "Iterates over the key names in the database.", keys::scan),
    cmd!("randomkey", 1, R, NOKEYS, "generic", "1.0.0", "Returns a random key name from the database.", keys::randomkey),
    cmd!("touch", -2, R.union(F), ALLKEYS, "generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", keys::touch),
    cmd!("memory", -2, CT, NOKEYS, "server", "4.0.0", "A container for memory diagnostics commands.", introspection::container),
    cmd!("memory|help", 2, LD.union(ST), NOKEYS, "server", "4.0.0", "Returns helpful text about the different subcommands.", keys::memory_help),
    cmd!("memory|stats", 2, CommandFlags::empty(), NOKEYS, "server", "4.0.0", "Returns details about memory usage.", keys::memory_stats),
    cmd!("memory|usage", -3, R, k(2, 2, 1), "server", "4.0.0", "Estimates the memory usage of a key.", keys::memory_usage),
    cmd!("object", -2, CT, NOKEYS, "generic", "2.2.3", "A container for object introspection commands.", introspection::container),
    cmd!("object|encoding", 3, R, k(2, 2, 1), "generic", "2.2.3", "Returns the internal encoding of a Redis object.", keys::object_encoding),
    cmd!("object|freq", 3, R, k(2, 2, 1), "generic", "4.0.0", "Returns the logarithmic access frequency counter of a Redis object.", keys::object_freq),
    cmd!("object|idletime", 3, R, k(2, 2, 1), "generic", "2.2.3", "Returns the time since the last access to a Redis object.", keys::object_idletime),
    cmd!("object|refcount", 3, R, k(2, 2, 1), "generic", "2.2.3", "Returns the reference count of a value of a key.", keys::object_refcount),
    cmd!("object|help", 2, LD.union(ST), NOKEYS, "generic", "6.2.0", "Returns helpful text about the different subcommands.", keys::object_help),
    // Databases and server.
    cmd!("dbsize", 1, R.union(F), NOKEYS, "server", "1.0.0", "Returns the number of keys in the database.", server::dbsize),
    cmd!("flushdb", -1, W, NOKEYS, "server", "1.0.0", "Remove all keys from the current database.", server::flushdb),
    cmd!("flushall", -1, W, NOKEYS, "server", "1.0.0", "Removes all keys from all databases.", server::flushall),
    cmd!("swapdb", 3, W.union(F), NOKEYS, "server", "4.0.0", "Swaps two Redis databases.", server::swapdb),
    cmd!("info", -1, LD.union(ST), NOKEYS, "server", "1.0.0", "Returns information and statistics about the server.", server::info),
    cmd!("time", 1, LD.union(ST).union(F), NOKEYS, "server", "2.6.0", "Returns the server time.", server::time),
    cmd!("config", -2, CT, NOKEYS, "server", "2.0.0", "A container for server configuration commands.", introspection::container),
    cmd!("config|get", -3, ADMIN.union(NS).union(LD).union(ST), NOKEYS, "server", "2.0.0", "Returns the effective values of configuration parameters.", server::config_get),
    cmd!("config|set", -4, ADMIN.union(NS).union(LD).union(ST), NOKEYS, "server", "2.0.0", "Sets configuration parameters in-flight.", server::config_set),
    cmd!("config|resetstat", 2, ADMIN.union(NS).union(LD).union(ST), NOKEYS, "server", "2.0.0", "Resets the server's statistics.", server::config_resetstat),
    cmd!("config|help", 2, LD.union(ST), NOKEYS, "server", "5.0.0", "Returns helpful text about the different subcommands.", server::config_help),
    cmd!("command", -1, LD.union(ST).union(CT), NOKEYS, "server", "2.8.13", "Returns detailed information about all commands.", introspection::command),
    cmd!("command|count", 2, LD.union(ST), NOKEYS, "server", "2.8.13", "Returns a count of commands.", introspection::command_count),
    cmd!("command|info", -2, LD.union(ST), NOKEYS, "server", "2.8.13", "Returns information about one, multiple or all commands.", introspection::command_info),
    cmd!("command|docs", -2, LD.union(ST), NOKEYS, "server", "7.0.0", "Returns documentary information about one, multiple or all commands.", introspection::command_docs),
    cmd!("command|list", -2, LD.union(ST), NOKEYS, "server", "7.0.0", "Returns a list of command names.", introspection::command_list),
    cmd!("command|getkeys", -3, LD.union(ST), NOKEYS, "server", "2.8.13", "Extracts the key names from an arbitrary command.", introspection::command_getkeys),
    cmd!("command|help", 2, LD.union(ST), NOKEYS, "server", "5.0.0", "Returns helpful text about the different subcommands.", introspection::command_help),
    // Connection.
    cmd!("ping", -1, F, NOKEYS, "connection", "1.0.0", "Returns the server's liveliness response.", connection::ping),
    cmd!("echo", 2, LD.union(ST).union(F), NOKEYS, "connection", "1.0.0", "Returns the given string.", connection::echo),
    cmd!("select", 2, LD.union(ST).union(F).union(CN), NOKEYS, "connection", "1.0.0", "Changes the selected database.", connection::select),
    cmd!("quit", -1, HANDSHAKE, NOKEYS, "connection", "1.0.0", "Closes the connection.", connection::quit),
    cmd!("reset", 1, HANDSHAKE, NOKEYS, "connection", "6.2.0", "Resets the connection.", connection::reset),
    cmd!("hello", -1, HANDSHAKE, NOKEYS, "connection", "6.0.0", "Handshakes with the Redis server.", connection::hello),
    cmd!("auth", -2, HANDSHAKE, NOKEYS, "connection", "1.0.0", "Authenticates the connection.", connection::auth),
    cmd!("client", -2, CT, NOKEYS, "connection", "2.4.0", "A container for client connection commands.", introspection::container),
    cmd!("client|id", 2, NS.union(LD).union(ST), NOKEYS, "connection", "5.0.0", "Returns the unique client ID of the connection.", connection::client_id),
    cmd!("client|getname", 2, NS.union(LD).union(ST), NOKEYS, "connection", "2.6.9", "Returns the name of the connection.", connection::client_getname),
    cmd!("client|setname", 3, NS.union(LD).union(ST), NOKEYS, "connection", "2.6.9", "Sets the connection name.", connection::client_setname),
    cmd!("client|info", 2, NS.union(LD).union(ST), NOKEYS, "connection", "6.2.0", "Returns information about the connection.", connection::client_info),
    cmd!("client|list", -2, ADMIN.union(NS).union(LD).union(ST), NOKEYS, "connection", "2.4.0", "Lists open connections.", connection::client_list),
    cmd!("client|help", 2, LD.union(ST), NOKEYS, "connection", "5.0.0", "Returns helpful text about the different subcommands.", connection::client_help),
];

/// Key positions of the commands whose keys move with their arguments (`MOVABLE_KEYS`):
/// the `numkeys` commands and `SORT`. What `COMMAND GETKEYS` reports, and what key-based
/// routing (ACLs, cluster slots) will read. `None` for other commands, and when the
/// arguments do not say where the keys are (a bad `numkeys`).
pub(crate) fn movable_key_positions(name: &str, argv: &[&[u8]]) -> Option<Vec<usize>> {
    // `numkeys` at `at`, the keys right after it, and `before` (a destination) first.
    let numkeys = |at: usize, before: &[usize]| -> Option<Vec<usize>> {
        let n = crate::num::parse_i64(argv.get(at)?).ok()?;
        let n = usize::try_from(n).ok().filter(|&n| n > 0)?;
        let end = at.checked_add(1)?.checked_add(n)?;
        (end <= argv.len()).then(|| before.iter().copied().chain(at + 1..end).collect())
    };
    match name {
        "lmpop" | "zmpop" | "sintercard" | "zintercard" | "zunion" | "zinter" | "zdiff" => numkeys(1, &[]),
        "blmpop" | "bzmpop" => numkeys(2, &[]),
        "zunionstore" | "zinterstore" | "zdiffstore" => numkeys(2, &[1]),
        "sort" => Some(super::sort::sort_key_positions(argv)),
        // SORT_RO stores nothing: its one key is the source.
        "sort_ro" => (argv.len() > 1).then(|| vec![1]),
        _ => None,
    }
}

/// Entries that `CONTAINER` commands hold, i.e. `container|sub` names, for `name`.
pub(crate) fn subcommands_of(name: &str) -> impl Iterator<Item = &'static CommandSpec> + '_ {
    COMMANDS
        .iter()
        .filter(move |spec| spec.name.split_once('|').is_some_and(|(container, _)| container == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions() {
        let keys: Vec<usize> = ALLKEYS.positions(4).collect();
        assert_eq!(keys, vec![1, 2, 3]);
        let keys: Vec<usize> = k(1, -1, 2).positions(5).collect();
        assert_eq!(keys, vec![1, 3]);
        assert_eq!(NOKEYS.positions(3).count(), 0);
        assert_eq!(KEY1.positions(1).count(), 0, "argv too short for its key");
        let keys: Vec<usize> = k(1, 2, 1).positions(3).collect();
        assert_eq!(keys, vec![1, 2]);
    }

    #[test]
    fn arity() {
        let get = COMMANDS.iter().find(|c| c.name == "get").expect("get");
        assert!(get.arity_ok(2));
        assert!(!get.arity_ok(3));
        let set = COMMANDS.iter().find(|c| c.name == "set").expect("set");
        assert!(set.arity_ok(3) && set.arity_ok(9) && !set.arity_ok(2));
    }
}
