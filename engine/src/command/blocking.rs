//! What blocking command handlers share: Redis's timeout argument, and handing a command
//! that found nothing over to the session as blocked.

use std::time::{Duration, Instant};

use crate::blocking::{Attempt, BlockedCommand, Start, start};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::session::Session;

/// Parses a blocking command's timeout as Redis does: seconds as a float; 0 waits forever.
/// Returns the deadline (`None`: forever).
pub(crate) fn parse_timeout(arg: &[u8]) -> Result<Option<Instant>> {
    let not_float = || Error::msg("ERR timeout is not a float or out of range");
    let text = std::str::from_utf8(arg).map_err(|_| not_float())?;
    let lower = text.to_ascii_lowercase();
    if lower.contains("nan") || lower.contains("inf") || text.trim() != text || text.is_empty() {
        return Err(not_float());
    }
    let secs: f64 = text.parse().map_err(|_| not_float())?;
    // Redis truncates the milliseconds toward zero before checking the sign.
    let ms = (secs * 1000.0).trunc();
    if ms < 0.0 {
        return Err(Error::msg("ERR timeout is negative"));
    }
    if ms == 0.0 {
        return Ok(None);
    }
    if ms >= i64::MAX as f64 / 2.0 {
        return Err(Error::msg("ERR timeout is out of range"));
    }
    Ok(Instant::now().checked_add(Duration::from_millis(ms as u64)))
}

/// Runs a blocking command: `attempt` at once, else registers the client on `keys` and
/// leaves the session a [`BlockedCommand`] that answers `timeout_reply` at `deadline`.
/// The reply returned in that case is a placeholder the session replaces.
pub(crate) fn block_on(
    s: &mut Session,
    keys: Vec<Vec<u8>>,
    deadline: Option<Instant>,
    attempt: Attempt<Reply>,
    timeout_reply: Reply,
) -> Reply {
    match start(s.engine_db(), keys, attempt) {
        Err(err) => Reply::Error(err),
        Ok(Start::Ready(reply)) => reply,
        Ok(Start::WouldBlock) => timeout_reply,
        Ok(Start::Waiting(handle)) => {
            s.blocked = Some(BlockedCommand::new(handle, deadline, timeout_reply));
            Reply::Null
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_redis_does() {
        assert_eq!(parse_timeout(b"0"), Ok(None));
        assert_eq!(parse_timeout(b"0.0004"), Ok(None), "under a millisecond truncates to 0");
        assert!(parse_timeout(b"1.5").expect("valid").is_some());
        let not_float = "ERR timeout is not a float or out of range";
        for bad in [&b"x"[..], b"", b" 1", b"1 ", b"nan", b"inf", b"-inf"] {
            assert_eq!(parse_timeout(bad).unwrap_err().to_string(), not_float, "{bad:?}");
        }
        assert_eq!(parse_timeout(b"-1").unwrap_err().to_string(), "ERR timeout is negative");
        assert_eq!(parse_timeout(b"-0.0001"), Ok(None), "truncates to 0, as Redis");
        assert_eq!(parse_timeout(b"1e300").unwrap_err().to_string(), "ERR timeout is out of range");
    }
}
