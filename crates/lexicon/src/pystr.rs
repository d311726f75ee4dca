//! The few pieces of Python 3 `str` and `round` behaviour the reference relies on.
//!
//! Agreement with the reference depends on reproducing them exactly, including where they
//! differ from Rust's std (whitespace set, `isupper`, correctly-rounded `round`).

/// Python's `str.isspace()`: Unicode `White_Space` plus the four ASCII information
/// separators U+001C..U+001F, which Python also treats as whitespace (bidi class B/S).
#[inline]
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's whitespace among ASCII bytes: `\t\n\x0b\x0c\r`, space and `\x1c`..`\x1f`.
#[inline]
pub(crate) fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r' | 0x1c..=0x1f)
}

/// `s` without the bytes `trim` picks at either end. `trim` must pick only ASCII bytes, which
/// never occur inside a multi-byte char, so the cut stays on char boundaries.
#[inline(always)]
fn trim_bytes(s: &str, trim: impl Fn(u8) -> bool) -> &str {
    let b = s.as_bytes();
    let mut start = 0;
    while start < b.len() && trim(b[start]) {
        start += 1;
    }
    let mut end = b.len();
    while end > start && trim(b[end - 1]) {
        end -= 1;
    }
    &s[start..end]
}

/// Python's `str.strip()` with no argument.
pub(crate) fn strip(s: &str) -> &str {
    // ASCII bytes at either end are handled without decoding; a non-ASCII end falls back
    // to the char-wise trim.
    let s = trim_bytes(s, is_ascii_space);
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(f), Some(l)) if !f.is_ascii() || !l.is_ascii() => s.trim_matches(is_space),
        _ => s,
    }
}

/// Titlecase letters (general category Lt): Python's `isupper` rejects them, and Rust's std
/// has no predicate for them. The set is small and stable.
fn is_titlecase(c: char) -> bool {
    matches!(c,
        '\u{01C5}' | '\u{01C8}' | '\u{01CB}' | '\u{01F2}'
        | '\u{1F88}'..='\u{1F8F}' | '\u{1F98}'..='\u{1F9F}' | '\u{1FA8}'..='\u{1FAF}'
        | '\u{1FBC}' | '\u{1FCC}' | '\u{1FFC}')
}

/// Python's `str.isupper()`: at least one cased character and no lowercase or titlecase one.
pub(crate) fn is_upper(s: &str) -> bool {
    if s.is_ascii() {
        let b = s.as_bytes();
        return b.iter().any(u8::is_ascii_uppercase) && !b.iter().any(u8::is_ascii_lowercase);
    }
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() || is_titlecase(c) {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}

/// `string.punctuation` as a 256-bit set: one shift and mask per byte, no branches.
const PUNCT: [u64; 4] = {
    let mut set = [0u64; 4];
    let mut b = 0usize;
    while b < 128 {
        if (b as u8).is_ascii_punctuation() {
            set[b / 64] |= 1 << (b % 64);
        }
        b += 1;
    }
    set
};

#[inline]
fn is_punct(b: u8) -> bool {
    PUNCT[usize::from(b >> 6)] >> (b & 63) & 1 != 0
}

/// The reference's `_strip_punc_if_word`: strip ASCII punctuation (`string.punctuation`)
/// from both ends, unless that leaves two characters or fewer (then the token was probably
/// an emoticon such as `:)` and is kept whole). `ascii` says the token is all ASCII, so that
/// bytes are chars.
#[inline(always)]
pub(crate) fn strip_punc_if_word(token: &str, ascii: bool) -> &str {
    // Punctuation is ASCII, and ASCII bytes never occur inside a multi-byte char, so a
    // byte-wise trim stays on char boundaries.
    let stripped = trim_bytes(token, is_punct);
    let short = stripped.len() <= 2 || (!ascii && char_count_at_most_2(stripped));
    if short { token } else { stripped }
}

#[inline(never)]
fn char_count_at_most_2(s: &str) -> bool {
    // A char is at most 4 bytes, so more than 8 bytes means more than 2 chars.
    s.len() <= 8 && s.chars().count() <= 2
}

/// Python's `round(x, digits)` for `digits` in 0..=9: the exact binary value rounded to
/// `digits` decimals, ties to even.
///
/// The fast path is exact whenever `x * 10^digits` is not within rounding error of a
/// half: the rounding direction is then unambiguous, and dividing the integer by the power
/// of ten is correctly rounded, as is Python's parse of its decimal string. Near a half the
/// exact decimal expansion decides, via `core::fmt` (which rounds the exact value half to
/// even, like Python) written into a stack buffer.
pub(crate) fn py_round(x: f64, digits: u32) -> f64 {
    debug_assert!(digits <= 9);
    let p = 10f64.powi(digits as i32);
    let y = x * p;
    if !y.is_finite() {
        return x;
    }
    let frac = (y - y.trunc()).abs();
    if (frac - 0.5).abs() > 1e-6 {
        return y.round() / p;
    }
    let mut buf = StackBuf::default();
    use core::fmt::Write;
    if write!(buf, "{:.*}", digits as usize, x).is_err() {
        return y.round() / p;
    }
    buf.as_str().parse().unwrap_or(y.round() / p)
}

/// A fixed buffer for formatting one rounded float without allocating.
struct StackBuf {
    bytes: [u8; 64],
    len: usize,
}

impl Default for StackBuf {
    fn default() -> Self {
        Self {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl StackBuf {
    fn as_str(&self) -> &str {
        // Only `write_str` fills the buffer, with whole `&str`s.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl core::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(core::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_python_whitespace_when_stripped_then_information_separators_go_too() {
        assert_eq!(strip("\u{1c}\u{a0} hi\u{3000}\u{1f}"), "hi");
        assert!(!is_space('\u{200b}'));
    }

    #[test]
    fn given_tokens_when_checking_isupper_then_python_rules_apply() {
        assert!(is_upper("GREAT!"));
        assert!(is_upper("ÉTÉ"));
        assert!(!is_upper("Great"));
        assert!(!is_upper(":)"));
        assert!(!is_upper("ǅ"));
        assert!(!is_upper("123"));
    }

    #[test]
    fn given_punctuated_tokens_when_stripped_then_short_remainders_keep_the_token() {
        assert_eq!(strip_punc_if_word("good!!!", true), "good");
        assert_eq!(strip_punc_if_word(":)", true), ":)");
        assert_eq!(strip_punc_if_word("(ok)", true), "(ok)");
        assert_eq!(strip_punc_if_word("'日本'", false), "'日本'");
        assert_eq!(strip_punc_if_word("\"日本語\"", false), "日本語");
    }

    #[test]
    fn given_halves_when_rounding_then_ties_go_to_even_on_the_exact_value() {
        assert_eq!(py_round(0.0625, 3), 0.062);
        assert_eq!(py_round(0.1875, 3), 0.188);
        assert_eq!(py_round(0.03125, 4), 0.0312);
        assert_eq!(py_round(0.00015, 4), 0.0001);
        assert_eq!(py_round(-0.45678, 4), -0.4568);
        assert_eq!(py_round(0.7003, 3), 0.7);
    }
}
