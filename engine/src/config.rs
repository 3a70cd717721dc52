//! Configuration parameters behind `CONFIG GET` / `CONFIG SET`: the engine's own (Redis's
//! names) and those an embedder registers (a server's `port`, `bind`, ...).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use crate::command::args::{c_str, error_quoting};
use crate::engine::{Engine, Inner};
use crate::error::{Error, Result};
use crate::evict::EvictionPolicy;
use crate::glob::glob_match;

/// A parameter registered by the embedder.
#[derive(Debug, Clone)]
struct ExtraParam {
    value: String,
    settable: bool,
}

/// Embedder-registered parameters, by name.
#[derive(Debug, Default)]
pub(crate) struct ExtraParams {
    params: Mutex<BTreeMap<String, ExtraParam>>,
}

/// Names of the engine's own parameters, in `CONFIG GET *` order.
const ENGINE_PARAMS: [&str; 25] = [
    "appendonly",
    "databases",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "hash-max-ziplist-entries",
    "hash-max-ziplist-value",
    "hz",
    "lfu-decay-time",
    "lfu-log-factor",
    "list-compress-depth",
    "list-max-listpack-size",
    "list-max-ziplist-size",
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-samples",
    "notify-keyspace-events",
    "proto-max-bulk-len",
    "save",
    "set-max-intset-entries",
    "set-max-listpack-entries",
    "set-max-listpack-value",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
];

/// The engine's parameters `CONFIG SET` cannot change: `databases`, and `appendonly` and
/// `save`, which only report that nothing persists. Every other engine parameter is settable.
const ENGINE_IMMUTABLE: [&str; 3] = ["appendonly", "databases", "save"];

/// A checked `CONFIG SET` change, applied once every pair has been checked.
type ConfigAction<'a> = Box<dyn FnOnce(&Inner) + 'a>;

fn set_failed(name: &str, why: &str) -> Error {
    error_quoting(&format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"))
}

fn parse_int(name: &str, value: &[u8], min: i64, max: i64) -> Result<i64> {
    let n = crate::num::parse_i64(value)
        .map_err(|_| set_failed(name, "argument couldn't be parsed into an integer"))?;
    if n < min || n > max {
        return Err(set_failed(name, &format!("argument must be between {min} and {max} inclusive")));
    }
    Ok(n)
}

/// Parses a memory amount as Redis's `memtoull`: an integer with an optional unit
/// (`k`, `kb`, `m`, `mb`, `g`, `gb`, case-insensitive; `k` = 1000, `kb` = 1024).
pub fn parse_memory(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?.to_ascii_lowercase();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let scale: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}

impl Inner {
    /// The current value of an engine parameter.
    fn engine_param(&self, name: &str) -> Option<String> {
        let c = &self.config;
        Some(match name {
            "appendonly" => "no".to_string(),
            "save" => String::new(),
            "databases" => self.dbs.len().to_string(),
            "hz" => c.hz.load(Ordering::Relaxed).to_string(),
            "lfu-decay-time" => c.lfu_decay_time.load(Ordering::Relaxed).to_string(),
            "maxmemory" => self.memory.limit().to_string(),
            "maxmemory-policy" => self.eviction_policy().name().to_string(),
            "maxmemory-samples" => self.samples.load(Ordering::Relaxed).to_string(),
            "lfu-log-factor" => c.lfu_log_factor.load(Ordering::Relaxed).to_string(),
            "proto-max-bulk-len" => c.proto_max_bulk_len.load(Ordering::Relaxed).to_string(),
            "set-max-intset-entries" => c.set_max_intset_entries.load(Ordering::Relaxed).to_string(),
            "set-max-listpack-entries" => c.set_max_listpack_entries.load(Ordering::Relaxed).to_string(),
            "set-max-listpack-value" => c.set_max_listpack_value.load(Ordering::Relaxed).to_string(),
            "list-compress-depth" => c.list_compress_depth.load(Ordering::Relaxed).to_string(),
            "notify-keyspace-events" => {
                crate::notify::NotifyFlags::from_bits_retain(self.notify_flags.load(Ordering::Relaxed))
                    .to_config_string()
            }
            // The `ziplist` names are the pre-7.0 names of the same settings.
            "hash-max-listpack-entries" | "hash-max-ziplist-entries" => {
                c.hash_max_listpack_entries.load(Ordering::Relaxed).to_string()
            }
            "hash-max-listpack-value" | "hash-max-ziplist-value" => {
                c.hash_max_listpack_value.load(Ordering::Relaxed).to_string()
            }
            "zset-max-listpack-entries" | "zset-max-ziplist-entries" => {
                c.zset_max_listpack_entries.load(Ordering::Relaxed).to_string()
            }
            "zset-max-listpack-value" | "zset-max-ziplist-value" => {
                c.zset_max_listpack_value.load(Ordering::Relaxed).to_string()
            }
            // `list-max-ziplist-size` is the pre-7.0 name of the same setting.
            "list-max-listpack-size" | "list-max-ziplist-size" => {
                c.list_max_listpack_size.load(Ordering::Relaxed).to_string()
            }
            _ => return None,
        })
    }

    /// Checks a new value for an engine parameter; returns the action that applies it.
    fn check_engine_param(&self, name: &str, value: &[u8]) -> Result<ConfigAction<'_>> {
        Ok(match name {
            "hz" => {
                let hz = parse_int(name, value, 0, i64::from(i32::MAX))?.clamp(1, 500) as u32;
                Box::new(move |inner| inner.config.hz.store(hz, Ordering::Relaxed))
            }
            "lfu-log-factor" => {
                let n = parse_int(name, value, 0, i64::from(i32::MAX))? as u32;
                Box::new(move |inner| inner.config.lfu_log_factor.store(n, Ordering::Relaxed))
            }
            "lfu-decay-time" => {
                let n = parse_int(name, value, 0, i64::from(i32::MAX))? as u32;
                Box::new(move |inner| inner.config.lfu_decay_time.store(n, Ordering::Relaxed))
            }
            "maxmemory" => {
                let n =
                    parse_memory(value).ok_or_else(|| set_failed(name, "argument must be a memory value"))?;
                Box::new(move |inner| inner.set_maxmemory(n))
            }
            "maxmemory-policy" => {
                let policy = EvictionPolicy::parse(value).ok_or_else(|| {
                    let names: Vec<&str> = EvictionPolicy::ALL.iter().map(|p| p.name()).collect();
                    set_failed(
                        name,
                        &format!("argument(s) must be one of the following: {}", names.join(", ")),
                    )
                })?;
                Box::new(move |inner| inner.set_eviction_policy(policy))
            }
            "maxmemory-samples" => {
                let n = parse_int(name, value, 1, i64::from(crate::evict::MAX_SAMPLES))? as u32;
                Box::new(move |inner| inner.samples.store(n, Ordering::Relaxed))
            }
            "notify-keyspace-events" => {
                let flags = crate::notify::NotifyFlags::parse(value).ok_or_else(|| {
                    set_failed(name, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
                })?;
                Box::new(move |inner| inner.notify_flags.store(flags.bits(), Ordering::Relaxed))
            }
            "list-compress-depth" => {
                let n = parse_int(name, value, 0, i64::from(i32::MAX))? as u32;
                Box::new(move |inner| inner.config.list_compress_depth.store(n, Ordering::Relaxed))
            }
            "list-max-listpack-size" | "list-max-ziplist-size" => {
                let n = parse_int(name, value, i64::from(i32::MIN), i64::from(i32::MAX))? as i32;
                Box::new(move |inner| inner.config.list_max_listpack_size.store(n, Ordering::Relaxed))
            }
            "proto-max-bulk-len" => {
                let n =
                    parse_memory(value).ok_or_else(|| set_failed(name, "argument must be a memory value"))?;
                // A `long long` setting in Redis: at most i64::MAX.
                if n < 1024 * 1024 || n > i64::MAX as u64 {
                    return Err(set_failed(
                        name,
                        &format!("argument must be between 1048576 and {} inclusive", i64::MAX),
                    ));
                }
                Box::new(move |inner| inner.config.proto_max_bulk_len.store(n, Ordering::Relaxed))
            }
            "set-max-intset-entries" | "set-max-listpack-entries" | "set-max-listpack-value" => {
                let n = parse_int(name, value, 0, i64::MAX)? as u64;
                let name = name.to_string();
                Box::new(move |inner| {
                    let c = &inner.config;
                    let target = match name.as_str() {
                        "set-max-intset-entries" => &c.set_max_intset_entries,
                        "set-max-listpack-entries" => &c.set_max_listpack_entries,
                        _ => &c.set_max_listpack_value,
                    };
                    target.store(n, Ordering::Relaxed);
                })
            }
            "hash-max-listpack-entries" | "hash-max-ziplist-entries" => {
                let n = parse_int(name, value, 0, i64::MAX)? as u64;
                Box::new(move |inner| inner.config.hash_max_listpack_entries.store(n, Ordering::Relaxed))
            }
            "hash-max-listpack-value" | "hash-max-ziplist-value" => {
                let n = parse_int(name, value, 0, i64::MAX)? as u64;
                Box::new(move |inner| inner.config.hash_max_listpack_value.store(n, Ordering::Relaxed))
            }
            "zset-max-listpack-entries" | "zset-max-ziplist-entries" => {
                let n = parse_int(name, value, 0, i64::MAX)? as u64;
                Box::new(move |inner| inner.config.zset_max_listpack_entries.store(n, Ordering::Relaxed))
            }
            "zset-max-listpack-value" | "zset-max-ziplist-value" => {
                let n = parse_int(name, value, 0, i64::MAX)? as u64;
                Box::new(move |inner| inner.config.zset_max_listpack_value.store(n, Ordering::Relaxed))
            }
            _ => return Err(set_failed(name, "can't set immutable config")),
        })
    }

    /// `CONFIG GET` for each pattern: matching (name, value) pairs, each parameter once. A
    /// pattern without glob characters (`*`, `?`, `[`) is a name, looked up ignoring case and
    /// answered spelled as asked, as Redis does.
    pub(crate) fn config_get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let extras = self.extra_params.params.lock().clone();
        let value_of =
            |name: &str| self.engine_param(name).or_else(|| extras.get(name).map(|p| p.value.clone()));
        // Canonical name -> (name as answered, value).
        let mut found: BTreeMap<String, (String, String)> = BTreeMap::new();
        for pattern in patterns {
            if !pattern.iter().any(|b| b"*?[".contains(b)) {
                let asked = String::from_utf8_lossy(pattern).into_owned();
                let name = asked.to_ascii_lowercase();
                if let Some(value) = value_of(&name) {
                    found.entry(name).or_insert((asked, value));
                }
                continue;
            }
            let names = ENGINE_PARAMS.iter().map(|n| n.to_string()).chain(extras.keys().cloned());
            for name in names {
                if glob_match(pattern, name.as_bytes(), true)
                    && !found.contains_key(&name)
                    && let Some(value) = value_of(&name)
                {
                    found.insert(name.clone(), (name, value));
                }
            }
        }
        found.into_values().collect()
    }

    /// `CONFIG SET` of several pairs: all are checked first, then all applied, or none. As in
    /// Redis, the names are checked first (unknown, immutable or repeated; the error quotes the
    /// name as given), then the values (the error names the parameter).
    pub(crate) fn config_set(&self, pairs: &[(&[u8], &[u8])]) -> Result<()> {
        let extras = self.extra_params.params.lock().clone();
        let mut names: Vec<String> = Vec::with_capacity(pairs.len());
        for &(asked, _) in pairs {
            let shown = c_str(asked);
            let name = String::from_utf8_lossy(asked).to_ascii_lowercase();
            let settable = if ENGINE_PARAMS.contains(&name.as_str()) {
                !ENGINE_IMMUTABLE.contains(&name.as_str())
            } else if let Some(param) = extras.get(&name) {
                param.settable
            } else {
                return Err(error_quoting(&format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{shown}'"
                )));
            };
            if !settable {
                return Err(set_failed(&shown, "can't set immutable config"));
            }
            if names.contains(&name) {
                return Err(set_failed(&shown, "duplicate parameter"));
            }
            names.push(name);
        }
        let mut engine_actions = Vec::new();
        let mut extra_updates = Vec::new();
        for (name, &(_, value)) in names.into_iter().zip(pairs) {
            if ENGINE_PARAMS.contains(&name.as_str()) {
                engine_actions.push(self.check_engine_param(&name, value)?);
            } else {
                extra_updates.push((name, String::from_utf8_lossy(value).into_owned()));
            }
        }
        for action in engine_actions {
            action(self);
        }
        let mut params = self.extra_params.params.lock();
        for (name, value) in extra_updates {
            if let Some(param) = params.get_mut(&name) {
                param.value = value;
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Registers an embedder's parameter so `CONFIG GET` shows it and, when `settable`,
    /// `CONFIG SET` changes it (read it back with [`Engine::config_value`]). Re-registering a
    /// name replaces it. Names are lower-cased.
    pub fn register_config_param(&self, name: &str, value: String, settable: bool) {
        let name = name.to_ascii_lowercase();
        self.inner.extra_params.params.lock().insert(name, ExtraParam { value, settable });
    }

    /// The current value of a parameter (the engine's or a registered one).
    pub fn config_value(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        self.inner
            .engine_param(&name)
            .or_else(|| self.inner.extra_params.params.lock().get(&name).map(|p| p.value.clone()))
    }

    /// `CONFIG GET`: parameters matching any of the glob `patterns`, with their values.
    pub fn config_get<P: AsRef<[u8]>>(&self, patterns: &[P]) -> Vec<(String, String)> {
        let patterns: Vec<&[u8]> = patterns.iter().map(AsRef::as_ref).collect();
        self.inner.config_get(&patterns)
    }

    /// `CONFIG SET`: sets every pair or none (Redis's error when one is unknown or invalid).
    pub fn config_set<N: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(N, V)]) -> Result<()> {
        let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref())).collect();
        self.inner.config_set(&pairs)
    }

    /// The largest string or bulk argument accepted (`proto-max-bulk-len`), in bytes.
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.inner.max_string_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::DEFAULT_PROTO_MAX_BULK_LEN;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory(b"100"), Some(100));
        assert_eq!(parse_memory(b"1k"), Some(1000));
        assert_eq!(parse_memory(b"1KB"), Some(1024));
        assert_eq!(parse_memory(b"2mb"), Some(2 * 1024 * 1024));
        assert_eq!(parse_memory(b"1gb"), Some(1 << 30));
        assert_eq!(parse_memory(b"1tb"), None);
        assert_eq!(parse_memory(b"-1"), None);
        assert_eq!(parse_memory(b""), None);
    }

    #[test]
    fn set_is_all_or_nothing() {
        let engine = Engine::new();
        let err = engine.config_set(&[("hz", "20"), ("nope", "1")]).unwrap_err();
        assert_eq!(err.to_string(), "ERR Unknown option or number of arguments for CONFIG SET - 'nope'");
        assert_eq!(engine.config_value("hz").as_deref(), Some("10"));
        engine.config_set(&[("hz", "20"), ("lfu-log-factor", "5")]).expect("valid");
        assert_eq!(engine.config_value("HZ").as_deref(), Some("20"));
        assert_eq!(engine.config_value("lfu-log-factor").as_deref(), Some("5"));
    }

    #[test]
    fn errors_and_clamping() {
        let engine = Engine::new();
        assert_eq!(
            engine.config_set(&[("hz", "x")]).unwrap_err().to_string(),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
        );
        assert!(engine.config_set(&[("databases", "3")]).unwrap_err().to_string().contains("immutable"));
        assert!(
            engine.config_set(&[("hz", "1"), ("hz", "2")]).unwrap_err().to_string().contains("duplicate")
        );
        engine.config_set(&[("hz", "1000")]).expect("clamped");
        assert_eq!(engine.config_value("hz").as_deref(), Some("500"));
    }

    #[test]
    fn set_checks_every_name_before_any_value() {
        let engine = Engine::new();
        let err = |pairs: &[(&str, &str)]| engine.config_set(pairs).unwrap_err().to_string();
        assert_eq!(
            err(&[("hz", "abc"), ("NoSuch", "1")]),
            "ERR Unknown option or number of arguments for CONFIG SET - 'NoSuch'"
        );
        assert_eq!(
            err(&[("hz", "10"), ("HZ", "11")]),
            "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
        );
        assert_eq!(
            err(&[("Databases", "4")]),
            "ERR CONFIG SET failed (possibly related to argument 'Databases') - can't set immutable config"
        );
        assert_eq!(
            err(&[("HZ", "abc")]),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
        );
        assert_eq!(
            err(&[("a\r\nb", "1")]),
            "ERR Unknown option or number of arguments for CONFIG SET - 'a  b'"
        );
    }

    #[test]
    fn get_answers_a_plain_name_as_asked() {
        let engine = Engine::new();
        let max = DEFAULT_PROTO_MAX_BULK_LEN.to_string();
        assert_eq!(
            engine.config_get(&["PROTO-MAX-BULK-LEN"]),
            vec![("PROTO-MAX-BULK-LEN".to_string(), max.clone())]
        );
        assert_eq!(engine.config_get(&["PROTO*"]), vec![("proto-max-bulk-len".to_string(), max.clone())]);
        assert_eq!(engine.config_get(&["Hz", "h?"]), vec![("Hz".to_string(), "10".to_string())]);
        assert!(engine.config_get(&["nope"]).is_empty());
    }

    #[test]
    fn proto_max_bulk_len_range_is_redis_long_long() {
        let engine = Engine::new();
        let err = engine.config_set(&[("proto-max-bulk-len", "1000")]).unwrap_err().to_string();
        assert!(err.ends_with("argument must be between 1048576 and 9223372036854775807 inclusive"), "{err}");
        assert!(engine.config_set(&[("proto-max-bulk-len", "9223372036854775808")]).is_err());
        engine.config_set(&[("proto-max-bulk-len", "1mb")]).expect("in range");
    }

    #[test]
    fn registered_params() {
        let engine = Engine::new();
        engine.register_config_param("port", "6379".into(), false);
        engine.register_config_param("maxclients", "10".into(), true);
        assert_eq!(engine.config_get(&["port"]), vec![("port".to_string(), "6379".to_string())]);
        assert!(engine.config_set(&[("port", "1")]).is_err());
        engine.config_set(&[("maxclients", "20")]).expect("settable");
        assert_eq!(engine.config_value("maxclients").as_deref(), Some("20"));
        let all = engine.config_get(&["*"]);
        assert!(all.iter().any(|(n, _)| n == "hz") && all.iter().any(|(n, _)| n == "maxclients"));
    }
}
