//! `WATCH` bookkeeping: which sessions watch which keys of a stripe.
//!
//! A stripe that has watched keys carries a [`Watchers`] map from key to the flags of the
//! sessions (or typed [`Watch`](crate::Watch)es) watching it. Every change to a key under the
//! stripe's write lock (write, delete, expiry, flush) raises the flags of its watchers, so
//! `EXEC` only has to read its own flag. A stripe nobody watches pays one `is_some` check per
//! change.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hashbrown::HashMap;

/// One watcher's "a watched key changed" flag (Redis's `CLIENT_DIRTY_CAS`), shared by every
/// stripe where it watches a key.
#[derive(Debug, Default)]
pub(crate) struct WatchFlag {
    dirty: AtomicBool,
}

impl WatchFlag {
    /// Has a watched key changed since the flag was last cleared?
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    /// Raises the flag.
    pub(crate) fn raise(&self) {
        self.dirty.store(true, Ordering::Release);
    }
}

/// The watched keys of one stripe.
#[derive(Debug, Default)]
pub(crate) struct Watchers {
    keys: HashMap<Box<[u8]>, Vec<Arc<WatchFlag>>, ahash::RandomState>,
}

impl Watchers {
    /// Adds `flag` as a watcher of `key` (once).
    pub(crate) fn add(&mut self, key: &[u8], flag: &Arc<WatchFlag>) {
        if !self.keys.contains_key(key) {
            self.keys.insert(key.into(), Vec::new());
        }
        let Some(flags) = self.keys.get_mut(key) else { return };
        if !flags.iter().any(|f| Arc::ptr_eq(f, flag)) {
            flags.push(Arc::clone(flag));
        }
    }

    /// Removes `flag` from the watchers of `key`. Returns whether no key is watched any more.
    pub(crate) fn remove(&mut self, key: &[u8], flag: &Arc<WatchFlag>) -> bool {
        if let Some(flags) = self.keys.get_mut(key) {
            flags.retain(|f| !Arc::ptr_eq(f, flag));
            if flags.is_empty() {
                self.keys.remove(key);
            }
        }
        self.keys.is_empty()
    }

    /// `key` changed: raises the flags of its watchers.
    pub(crate) fn touch(&self, key: &[u8]) {
        if let Some(flags) = self.keys.get(key) {
            flags.iter().for_each(|f| f.raise());
        }
    }

    /// Number of watched keys.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_a_key_raises_only_its_watchers() {
        let mut watchers = Watchers::default();
        let (a, b) = (Arc::new(WatchFlag::default()), Arc::new(WatchFlag::default()));
        watchers.add(b"x", &a);
        watchers.add(b"x", &a);
        watchers.add(b"y", &b);
        assert_eq!(watchers.len(), 2);
        watchers.touch(b"z");
        assert!(!a.is_dirty() && !b.is_dirty());
        watchers.touch(b"x");
        assert!(a.is_dirty() && !b.is_dirty());
        assert!(!watchers.remove(b"x", &a));
        watchers.touch(b"x");
        watchers.touch(b"y");
        assert!(b.is_dirty());
        let c = Arc::new(WatchFlag::default());
        watchers.add(b"x", &c);
        watchers.remove(b"x", &c);
        watchers.touch(b"x");
        assert!(!c.is_dirty(), "removed watchers are not raised");
        assert!(watchers.remove(b"y", &b), "empty now");
    }
}
