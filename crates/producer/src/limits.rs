//! Kinesis Data Streams limits the producer packs against, each with the page it comes from.

/// PutRecords: at most 500 records a request.
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>
pub const PUT_RECORDS_MAX_RECORDS: usize = 500;

/// PutRecords: 5 MiB a request, partition keys included. The API reference now allows 10 MiB
/// where large records are enabled, so the cap is a setting with this default and
/// [`PUT_RECORDS_MAX_REQUEST_BYTES_CEILING`] as its ceiling.
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>
pub const PUT_RECORDS_DEFAULT_REQUEST_BYTES: usize = 5 * 1024 * 1024;
/// See [`PUT_RECORDS_DEFAULT_REQUEST_BYTES`].
pub const PUT_RECORDS_MAX_REQUEST_BYTES_CEILING: usize = 10 * 1024 * 1024;

/// A record is at most 1 MiB (data blob plus partition key) unless large records are enabled
/// on the stream (up to 10 MiB); a setting with this default.
/// <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// A partition key is 1 to 256 Unicode characters.
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsRequestEntry.html>
pub const PARTITION_KEY_MAX_CHARS: usize = 256;

/// ExplicitHashKey: a decimal in `0|([1-9]\d{0,38})` and within the 128-bit hash key space.
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsRequestEntry.html>
pub const EXPLICIT_HASH_KEY_MAX_DIGITS: usize = 39;

/// Kinesis bills PUT payload units of 25 KB: a record uses ⌈size / 25 KB⌉ of them.
/// <https://aws.amazon.com/kinesis/data-streams/pricing/>
pub const PUT_PAYLOAD_UNIT_BYTES: usize = 25 * 1024;

/// The KPL's default `AggregationMaxSize`: the most bytes one aggregated record may hold.
/// <https://github.com/awslabs/amazon-kinesis-producer/blob/master/java/amazon-kinesis-producer-sample/default_config.properties>
pub const KPL_DEFAULT_AGGREGATION_MAX_BYTES: usize = 51_200;

/// The bytes a record counts against the per-record and per-request limits.
pub fn record_bytes(data_len: usize, partition_key: &str) -> usize {
    data_len + partition_key.len()
}

/// PUT payload units a record of `bytes` uses (at least one).
pub fn payload_units(bytes: usize) -> u64 {
    bytes.div_ceil(PUT_PAYLOAD_UNIT_BYTES).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_units_round_up_in_25_kb_steps() {
        // GIVEN records of various sizes WHEN billed THEN ⌈bytes / 25 KB⌉, at least one
        assert_eq!(payload_units(0), 1);
        assert_eq!(payload_units(700), 1);
        assert_eq!(payload_units(25 * 1024), 1);
        assert_eq!(payload_units(25 * 1024 + 1), 2);
        assert_eq!(payload_units(KPL_DEFAULT_AGGREGATION_MAX_BYTES), 2);
    }

    #[test]
    fn the_partition_key_counts_towards_the_record_size() {
        assert_eq!(record_bytes(10, "abc"), 13);
        assert_eq!(record_bytes(0, "é"), 2);
    }
}
