//! [`Tree`]: the order-statistic B+tree behind large sorted sets.
//!
//! Entries are `(score, arena offset)` pairs kept sorted by `(score, member bytes)`; the member
//! bytes live in the sorted set's arena (see `zset.rs`) and are read only to break score ties.
//! Leaves hold up to [`CAP`] entries in two fixed arrays (12 bytes an entry); inner nodes hold
//! up to [`CAP`] children with each child's entry count and lower bound, so a rank, or the
//! entry at a rank, is found in one root-to-leaf descent: O(log n), 4 levels at 1M entries.
//!
//! Invariants:
//! - every entry of child `i` is below separator `i + 1` and at or above separator `i` (the
//!   first separator is unused); a separator may name a removed member, whose arena bytes stay
//!   until compaction, which rebuilds the tree;
//! - `counts[i]` is the number of entries under child `i`; all leaves are at one depth;
//! - removal merges a child that fell below `CAP / 4` with a neighbour when both fit in one
//!   node, so of two neighbours at most one is under a quarter full unless both fit in one
//!   node; an inner root with one child is replaced by that child.

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

/// How a key's member compares with the member at an arena offset (ties on score only).
pub(crate) trait MemberCmp: Fn(u32) -> Ordering {}
impl<T: Fn(u32) -> Ordering> MemberCmp for T {}

/// The number of leading `(score, offset)` pairs below the key `(score, member)`, or at or
/// below it when `inclusive`: a count over the scores alone, then, only when scores tie, a
/// binary search on the members of the equal run.
///
/// The count is a branch-free pass rather than a binary search: its loads do not depend on
/// each other, so a node's cache misses overlap instead of queueing (ZRANK on 1M members is
/// bound by them).
fn split_point(
    scores: &[f64],
    offsets: &[u32],
    score: f64,
    member: &impl MemberCmp,
    inclusive: bool,
) -> usize {
    let lo = scores.iter().map(|&s| usize::from(s < score)).sum::<usize>();
    if scores.get(lo).is_none_or(|&s| s != score) {
        return lo;
    }
    let run = lo + scores[lo..].partition_point(|&s| s <= score);
    lo + offsets[lo..run].partition_point(|&o| match member(o) {
        Ordering::Less => true,
        Ordering::Equal => inclusive,
        Ordering::Greater => false,
    })
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

    /// Entries below the key.
    fn position(&self, score: f64, member: &impl MemberCmp) -> usize {
        split_point(&self.scores[..self.len], &self.offsets[..self.len], score, member, false)
    }

    /// Where `entry` is, found by its offset among the entries with its score: no member bytes
    /// are read (the arena is the costly memory to touch), whatever the ties.
    fn find(&self, entry: Entry) -> Option<usize> {
        let scores = &self.scores[..self.len];
        let lo = scores.iter().map(|&s| usize::from(s < entry.score)).sum::<usize>();
        (lo..self.len)
            .take_while(|&at| scores[at] == entry.score)
            .find(|&at| self.offsets[at] == entry.offset)
    }

    /// Gives the entry at `at` the score `score` in place when its key `(score, member)` still
    /// sorts strictly between its neighbours in this leaf; false (nothing changed) otherwise.
    /// The first entry is never rescored in place: an ancestor's separator may carry its score.
    fn rescore_in_place(&mut self, at: usize, score: f64, member: &impl MemberCmp) -> bool {
        if at == 0 || at + 1 >= self.len {
            return false;
        }
        // `member(o)` orders the stored member at `o` against the moving one.
        let above = |o: usize| match cmp_score(self.scores[o], score) {
            Ordering::Equal => member(self.offsets[o]) == Ordering::Greater,
            order => order == Ordering::Greater,
        };
        let below = |o: usize| match cmp_score(self.scores[o], score) {
            Ordering::Equal => member(self.offsets[o]) == Ordering::Less,
            order => order == Ordering::Less,
        };
        if below(at - 1) && above(at + 1) {
            self.scores[at] = score;
            return true;
        }
        false
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

/// An inner node: children with their entry counts and lower bounds, all in one allocation
/// (one room spare for the moment between an insertion and the split it causes).
#[derive(Debug, Clone)]
struct Inner {
    len: usize,
    /// Separator scores and arena offsets, apart so that searches touch only the scores.
    sep_scores: [f64; CAP + 1],
    sep_offsets: [u32; CAP + 1],
    counts: [u32; CAP + 1],
    children: [Node; CAP + 1],
}

impl Inner {
    fn with_capacity() -> Box<Inner> {
        Box::new(Inner {
            len: 0,
            sep_scores: [0.0; CAP + 1],
            sep_offsets: [0; CAP + 1],
            counts: [0; CAP + 1],
            children: std::array::from_fn(|_| Node::Empty),
        })
    }

    fn children(&self) -> &[Node] {
        &self.children[..self.len]
    }

    /// The child whose range holds entries for which `pred` is the boundary: the number of
    /// separators (after the first) for which `pred` holds.
    fn child_for(&self, pred: &impl Fn(Entry) -> bool) -> usize {
        let (mut lo, mut hi) = (1, self.len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if pred(self.sep(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo - 1
    }

    /// The child whose range holds the key.
    fn child_for_key(&self, score: f64, member: &impl MemberCmp) -> usize {
        let n = self.len.max(1);
        split_point(&self.sep_scores[1..n], &self.sep_offsets[1..n], score, member, true)
    }

    /// Entries under the children before child `i`. A plain sum of the first `i` counts: the
    /// branch-free pass over all 65 (masking those from `i` on) that it replaces did not
    /// vectorise and was 180 instructions per level, a third of a ZRANK's.
    fn count_before(&self, i: usize) -> usize {
        self.counts[..i].iter().map(|&c| c as usize).sum()
    }

    fn sep(&self, at: usize) -> Entry {
        Entry { score: self.sep_scores[at], offset: self.sep_offsets[at] }
    }

    fn total(&self) -> usize {
        self.counts[..self.len].iter().map(|&c| c as usize).sum()
    }

    fn insert_child(&mut self, at: usize, sep: Entry, count: usize, child: Node) {
        let n = self.len;
        self.sep_scores.copy_within(at..n, at + 1);
        self.sep_offsets.copy_within(at..n, at + 1);
        self.counts.copy_within(at..n, at + 1);
        self.children[at..=n].rotate_right(1);
        self.sep_scores[at] = sep.score;
        self.sep_offsets[at] = sep.offset;
        self.counts[at] = count as u32;
        self.children[at] = child;
        self.len += 1;
    }

    fn remove_child(&mut self, at: usize) -> (Entry, usize, Node) {
        let n = self.len;
        let (sep, count) = (self.sep(at), self.counts[at] as usize);
        let child = std::mem::replace(&mut self.children[at], Node::Empty);
        self.sep_scores.copy_within(at + 1..n, at);
        self.sep_offsets.copy_within(at + 1..n, at);
        self.counts.copy_within(at + 1..n, at);
        self.counts[n - 1] = 0;
        self.children[at..n].rotate_left(1);
        self.len -= 1;
        (sep, count, child)
    }

    /// Moves the children from `at` on into a new node.
    fn split_off(&mut self, at: usize) -> Box<Inner> {
        let mut right = Inner::with_capacity();
        while self.len > at {
            let (sep, count, child) = self.remove_child(at);
            let end = right.len;
            right.insert_child(end, sep, count, child);
        }
        right
    }

    /// Appends every child of `other` (which sorts after this node's); `sep` is the real lower
    /// bound of `other`'s first child.
    fn append(&mut self, other: &mut Inner, sep: Entry) {
        let mut first = true;
        while other.len > 0 {
            let (own, count, child) = other.remove_child(0);
            let end = self.len;
            self.insert_child(end, if first { sep } else { own }, count, child);
            first = false;
        }
    }

    /// Merges child `i` with a neighbour when it is small and both fit in one node; a merged
    /// away node is taken off `nodes`.
    fn rebalance(&mut self, i: usize, nodes: &mut NodeCounts) {
        if self.len < 2 || self.children[i].width() >= MIN {
            return;
        }
        let (left, right) = if i + 1 < self.len { (i, i + 1) } else { (i - 1, i) };
        if self.children[left].width() + self.children[right].width() > CAP {
            return;
        }
        let (sep, right_count, node) = self.remove_child(right);
        self.counts[left] += right_count as u32;
        match (&mut self.children[left], node) {
            (Node::Leaf(l), Node::Leaf(r)) => {
                l.append(&r);
                nodes.leaves -= 1;
            }
            (Node::Inner(l), Node::Inner(mut r)) => {
                l.append(&mut r, sep);
                nodes.inners -= 1;
            }
            // Siblings are always at the same depth.
            (_, node) => self.insert_child(right, sep, right_count, node),
        }
    }
}

/// How many leaves and inner nodes a tree has allocated: its heap bytes in O(1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct NodeCounts {
    leaves: usize,
    inners: usize,
}

impl NodeCounts {
    fn heap_bytes(self) -> usize {
        self.leaves * size_of::<Leaf>() + self.inners * size_of::<Inner>()
    }
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(Box<Leaf>),
    Inner(Box<Inner>),
    /// A vacant child slot of an inner node (never reachable from the root).
    Empty,
}

/// What [`Node::remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// The entry was not there.
    Missing,
    /// The entry was removed.
    Removed,
    /// The entry was given its new score where it stands.
    Rescored,
}

/// A placeholder for the unused first separator.
const NO_SEP: Entry = Entry { score: f64::NEG_INFINITY, offset: u32::MAX };

impl Node {
    /// Entries (leaf) or children (inner): how full the node is.
    fn width(&self) -> usize {
        match self {
            Node::Leaf(leaf) => leaf.len,
            Node::Inner(inner) => inner.len,
            Node::Empty => 0,
        }
    }

    fn count(&self) -> usize {
        match self {
            Node::Leaf(leaf) => leaf.len,
            Node::Inner(inner) => inner.total(),
            Node::Empty => 0,
        }
    }

    /// Inserts `entry`, whose member `member` compares with stored ones; returns the new right
    /// sibling and its lower bound when the node split. Nodes created are added to `nodes`.
    fn insert(
        &mut self,
        entry: Entry,
        member: &impl MemberCmp,
        nodes: &mut NodeCounts,
    ) -> Option<(Entry, Node)> {
        if let Node::Empty = self {
            *self = Node::Leaf(Leaf::empty());
            nodes.leaves += 1;
        }
        match self {
            Node::Empty => None,
            Node::Leaf(leaf) => {
                let at = leaf.position(entry.score, member);
                if leaf.len < CAP {
                    leaf.insert_at(at, entry);
                    return None;
                }
                // Appending at the end leaves the full leaf full (ascending inserts pack).
                let mid = if at == CAP { CAP } else { CAP / 2 };
                let mut right = leaf.split_off(mid);
                nodes.leaves += 1;
                if at < mid {
                    leaf.insert_at(at, entry);
                } else {
                    right.insert_at(at - mid, entry);
                }
                Some((right.entry(0), Node::Leaf(right)))
            }
            Node::Inner(inner) => {
                let i = inner.child_for_key(entry.score, member);
                inner.counts[i] += 1;
                let (sep, right) = inner.children[i].insert(entry, member, nodes)?;
                let right_count = right.count();
                inner.counts[i] -= right_count as u32;
                inner.insert_child(i + 1, sep, right_count, right);
                if inner.len <= CAP {
                    return None;
                }
                let right = inner.split_off(inner.len / 2);
                nodes.inners += 1;
                let sep = right.sep(0);
                Some((sep, Node::Inner(right)))
            }
        }
    }

    /// Removes `entry`, whose member `member` compares with stored ones, or with `rescore`,
    /// gives it that score in place when it stays where it is (see [`Leaf::rescore_in_place`]).
    /// Nodes merged away are taken off `nodes`.
    fn remove(
        &mut self,
        entry: Entry,
        member: &impl MemberCmp,
        rescore: Option<f64>,
        nodes: &mut NodeCounts,
    ) -> Removal {
        match self {
            Node::Empty => Removal::Missing,
            Node::Leaf(leaf) => {
                let Some(at) = leaf.find(entry) else { return Removal::Missing };
                if rescore.is_some_and(|score| leaf.rescore_in_place(at, score, member)) {
                    return Removal::Rescored;
                }
                leaf.remove_at(at);
                Removal::Removed
            }
            Node::Inner(inner) => {
                let i = inner.child_for_key(entry.score, member);
                let outcome = inner.children[i].remove(entry, member, rescore, nodes);
                if outcome == Removal::Removed {
                    inner.counts[i] -= 1;
                    inner.rebalance(i, nodes);
                }
                outcome
            }
        }
    }

    /// Entries below the key `(score, member)`.
    fn rank(&self, score: f64, member: &impl MemberCmp) -> usize {
        match self {
            Node::Empty => 0,
            Node::Leaf(leaf) => {
                // The key is present: when no other entry shares its score, its rank is the
                // count of lower scores, and its offset need not be read.
                let scores = &leaf.scores[..leaf.len];
                let (below, at_most) = scores
                    .iter()
                    .fold((0, 0), |(b, a), &s| (b + usize::from(s < score), a + usize::from(s <= score)));
                if at_most - below == 1 { below } else { leaf.position(score, member) }
            }
            Node::Inner(inner) => {
                let i = inner.child_for_key(score, member);
                inner.count_before(i) + inner.children[i].rank(score, member)
            }
        }
    }

    fn count_where(&self, pred: &impl Fn(Entry) -> bool) -> usize {
        match self {
            Node::Empty => 0,
            Node::Leaf(leaf) => leaf.partition(pred),
            Node::Inner(inner) => {
                let i = inner.child_for(pred);
                inner.count_before(i) + inner.children[i].count_where(pred)
            }
        }
    }

    /// Visits entries in order after skipping `skip` of them, until `f` returns false.
    fn visit(&self, mut skip: usize, f: &mut impl FnMut(Entry) -> bool) -> bool {
        match self {
            Node::Empty => true,
            Node::Leaf(leaf) => (skip..leaf.len).all(|at| f(leaf.entry(at))),
            Node::Inner(inner) => {
                for (child, &count) in inner.children().iter().zip(&inner.counts) {
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
            Node::Empty => true,
            Node::Leaf(leaf) => (0..leaf.len.saturating_sub(skip)).rev().all(|at| f(leaf.entry(at))),
            Node::Inner(inner) => {
                for (child, &count) in inner.children().iter().zip(&inner.counts).rev() {
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

    /// The leaves and inner nodes of this subtree, counted (tests: the tree keeps the count).
    #[cfg(test)]
    fn count_nodes(&self) -> NodeCounts {
        match self {
            Node::Empty => NodeCounts::default(),
            Node::Leaf(_) => NodeCounts { leaves: 1, inners: 0 },
            Node::Inner(inner) => {
                let mut counts = NodeCounts { leaves: 0, inners: 1 };
                for child in inner.children() {
                    let below = child.count_nodes();
                    counts.leaves += below.leaves;
                    counts.inners += below.inners;
                }
                counts
            }
        }
    }
}

/// The order-statistic B+tree. See the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    root: Node,
    len: usize,
    /// The nodes reachable from `root`, kept by every split, merge and root change, so that
    /// [`Tree::heap_bytes`] is O(1).
    nodes: NodeCounts,
}

impl Default for Tree {
    fn default() -> Tree {
        Tree { root: Node::Leaf(Leaf::empty()), len: 0, nodes: NodeCounts { leaves: 1, inners: 0 } }
    }
}

impl Tree {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The leaf where an entry of score `score` belongs, chosen by scores alone (a tie with
    /// a separator may give its neighbour): good enough for the prefetch hints below.
    fn leaf_for_score(&self, score: f64) -> Option<&Leaf> {
        let mut node = &self.root;
        loop {
            match node {
                Node::Inner(inner) => {
                    let n = inner.len.max(1);
                    let i = inner.sep_scores[1..n].iter().map(|&s| usize::from(s < score)).sum::<usize>();
                    node = &inner.children[i];
                }
                Node::Leaf(leaf) => return Some(leaf),
                Node::Empty => return None,
            }
        }
    }

    /// Starts loading the scores of the leaf where an entry of score `score` belongs, without
    /// waiting for any of it: a hint, so that an insertion coming after other memory-bound
    /// work finds its leaf in cache. Changes nothing.
    pub(crate) fn prefetch_leaf(&self, score: f64) {
        if let Some(leaf) = self.leaf_for_score(score) {
            // Eight scores a 64-byte line; all lines, so that `len` (in the leaf being
            // fetched) is not waited for.
            for at in (0..CAP).step_by(8) {
                crate::hint::prefetch(&leaf.scores[at]);
            }
        }
    }

    /// Runs `f` on the arena offsets of up to 4 entries that have exactly the score `score` in
    /// the leaf where it belongs: the members an insertion of that score compares with.
    /// Reads the leaf; for prefetch hints (changes nothing).
    pub(crate) fn for_ties(&self, score: f64, mut f: impl FnMut(u32)) {
        let Some(leaf) = self.leaf_for_score(score) else { return };
        let scores = &leaf.scores[..leaf.len];
        let lo = scores.iter().map(|&s| usize::from(s < score)).sum::<usize>();
        (lo..leaf.len).take(4).take_while(|&at| scores[at] == score).for_each(|at| f(leaf.offsets[at]));
    }

    /// Inserts `entry`; `member` compares its member with the one at an arena offset.
    pub(crate) fn insert(&mut self, entry: Entry, member: impl MemberCmp) {
        if let Some((sep, right)) = self.root.insert(entry, &member, &mut self.nodes) {
            let left = std::mem::replace(&mut self.root, Node::Empty);
            let mut root = Inner::with_capacity();
            self.nodes.inners += 1;
            let left_count = left.count();
            root.insert_child(0, NO_SEP, left_count, left);
            let right_count = right.count();
            root.insert_child(1, sep, right_count, right);
            self.root = Node::Inner(root);
        }
        self.len += 1;
    }

    /// Removes `entry`; `member` compares its member with the one at an arena offset. Returns
    /// whether it was found.
    pub(crate) fn remove(&mut self, entry: Entry, member: impl MemberCmp) -> bool {
        self.remove_or_rescore(entry, &member, None) == Removal::Removed
    }

    /// Gives the present entry `entry` the score `score`: in place when its key still sorts
    /// between its neighbours in its leaf (one descent, no shifting), otherwise by removing
    /// and inserting it. `member` compares the entry's member with the one at an arena offset.
    /// Returns whether the entry was found.
    pub(crate) fn rescore(&mut self, entry: Entry, score: f64, member: impl MemberCmp) -> bool {
        match self.remove_or_rescore(entry, &member, Some(score)) {
            Removal::Missing => false,
            Removal::Rescored => true,
            Removal::Removed => {
                self.insert(Entry { score, offset: entry.offset }, member);
                true
            }
        }
    }

    fn remove_or_rescore(&mut self, entry: Entry, member: &impl MemberCmp, rescore: Option<f64>) -> Removal {
        let outcome = self.root.remove(entry, member, rescore, &mut self.nodes);
        if outcome != Removal::Removed {
            return outcome;
        }
        self.len -= 1;
        while let Node::Inner(inner) = &mut self.root {
            if inner.len != 1 {
                break;
            }
            let (_, _, child) = inner.remove_child(0);
            self.root = child;
            self.nodes.inners -= 1;
        }
        outcome
    }

    /// The rank of the key `(score, member)`, which must be in the tree: the number of entries
    /// below it.
    pub(crate) fn rank(&self, score: f64, member: impl MemberCmp) -> usize {
        self.root.rank(score, &member)
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
        let mut nodes = NodeCounts { leaves: level.len(), inners: 0 };
        while level.len() > 1 {
            let mut parents = Vec::with_capacity(level.len() / BUILD_FILL + 1);
            let mut current = Inner::with_capacity();
            let mut first = NO_SEP;
            for (sep, count, node) in level {
                if current.len == BUILD_FILL {
                    let full = std::mem::replace(&mut current, Inner::with_capacity());
                    let total = full.total();
                    parents.push((first, total, Node::Inner(full)));
                }
                if current.len == 0 {
                    first = sep;
                }
                let at = current.len;
                current.insert_child(at, sep, count, node);
            }
            let total = current.total();
            parents.push((first, total, Node::Inner(current)));
            nodes.inners += parents.len();
            level = parents;
        }
        let root = level.pop().map_or_else(|| Node::Leaf(Leaf::empty()), |(_, _, node)| node);
        Tree { root, len, nodes }
    }

    /// Heap bytes held by the nodes (one `Box` each). O(1).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.heap_bytes()
    }

    /// [`Tree::heap_bytes`] counted node by node (tests: the kept count must match).
    #[cfg(test)]
    pub(crate) fn heap_bytes_counted(&self) -> usize {
        self.root.count_nodes().heap_bytes()
    }

    /// Checks every structural invariant (tests only): counts, order, widths.
    #[cfg(test)]
    pub(crate) fn check(&self, cmp: &impl Fn(Entry, Entry) -> Ordering) {
        fn walk(node: &Node, out: &mut Vec<Entry>, depth: usize, depths: &mut Vec<usize>) -> usize {
            match node {
                Node::Empty => panic!("an empty slot is reachable"),
                Node::Leaf(leaf) => {
                    out.extend((0..leaf.len).map(|i| leaf.entry(i)));
                    depths.push(depth);
                    leaf.len
                }
                Node::Inner(inner) => {
                    assert!(inner.len <= CAP && inner.len > 0);
                    let mut total = 0;
                    for (child, &count) in inner.children().iter().zip(&inner.counts) {
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
        assert_eq!(self.nodes, self.root.count_nodes(), "kept node counts");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries whose "member" is the offset itself, so ties order by offset.
    fn cmp(a: Entry, b: Entry) -> Ordering {
        cmp_score(a.score, b.score).then(a.offset.cmp(&b.offset))
    }

    fn member_of(offset: u32) -> impl Fn(u32) -> Ordering {
        move |o| o.cmp(&offset)
    }

    fn contents(tree: &Tree) -> Vec<Entry> {
        let mut out = Vec::new();
        tree.visit(0, false, |e| {
            out.push(e);
            true
        });
        out
    }

    #[test]
    fn inserts_removes_ranks_and_merges_match_a_sorted_vec() {
        let mut tree = Tree::default();
        let mut model: Vec<Entry> = Vec::new();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for offset in 0..20_000u32 {
            let entry = Entry { score: (next() % 50) as f64, offset };
            tree.insert(entry, member_of(offset));
            let at = model.partition_point(|e| cmp(*e, entry) == Ordering::Less);
            model.insert(at, entry);
        }
        tree.check(&cmp);
        assert_eq!(contents(&tree), model);
        let full_bytes = tree.heap_bytes();
        // Remove 98% in random order: merges must keep the nodes few and the tree valid.
        while model.len() > 400 {
            let entry = model.remove((next() % model.len() as u64) as usize);
            assert!(tree.remove(entry, member_of(entry.offset)));
            assert!(!tree.remove(entry, member_of(entry.offset)), "already gone");
        }
        tree.check(&cmp);
        assert_eq!(contents(&tree), model);
        assert!(tree.heap_bytes() * 10 < full_bytes, "{} of {full_bytes} bytes left", tree.heap_bytes());
        for (rank, entry) in model.iter().enumerate() {
            assert_eq!(tree.rank(entry.score, member_of(entry.offset)), rank);
        }
        assert_eq!(tree.count_where(|e| e.score < 10.0), model.iter().filter(|e| e.score < 10.0).count());
        let mut rev = Vec::new();
        tree.visit(model.len() - 1, true, |e| {
            rev.push(e);
            rev.len() < 50
        });
        assert_eq!(rev, model.iter().rev().take(50).copied().collect::<Vec<_>>());
        while let Some(entry) = model.pop() {
            assert!(tree.remove(entry, member_of(entry.offset)));
        }
        assert_eq!(tree.len(), 0);
        tree.check(&cmp);
    }

    #[test]
    fn ascending_inserts_pack_leaves_and_bulk_builds_are_valid() {
        let mut tree = Tree::default();
        for offset in 0..10_000u32 {
            tree.insert(Entry { score: f64::from(offset), offset }, member_of(offset));
        }
        tree.check(&cmp);
        // Full leaves when appending: about 10_000 / 64 leaves of 776 bytes.
        assert!(tree.heap_bytes() < 10_000 / CAP * 900 + 64 * 1024, "{}", tree.heap_bytes());
        let built = Tree::from_sorted(contents(&tree).into_iter());
        built.check(&cmp);
        assert_eq!(contents(&built), contents(&tree));
        assert_eq!(built.rank(5_000.0, member_of(5_000)), 5_000);
        let empty = Tree::from_sorted(std::iter::empty());
        assert_eq!(empty.len(), 0);
        empty.check(&cmp);
    }

    /// A leaf of `(score, offset)` pairs; the "member" of an entry is its offset.
    fn leaf_of(entries: &[(f64, u32)]) -> Box<Leaf> {
        let mut leaf = Leaf::empty();
        for &(score, offset) in entries {
            leaf.insert_at(leaf.len, Entry { score, offset });
        }
        leaf
    }

    #[test]
    fn rescoring_in_place_only_between_neighbours_of_the_same_leaf() {
        let leaf = leaf_of(&[(1.0, 10), (2.0, 20), (2.0, 30), (3.0, 40), (5.0, 50)]);
        let try_at = |at: usize, score: f64| {
            let mut copy = leaf.clone();
            let moved = copy.rescore_in_place(at, score, &member_of(copy.offsets[at]));
            if moved {
                assert_eq!(copy.scores[at], score);
            } else {
                assert_eq!(copy.scores[..copy.len], leaf.scores[..leaf.len], "unchanged when refused");
            }
            moved
        };
        assert!(!try_at(0, 1.5), "the first entry may be a separator's bound");
        assert!(!try_at(4, 4.0), "the last entry's upper neighbour is in another leaf");
        assert!(try_at(3, 4.0), "between 2 and 5");
        assert!(try_at(3, 2.5));
        assert!(!try_at(3, 6.0), "past the next entry");
        // Ties break by member (here the offset): (2, 30) may take score 2 above (2, 20) ...
        assert!(try_at(2, 2.0));
        assert!(try_at(2, 3.0), "... and score 3, below (3, 40) by member");
        assert!(try_at(1, 1.0), "(1, 20) sorts after (1, 10)");
        assert!(!try_at(1, 2.5), "past (2, 30)");
        assert!(try_at(3, 2.0), "(2, 40) sorts after (2, 30)");
        let low = leaf_of(&[(1.0, 10), (2.0, 5), (2.0, 30)]);
        let mut copy = low.clone();
        assert!(!copy.rescore_in_place(1, 1.0, &member_of(5)), "(1, 5) sorts before (1, 10)");
        assert!(copy.rescore_in_place(1, 2.0, &member_of(5)), "same key: stays");
    }

    #[test]
    fn rescores_match_a_sorted_vec_across_leaf_boundaries() {
        let mut tree = Tree::default();
        let mut model: Vec<Entry> = Vec::new();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for offset in 0..5_000u32 {
            let entry = Entry { score: (next() % 400) as f64, offset };
            tree.insert(entry, member_of(offset));
            let at = model.partition_point(|e| cmp(*e, entry) == Ordering::Less);
            model.insert(at, entry);
        }
        for step in 0..40_000 {
            let at = (next() % model.len() as u64) as usize;
            let old = model.remove(at);
            // Mostly small moves (often in place), some far ones, some onto a neighbour's score.
            let score = match next() % 4 {
                0 => (next() % 400) as f64,
                1 => model.get(at).map_or(old.score, |e| e.score),
                _ => old.score + ((next() % 3) as f64 - 1.0) * 0.25,
            };
            assert!(tree.rescore(old, score, member_of(old.offset)));
            let entry = Entry { score, offset: old.offset };
            let to = model.partition_point(|e| cmp(*e, entry) == Ordering::Less);
            model.insert(to, entry);
            if step % 5_000 == 0 {
                tree.check(&cmp);
                assert_eq!(contents(&tree), model);
            }
        }
        tree.check(&cmp);
        assert_eq!(contents(&tree), model);
        for (rank, entry) in model.iter().enumerate().step_by(13) {
            assert_eq!(tree.rank(entry.score, member_of(entry.offset)), rank);
        }
        let gone = Entry { score: 1e9, offset: 1 };
        assert!(!tree.rescore(gone, 0.0, member_of(1)), "an absent entry is not found");
    }

    /// One step of the node-count property test.
    #[derive(Debug, Clone)]
    enum Op {
        /// Inserts this many entries with scores below the bound (few bounds: many ties).
        Insert {
            count: u16,
            score_max: u8,
        },
        /// Removes this many entries, picked by rank from the seed.
        Remove {
            count: u16,
            seed: u64,
        },
        Rescore {
            count: u16,
            seed: u64,
        },
        /// Rebuilds the tree from its entries, as compaction does.
        Rebuild,
        Clone,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (1u16..400, 1u8..=255).prop_map(|(count, score_max)| Op::Insert { count, score_max }),
            3 => (1u16..500, any::<u64>()).prop_map(|(count, seed)| Op::Remove { count, seed }),
            2 => (1u16..300, any::<u64>()).prop_map(|(count, seed)| Op::Rescore { count, seed }),
            1 => Just(Op::Rebuild),
            1 => Just(Op::Clone),
        ]
    }

    /// Applies `op` to `tree` and its sorted model; `next_offset` numbers new entries.
    fn apply(tree: &mut Tree, model: &mut Vec<Entry>, op: &Op, next_offset: &mut u32) {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |seed: u64| {
            state ^= seed;
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        match *op {
            Op::Insert { count, score_max } => {
                for _ in 0..count {
                    let offset = *next_offset;
                    *next_offset += 1;
                    let entry =
                        Entry { score: (next(u64::from(offset)) % u64::from(score_max)) as f64, offset };
                    tree.insert(entry, member_of(offset));
                    let at = model.partition_point(|e| cmp(*e, entry) == Ordering::Less);
                    model.insert(at, entry);
                }
            }
            Op::Remove { count, seed } => {
                for _ in 0..count.min(model.len() as u16) {
                    let entry = model.remove((next(seed) % model.len() as u64) as usize);
                    assert!(tree.remove(entry, member_of(entry.offset)));
                }
            }
            Op::Rescore { count, seed } => {
                for _ in 0..count.min(model.len() as u16) {
                    let old = model.remove((next(seed) % model.len() as u64) as usize);
                    let entry =
                        Entry { score: old.score + (next(seed) % 5) as f64 - 2.0, offset: old.offset };
                    assert!(tree.rescore(old, entry.score, member_of(old.offset)));
                    let at = model.partition_point(|e| cmp(*e, entry) == Ordering::Less);
                    model.insert(at, entry);
                }
            }
            Op::Rebuild => *tree = Tree::from_sorted(model.iter().copied()),
            Op::Clone => *tree = tree.clone(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Whatever the operations (splits, merges, root growth and collapse, rebuilds, clones),
        /// the kept node counts equal a recount after every step.
        #[test]
        fn kept_node_counts_match_a_recount(ops in proptest::collection::vec(op(), 1..40)) {
            let mut tree = Tree::default();
            let mut model = Vec::new();
            let mut next_offset = 0;
            for op in &ops {
                apply(&mut tree, &mut model, op, &mut next_offset);
                proptest::prop_assert_eq!(tree.heap_bytes(), tree.heap_bytes_counted());
                tree.check(&cmp);
                proptest::prop_assert_eq!(tree.len(), model.len());
            }
        }
    }

    #[test]
    fn kept_node_counts_follow_growth_and_shrinking() {
        let mut tree = Tree::default();
        assert_eq!(tree.heap_bytes(), size_of::<Leaf>());
        for offset in 0..50_000u32 {
            tree.insert(Entry { score: f64::from(offset % 977), offset }, member_of(offset));
        }
        tree.check(&cmp);
        let counts = tree.nodes;
        assert!(counts.inners > 1 && counts.leaves > 50_000 / CAP, "{counts:?}");
        let built = Tree::from_sorted(contents(&tree).into_iter());
        built.check(&cmp);
        assert!(built.heap_bytes() < tree.heap_bytes(), "a rebuild packs leaves 7/8 full");
        for offset in 0..50_000u32 {
            assert!(tree.remove(Entry { score: f64::from(offset % 977), offset }, member_of(offset)));
        }
        tree.check(&cmp);
        assert_eq!(tree.heap_bytes(), size_of::<Leaf>(), "one empty leaf is left");
    }

    #[test]
    fn prefetching_changes_nothing() {
        let empty = Tree::default();
        empty.prefetch_leaf(1.0);
        empty.for_ties(1.0, |_| panic!("no entries"));
        let mut tree = Tree::default();
        for offset in 0..3_000u32 {
            tree.insert(Entry { score: f64::from(offset / 3), offset }, member_of(offset));
        }
        let before = contents(&tree);
        for score in [f64::NEG_INFINITY, -1.0, 0.0, 0.5, 500.0, 999.0, 1e9, f64::INFINITY] {
            tree.prefetch_leaf(score);
            let mut tied = Vec::new();
            tree.for_ties(score, |o| tied.push(o));
            assert!(tied.iter().all(|&o| f64::from(o / 3) == score), "{score}: {tied:?}");
        }
        let mut tied = Vec::new();
        tree.for_ties(500.0, |o| tied.push(o));
        assert!(!tied.is_empty() && tied.len() <= 3, "{tied:?}");
        assert_eq!(contents(&tree), before);
        tree.check(&cmp);
    }
}
