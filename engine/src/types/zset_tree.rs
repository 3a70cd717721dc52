//! [`Tree`]: the order-statistic B+tree behind large sorted sets.
//!
//! Entries are `(score, arena offset)` pairs kept sorted by `(score, member bytes)`; the member
//! bytes live in the sorted set's arena (see `zset_table.rs`) and are read only to break score
//! ties. Leaves hold up to [`CAP`] entries in two fixed arrays (12 bytes an entry); inner nodes
//! hold up to [`CAP`] children with each child's entry count and lower bound, so a rank, or the
//! entry at a rank, is found in one root-to-leaf descent: O(log n) with ~4 levels at 1M entries.
//!
//! Invariants:
//! - every entry of child `i` is below `seps[i + 1]` and at or above `seps[i]` (`seps[0]` is
//!   unused); a separator may name a removed member (its arena bytes stay until compaction,
//!   which rebuilds the tree);
//! - `counts[i]` is the number of entries under child `i`;
//! - removal merges a child that fell below `CAP / 4` with a neighbour when both fit in one
//!   node, so nodes stay at least a quarter full on average pairs; an inner root with one child
//!   is replaced by that child.

use std::cmp::Ordering;

/// Most entries in a leaf, children in an inner node.
pub(crate) const CAP: usize = 64;
/// A child smaller than this is merged with a neighbour when both fit in one node.
const MIN: usize = CAP / 4;
/// Entries per leaf (children per inner node) when building from sorted input.
const BUILD_FILL: usize = CAP * 7 / 8;

/// One tree entry: a score and the arena offset of its member's record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry {
    /// The member's score.
    pub(crate) score: f64,
    /// Offset of the member's record in the arena.
    pub(crate) offset: u32,
}

/// Orders two scores (never NaN; `-0` equals `0`, as in Redis).
#[inline]
pub(crate) fn cmp_score(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// A leaf: up to [`CAP`] entries, sorted.
#[derive(Debug, Clone)]
struct Leaf {
    len: usize,
    scores: [f64; CAP],
    offsets: [u32; CAP],
}

impl Leaf {
    fn empty() -> Box<Leaf> {
        Box::new(Leaf { len: 0, scores: [0.0; CAP], offsets: [0; CAP] })
    }

    fn entry(&self, at: usize) -> Entry {
        Entry { score: self.scores[at], offset: self.offsets[at] }
    }

    /// Number of leading entries for which `pred` holds (a prefix).
    fn partition(&self, pred: &impl Fn(Entry) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if pred(self.entry(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    fn insert_at(&mut self, at: usize, entry: Entry) {
        self.scores.copy_within(at..self.len, at + 1);
        self.offsets.copy_within(at..self.len, at + 1);
        self.scores[at] = entry.score;
        self.offsets[at] = entry.offset;
        self.len += 1;
    }

    fn remove_at(&mut self, at: usize) {
        self.scores.copy_within(at + 1..self.len, at);
        self.offsets.copy_within(at + 1..self.len, at);
        self.len -= 1;
    }

    /// Moves the entries from `at` on into a new leaf.
    fn split_off(&mut self, at: usize) -> Box<Leaf> {
        let mut right = Leaf::empty();
        let moved = self.len - at;
        right.scores[..moved].copy_from_slice(&self.scores[at..self.len]);
        right.offsets[..moved].copy_from_slice(&self.offsets[at..self.len]);
        right.len = moved;
        self.len = at;
        right
    }

    /// Appends every entry of `other` (which sorts after this leaf's).
    fn append(&mut self, other: &Leaf) {
        let (at, n) = (self.len, other.len);
        self.scores[at..at + n].copy_from_slice(&other.scores[..n]);
        self.offsets[at..at + n].copy_from_slice(&other.offsets[..n]);
        self.len += n;
    }
}

/// An inner node: children with their entry counts and lower bounds.
#[derive(Debug, Clone)]
struct Inner {
    seps: Vec<Entry>,
    counts: Vec<u32>,
    children: Vec<Node>,
}

impl Inner {
    fn with_capacity() -> Box<Inner> {
        Box::new(Inner {
            seps: Vec::with_capacity(CAP + 1),
            counts: Vec::with_capacity(CAP + 1),
            children: Vec::with_capacity(CAP + 1),
        })
    }

    /// The child whose range holds entries for which `pred` is the boundary: the number of
    /// separators (after the first) for which `pred` holds.
    fn child_for(&self, pred: &impl Fn(Entry) -> bool) -> usize {
        let (mut lo, mut hi) = (1, self.seps.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if pred(self.seps[mid]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo - 1
    }

    fn total(&self) -> usize {
        self.counts.iter().map(|&c| c as usize).sum()
    }

    fn insert_child(&mut self, at: usize, sep: Entry, count: usize, child: Node) {
        self.seps.insert(at, sep);
        self.counts.insert(at, count as u32);
        self.children.insert(at, child);
    }

    fn remove_child(&mut self, at: usize) -> (Entry, Node) {
        self.counts.remove(at);
        (self.seps.remove(at), self.children.remove(at))
    }

    /// Merges child `i` with a neighbour when it is small and both fit in one node.
    fn rebalance(&mut self, i: usize) {
        if self.children.len() < 2 || self.children[i].width() >= MIN {
            return;
        }
        let (left, right) = if i + 1 < self.children.len() { (i, i + 1) } else { (i - 1, i) };
        if self.children[left].width() + self.children[right].width() > CAP {
            return;
        }
        let right_count = self.counts[right];
        let (sep, node) = self.remove_child(right);
        self.counts[left] += right_count;
        match (&mut self.children[left], node) {
            (Node::Leaf(l), Node::Leaf(r)) => l.append(&r),
            (Node::Inner(l), Node::Inner(mut r)) => {
                // The right node's first separator is a placeholder; its real lower bound
                // was this node's separator for it.
                if let Some(first) = r.seps.first_mut() {
                    *first = sep;
                }
                l.seps.append(&mut r.seps);
                l.counts.append(&mut r.counts);
                l.children.append(&mut r.children);
            }
            // Siblings are always at the same depth.
            (_, node) => self.insert_child(right, sep, right_count as usize, node),
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(Box<Leaf>),
    Inner(Box<Inner>),
}

/// A placeholder for the unused first separator.
const NO_SEP: Entry = Entry { score: f64::NEG_INFINITY, offset: u32::MAX };

impl Node {
    /// Entries (leaf) or children (inner): how full the node is.
    fn width(&self) -> usize {
        match self {
            Node::Leaf(leaf) => leaf.len,
            Node::Inner(inner) => inner.children.len(),
        }
    }

    fn count(&self) -> usize {
        match self {
            Node::Leaf(leaf) => leaf.len,
            Node::Inner(inner) => inner.total(),
        }
    }

    /// Inserts `entry`, which `cmp` compares stored entries with; returns the new right
    /// sibling and its lower bound when the node split.
    fn insert(&mut self, entry: Entry, cmp: &impl Fn(Entry) -> Ordering) -> Option<(Entry, Node)> {
        match self {
            Node::Leaf(leaf) => {
                let at = leaf.partition(&|e| cmp(e) == Ordering::Less);
                if leaf.len < CAP {
                    leaf.insert_at(at, entry);
                    return None;
                }
                // Appending at the end leaves the full leaf full (ascending inserts pack).
                let mid = if at == CAP { CAP } else { CAP / 2 };
                let mut right = leaf.split_off(mid);
                if at < mid {
                    leaf.insert_at(at, entry);
                } else {
                    right.insert_at(at - mid, entry);
                }
                Some((right.entry(0), Node::Leaf(right)))
            }
            Node::Inner(inner) => {
                let i = inner.child_for(&|e| cmp(e) != Ordering::Greater);
                inner.counts[i] += 1;
                let (sep, right) = inner.children[i].insert(entry, cmp)?;
                let right_count = right.count();
                inner.counts[i] -= right_count as u32;
                inner.insert_child(i + 1, sep, right_count, right);
                if inner.children.len() <= CAP {
                    return None;
                }
                let mid = inner.children.len() / 2;
                let mut right = Inner::with_capacity();
                right.seps.extend(inner.seps.drain(mid..));
                right.counts.extend(inner.counts.drain(mid..));
                right.children.extend(inner.children.drain(mid..));
                let sep = right.seps[0];
                Some((sep, Node::Inner(right)))
            }
        }
    }

    /// Removes the entry with `offset`, which `cmp` compares stored entries with; returns
    /// whether it was there.
    fn remove(&mut self, offset: u32, cmp: &impl Fn(Entry) -> Ordering) -> bool {
        match self {
            Node::Leaf(leaf) => {
                let at = leaf.partition(&|e| cmp(e) == Ordering::Less);
                if at < leaf.len && leaf.offsets[at] == offset {
                    leaf.remove_at(at);
                    return true;
                }
                false
            }
            Node::Inner(inner) => {
                let i = inner.child_for(&|e| cmp(e) != Ordering::Greater);
                if !inner.children[i].remove(offset, cmp) {
                    return false;
                }
                inner.counts[i] -= 1;
                inner.rebalance(i);
                true
            }
        }
    }

    fn count_where(&self, pred: &impl Fn(Entry) -> bool) -> usize {
        match self {
            Node::Leaf(leaf) => leaf.partition(pred),
            Node::Inner(inner) => {
                let i = inner.child_for(pred);
                let before: usize = inner.counts[..i].iter().map(|&c| c as usize).sum();
                before + inner.children[i].count_where(pred)
            }
        }
    }

    /// Visits entries in order after skipping `skip` of them, until `f` returns false.
    fn visit(&self, mut skip: usize, f: &mut impl FnMut(Entry) -> bool) -> bool {
        match self {
            Node::Leaf(leaf) => (skip..leaf.len).all(|at| f(leaf.entry(at))),
            Node::Inner(inner) => {
                for (child, &count) in inner.children.iter().zip(&inner.counts) {
                    if skip >= count as usize {
                        skip -= count as usize;
                        continue;
                    }
                    if !child.visit(skip, f) {
                        return false;
                    }
                    skip = 0;
                }
                true
            }
        }
    }

    /// Visits entries in reverse order after skipping `skip` from the end, until `f` returns
    /// false.
    fn visit_rev(&self, mut skip: usize, f: &mut impl FnMut(Entry) -> bool) -> bool {
        match self {
            Node::Leaf(leaf) => (0..leaf.len.saturating_sub(skip)).rev().all(|at| f(leaf.entry(at))),
            Node::Inner(inner) => {
                for (child, &count) in inner.children.iter().zip(&inner.counts).rev() {
                    if skip >= count as usize {
                        skip -= count as usize;
                        continue;
                    }
                    if !child.visit_rev(skip, f) {
                        return false;
                    }
                    skip = 0;
                }
                true
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Node::Leaf(_) => size_of::<Leaf>(),
            Node::Inner(inner) => {
                size_of::<Inner>()
                    + inner.seps.capacity() * size_of::<Entry>()
                    + inner.counts.capacity() * size_of::<u32>()
                    + inner.children.capacity() * size_of::<Node>()
                    + inner.children.iter().map(Node::heap_bytes).sum::<usize>()
            }
        }
    }
}

/// The order-statistic B+tree. See the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    root: Node,
    len: usize,
}

impl Default for Tree {
    fn default() -> Tree {
        Tree { root: Node::Leaf(Leaf::empty()), len: 0 }
    }
}

impl Tree {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Inserts `entry`; `cmp` orders a stored entry against it.
    pub(crate) fn insert(&mut self, entry: Entry, cmp: impl Fn(Entry) -> Ordering) {
        if let Some((sep, right)) = self.root.insert(entry, &cmp) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Leaf::empty()));
            let mut root = Inner::with_capacity();
            let left_count = left.count();
            root.insert_child(0, NO_SEP, left_count, left);
            let right_count = right.count();
            root.insert_child(1, sep, right_count, right);
            self.root = Node::Inner(root);
        }
        self.len += 1;
    }

    /// Removes the entry for `offset`; `cmp` orders a stored entry against it. Returns whether
    /// it was found.
    pub(crate) fn remove(&mut self, offset: u32, cmp: impl Fn(Entry) -> Ordering) -> bool {
        if !self.root.remove(offset, &cmp) {
            return false;
        }
        self.len -= 1;
        while let Node::Inner(inner) = &mut self.root {
            if inner.children.len() != 1 {
                break;
            }
            let Some(child) = inner.children.pop() else { break };
            self.root = child;
        }
        true
    }

    /// The number of entries for which `pred` holds; `pred` must hold for a prefix of the
    /// order (all entries below some key).
    pub(crate) fn count_where(&self, pred: impl Fn(Entry) -> bool) -> usize {
        self.root.count_where(&pred)
    }

    /// Visits the entries from rank `from` on (ascending), or from rank `from` down (`rev`),
    /// until `f` returns false.
    pub(crate) fn visit(&self, from: usize, rev: bool, mut f: impl FnMut(Entry) -> bool) {
        if from >= self.len {
            return;
        }
        if rev {
            self.root.visit_rev(self.len - 1 - from, &mut f);
        } else {
            self.root.visit(from, &mut f);
        }
    }

    /// A tree holding `entries`, which must be sorted; nodes are built 7/8 full.
    pub(crate) fn from_sorted(entries: impl Iterator<Item = Entry>) -> Tree {
        let mut level: Vec<(Entry, usize, Node)> = Vec::new();
        let mut leaf = Leaf::empty();
        let mut len = 0;
        for entry in entries {
            if leaf.len == BUILD_FILL {
                let full = std::mem::replace(&mut leaf, Leaf::empty());
                level.push((full.entry(0), full.len, Node::Leaf(full)));
            }
            leaf.insert_at(leaf.len, entry);
            len += 1;
        }
        if leaf.len > 0 || level.is_empty() {
            let first = if leaf.len > 0 { leaf.entry(0) } else { NO_SEP };
            level.push((first, leaf.len, Node::Leaf(leaf)));
        }
        while level.len() > 1 {
            let mut parents = Vec::with_capacity(level.len() / BUILD_FILL + 1);
            let mut current = Inner::with_capacity();
            let mut first = NO_SEP;
            for (sep, count, node) in level {
                if current.children.len() == BUILD_FILL {
                    let full = std::mem::replace(&mut current, Inner::with_capacity());
                    let total = full.total();
                    parents.push((first, total, Node::Inner(full)));
                }
                if current.children.is_empty() {
                    first = sep;
                }
                let at = current.children.len();
                current.insert_child(at, sep, count, node);
            }
            let total = current.total();
            parents.push((first, total, Node::Inner(current)));
            level = parents;
        }
        let root = level.pop().map_or_else(|| Node::Leaf(Leaf::empty()), |(_, _, node)| node);
        Tree { root, len }
    }

    /// Heap bytes held by the nodes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.root.heap_bytes()
    }

    /// Checks every structural invariant (tests only): counts, order, widths.
    #[cfg(test)]
    pub(crate) fn check(&self, cmp: &impl Fn(Entry, Entry) -> Ordering) {
        fn walk(node: &Node, out: &mut Vec<Entry>, depth: usize, depths: &mut Vec<usize>) -> usize {
            match node {
                Node::Leaf(leaf) => {
                    out.extend((0..leaf.len).map(|i| leaf.entry(i)));
                    depths.push(depth);
                    leaf.len
                }
                Node::Inner(inner) => {
                    assert!(inner.children.len() <= CAP && !inner.children.is_empty());
                    let mut total = 0;
                    for (child, &count) in inner.children.iter().zip(&inner.counts) {
                        let n = walk(child, out, depth + 1, depths);
                        assert_eq!(n, count as usize, "child count");
                        total += n;
                    }
                    total
                }
            }
        }
        let mut entries = Vec::new();
        let mut depths = Vec::new();
        assert_eq!(walk(&self.root, &mut entries, 0, &mut depths), self.len);
        assert!(depths.windows(2).all(|w| w[0] == w[1]), "leaves at one depth");
        assert!(entries.windows(2).all(|w| cmp(w[0], w[1]) == Ordering::Less), "sorted");
    }
}
