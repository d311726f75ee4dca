//! Python text behaviour the es and Pattern ports depend on, beyond `pystr`'s: `str.lower()`
//! into a reused buffer, `str.isalpha()`, and the `\w` of a Unicode `re` pattern.

use unicode_normalization::char::is_combining_mark;

/// Appends Python's `text.lower()` to `out`: the full Unicode lowercase mapping, with the
/// final-sigma rule (the one context-dependent mapping, left to std's `to_lowercase`).
pub(crate) fn lower_into(text: &str, out: &mut String) {
    if text.is_ascii() {
        let from = out.len();
        out.push_str(text);
        out[from..].make_ascii_lowercase();
    } else if text.contains('Σ') {
        out.push_str(&text.to_lowercase());
    } else {
        out.extend(text.chars().flat_map(char::to_lowercase));
    }
}

/// Letters that Unicode calls alphabetic (`Other_Alphabetic`) although they are symbols (So):
/// circled and squared Latin letters. Python's `isalpha` and `\w` exclude them.
fn is_alphabetic_symbol(c: char) -> bool {
    matches!(c, '\u{24B6}'..='\u{24E9}' | '\u{1F130}'..='\u{1F149}' | '\u{1F150}'..='\u{1F169}'
        | '\u{1F170}'..='\u{1F189}')
}

/// Python's `str.isalpha()` for one char: general category L* (std's `is_alphabetic` adds
/// letter numbers, combining marks and the symbols above, which Python does not count).
#[inline]
pub(crate) fn is_alpha(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    c.is_alphabetic() && !c.is_numeric() && !is_combining_mark(c) && !is_alphabetic_symbol(c)
}

/// Python's `str.isalpha()`: non-empty and every char a letter.
pub(crate) fn is_alpha_str(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_alpha)
}

/// `\w` in a Python 3 `str` pattern: `ch.isalnum() or ch == "_"`.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    is_alpha(c) || c.is_numeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_python_cases_when_classified_then_the_answers_match_python() {
        // "é" precomposed is a letter; the combining acute and "Ⓐ" are not; "Ⅻ" is numeric.
        assert!(is_word_char('é') && is_word_char('_') && is_word_char('Ⅻ'));
        assert!(!is_word_char('\u{301}') && !is_word_char('Ⓐ') && !is_word_char('😀'));
        assert!(is_alpha_str("xd") && !is_alpha_str(":d") && !is_alpha_str(""));
        let mut out = String::new();
        lower_into("ÑOÑO İ ΣΟΦΟΣ", &mut out);
        assert_eq!(out, "ñoño i\u{307} σοφος");
    }
}
