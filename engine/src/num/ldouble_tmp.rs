//! Temporary f64 stand-in while the x87 emulation is written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LongDouble(f64);
impl LongDouble {
    pub(crate) fn parse(bytes: &[u8]) -> Option<LongDouble> {
        std::str::from_utf8(bytes).ok()?.parse::<f64>().ok().filter(|v| !v.is_nan()).map(LongDouble)
    }
    pub(crate) fn from_i64(n: i64) -> LongDouble {
        LongDouble(n as f64)
    }
    pub(crate) fn add(self, other: LongDouble) -> LongDouble {
        LongDouble(self.0 + other.0)
    }
    pub(crate) fn is_finite(self) -> bool {
        self.0.is_finite()
    }
    pub(crate) fn format_human(self, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(format!("{}", self.0).as_bytes());
        true
    }
}
