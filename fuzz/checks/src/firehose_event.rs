//! Our Firehose event model (`ks_transform::record::FirehoseEvent`) on any bytes: what it
//! reads is JSON serde_json accepts, an event it reads reads back the same after writing
//! (record ids, data, `kafkaRecordValue`, MSK metadata), every payload text is read by the
//! lenient base64 reader consistently (see [`check_base64`]), and the whole transform then
//! answers it by the contract (see [`crate::transform`]), default settings.

use ks_transform::record::FirehoseEvent;
use ks_transform::transform::TransformSettings;

/// Events with more records are only parsed: the transform is fuzzed on its own target.
const MAX_TRANSFORMED_RECORDS: usize = 100;

pub fn check(data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<FirehoseEvent>(data) else {
        return;
    };
    assert!(
        serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok(),
        "an event read from what serde_json does not accept as JSON"
    );
    let written = serde_json::to_vec(&event).expect("an event serialises");
    let again: FirehoseEvent = serde_json::from_slice(&written).unwrap_or_else(|e| {
        panic!(
            "an event we wrote does not read back ({e}): {}",
            String::from_utf8_lossy(&written)
        )
    });
    let ids = |e: &FirehoseEvent| {
        e.records
            .iter()
            .map(|r| {
                let (payload, field) = r.payload(e.from_msk());
                (
                    r.record_id.clone(),
                    r.data.clone(),
                    r.kafka_record_value.clone(),
                    r.msk_record_metadata.clone(),
                    payload.map(str::to_owned),
                    field,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&event),
        ids(&again),
        "records changed through a write and read"
    );
    for r in &event.records {
        if let (Some(text), _) = r.payload(event.from_msk()) {
            check_base64(text);
        }
    }
    if event.records.len() <= MAX_TRANSFORMED_RECORDS {
        crate::transform::run_and_check(&event, &TransformSettings::default());
    }
}

/// The lenient base64 reader on one payload text: what it reads, the strict reader (the base64
/// crate) reads the same where it reads at all; its canonical answer reads back to the same
/// bytes and is its own canonical form; and what it refuses has no canonical answer.
pub fn check_base64(text: &str) {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use ks_transform::payload;
    let lenient = payload::decode_lenient(text);
    if let Ok(strict) = BASE64.decode(text) {
        assert_eq!(lenient.as_ref(), Ok(&strict), "{text:?}: the readers disagree");
    }
    match lenient {
        Ok(bytes) => {
            let canonical = payload::canonical(text).expect("a readable payload has an answer");
            assert_eq!(canonical, BASE64.encode(&bytes), "{text:?}");
            assert_eq!(payload::decode_lenient(&canonical).as_ref(), Ok(&bytes));
        }
        Err(_) => assert_eq!(payload::canonical(text), None, "{text:?}"),
    }
}
