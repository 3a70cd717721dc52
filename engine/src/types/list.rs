//! The list representation: a quicklist-like deque of packed nodes.
//!
//! A [`List`] is a `VecDeque` of [`Node`]s. Each node is one byte buffer of entries, each
//! entry `varint(len) ++ bytes ++ reversed varint(len)`: the leading length lets a reader walk
//! forward, the trailing one (its LEB128 bytes written last-to-first) lets it walk backward,
//! so both ends pop without scanning. Each node keeps its entry count, so index lookups skip
//! whole nodes.
//!
//! Nodes are bounded by `list-max-listpack-size` ([`ListConfig::fill`]): a negative value
//! caps a node's bytes (-1 = 4 KiB ... -5 = 64 KiB, default -2 = 8 KiB), a positive one its
//! entry count. A node never stays empty and always takes at least one entry.
//!
//! Compression (`list-compress-depth`, [`ListConfig::depth`], default 1): the `depth` nodes
//! at each end stay raw; the nodes between are kept as LZ4 blocks when that is smaller. Push
//! and pop only touch end nodes, which are raw, so they never decompress; a node is
//! compressed once, when it stops being within `depth` of an end. Reads of a compressed node
//! decompress into a temporary buffer; writes to one decompress it and settle it again.
//! Depth 0 disables compression. Every operation accepts nodes in either state, so changing
//! the depth at runtime only changes how later writes settle nodes.

use std::borrow::Cow;
use std::collections::VecDeque;

/// Node limits and compression depth, read from the runtime config by each command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListConfig {
    /// `list-max-listpack-size`: negative = byte limit class (-1..-5), positive = max entries.
    pub(crate) fill: i32,
    /// `list-compress-depth`: raw nodes kept at each end; 0 = no compression.
    pub(crate) depth: usize,
}

impl Default for ListConfig {
    fn default() -> Self {
        ListConfig { fill: -2, depth: 1 }
    }
}

impl ListConfig {
    /// Byte limit of a node for a negative fill (Redis's `optimization_level`).
    fn bytes_max(self) -> usize {
        match self.fill {
            -1 => 4096,
            -2 => 8192,
            -3 => 16384,
            -4 => 32768,
            _ => 65536,
        }
    }

    /// Can a node of `count` entries and `bytes` bytes take `extra` more bytes in one entry?
    fn fits(self, count: usize, bytes: usize, extra: usize) -> bool {
        if count == 0 {
            return true;
        }
        match usize::try_from(self.fill) {
            Ok(entries_max) if entries_max > 0 => count < entries_max && bytes + extra <= SIZE_SAFETY_BYTES,
            _ => bytes + extra <= self.bytes_max(),
        }
    }
}

/// With a count limit, nodes still stop growing past this many bytes (as Redis's
/// `SIZE_SAFETY_LIMIT`), so one node never holds megabytes.
const SIZE_SAFETY_BYTES: usize = 8192;

/// Nodes smaller than this are not worth compressing (Redis's `MIN_COMPRESS_BYTES`).
const COMPRESS_BYTES_MIN: usize = 48;

/// Bytes of the LEB128 form of `n`.
fn varint_size(n: usize) -> usize {
    let bits = usize::BITS - (n | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

/// Appends the LEB128 form of `n`, or its bytes in reverse order.
fn put_varint(out: &mut Vec<u8>, mut n: usize, reversed: bool) {
    let start = out.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    if reversed {
        out[start..].reverse();
    }
}

/// Bytes one element takes as an entry.
fn entry_size(element: &[u8]) -> usize {
    element.len() + 2 * varint_size(element.len())
}

/// Encodes one element as an entry.
fn encode_entry(element: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry_size(element));
    put_varint(&mut out, element.len(), false);
    out.extend_from_slice(element);
    put_varint(&mut out, element.len(), true);
    out
}

/// Reads the entry starting at `pos`: its element and where the next entry starts.
fn read_entry(buf: &[u8], pos: usize) -> (&[u8], usize) {
    let (mut len, mut shift, mut at) = (0usize, 0u32, pos);
    loop {
        let byte = buf[at];
        at += 1;
        len |= usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let element = &buf[at..at + len];
    (element, at + len + varint_size(len))
}

/// Reads the entry ending at `end`: its element and where the entry starts.
fn read_entry_back(buf: &[u8], end: usize) -> (&[u8], usize) {
    let (mut len, mut shift, mut at) = (0usize, 0u32, end);
    loop {
        at -= 1;
        let byte = buf[at];
        len |= usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let start = at - len - varint_size(len);
    (&buf[at - len..at], start)
}

/// Forward iterator over the elements of a raw node buffer.
struct Entries<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (element, next) = read_entry(self.buf, self.pos);
        self.pos = next;
        Some(element)
    }
}

fn entries(buf: &[u8]) -> Entries<'_> {
    Entries { buf, pos: 0 }
}

/// The byte offset of entry `index` in a raw node buffer (the buffer's length for `count`).
fn entry_offset(buf: &[u8], index: usize) -> usize {
    let mut pos = 0;
    for _ in 0..index {
        pos = read_entry(buf, pos).1;
    }
    pos
}

/// One node: a packed buffer of entries, raw or LZ4-compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    /// The entries (raw), or their LZ4 block (compressed).
    data: Vec<u8>,
    /// Length of the raw entries.
    raw_len: usize,
    /// Entries in the node; never 0 while the node is in a list.
    count: u32,
    compressed: bool,
    /// A compression attempt did not shrink the raw data since it last changed.
    incompressible: bool,
}

impl Node {
    fn new() -> Node {
        Node { data: Vec::new(), raw_len: 0, count: 0, compressed: false, incompressible: false }
    }

    fn count(&self) -> usize {
        self.count as usize
    }

    /// The raw entries, decompressed into a temporary buffer when needed.
    fn raw(&self) -> Cow<'_, [u8]> {
        if !self.compressed {
            return Cow::Borrowed(&self.data);
        }
        // Blocks are only ever produced by `compress` from `raw_len` bytes.
        let raw = lz4_flex::block::decompress(&self.data, self.raw_len)
            .expect("a compressed node holds a valid LZ4 block of raw_len bytes");
        Cow::Owned(raw)
    }

    /// The raw entries for changing; the node is decompressed in place and marked changed.
    fn raw_mut(&mut self) -> &mut Vec<u8> {
        if self.compressed {
            self.data = self.raw().into_owned();
            self.compressed = false;
        }
        self.incompressible = false;
        &mut self.data
    }

    /// Records a change of the raw buffer's length.
    fn sync_len(&mut self) {
        self.raw_len = self.data.len();
    }

    /// Keeps the node as an LZ4 block when that is smaller than the raw entries.
    fn compress(&mut self) {
        if self.compressed || self.incompressible || self.raw_len < COMPRESS_BYTES_MIN {
            return;
        }
        let block = lz4_flex::block::compress(&self.data);
        if block.len() < self.data.len() {
            self.data = block;
            self.data.shrink_to_fit();
            self.compressed = true;
        } else {
            self.incompressible = true;
        }
    }

    /// Makes the node raw again (it moved within `depth` of an end).
    fn decompress(&mut self) {
        if self.compressed {
            self.data = self.raw().into_owned();
            self.compressed = false;
            self.incompressible = false;
        }
    }

    fn push_back(&mut self, element: &[u8]) {
        let raw = self.raw_mut();
        put_varint(raw, element.len(), false);
        raw.extend_from_slice(element);
        put_varint(raw, element.len(), true);
        self.count += 1;
        self.sync_len();
    }

    fn push_front(&mut self, element: &[u8]) {
        let entry = encode_entry(element);
        self.raw_mut().splice(0..0, entry);
        self.count += 1;
        self.sync_len();
    }

    fn pop_front(&mut self) -> Vec<u8> {
        let raw = self.raw_mut();
        let (element, next) = read_entry(raw, 0);
        let element = element.to_vec();
        raw.drain(..next);
        self.count -= 1;
        self.sync_len();
        element
    }

    fn pop_back(&mut self) -> Vec<u8> {
        let raw = self.raw_mut();
        let (element, start) = read_entry_back(raw, raw.len());
        let element = element.to_vec();
        raw.truncate(start);
        self.count -= 1;
        self.sync_len();
        element
    }

    /// Inserts `element` as entry `index` (`count` appends).
    fn insert(&mut self, index: usize, element: &[u8]) {
        let raw = self.raw_mut();
        let at = entry_offset(raw, index);
        raw.splice(at..at, encode_entry(element));
        self.count += 1;
        self.sync_len();
    }

    /// Replaces entry `index` with `element`.
    fn replace(&mut self, index: usize, element: &[u8]) {
        let raw = self.raw_mut();
        let at = entry_offset(raw, index);
        let next = read_entry(raw, at).1;
        raw.splice(at..next, encode_entry(element));
        self.sync_len();
    }

    /// Splits off the second half of the entries into a new node.
    fn split(&mut self) -> Node {
        let keep = self.count() / 2;
        let raw = self.raw_mut();
        let at = entry_offset(raw, keep);
        let tail = raw.split_off(at);
        let mut right = Node::new();
        right.raw_len = tail.len();
        right.data = tail;
        right.count = self.count - keep as u32;
        self.count = keep as u32;
        self.sync_len();
        right
    }

    fn heap_bytes(&self) -> usize {
        self.data.capacity()
    }
}

/// A Redis list. Never empty while stored under a key (commands delete an emptied list).
#[derive(Debug, Default)]
pub(crate) struct List {
    nodes: VecDeque<Node>,
    len: usize,
    /// Sum of the nodes' buffer capacities, kept by every change to a node or the node
    /// sequence so that [`List::heap_bytes`] is O(1) (memory accounting reads it on every
    /// write).
    data_bytes: usize,
}

/// Sum of the nodes' buffer capacities, counted.
fn node_bytes(nodes: &VecDeque<Node>) -> usize {
    nodes.iter().map(Node::heap_bytes).sum()
}

/// A copy's buffers are allocated to their lengths, so its byte count is taken afresh (the
/// copy walks every node anyway).
impl Clone for List {
    fn clone(&self) -> List {
        let nodes = self.nodes.clone();
        let data_bytes = node_bytes(&nodes);
        List { nodes, len: self.len, data_bytes }
    }
}

/// Lists are equal when their nodes are (buffer capacities aside).
impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.nodes == other.nodes
    }
}

impl Eq for List {}

impl List {
    /// An empty list.
    pub(crate) fn new() -> List {
        List::default()
    }

    /// A list of `elements`, in order.
    #[cfg(test)]
    fn from_elements<'a>(elements: impl IntoIterator<Item = &'a [u8]>, config: ListConfig) -> List {
        let mut list = List::new();
        for element in elements {
            list.push_back(element, config);
        }
        list
    }

    /// Elements in the list.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Is the list empty?
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Nodes in the list (1 = Redis's `listpack` encoding, more = `quicklist`).
    #[cfg(test)]
    fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The `OBJECT ENCODING` name.
    pub(crate) fn encoding(&self) -> &'static str {
        if self.nodes.len() <= 1 { "listpack" } else { "quicklist" }
    }

    /// Heap bytes owned, for memory reporting: the node array and the nodes' buffers. O(1).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * size_of::<Node>() + self.data_bytes
    }

    /// [`List::heap_bytes`] counted node by node (tests: the incremental count must match).
    #[cfg(test)]
    fn heap_bytes_counted(&self) -> usize {
        self.nodes.capacity() * size_of::<Node>() + node_bytes(&self.nodes)
    }

    /// Runs `f` on node `index` and carries the change of its buffer's capacity into
    /// `data_bytes`.
    #[inline]
    fn edit<R>(&mut self, index: usize, f: impl FnOnce(&mut Node) -> R) -> R {
        let node = &mut self.nodes[index];
        let before = node.heap_bytes();
        let out = f(node);
        self.data_bytes = self.data_bytes - before + node.heap_bytes();
        out
    }

    /// A new node holding `element`, counted.
    fn new_node(&mut self, element: &[u8]) -> Node {
        let mut node = Node::new();
        node.push_back(element);
        self.data_bytes += node.heap_bytes();
        node
    }

    /// Forgets a node taken out of the list.
    fn drop_node(&mut self, node: Node) {
        self.data_bytes -= node.heap_bytes();
    }

    /// Adds an element at the head.
    pub(crate) fn push_front(&mut self, element: &[u8], config: ListConfig) {
        let extra = entry_size(element);
        match self.nodes.front() {
            Some(node) if config.fits(node.count(), node.raw_len, extra) => {
                self.edit(0, |node| node.push_front(element));
            }
            _ => {
                let node = self.new_node(element);
                self.nodes.push_front(node);
                self.settle_edges(config);
            }
        }
        self.len += 1;
    }

    /// Adds an element at the tail.
    pub(crate) fn push_back(&mut self, element: &[u8], config: ListConfig) {
        let extra = entry_size(element);
        match self.nodes.back() {
            Some(node) if config.fits(node.count(), node.raw_len, extra) => {
                self.edit(self.nodes.len() - 1, |node| node.push_back(element));
            }
            _ => {
                let node = self.new_node(element);
                self.nodes.push_back(node);
                self.settle_edges(config);
            }
        }
        self.len += 1;
    }

    /// Removes and returns the head element.
    pub(crate) fn pop_front(&mut self, config: ListConfig) -> Option<Vec<u8>> {
        if self.nodes.is_empty() {
            return None;
        }
        let element = self.edit(0, Node::pop_front);
        if self.nodes[0].count == 0 {
            if let Some(node) = self.nodes.pop_front() {
                self.drop_node(node);
            }
            self.settle_edges(config);
        }
        self.len -= 1;
        Some(element)
    }

    /// Removes and returns the tail element.
    pub(crate) fn pop_back(&mut self, config: ListConfig) -> Option<Vec<u8>> {
        let last = self.nodes.len().checked_sub(1)?;
        let element = self.edit(last, Node::pop_back);
        if self.nodes[last].count == 0 {
            if let Some(node) = self.nodes.pop_back() {
                self.drop_node(node);
            }
            self.settle_edges(config);
        }
        self.len -= 1;
        Some(element)
    }

    /// The node holding element `index` (< len) and the index within it, walking from the
    /// nearer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        if index < self.len / 2 {
            let mut rest = index;
            for (i, node) in self.nodes.iter().enumerate() {
                if rest < node.count() {
                    return (i, rest);
                }
                rest -= node.count();
            }
        } else {
            let mut from_end = self.len - index;
            for (i, node) in self.nodes.iter().enumerate().rev() {
                if from_end <= node.count() {
                    return (i, node.count() - from_end);
                }
                from_end -= node.count();
            }
        }
        unreachable!("index {index} is below the list's length {}", self.len)
    }

    /// The element at `index`, if in range.
    pub(crate) fn get(&self, index: usize) -> Option<Vec<u8>> {
        if index >= self.len {
            return None;
        }
        let (node, at) = self.locate(index);
        let raw = self.nodes[node].raw();
        entries(&raw).nth(at).map(<[u8]>::to_vec)
    }

    /// Replaces the element at `index` (< len).
    pub(crate) fn set(&mut self, index: usize, element: &[u8], config: ListConfig) {
        let (node, at) = self.locate(index);
        self.edit(node, |node| node.replace(at, element));
        self.split_if_over(node, config);
    }

    /// Inserts `element` so that it becomes element `index` (<= len).
    pub(crate) fn insert(&mut self, index: usize, element: &[u8], config: ListConfig) {
        if index == 0 {
            return self.push_front(element, config);
        }
        if index == self.len {
            return self.push_back(element, config);
        }
        // Insert after element index - 1, in its node, so an insert at a node boundary
        // grows the node on the left.
        let (node, at) = self.locate(index - 1);
        self.edit(node, |node| node.insert(at + 1, element));
        self.len += 1;
        self.split_if_over(node, config);
    }

    /// Splits node `index` after a change, in halves until each fits its limit (a large
    /// element can need several splits), then settles compression.
    fn split_if_over(&mut self, index: usize, config: ListConfig) {
        let node = &self.nodes[index];
        if node.count() > 1 && !config.fits(node.count() - 1, node.raw_len, 0) {
            let right = self.edit(index, Node::split);
            self.data_bytes += right.heap_bytes();
            self.nodes.insert(index + 1, right);
            self.split_if_over(index + 1, config);
            self.split_if_over(index, config);
            self.settle_edges(config);
        }
        self.settle(index, config);
    }

    /// Elements `start..=stop` (both < len, start <= stop).
    pub(crate) fn range(&self, start: usize, stop: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(stop - start + 1);
        let (first, mut skip) = self.locate(start);
        for node in self.nodes.iter().skip(first) {
            let raw = node.raw();
            for element in entries(&raw).skip(skip) {
                if out.len() > stop - start {
                    return out;
                }
                out.push(element.to_vec());
            }
            skip = 0;
        }
        out
    }

    /// Calls `f` with each element and its index, from the head (or from the tail when
    /// `reverse`), until it returns `false`.
    pub(crate) fn scan(&self, reverse: bool, mut f: impl FnMut(usize, &[u8]) -> bool) {
        if !reverse {
            let mut index = 0;
            for node in &self.nodes {
                for element in entries(&node.raw()) {
                    if !f(index, element) {
                        return;
                    }
                    index += 1;
                }
            }
            return;
        }
        let mut index = self.len;
        for node in self.nodes.iter().rev() {
            let raw = node.raw();
            let mut end = raw.len();
            while end > 0 {
                let (element, start) = read_entry_back(&raw, end);
                index -= 1;
                if !f(index, element) {
                    return;
                }
                end = start;
            }
        }
    }

    /// Removes `count` elements from the head and `count_back` from the tail, dropping whole
    /// nodes where it can.
    pub(crate) fn trim(&mut self, mut count: usize, mut count_back: usize, config: ListConfig) {
        while self.nodes.front().is_some_and(|node| node.count() <= count) {
            if let Some(node) = self.nodes.pop_front() {
                count -= node.count();
                self.len -= node.count();
                self.drop_node(node);
            }
        }
        while self.nodes.back().is_some_and(|node| node.count() <= count_back) {
            if let Some(node) = self.nodes.pop_back() {
                count_back -= node.count();
                self.len -= node.count();
                self.drop_node(node);
            }
        }
        for _ in 0..count {
            self.pop_front(config);
        }
        for _ in 0..count_back {
            self.pop_back(config);
        }
        self.settle_edges(config);
    }

    /// Keeps the elements for which `keep(index, element)` is true, repacking the nodes.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(usize, &[u8]) -> bool, config: ListConfig) {
        let mut kept = List::new();
        let mut index = 0;
        for node in std::mem::take(&mut self.nodes) {
            let raw = node.raw();
            for element in entries(&raw) {
                if keep(index, element) {
                    kept.push_back(element, config);
                }
                index += 1;
            }
        }
        *self = kept;
    }

    /// Brings node `index` to its compression state: raw within `depth` of an end,
    /// compressed (when smaller) between.
    fn settle(&mut self, index: usize, config: ListConfig) {
        let count = self.nodes.len();
        if index >= count {
            return;
        }
        let depth = config.depth;
        if depth > 0 && index >= depth && index + depth < count {
            self.edit(index, Node::compress);
        } else {
            self.edit(index, Node::decompress);
        }
    }

    /// Settles the nodes whose state changes when a node is added or removed at an end.
    fn settle_edges(&mut self, config: ListConfig) {
        let (depth, count) = (config.depth, self.nodes.len());
        if depth == 0 {
            return;
        }
        for index in [depth - 1, depth, count.wrapping_sub(depth + 1), count.wrapping_sub(depth)] {
            self.settle(index, config);
        }
    }

    /// Compressed nodes (tests).
    #[cfg(test)]
    fn compressed_nodes(&self) -> usize {
        self.nodes.iter().filter(|node| node.compressed).count()
    }

    /// Checks that nodes within `depth` of an end are raw and the others compressed (unless
    /// compressing did not shrink them), as `settle` leaves them (tests).
    #[cfg(test)]
    fn check_compression(&self, config: ListConfig) {
        let count = self.nodes.len();
        for (index, node) in self.nodes.iter().enumerate() {
            let interior = config.depth > 0 && index >= config.depth && index + config.depth < count;
            let settled = if interior {
                node.compressed || node.incompressible || node.raw_len < COMPRESS_BYTES_MIN
            } else {
                !node.compressed
            };
            assert!(settled, "node {index} of {count} (depth {}) is not settled", config.depth);
        }
    }

    /// Checks the structure's invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        let mut total = 0;
        for node in &self.nodes {
            assert!(node.count > 0, "empty node");
            let raw = node.raw();
            assert_eq!(raw.len(), node.raw_len);
            assert_eq!(entries(&raw).count(), node.count());
            total += node.count();
        }
        assert_eq!(total, self.len);
        assert_eq!(self.heap_bytes(), self.heap_bytes_counted(), "incremental byte count");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: ListConfig = ListConfig { fill: 4, depth: 1 };

    fn elements(list: &List) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        list.scan(false, |_, element| {
            out.push(element.to_vec());
            true
        });
        out
    }

    #[test]
    fn varints_round_trip_both_ways() {
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 100_000] {
            let element = vec![7u8; len];
            let entry = encode_entry(&element);
            assert_eq!(entry.len(), entry_size(&element));
            assert_eq!(read_entry(&entry, 0), (&element[..], entry.len()));
            assert_eq!(read_entry_back(&entry, entry.len()), (&element[..], 0));
        }
    }

    #[test]
    fn pushes_and_pops_at_both_ends_across_nodes() {
        let mut list = List::new();
        for i in 0..20u8 {
            list.push_back(&[i], SMALL);
            list.push_front(&[100 + i], SMALL);
        }
        list.check();
        assert_eq!(list.len(), 40);
        assert!(list.node_count() >= 10);
        assert_eq!(list.encoding(), "quicklist");
        assert_eq!(list.get(0), Some(vec![119]));
        assert_eq!(list.get(39), Some(vec![19]));
        assert_eq!(list.get(40), None);
        assert_eq!(list.pop_back(SMALL), Some(vec![19]));
        assert_eq!(list.pop_front(SMALL), Some(vec![119]));
        while list.pop_front(SMALL).is_some() {}
        assert!(list.is_empty());
        assert_eq!(list.node_count(), 0);
    }

    #[test]
    fn compressed_nodes_round_trip() {
        let config = ListConfig { fill: -1, depth: 1 };
        let items: Vec<Vec<u8>> =
            (0..5000).map(|i| format!("value:{i:012}abcdefghijklmn").into_bytes()).collect();
        let mut list = List::from_elements(items.iter().map(Vec::as_slice), config);
        list.check();
        assert!(list.compressed_nodes() > 0, "interior nodes are compressed");
        assert!(!list.nodes[0].compressed && !list.nodes[list.node_count() - 1].compressed);
        assert_eq!(elements(&list), items);
        assert_eq!(list.range(1000, 1002), items[1000..=1002].to_vec());
        list.check_compression(config);
        list.set(2500, b"changed", config);
        assert_eq!(list.get(2500), Some(b"changed".to_vec()));
        list.check();
        list.check_compression(config);
        // Pushes and pops at the ends leave every interior node compressed.
        let compressed = list.compressed_nodes();
        for _ in 0..20 {
            list.push_front(b"head", config);
            list.push_back(b"tail", config);
        }
        for _ in 0..20 {
            list.pop_front(config);
            list.pop_back(config);
        }
        assert_eq!(list.compressed_nodes(), compressed);
        list.check_compression(config);
        // Popping everything decompresses nodes as they reach an end, in order.
        let mut popped = Vec::new();
        while let Some(element) = list.pop_front(config) {
            popped.push(element);
        }
        assert_eq!(popped.len(), 5000);
        assert_eq!(popped[2500], b"changed".to_vec());
        assert_eq!(popped[4999], items[4999]);
    }

    #[test]
    fn depth_zero_never_compresses() {
        let config = ListConfig { fill: 2, depth: 0 };
        let list = List::from_elements((0..100).map(|_| &[b'a'; 64][..]), config);
        assert_eq!(list.compressed_nodes(), 0);
        assert_eq!(list.node_count(), 50);
    }

    #[test]
    fn insert_splits_full_nodes_and_trim_drops_nodes() {
        let mut list = List::from_elements([&b"a"[..], b"b", b"c", b"d"], SMALL);
        assert_eq!(list.encoding(), "listpack");
        list.insert(2, b"x", SMALL);
        list.check();
        assert_eq!(list.node_count(), 2);
        assert_eq!(
            elements(&list),
            vec![b"a".to_vec(), b"b".to_vec(), b"x".to_vec(), b"c".to_vec(), b"d".to_vec()]
        );
        list.trim(1, 2, SMALL);
        list.check();
        assert_eq!(elements(&list), vec![b"b".to_vec(), b"x".to_vec()]);
    }

    #[test]
    fn a_large_element_splits_its_node_until_each_part_fits() {
        let config = ListConfig { fill: -1, depth: 1 };
        let mut list = List::from_elements((0..200).map(|_| &b"0123456789"[..]), config);
        assert_eq!(list.node_count(), 1);
        let large = vec![b'x'; 3000];
        list.set(100, &large, config);
        list.insert(50, &large, config);
        list.check();
        list.check_compression(config);
        for node in &list.nodes {
            assert!(node.count() == 1 || node.raw_len <= 4096, "node of {} bytes", node.raw_len);
        }
        assert_eq!(list.get(50), Some(large.clone()));
        assert_eq!(list.get(101), Some(large));
        assert_eq!(list.len(), 201);
    }

    /// Bytes of an element: runs of one byte (which compress), or varied ones (which may not).
    fn element_of(len: usize, seed: u8) -> Vec<u8> {
        if seed.is_multiple_of(2) {
            vec![seed; len]
        } else {
            (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
        }
    }

    #[test]
    fn kept_byte_count_follows_pushes_pops_splits_compression_and_clones() {
        let config = ListConfig { fill: -1, depth: 1 };
        let mut list =
            List::from_elements((0..2_000u32).map(|i| &b"0123456789abcdef"[..(i % 16) as usize]), config);
        list.check();
        assert!(list.compressed_nodes() > 0);
        list.set(1_000, &[b'x'; 5_000], config);
        list.insert(10, &element_of(3_000, 3), config);
        list.check();
        list.trim(300, 400, config);
        list.check();
        let copy = list.clone();
        copy.check();
        assert_eq!(copy, list);
        assert!(copy.heap_bytes() <= list.heap_bytes(), "a copy's buffers are tight");
        list.retain(|index, _| index % 3 == 0, config);
        list.check();
        while list.pop_back(config).is_some() {
            list.check();
        }
        assert_eq!(list.heap_bytes(), list.nodes.capacity() * size_of::<Node>());
    }

    /// One step of the byte-count property test.
    #[derive(Debug, Clone)]
    enum Op {
        Push { front: bool, len: usize, seed: u8 },
        Pop { front: bool },
        Set { index: usize, len: usize, seed: u8 },
        Insert { index: usize, len: usize, seed: u8 },
        Trim { front: usize, back: usize },
        Retain { every: usize },
        Clone,
        Config { fill: i32, depth: usize },
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let len = prop_oneof![4 => 0usize..40, 1 => 100usize..3_000, 1 => 4_000usize..9_000];
        prop_oneof![
            8 => (any::<bool>(), len.clone(), any::<u8>()).prop_map(|(front, len, seed)| Op::Push { front, len, seed }),
            4 => any::<bool>().prop_map(|front| Op::Pop { front }),
            2 => (any::<usize>(), len.clone(), any::<u8>()).prop_map(|(index, len, seed)| Op::Set { index, len, seed }),
            2 => (any::<usize>(), len, any::<u8>()).prop_map(|(index, len, seed)| Op::Insert { index, len, seed }),
            1 => (0usize..30, 0usize..30).prop_map(|(front, back)| Op::Trim { front, back }),
            1 => (1usize..4).prop_map(|every| Op::Retain { every }),
            1 => Just(Op::Clone),
            1 => (prop_oneof![Just(-1), Just(-2), Just(2), Just(5)], 0usize..3)
                .prop_map(|(fill, depth)| Op::Config { fill, depth }),
        ]
    }

    /// Applies `op` to `list` (indexes taken modulo the length).
    fn apply(list: &mut List, op: &Op, config: &mut ListConfig) {
        match *op {
            Op::Push { front: true, len, seed } => list.push_front(&element_of(len, seed), *config),
            Op::Push { front: false, len, seed } => list.push_back(&element_of(len, seed), *config),
            Op::Pop { front: true } => drop(list.pop_front(*config)),
            Op::Pop { front: false } => drop(list.pop_back(*config)),
            Op::Set { index, len, seed } if !list.is_empty() => {
                list.set(index % list.len(), &element_of(len, seed), *config);
            }
            Op::Insert { index, len, seed } => {
                list.insert(index % (list.len() + 1), &element_of(len, seed), *config)
            }
            Op::Trim { front, back } => {
                let front = front.min(list.len());
                list.trim(front, back.min(list.len() - front), *config);
            }
            Op::Retain { every } => list.retain(|index, _| index % every == 0, *config),
            Op::Clone => *list = list.clone(),
            Op::Config { fill, depth } => *config = ListConfig { fill, depth },
            Op::Set { .. } => {}
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever the operations, the kept byte count equals a recount after every step.
        #[test]
        fn kept_byte_count_matches_a_recount(ops in proptest::collection::vec(op(), 1..120)) {
            let mut config = ListConfig { fill: 4, depth: 1 };
            let mut list = List::new();
            for op in &ops {
                apply(&mut list, op, &mut config);
                list.check();
            }
        }
    }

    #[test]
    fn reverse_scan_reports_indexes() {
        let list = List::from_elements([&b"a"[..], b"b", b"c", b"d", b"e"], SMALL);
        let mut seen = Vec::new();
        list.scan(true, |index, element| {
            seen.push((index, element.to_vec()));
            index > 2
        });
        assert_eq!(seen, vec![(4, b"e".to_vec()), (3, b"d".to_vec()), (2, b"c".to_vec())]);
    }

    /// The memory target: 1M elements of 32 B (the benchmarks' value shape) in one
    /// list cost at most 27 B each with the default settings, which needs interior nodes
    /// compressed. `heap_bytes` counts allocation capacities, as the counting allocator of
    /// `benches/src/bin/memory.rs` counts requested bytes.
    #[test]
    fn million_element_list_fits_the_memory_target() {
        let config = ListConfig::default();
        let mut list = List::new();
        let mut value = [0u8; 32];
        for index in 0..1_000_000usize {
            value[..6].copy_from_slice(b"value:");
            let digits = format!("{index:012}");
            value[6..18].copy_from_slice(digits.as_bytes());
            for (offset, byte) in value[18..].iter_mut().enumerate() {
                *byte = b'a' + ((index + offset) % 26) as u8;
            }
            list.push_back(&value, config);
        }
        let per_element = list.heap_bytes() as f64 / list.len() as f64;
        println!("{per_element:.2} heap bytes per element, {} nodes", list.node_count());
        assert!(per_element <= 27.0, "{per_element:.2} B/element over the 27 B target");
        assert_eq!(list.get(999_999).as_deref().map(|v| &v[..18]), Some(&b"value:000000999999"[..]));
    }
}
