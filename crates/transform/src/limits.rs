//! Service limits, each with the page it comes from. User settings are validated against these.

/// Firehose data transformation: the Lambda request and response are each limited to 6 MB.
/// <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html>
pub const FIREHOSE_MAX_RESPONSE_BYTES: usize = 6_291_456;

/// Comprehend BatchDetectSentiment: at most 25 documents per call.
/// <https://docs.aws.amazon.com/comprehend/latest/APIReference/API_BatchDetectSentiment.html>
pub const COMPREHEND_MAX_BATCH_DOCUMENTS: usize = 25;

/// Comprehend sentiment: a document is at most 5,000 bytes of UTF-8.
/// <https://docs.aws.amazon.com/comprehend/latest/dg/guidelines-and-limits.html>
pub const COMPREHEND_MAX_DOCUMENT_BYTES: usize = 5_000;

/// Comprehend pricing: one unit is 100 characters, with a 3-unit minimum per document.
/// <https://aws.amazon.com/comprehend/pricing/>
pub const COMPREHEND_CHARS_PER_UNIT: usize = 100;
/// See [`COMPREHEND_CHARS_PER_UNIT`].
pub const COMPREHEND_MIN_UNITS_PER_DOCUMENT: u64 = 3;
/// Comprehend pricing: $0.0001 per unit (the first 10M units a month, us-east-1, checked
/// 2026-12). <https://aws.amazon.com/comprehend/pricing/>
pub const COMPREHEND_USD_PER_UNIT: f64 = 0.0001;

/// The largest `MAX_DOCUMENT_CHARS`: a 5,000-byte document has at most 5,000 characters.
pub const COMPREHEND_MAX_DOCUMENT_CHARS: usize = 5_000;

/// Languages Comprehend's sentiment API accepts as `LanguageCode`.
/// <https://docs.aws.amazon.com/comprehend/latest/dg/supported-languages.html>
pub const COMPREHEND_SENTIMENT_LANGUAGES: [&str; 12] = [
    "ar", "hi", "ko", "zh-TW", "ja", "zh", "de", "pt", "en", "it", "fr", "es",
];

/// serde_json's recursion limit: deeper documents cannot be parsed to pick a text out of them,
/// so they are refused up front with a reason instead of an opaque parser error.
pub const MAX_JSON_NESTING_DEPTH: usize = 128;

/// Billed Comprehend units for one document of `chars` characters.
pub fn comprehend_units(chars: usize) -> u64 {
    let units = chars.div_ceil(COMPREHEND_CHARS_PER_UNIT) as u64;
    units.max(COMPREHEND_MIN_UNITS_PER_DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_have_a_three_unit_minimum_and_round_up() {
        // GIVEN documents of various lengths WHEN billed THEN max(3, ceil(chars/100))
        assert_eq!(comprehend_units(0), 3);
        assert_eq!(comprehend_units(300), 3);
        assert_eq!(comprehend_units(301), 4);
        assert_eq!(comprehend_units(5_000), 50);
    }
}
