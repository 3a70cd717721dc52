//! [`Slot`]: one key's fixed-size, cache-line-sized record.
//!
//! A slot is 64 bytes, aligned to a cache line, so that a lookup touches one line of entry data.
//! Its 48-byte inline area holds the key followed by the value when both fit:
//!
//! ```text
//! 0        8        12   13      14      15     16                                  64
//! +--------+--------+----+-------+-------+------+-----------------------------------+
//! | expire | meta   |kind|key_len|val_len|flags | data: key bytes, then value bytes, |
//! | at ms  | (LRU/  |    |       |       |      |   or i64 LE, or u32 object index  |
//! | (0:no) |  LFU)  |    |       |       |      |                                   |
//! +--------+--------+----+-------+-------+------+-----------------------------------+
//! ```
//!
//! Keys of up to [`KEY_INLINE_MAX`] bytes are always inline at the start of `data`, and stay
//! there for the entry's life. Longer keys move, with the value, into an [`Object`] in the
//! stripe's object slab (`key_len == KEY_ON_HEAP`). A value is inline when it fits after the
//! key; an integer always fits (8 bytes); anything else is an object whose slab index takes the
//! 4 bytes after the key.

use std::sync::atomic::{AtomicU32, Ordering};

use slab::Slab;

use crate::value::{NewValue, Object, Value, ValueRef};

/// Bytes of key and value a slot holds inline.
pub(crate) const INLINE_BYTES: usize = 48;
/// Longest key kept inline. Keeping 8 bytes free after it means an integer or an object index
/// always fits, so a key never moves when its value changes.
pub(crate) const KEY_INLINE_MAX: usize = INLINE_BYTES - 8;
/// `key_len` value meaning "the key lives in the object".
const KEY_ON_HEAP: u8 = u8::MAX;
/// Flag: this slot position is listed in the stripe's volatile list (see `Stripe`). The flag
/// belongs to the position, not to the key, so it survives the slot being freed and reused.
pub(crate) const FLAG_IN_VOLATILE: u8 = 1;
/// Flag: the string was edited in place (APPEND, SETRANGE), which Redis reports as the `raw`
/// encoding whatever its length. Cleared when a value is written whole.
pub(crate) const FLAG_RAW: u8 = 2;

/// What a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Unused; on the stripe's free list.
    Free = 0,
    /// Inline string bytes.
    Str = 1,
    /// Inline integer string.
    Int = 2,
    /// The value (and maybe the key) is an object in the slab.
    Obj = 3,
}

/// One key's record. See the module docs for the layout.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct Slot {
    expire_at_ms: u64,
    /// Access metadata (see `keyspace::access`); updated under the stripe's read lock, hence
    /// atomic. Relaxed ordering: it is a hint for eviction and `OBJECT`, not a synchronizer.
    meta: AtomicU32,
    kind: Kind,
    key_len: u8,
    val_len: u8,
    flags: u8,
    data: [u8; INLINE_BYTES],
}

const _: () = assert!(std::mem::size_of::<Slot>() == 64);

impl Slot {
    /// An unused slot.
    pub(crate) const fn free() -> Slot {
        Slot {
            expire_at_ms: 0,
            meta: AtomicU32::new(0),
            kind: Kind::Free,
            key_len: 0,
            val_len: 0,
            flags: 0,
            data: [0; INLINE_BYTES],
        }
    }

    /// What the slot holds.
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Is the slot in use?
    pub(crate) fn is_occupied(&self) -> bool {
        self.kind != Kind::Free
    }

    /// The absolute expiry in Unix milliseconds, if any.
    pub(crate) fn expire_at_ms(&self) -> Option<u64> {
        (self.expire_at_ms != 0).then_some(self.expire_at_ms)
    }

    /// Sets or clears the expiry.
    pub(crate) fn set_expire_at_ms(&mut self, at_ms: Option<u64>) {
        // 0 means "none"; an expiry at the epoch itself is in the past either way, so store 1.
        self.expire_at_ms = at_ms.map_or(0, |ms| ms.max(1));
    }

    /// Has the entry expired at `now_ms`? Redis's rule: expired once `now > when`.
    #[inline]
    pub(crate) fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms != 0 && now_ms > self.expire_at_ms
    }

    /// Access metadata.
    pub(crate) fn meta(&self) -> u32 {
        self.meta.load(Ordering::Relaxed)
    }

    /// Stores access metadata; skips the store (and the cache-line write) when unchanged.
    #[inline]
    pub(crate) fn set_meta(&self, meta: u32) {
        if self.meta.load(Ordering::Relaxed) != meta {
            self.meta.store(meta, Ordering::Relaxed);
        }
    }

    /// Flags (`FLAG_*`).
    pub(crate) fn flags(&self) -> u8 {
        self.flags
    }

    /// Was the string edited in place since it was last written whole?
    pub(crate) fn is_raw(&self) -> bool {
        self.flags & FLAG_RAW != 0
    }

    /// Sets or clears a flag.
    pub(crate) fn set_flag(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    fn key_inline(&self) -> bool {
        self.key_len != KEY_ON_HEAP
    }

    /// Bytes of `data` taken by the key.
    fn key_area(&self) -> usize {
        if self.key_inline() { usize::from(self.key_len) } else { 0 }
    }

    /// The object index, when the value lives in the slab.
    pub(crate) fn object_index(&self) -> Option<usize> {
        if self.kind != Kind::Obj {
            return None;
        }
        let at = self.key_area();
        let mut raw = [0u8; 4];
        raw.copy_from_slice(&self.data[at..at + 4]);
        Some(u32::from_le_bytes(raw) as usize)
    }

    /// The key.
    #[inline]
    pub(crate) fn key<'a>(&'a self, objects: &'a Slab<Object>) -> &'a [u8] {
        if self.key_inline() {
            return &self.data[..usize::from(self.key_len)];
        }
        match self.object_index().and_then(|i| objects.get(i)).and_then(|o| o.key.as_deref()) {
            Some(key) => key,
            // Unreachable while the stripe's invariants hold: a heap key always has an object.
            None => &[],
        }
    }

    /// Is this the slot of `key`? An inline key is compared word by word in place (no call
    /// into `memcmp` for the short keys that are the common case).
    #[inline(always)]
    pub(crate) fn has_key(&self, key: &[u8], objects: &Slab<Object>) -> bool {
        if self.key_inline() {
            let len = usize::from(self.key_len);
            return len == key.len() && short_eq(&self.data[..len], key);
        }
        self.key(objects) == key
    }

    /// The value.
    #[inline(always)]
    pub(crate) fn value<'a>(&'a self, objects: &'a Slab<Object>) -> ValueRef<'a> {
        let at = self.key_area();
        match self.kind {
            Kind::Str => ValueRef::Str(&self.data[at..at + usize::from(self.val_len)]),
            Kind::Int => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&self.data[at..at + 8]);
                ValueRef::Int(i64::from_le_bytes(raw))
            }
            Kind::Obj | Kind::Free => match self.object_index().and_then(|i| objects.get(i)) {
                Some(object) => object.value.as_ref(),
                // Free slots are never read through the index.
                None => ValueRef::Str(&[]),
            },
        }
    }

    /// Fills a free slot with `key` and `value`.
    pub(crate) fn occupy(&mut self, objects: &mut Slab<Object>, key: &[u8], value: NewValue<'_>) {
        debug_assert_eq!(self.kind, Kind::Free);
        if key.len() <= KEY_INLINE_MAX {
            self.key_len = key.len() as u8;
            self.data[..key.len()].copy_from_slice(key);
            self.store_value(objects, value);
        } else {
            let value = into_owned(value);
            let index = objects.insert(Object { key: Some(key.into()), value });
            self.key_len = KEY_ON_HEAP;
            self.val_len = 0;
            self.write_object_index(index);
        }
        self.flags &= FLAG_IN_VOLATILE;
    }

    /// Replaces the value, keeping key, expiry and metadata. Returns the old value when it was
    /// an object, so the caller can drop it after releasing the stripe lock.
    pub(crate) fn replace_value(&mut self, objects: &mut Slab<Object>, value: NewValue<'_>) -> Option<Value> {
        if !self.key_inline() {
            self.flags &= !FLAG_RAW;
            let object = self.object_index().and_then(|i| objects.get_mut(i))?;
            return Some(std::mem::replace(&mut object.value, into_owned(value)));
        }
        let old = self.object_index().map(|i| objects.remove(i).value);
        self.flags &= !FLAG_RAW;
        self.store_value(objects, value);
        old
    }

    /// Frees the slot, returning its key (when on the heap) and value when they were objects.
    pub(crate) fn vacate(&mut self, objects: &mut Slab<Object>) -> Option<Object> {
        let object = self.object_index().map(|i| objects.remove(i));
        self.kind = Kind::Free;
        self.key_len = 0;
        self.val_len = 0;
        self.expire_at_ms = 0;
        self.meta.store(0, Ordering::Relaxed);
        object
    }

    /// A mutable string buffer for in-place edits (APPEND, SETRANGE). The value is moved into
    /// an object first if it is inline. `None` when the value is not a string.
    pub(crate) fn string_mut<'a>(&mut self, objects: &'a mut Slab<Object>) -> Option<&'a mut Vec<u8>> {
        self.flags |= FLAG_RAW;
        if self.kind != Kind::Obj {
            let bytes = self.value(objects).string_to_vec()?;
            let at = self.key_area();
            let index = objects.insert(Object { key: None, value: Value::Str(bytes) });
            self.kind = Kind::Obj;
            self.val_len = 0;
            self.data[at..at + 4].copy_from_slice(&index_u32(index).to_le_bytes());
        }
        let object = objects.get_mut(self.object_index()?)?;
        if let Value::Int(n) = object.value {
            object.value = Value::Str(itoa::Buffer::new().format(n).as_bytes().to_vec());
        }
        match &mut object.value {
            Value::Str(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The out-of-line value, for in-place changes (every collection lives out of line).
    /// `None` when the value is inline (a short string or an integer).
    pub(crate) fn object_value_mut<'a>(&self, objects: &'a mut Slab<Object>) -> Option<&'a mut Value> {
        objects.get_mut(self.object_index()?).map(|object| &mut object.value)
    }

    /// Writes a value after an inline key (the key area is already filled).
    fn store_value(&mut self, objects: &mut Slab<Object>, value: NewValue<'_>) {
        let at = usize::from(self.key_len);
        let room = INLINE_BYTES - at;
        match value {
            NewValue::Str(bytes) if bytes.len() <= room => self.store_inline_str(at, bytes),
            NewValue::Owned(Value::Str(bytes)) if bytes.len() <= room => self.store_inline_str(at, &bytes),
            NewValue::Int(n) | NewValue::Owned(Value::Int(n)) => {
                self.kind = Kind::Int;
                self.val_len = 8;
                self.data[at..at + 8].copy_from_slice(&n.to_le_bytes());
            }
            other => {
                let index = objects.insert(Object { key: None, value: into_owned(other) });
                self.kind = Kind::Obj;
                self.val_len = 0;
                self.data[at..at + 4].copy_from_slice(&index_u32(index).to_le_bytes());
            }
        }
    }

    fn store_inline_str(&mut self, at: usize, bytes: &[u8]) {
        self.kind = Kind::Str;
        self.val_len = bytes.len() as u8;
        self.data[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn write_object_index(&mut self, index: usize) {
        self.kind = Kind::Obj;
        self.data[..4].copy_from_slice(&index_u32(index).to_le_bytes());
    }
}

fn into_owned(value: NewValue<'_>) -> Value {
    match value {
        NewValue::Str(bytes) => Value::Str(bytes.to_vec()),
        NewValue::Int(n) => Value::Int(n),
        NewValue::Owned(value) => value,
    }
}

fn index_u32(index: usize) -> u32 {
    // A stripe would need 4 billion objects (hundreds of GiB) to overflow this.
    u32::try_from(index).expect("object slab index exceeds u32")
}

/// `a == b` for slices of equal length up to [`INLINE_BYTES`]: 8-byte words (the last one
/// overlapping), or two overlapping 4-byte words, or bytes.
#[inline(always)]
fn short_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    debug_assert_eq!(n, b.len());
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |s: &[u8], at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_le_bytes(w)
    };
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if word(a, at) != word(b, at) {
                return false;
            }
            at += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        a == b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_eq_agrees_with_slice_eq_at_every_length_and_position() {
        let base: Vec<u8> = (0..INLINE_BYTES as u8).map(|i| i.wrapping_mul(37)).collect();
        for n in 0..=INLINE_BYTES {
            let a = &base[..n];
            assert!(short_eq(a, a), "len {n}");
            for flip in 0..n {
                let mut b = a.to_vec();
                b[flip] ^= 0x40;
                assert!(!short_eq(a, &b), "len {n}, differing byte {flip}");
            }
        }
    }

    #[test]
    fn has_key_matches_inline_and_heap_keys() {
        let mut objects = Slab::new();
        let short = filled(&mut objects, b"key:000000000042", NewValue::Str(b"v"));
        assert!(short.has_key(b"key:000000000042", &objects));
        assert!(!short.has_key(b"key:000000000043", &objects));
        assert!(!short.has_key(b"key:00000000004", &objects));
        let long_key = vec![b'k'; KEY_INLINE_MAX + 1];
        let long = filled(&mut objects, &long_key, NewValue::Str(b"v"));
        assert!(long.has_key(&long_key, &objects));
        assert!(!long.has_key(&long_key[1..], &objects));
    }

    fn filled(objects: &mut Slab<Object>, key: &[u8], value: NewValue<'_>) -> Slot {
        let mut slot = Slot::free();
        slot.occupy(objects, key, value);
        slot
    }

    #[test]
    fn short_key_and_value_are_inline() {
        let mut objects = Slab::new();
        let slot = filled(&mut objects, &[b'k'; 16], NewValue::Str(&[b'v'; 32]));
        assert_eq!(slot.kind(), Kind::Str);
        assert!(objects.is_empty());
        assert_eq!(slot.key(&objects), &[b'k'; 16]);
        assert_eq!(slot.value(&objects), ValueRef::Str(&[b'v'; 32]));
    }

    #[test]
    fn value_too_long_goes_to_an_object() {
        let mut objects = Slab::new();
        let slot = filled(&mut objects, b"key", NewValue::Str(&[7; 46]));
        assert_eq!(slot.kind(), Kind::Obj);
        assert_eq!(objects.len(), 1);
        assert_eq!(slot.key(&objects), b"key");
        assert_eq!(slot.value(&objects), ValueRef::Str(&[7; 46]));
    }

    #[test]
    fn boundary_fits_exactly() {
        let mut objects = Slab::new();
        let slot = filled(&mut objects, &[1; 40], NewValue::Str(&[2; 8]));
        assert_eq!(slot.kind(), Kind::Str);
        let slot = filled(&mut objects, &[1; 40], NewValue::Str(&[2; 9]));
        assert_eq!(slot.kind(), Kind::Obj);
        let slot = filled(&mut objects, &[1; 40], NewValue::Int(i64::MIN));
        assert_eq!(slot.value(&objects), ValueRef::Int(i64::MIN));
    }

    #[test]
    fn long_key_lives_in_object_and_survives_value_changes() {
        let mut objects = Slab::new();
        let key = vec![b'x'; 41];
        let mut slot = filled(&mut objects, &key, NewValue::Int(5));
        assert_eq!(slot.key(&objects), &key[..]);
        assert_eq!(slot.value(&objects), ValueRef::Int(5));
        let old = slot.replace_value(&mut objects, NewValue::Str(b"hello"));
        assert_eq!(old, Some(Value::Int(5)));
        assert_eq!(slot.key(&objects), &key[..]);
        assert_eq!(slot.value(&objects), ValueRef::Str(b"hello"));
        let object = slot.vacate(&mut objects).expect("object");
        assert_eq!(object.key.as_deref(), Some(&key[..]));
        assert!(objects.is_empty());
        assert!(!slot.is_occupied());
    }

    #[test]
    fn replacing_an_object_value_with_inline_frees_the_object() {
        let mut objects = Slab::new();
        let mut slot = filled(&mut objects, b"k", NewValue::Str(&[0; 100]));
        assert_eq!(objects.len(), 1);
        let old = slot.replace_value(&mut objects, NewValue::Str(b"small"));
        assert_eq!(old, Some(Value::Str(vec![0; 100])));
        assert!(objects.is_empty());
        assert_eq!(slot.value(&objects), ValueRef::Str(b"small"));
    }

    #[test]
    fn string_mut_promotes_inline_and_integer_values() {
        let mut objects = Slab::new();
        let mut slot = filled(&mut objects, b"k", NewValue::Int(12));
        slot.string_mut(&mut objects).expect("string").extend_from_slice(b"34");
        assert_eq!(slot.value(&objects), ValueRef::Str(b"1234"));
        let mut slot = filled(&mut objects, b"j", NewValue::Str(b"ab"));
        slot.string_mut(&mut objects).expect("string").push(b'c');
        assert_eq!(slot.value(&objects), ValueRef::Str(b"abc"));
    }

    #[test]
    fn raw_flag_follows_in_place_edits() {
        let mut objects = Slab::new();
        let mut slot = filled(&mut objects, b"k", NewValue::Str(b"ab"));
        assert!(!slot.is_raw());
        slot.string_mut(&mut objects).expect("string").push(b'c');
        assert!(slot.is_raw());
        slot.replace_value(&mut objects, NewValue::Str(b"x"));
        assert!(!slot.is_raw());
        slot.string_mut(&mut objects).expect("string");
        slot.vacate(&mut objects);
        slot.occupy(&mut objects, b"j", NewValue::Int(1));
        assert!(!slot.is_raw());
    }

    #[test]
    fn expiry_is_strictly_after() {
        let mut slot = Slot::free();
        assert!(!slot.is_expired(u64::MAX));
        slot.set_expire_at_ms(Some(100));
        assert!(!slot.is_expired(100));
        assert!(slot.is_expired(101));
        slot.set_expire_at_ms(Some(0));
        assert_eq!(slot.expire_at_ms(), Some(1));
    }

    #[test]
    fn volatile_flag_survives_vacate_and_reuse() {
        let mut objects = Slab::new();
        let mut slot = filled(&mut objects, b"k", NewValue::Int(1));
        slot.set_flag(FLAG_IN_VOLATILE, true);
        slot.vacate(&mut objects);
        slot.occupy(&mut objects, b"j", NewValue::Int(2));
        assert_eq!(slot.flags() & FLAG_IN_VOLATILE, FLAG_IN_VOLATILE);
    }
}
