//! What one purge run did: the summary log line and its CloudWatch EMF twin.

use ks_kernel::emf::{Emf, Unit};
use serde::Serialize;
use serde_json::Value;

/// Counts for one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeSummary {
    /// Data objects listed (the objects in the bucket).
    pub objects_in_bucket: u64,
    /// Data objects read: those a watched change concerns, and new ones.
    pub objects_read: u64,
    pub objects_rewritten: u64,
    /// Objects every record of which went.
    pub objects_deleted: u64,
    /// Objects that could not be read or written back (left as they were, logged).
    pub objects_unreadable: u64,
    pub deletion_objects_read: u64,
    /// New deletions and account purges read from the deletions area.
    pub deletions_read: u64,
    pub account_purges_read: u64,
    /// Edits found in new data objects (their earlier versions go from the next run).
    pub edits_found: u64,
    pub records_deleted: u64,
    pub records_purged: u64,
    pub records_superseded: u64,
    /// Deletions whose post was found and removed in this run.
    pub deletions_applied: u64,
    /// Deletions whose post has not been seen yet (it may still arrive).
    pub deletions_pending: u64,
    /// Pending for longer than `PURGE_PENDING_ALARM_HOURS`.
    pub deletions_pending_too_long: u64,
    /// Dropped after the watch period without their post ever being seen.
    pub deletions_expired_unseen: u64,
    /// Age of the oldest pending deletion.
    pub oldest_pending_s: u64,
    /// Changes still watched.
    pub watched: u64,
    /// Whether the pass got through every data object (else the next run goes on).
    pub complete: bool,
    pub stopped_by_deadline: bool,
    pub elapsed_ms: u64,
}

impl PurgeSummary {
    /// Records taken, for every reason.
    pub fn records_removed(&self) -> u64 {
        self.records_deleted + self.records_purged + self.records_superseded
    }

    /// The EMF document: the stack's alarm watches `DeletionsPendingTooLong`.
    pub fn to_emf(&self, namespace: &str, function_name: &str, timestamp_ms: u64) -> Value {
        let mut emf = Emf::new(function_name);
        for (name, value) in [
            ("ObjectsInBucket", self.objects_in_bucket),
            ("ObjectsRead", self.objects_read),
            ("ObjectsRewritten", self.objects_rewritten),
            ("ObjectsDeleted", self.objects_deleted),
            ("ObjectsUnreadable", self.objects_unreadable),
            ("DeletionsRead", self.deletions_read),
            ("AccountPurgesRead", self.account_purges_read),
            ("RecordsRemoved", self.records_removed()),
            ("DeletionsApplied", self.deletions_applied),
            ("DeletionsPending", self.deletions_pending),
            ("DeletionsPendingTooLong", self.deletions_pending_too_long),
            ("DeletionsExpiredUnseen", self.deletions_expired_unseen),
            ("OldestPendingSeconds", self.oldest_pending_s),
            ("PassIncomplete", u64::from(!self.complete)),
        ] {
            emf.metric(name, Unit::Count, value);
        }
        emf.metric("DurationMs", Unit::Milliseconds, self.elapsed_ms);
        emf.finish(namespace, &[&["FunctionName"]], timestamp_ms)
    }
}
