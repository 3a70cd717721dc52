//! Redis glob patterns (`KEYS`, `SCAN MATCH`, `CONFIG GET`, later `PSUBSCRIBE`), in one matcher.
//!
//! Supported: `*` (any run), `?` (any byte), `[abc]`, `[^abc]`, `[a-z]` (ranges either way
//! round), and `\x` (literal `x`). A `[` without a closing `]` matches the rest of the class as
//! Redis does (up to the pattern's end). Matching is iterative with one backtrack point for the
//! last `*`, so it runs in O(pattern × text) even for patterns like `*a*a*a*b` that make naive
//! recursive matchers exponential.

/// One pattern element that matches exactly one byte.
#[derive(Debug, Clone, Copy)]
enum Token<'p> {
    /// `*`.
    Star,
    /// `?`.
    Any,
    /// A literal byte (possibly escaped).
    Byte(u8),
    /// A class body (between `[` and `]`, brackets excluded) and whether it is negated.
    Class { body: &'p [u8], negated: bool },
}

/// Reads the token at `pattern[at..]`; returns it and the index after it.
fn token(pattern: &[u8], at: usize, nocase: bool) -> (Token<'_>, usize) {
    match pattern[at] {
        b'*' => (Token::Star, at + 1),
        b'?' => (Token::Any, at + 1),
        b'\\' if at + 1 < pattern.len() => (Token::Byte(fold(pattern[at + 1], nocase)), at + 2),
        b'[' => {
            let mut start = at + 1;
            let negated = pattern.get(start) == Some(&b'^');
            if negated {
                start += 1;
            }
            let mut end = start;
            while end < pattern.len() && pattern[end] != b']' {
                end += if pattern[end] == b'\\' && end + 1 < pattern.len() { 2 } else { 1 };
            }
            let next = if end < pattern.len() { end + 1 } else { end };
            (Token::Class { body: &pattern[start..end.min(pattern.len())], negated }, next)
        }
        byte => (Token::Byte(fold(byte, nocase)), at + 1),
    }
}

fn fold(byte: u8, nocase: bool) -> u8 {
    if nocase { byte.to_ascii_lowercase() } else { byte }
}

fn class_matches(body: &[u8], byte: u8, nocase: bool) -> bool {
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' && i + 1 < body.len() {
            if fold(body[i + 1], nocase) == byte {
                return true;
            }
            i += 2;
        } else if i + 2 < body.len() && body[i + 1] == b'-' {
            let (mut lo, mut hi) = (fold(body[i], nocase), fold(body[i + 2], nocase));
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            if (lo..=hi).contains(&byte) {
                return true;
            }
            i += 3;
        } else {
            if fold(body[i], nocase) == byte {
                return true;
            }
            i += 1;
        }
    }
    false
}

fn token_matches(token: Token<'_>, byte: u8, nocase: bool) -> bool {
    let byte = fold(byte, nocase);
    match token {
        Token::Star | Token::Any => true,
        Token::Byte(b) => b == byte,
        Token::Class { body, negated } => class_matches(body, byte, nocase) != negated,
    }
}

/// Does `text` match the glob `pattern`? `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index it now covers to).
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            let (tok, next) = token(pattern, p, nocase);
            match tok {
                Token::Star => {
                    backtrack = Some((next, t));
                    p = next;
                    continue;
                }
                _ if token_matches(tok, text[t], nocase) => {
                    p = next;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        match backtrack {
            Some((after_star, covered)) => {
                // Let the star swallow one more byte and retry the rest.
                backtrack = Some((after_star, covered + 1));
                p = after_star;
                t = covered + 1;
            }
            None => return false,
        }
    }
    // Text consumed: the rest of the pattern must be stars only.
    while p < pattern.len() {
        let (tok, next) = token(pattern, p, nocase);
        if !matches!(tok, Token::Star) {
            return false;
        }
        p = next;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        glob_match(p.as_bytes(), t.as_bytes(), false)
    }

    #[test]
    fn basics() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed range");
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abcd", "abc"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("[\\]]", "]"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(glob_match(b"[A-C]x", b"bX", true));
        assert!(!glob_match(b"HeLLo", b"hello", false));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let text = vec![b'a'; 10_000];
        let mut pattern = b"*a".repeat(50);
        pattern.push(b'b');
        // An exponential matcher would not finish; this one does ~50 × 10,000 steps.
        assert!(!glob_match(&pattern, &text, false));
    }
}
