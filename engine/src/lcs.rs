//! Longest common subsequence for `LCS`: the dynamic-programming table and the walk back
//! through it that yields the sequence and the matched ranges, in Redis's order.

use crate::error::{Error, Result};

/// The filled table for two strings.
#[derive(Debug)]
pub(crate) struct Lcs {
    /// `dp[i * (b_len + 1) + j]`: LCS length of `a[..i]` and `b[..j]`.
    dp: Vec<u32>,
    a_len: usize,
    b_len: usize,
}

impl Lcs {
    /// Fills the table. Refuses, as Redis does, when the table would take more than
    /// `max_bytes` (the `proto-max-bulk-len` setting).
    pub(crate) fn compute(a: &[u8], b: &[u8], max_bytes: u64) -> Result<Lcs> {
        if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
            return Err(Error::msg("ERR String too long for LCS"));
        }
        let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
        if cells.saturating_mul(4) > max_bytes {
            return Err(Error::msg(
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            ));
        }
        let width = b.len() + 1;
        let mut dp = vec![0u32; cells as usize];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                dp[i * width + j] = if a[i - 1] == b[j - 1] {
                    dp[(i - 1) * width + j - 1] + 1
                } else {
                    dp[(i - 1) * width + j].max(dp[i * width + j - 1])
                };
            }
        }
        Ok(Lcs { dp, a_len: a.len(), b_len: b.len() })
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.dp[i * (self.b_len + 1) + j]
    }

    /// Length of the longest common subsequence.
    pub(crate) fn len(&self) -> usize {
        self.at(self.a_len, self.b_len) as usize
    }

    /// The subsequence itself.
    pub(crate) fn sequence(&self, a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.walk(a, b, |i, _, matched| {
            if matched {
                out.push(a[i]);
            }
        });
        out.reverse();
        out
    }

    /// Matched ranges from the end of the strings backwards, keeping those of at least
    /// `min_len` bytes (0 keeps all).
    pub(crate) fn matches(&self, a: &[u8], b: &[u8], min_len: usize) -> Vec<crate::LcsMatch> {
        debug_assert_eq!((a.len(), b.len()), (self.a_len, self.b_len));
        let mut out = Vec::new();
        // The range being grown backwards: (a_start, a_end, b_start, b_end).
        let mut current: Option<(usize, usize, usize, usize)> = None;
        let emit = |range: (usize, usize, usize, usize), out: &mut Vec<crate::LcsMatch>| {
            let len = range.1 - range.0 + 1;
            if min_len == 0 || len >= min_len {
                out.push(crate::LcsMatch { a: (range.0, range.1), b: (range.2, range.3), len });
            }
        };
        self.walk(a, b, |i, j, matched| {
            if !matched {
                if let Some(range) = current.take() {
                    emit(range, &mut out);
                }
                return;
            }
            let range = match current {
                Some((a0, a1, b0, b1)) if a0 == i + 1 && b0 == j + 1 => (i, a1, j, b1),
                Some(range) => {
                    emit(range, &mut out);
                    (i, i, j, j)
                }
                None => (i, i, j, j),
            };
            if range.0 == 0 || range.2 == 0 {
                emit(range, &mut out);
                current = None;
            } else {
                current = Some(range);
            }
        });
        if let Some(range) = current {
            emit(range, &mut out);
        }
        out
    }

    /// Walks back from the table's end; calls `step(i, j, matched)` with 0-based positions:
    /// for a match, the matched bytes `a[i] == b[j]`; otherwise the cell it leaves.
    fn walk(&self, a: &[u8], b: &[u8], mut step: impl FnMut(usize, usize, bool)) {
        let (mut i, mut j) = (self.a_len, self.b_len);
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                step(i - 1, j - 1, true);
                i -= 1;
                j -= 1;
            } else {
                step(i - 1, j - 1, false);
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 512 * 1024 * 1024;

    #[test]
    fn redis_documentation_example() {
        let (a, b) = (b"ohmytext".as_slice(), b"mynewtext".as_slice());
        let lcs = Lcs::compute(a, b, MAX).expect("fits");
        assert_eq!(lcs.sequence(a, b), b"mytext");
        assert_eq!(lcs.len(), 6);
        let matches = lcs.matches(a, b, 0);
        let ranges: Vec<_> = matches.iter().map(|m| (m.a, m.b, m.len)).collect();
        assert_eq!(ranges, vec![((4, 7), (5, 8), 4), ((2, 3), (0, 1), 2)]);
        let long: Vec<_> = lcs.matches(a, b, 4).iter().map(|m| m.len).collect();
        assert_eq!(long, vec![4]);
    }

    #[test]
    fn empty_and_disjoint() {
        let lcs = Lcs::compute(b"", b"abc", MAX).expect("fits");
        assert_eq!(lcs.len(), 0);
        assert!(lcs.matches(b"", b"abc", 0).is_empty());
        let lcs = Lcs::compute(b"abc", b"xyz", MAX).expect("fits");
        assert_eq!(lcs.sequence(b"abc", b"xyz"), b"");
    }

    #[test]
    fn table_size_is_bounded() {
        let a = vec![b'a'; 2000];
        let err = Lcs::compute(&a, &a, 1024).unwrap_err();
        assert!(err.to_string().contains("exceeds proto-max-bulk-len"));
    }
}
