//! A record's payload before it is read as JSON: its base64, read as leniently as is
//! unambiguous, and the kinds of payload that are recognised without being read (gzip).
//!
//! Firehose sends canonical base64, but the events AWS's own tools ship do not always hold it:
//! the SAM CLI's `kinesis-firehose-apachelog` event and the Firehose blueprint's test event are
//! over-padded (`…MQ==` where `…MQ` needs none). What is accepted, beyond canonical base64:
//! - padding that is missing, short or in excess (`=` at the end only);
//! - ASCII white space anywhere (MIME-style line breaks);
//! - bits set past the last whole byte (a non-canonical last character);
//! - the URL-safe alphabet (`-`, `_`), when the standard one's `+` and `/` are not mixed in.
//!
//! Refused, because more than one reading is possible or none is: `=` before the end (two
//! encodings glued together), both alphabets in one payload, a length that leaves one dangling
//! character, and any other byte. An answer is always canonical base64 (the encoder's own).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64_simd::STANDARD as BASE64_FAST;

/// The magic bytes of a gzip member (RFC 1952 §2.3.1).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why a record's gzip payload is not read, for `NON_JSON=fail`.
pub const GZIP_REASON: &str = "payload is gzip-compressed (it starts with 1f 8b, as CloudWatch Logs subscription data does): enable the delivery stream's Decompression processor (ProcessingConfiguration, processor type Decompression) so the transform gets the log events, or set NON_JSON=pass to deliver such payloads untouched";

/// Whether `bytes` start as gzip does.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::RequireNone)
    .with_decode_allow_trailing_bits(true);
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Appends the bytes `text` encodes to `out`: canonical base64 on the fast path, anything
/// [the module](self) accepts otherwise. On error `out` is as it was.
pub fn decode_append(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    if BASE64_FAST.decode_append(text, out).is_ok() {
        return Ok(());
    }
    out.truncate(start);
    let bytes = decode_lenient(text)?;
    out.extend_from_slice(&bytes);
    Ok(())
}

/// The bytes `text` encodes, read leniently (see [the module](self)).
pub fn decode_lenient(text: &str) -> Result<Vec<u8>, String> {
    let mut compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    while compact.last() == Some(&b'=') {
        compact.pop();
    }
    if let Some(at) = compact.iter().position(|&b| b == b'=') {
        return Err(format!(
            "'=' at character {at} before the end: more than one encoding glued together"
        ));
    }
    let url_safe = compact.iter().any(|&b| b == b'-' || b == b'_');
    if url_safe && compact.iter().any(|&b| b == b'+' || b == b'/') {
        return Err("it mixes the standard (+ /) and URL-safe (- _) alphabets".to_owned());
    }
    if compact.len() % 4 == 1 {
        return Err(format!(
            "{} base64 characters leave one dangling character that encodes no byte",
            compact.len()
        ));
    }
    let engine = if url_safe {
        &LENIENT_URL_SAFE
    } else {
        &LENIENT_STANDARD
    };
    engine.decode(&compact).map_err(|e| e.to_string())
}

/// The canonical base64 of what `text` encodes, or `None` when it cannot be read: what a
/// `ProcessingFailed` answer hands back (never the invalid text itself).
pub fn canonical(text: &str) -> Option<String> {
    let mut bytes = Vec::new();
    decode_append(text, &mut bytes).ok()?;
    Some(BASE64_FAST.encode_to_string(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<u8>, String> {
        let mut out = b"kept".to_vec();
        let r = decode_append(text, &mut out);
        match r {
            Ok(()) => Ok(out[4..].to_vec()),
            Err(e) => {
                assert_eq!(out, b"kept", "an error leaves the output as it was");
                Err(e)
            }
        }
    }

    #[test]
    fn every_unambiguous_spelling_of_a_payload_is_read() {
        // GIVEN the canonical base64 of "6291" and of "x>?", and variants of each
        for (text, bytes) in [
            ("NjI5MQ==", &b"6291"[..]),
            ("NjI5MQ", b"6291"),
            ("NjI5MQ=", b"6291"),
            ("NjI5MQ====", b"6291"),
            ("NjI5\nMQ==\r\n", b"6291"),
            (" NjI5 MQ ", b"6291"),
            ("NjI5MR==", b"6291"),
            ("eD4_", b"x>?"),
            ("eD4/", b"x>?"),
            ("", b""),
            ("====", b""),
        ] {
            // WHEN read THEN each gives the same bytes
            assert_eq!(read(text).as_deref(), Ok(bytes), "{text:?}");
        }
    }

    #[test]
    fn ambiguous_or_broken_base64_is_refused_with_a_reason() {
        for (text, needle) in [
            ("eA==eA==", "glued"),
            ("eD4_eD4/", "mixes"),
            ("NjI5M", "dangling"),
            ("NjI5*Q==", "Invalid"),
        ] {
            let err = read(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn the_answer_is_always_canonical() {
        assert_eq!(canonical("NjI5MQ====").as_deref(), Some("NjI5MQ=="));
        assert_eq!(canonical("eD4_").as_deref(), Some("eD4/"));
        assert_eq!(canonical("eA==eA=="), None);
    }

    #[test]
    fn gzip_is_recognised_by_its_magic_bytes() {
        assert!(is_gzip(&[0x1f, 0x8b, 0x08, 0x00]));
        assert!(!is_gzip(b"{\"a\":1}"));
        assert!(!is_gzip(&[0x1f]));
    }
}
