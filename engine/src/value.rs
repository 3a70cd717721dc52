//! Values: the types a key can hold, owned and borrowed.
//!
//! Strings are stored inline in their slot when they fit (see `keyspace::slot`); everything that
//! does not fit lives in an [`Object`] in the stripe's object slab. Integer strings in canonical
//! form (what `SET k 42` or `INCR` produce) are kept as `i64` and printed back byte for byte.
//! Collections (see `crate::types`) are always objects.

use crate::types::hash::Hash;
use crate::types::set::Set;
use crate::types::zset::ZSet;

/// The type of a key's value, as `TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// A binary-safe string (including integer strings).
    String,
    /// An unordered set of distinct strings.
    Set,
    /// A list of strings.
    List,
    /// A map of fields to values.
    Hash,
    /// A set of distinct strings ordered by score.
    ZSet,
}

impl KeyType {
    /// The name `TYPE` answers (`string`, ...).
    pub fn name(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::Set => "set",
            KeyType::List => "list",
            KeyType::Hash => "hash",
            KeyType::ZSet => "zset",
        }
    }

    /// Parses a type name as `SCAN ... TYPE` takes it (case-insensitive).
    pub fn parse(name: &[u8]) -> Option<KeyType> {
        [KeyType::String, KeyType::List, KeyType::Set, KeyType::Hash, KeyType::ZSet]
            .into_iter()
            .find(|t| name.eq_ignore_ascii_case(t.name().as_bytes()))
    }
}

use crate::types::list::List;

/// An owned value, as stored out of line or moved between keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A string that is not kept as an integer.
    Str(Vec<u8>),
    /// A string in canonical integer form.
    Int(i64),
    /// A set.
    Set(Box<Set>),
    /// A list (boxed: the enum stays small for strings).
    List(Box<List>),
    /// A hash.
    Hash(Box<Hash>),
    /// A sorted set.
    ZSet(Box<ZSet>),
}

impl Value {
    /// Borrows the value.
    pub(crate) fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(bytes) => ValueRef::Str(bytes),
            Value::Int(n) => ValueRef::Int(*n),
            Value::Set(set) => ValueRef::Set(set),
            Value::List(list) => ValueRef::List(list),
            Value::Hash(hash) => ValueRef::Hash(hash),
            Value::ZSet(zset) => ValueRef::ZSet(zset),
        }
    }
}

/// A borrowed view of a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueRef<'a> {
    /// String bytes.
    Str(&'a [u8]),
    /// An integer string.
    Int(i64),
    /// A set.
    Set(&'a Set),
    /// A list.
    List(&'a List),
    /// A hash.
    Hash(&'a Hash),
    /// A sorted set.
    ZSet(&'a ZSet),
}

/// A string value as commands read it: bytes, or an integer kept as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringRef<'a> {
    /// String bytes.
    Bytes(&'a [u8]),
    /// An integer string.
    Int(i64),
}

/// Longest string Redis stores as `embstr` (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
const EMBSTR_SIZE_LIMIT: usize = 44;

impl<'a> ValueRef<'a> {
    /// The value's type.
    pub(crate) fn key_type(self) -> KeyType {
        match self {
            ValueRef::Str(_) | ValueRef::Int(_) => KeyType::String,
            ValueRef::Set(_) => KeyType::Set,
            ValueRef::List(_) => KeyType::List,
            ValueRef::Hash(_) => KeyType::Hash,
            ValueRef::ZSet(_) => KeyType::ZSet,
        }
    }

    /// The value as a string, or `None` when it is of another type.
    #[inline]
    pub(crate) fn as_string(self) -> Option<StringRef<'a>> {
        match self {
            ValueRef::Str(bytes) => Some(StringRef::Bytes(bytes)),
            ValueRef::Int(n) => Some(StringRef::Int(n)),
            ValueRef::Set(_) | ValueRef::List(_) | ValueRef::Hash(_) | ValueRef::ZSet(_) => None,
        }
    }

    /// The string's bytes, or `None` when the value is not a string.
    ///
    /// Integers are printed into `buf`, so no allocation happens.
    pub(crate) fn string_bytes<'b>(self, buf: &'b mut itoa::Buffer) -> Option<&'b [u8]>
    where
        'a: 'b,
    {
        match self.as_string()? {
            StringRef::Bytes(bytes) => Some(bytes),
            StringRef::Int(n) => Some(buf.format(n).as_bytes()),
        }
    }

    /// The string as an owned byte vector, or `None` when the value is not a string.
    pub(crate) fn string_to_vec(self) -> Option<Vec<u8>> {
        let mut buf = itoa::Buffer::new();
        self.string_bytes(&mut buf).map(<[u8]>::to_vec)
    }

    /// An owned copy (`COPY`).
    pub(crate) fn to_owned_value(self) -> Value {
        match self {
            ValueRef::Str(bytes) => Value::Str(bytes.to_vec()),
            ValueRef::Int(n) => Value::Int(n),
            ValueRef::Set(set) => Value::Set(Box::new(set.clone())),
            ValueRef::List(list) => Value::List(Box::new(list.clone())),
            ValueRef::Hash(hash) => Value::Hash(Box::new(hash.clone())),
            ValueRef::ZSet(zset) => Value::ZSet(Box::new(zset.clone())),
        }
    }

    /// Does the value have parts that expire on their own (a hash with field TTLs)?
    pub(crate) fn has_field_expiry(self) -> bool {
        match self {
            ValueRef::Hash(hash) => hash.has_ttls(),
            ValueRef::Str(_)
            | ValueRef::Int(_)
            | ValueRef::Set(_)
            | ValueRef::List(_)
            | ValueRef::ZSet(_) => false,
        }
    }

    /// The `OBJECT ENCODING` name: Redis's name for the same kind of representation, never a
    /// name for a form we do not have. Integers are `int`; strings written whole and short
    /// enough to be embedded are `embstr` (they sit in the entry's slot, or right beside it
    /// when a long key pushes them out); strings edited in place (`raw` set) or longer are
    /// `raw`.
    pub(crate) fn encoding(self, raw: bool) -> &'static str {
        match self {
            ValueRef::Int(_) => "int",
            ValueRef::Str(bytes) if !raw && bytes.len() <= EMBSTR_SIZE_LIMIT => "embstr",
            ValueRef::Str(_) => "raw",
            ValueRef::Set(set) => set.encoding(),
            ValueRef::List(list) => list.encoding(),
            ValueRef::Hash(hash) => hash.encoding(),
            ValueRef::ZSet(zset) => zset.encoding(),
        }
    }
}

impl Value {
    /// Removes the parts expired at `now_ms` (a hash's expired fields); returns how many, and
    /// whether the value is left empty.
    pub(crate) fn purge_expired_fields(&mut self, now_ms: u64) -> (usize, bool) {
        match self {
            Value::Hash(hash) => {
                let purged = hash.purge_expired(now_ms);
                (purged, hash.len() == 0)
            }
            Value::Str(_) | Value::Int(_) | Value::Set(_) | Value::List(_) | Value::ZSet(_) => (0, false),
        }
    }

    /// Heap bytes the value owns (its allocations' capacities), for memory reporting.
    ///
    /// O(1) for every type (each collection keeps its counts as it changes), so memory
    /// accounting can read it after every write. `tests/memory_accounting.rs` checks it
    /// against a counting allocator.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(bytes) => bytes.capacity(),
            Value::Int(_) => 0,
            Value::Set(set) => std::mem::size_of::<Set>() + set.heap_bytes(),
            Value::List(list) => size_of::<List>() + list.heap_bytes(),
            Value::Hash(hash) => size_of::<Hash>() + hash.heap_bytes(),
            Value::ZSet(zset) => size_of::<ZSet>() + zset.heap_bytes(),
        }
    }
}

/// What a write stores: borrowed string bytes, an integer, or an owned value.
#[derive(Debug)]
pub(crate) enum NewValue<'a> {
    /// String bytes, copied inline or into an object.
    Str(&'a [u8]),
    /// An integer string.
    Int(i64),
    /// An owned value (moved from another key, or built by a command).
    Owned(Value),
}

/// An out-of-line entry part: the value when it does not fit its slot, and the key when it is
/// longer than a slot holds inline.
#[derive(Debug)]
pub(crate) struct Object {
    /// The key, when it is too long for the slot.
    pub(crate) key: Option<Box<[u8]>>,
    /// The value.
    pub(crate) value: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_bytes_round_trip() {
        let mut buf = itoa::Buffer::new();
        assert_eq!(ValueRef::Int(i64::MIN).string_bytes(&mut buf), Some(&b"-9223372036854775808"[..]));
        assert_eq!(ValueRef::Str(b"x").string_to_vec(), Some(b"x".to_vec()));
    }
}
