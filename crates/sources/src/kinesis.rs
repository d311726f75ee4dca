//! Kinesis Data Streams as a [`StreamSink`]: one `PutRecords` call per request, per-entry
//! results mapped back in order, call failures classified for the core's retry loop.
//! <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_smithy_types::retry::RetryConfig;
use ks_producer::{CallError, Entry, EntryOutcome, StreamSink};

use ks_aws::errors::{KINESIS, classify};

#[derive(Debug, Clone)]
pub struct KinesisSink {
    client: Client,
    stream_name: String,
}

impl KinesisSink {
    pub fn new(client: Client, stream_name: impl Into<String>) -> Self {
        KinesisSink {
            client,
            stream_name: stream_name.into(),
        }
    }

    /// Client settings for this sink. The SDK's own retries are off: the core re-sends only the
    /// failed entries, with jitter, bounded by the Lambda deadline, and counts every call.
    pub fn configure(
        builder: aws_sdk_kinesis::config::Builder,
    ) -> aws_sdk_kinesis::config::Builder {
        builder.retry_config(RetryConfig::disabled())
    }
}

impl StreamSink for KinesisSink {
    async fn put_records(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        let records = entries
            .iter()
            .map(|e| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(e.data.clone()))
                    .partition_key(&e.partition_key)
                    .set_explicit_hash_key(e.explicit_hash_key.clone())
                    .build()
                    .map_err(|err| {
                        CallError::Permanent(format!("cannot build a PutRecords entry: {err}"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .put_records()
            .stream_name(&self.stream_name)
            .set_records(Some(records))
            .send()
            .await
            .map_err(|e| classify(&e, &KINESIS))?;
        Ok(output
            .records()
            .iter()
            .map(|r| match (r.error_code(), r.sequence_number()) {
                (None, Some(seq)) => EntryOutcome::Accepted {
                    shard_id: r.shard_id().unwrap_or_default().to_owned(),
                    sequence_number: seq.to_owned(),
                },
                (code, _) => EntryOutcome::Failed {
                    // An entry with neither a sequence number nor a code is not known to be
                    // stored: call it an internal failure so it is sent again.
                    code: code.unwrap_or("InternalFailure").to_owned(),
                    message: r.error_message().unwrap_or_default().to_owned(),
                },
            })
            .collect())
    }
}
