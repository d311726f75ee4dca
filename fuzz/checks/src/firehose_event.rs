//! Our Firehose event model (`ks_transform::record::FirehoseEvent`) on any bytes: what it
//! reads is JSON serde_json accepts, an event it reads reads back the same after writing
//! (record ids and data), and the whole transform then answers it by the contract (see
//! [`crate::transform`]), default settings.

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
    let ids = |e: &FirehoseEvent| -> Vec<(String, Option<String>)> {
        e.records
            .iter()
            .map(|r| (r.record_id.clone(), r.data.clone()))
            .collect()
    };
    assert_eq!(
        ids(&event),
        ids(&again),
        "records changed through a write and read"
    );
    if event.records.len() <= MAX_TRANSFORMED_RECORDS {
        crate::transform::run_and_check(&event, &TransformSettings::default());
    }
}
