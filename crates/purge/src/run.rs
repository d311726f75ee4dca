//! One purge run, in phases: load what was remembered, list both areas, read the new deletion
//! records, pass over the data objects in the order Firehose wrote them applying every change
//! that concerns each, then remember how far each change got. Stopped by its deadline, a run
//! saves how far it got and the next one goes on; killed, it saved nothing and the next one
//! redoes its work, which changes nothing already done.

use std::collections::{HashMap, HashSet};

use tokio::time::Instant;

use crate::config::PurgeSettings;
use crate::metrics::PurgeSummary;
use crate::objects::{self, written_at_ms};
use crate::rules::{Change, Rules, Watched, WatchedKind};
use crate::state::State;
use crate::store::Bucket;

/// Why a run failed; the state it started from stands.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("the purge state {key}: {reason}")]
    State { key: String, reason: String },
    #[error("listing {prefix}: {source}")]
    List {
        prefix: String,
        source: std::io::Error,
    },
    #[error("{op} {key}: {source}")]
    Object {
        op: &'static str,
        key: String,
        source: std::io::Error,
    },
}

impl PurgeError {
    /// Whether a later run may succeed unchanged (a bucket call failed) or not (an unreadable
    /// state, which a person must look at).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, PurgeError::State { .. })
    }

    pub fn code(&self) -> &'static str {
        match self {
            PurgeError::State { .. } => "STATE",
            PurgeError::List { .. } => "LIST",
            PurgeError::Object { .. } => "OBJECT",
        }
    }
}

/// One object of an area, where the purge's order puts it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Placed {
    at_ms: i64,
    key: String,
}

/// One run over `bucket`, stopping before `deadline`.
pub async fn purge<B: Bucket>(
    bucket: &B,
    settings: &PurgeSettings,
    now_ms: i64,
    deadline: Instant,
) -> Result<PurgeSummary, PurgeError> {
    let started = std::time::Instant::now();
    let mut state = load_state(bucket, &settings.state_key).await?;
    let deletion_objects = list(bucket, &settings.deletions_prefix, &[]).await?;
    let data_objects = list(bucket, &settings.data_prefix, &settings.not_data).await?;
    let mut summary = PurgeSummary {
        objects_in_bucket: data_objects.len() as u64,
        ..PurgeSummary::default()
    };
    let changes = read_new_changes(
        bucket,
        settings,
        &deletion_objects,
        &mut state,
        &mut summary,
    )
    .await?;
    watch(&mut state.watched, &changes, settings);
    let (reached, edits) = pass(bucket, &data_objects, &mut state, &mut summary, deadline).await?;
    summary.complete = reached.as_ref() == data_objects.last();
    if let Some(last) = reached {
        for w in &mut state.watched {
            if w.checked_through
                .as_ref()
                .is_none_or(|c| *c < (last.at_ms, last.key.clone()))
            {
                w.checked_through = Some((last.at_ms, last.key.clone()));
            }
        }
    }
    // Found during the pass, edits take effect from the next run: their earlier versions can
    // lie in objects already passed.
    watch(&mut state.watched, &edits, settings);
    settle(
        &mut state,
        settings,
        now_ms,
        data_objects.first(),
        &mut summary,
    );
    state.data_seen.trim(written_at_ms);
    state.deletions_seen.trim(written_at_ms);
    save_state(bucket, &settings.state_key, &state).await?;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

async fn load_state<B: Bucket>(bucket: &B, key: &str) -> Result<State, PurgeError> {
    let bytes = bucket.get(key).await.map_err(|e| PurgeError::State {
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    match bytes {
        None => Ok(State::default()),
        Some(b) => serde_json::from_slice(&b).map_err(|e| PurgeError::State {
            key: key.to_owned(),
            reason: format!("unreadable ({e}); move it aside to start over"),
        }),
    }
}

async fn save_state<B: Bucket>(bucket: &B, key: &str, state: &State) -> Result<(), PurgeError> {
    let body = serde_json::to_vec(state).expect("serialising plain data");
    bucket.put(key, body).await.map_err(|e| PurgeError::State {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

/// The Firehose objects under `prefix` (not under `not`), in the order Firehose wrote them.
async fn list<B: Bucket>(
    bucket: &B,
    prefix: &str,
    not: &[String],
) -> Result<Vec<Placed>, PurgeError> {
    let listed = bucket
        .list(prefix)
        .await
        .map_err(|source| PurgeError::List {
            prefix: prefix.to_owned(),
            source,
        })?;
    let mut out: Vec<Placed> = listed
        .into_iter()
        .filter(|o| {
            !not.iter()
                .any(|n| o.key[prefix.len()..].starts_with(n.as_str()))
        })
        .filter_map(|o| {
            Some(Placed {
                at_ms: written_at_ms(&o.key)?,
                key: o.key,
            })
        })
        .collect();
    out.sort();
    Ok(out)
}

async fn get<B: Bucket>(bucket: &B, key: &str) -> Result<Option<Vec<u8>>, PurgeError> {
    bucket.get(key).await.map_err(|source| PurgeError::Object {
        op: "GetObject",
        key: key.to_owned(),
        source,
    })
}

/// Every deletion and account purge in deletion objects not read before.
async fn read_new_changes<B: Bucket>(
    bucket: &B,
    settings: &PurgeSettings,
    objects: &[Placed],
    state: &mut State,
    summary: &mut PurgeSummary,
) -> Result<Vec<Change>, PurgeError> {
    let mut changes = Vec::new();
    let new: Vec<&Placed> = objects
        .iter()
        .filter(|o| state.deletions_seen.is_new(o.at_ms, &o.key))
        .collect();
    for o in new {
        let Some(bytes) = get(bucket, &o.key).await? else {
            continue;
        };
        summary.deletion_objects_read += 1;
        match objects::open(&o.key, bytes) {
            Ok(body) => changes.extend(objects::changes_in(&body, &settings.account_statuses)),
            Err(e) => {
                tracing::error!(key = %o.key, error = %e, "deletion object unreadable: skipped");
                summary.objects_unreadable += 1;
            }
        }
        state.deletions_seen.mark(o.at_ms, &o.key);
    }
    for c in &changes {
        match c {
            Change::Delete { .. } => summary.deletions_read += 1,
            Change::Purge { .. } => summary.account_purges_read += 1,
            Change::Edit { .. } => {}
        }
    }
    Ok(changes)
}

/// Adds changes to the watched ones; a repeat of one already watched keeps the first (an edit
/// keeps the newest version).
fn watch(watched: &mut Vec<Watched>, changes: &[Change], settings: &PurgeSettings) {
    let skew = settings.creation_skew.as_millis() as i64;
    let mut index: HashMap<(WatchedKind, String), usize> = watched
        .iter()
        .enumerate()
        .map(|(i, w)| ((w.kind, w.key.clone()), i))
        .collect();
    for c in changes {
        let w = Watched::new(c, skew);
        match index.get(&(w.kind, w.key.clone())) {
            Some(&i) => {
                let old = &mut watched[i];
                if w.version_us > old.version_us {
                    *old = w;
                }
            }
            None => {
                index.insert((w.kind, w.key.clone()), watched.len());
                watched.push(w);
            }
        }
    }
}

/// The pass over the data objects: each object is read when a watched change concerns it or
/// it is new (for the edits it carries), and written back without what the changes take.
/// Returns the last object it got through.
async fn pass<B: Bucket>(
    bucket: &B,
    objects: &[Placed],
    state: &mut State,
    summary: &mut PurgeSummary,
    deadline: Instant,
) -> Result<(Option<Placed>, Vec<Change>), PurgeError> {
    // Changes become active in the order of the first object they concern, so the rules in
    // force only grow along the pass.
    let mut order: Vec<usize> = (0..state.watched.len()).collect();
    order.sort_by_key(|&i| activation(&state.watched[i]));
    let mut next = 0;
    let mut rules = Rules::default();
    let mut taken: HashSet<String> = HashSet::new();
    let mut edits = Vec::new();
    let mut reached = None;
    for o in objects {
        if Instant::now() >= deadline {
            summary.stopped_by_deadline = true;
            break;
        }
        while next < order.len() && state.watched[order[next]].applies_to(o.at_ms, &o.key) {
            rules.add(&state.watched[order[next]].change());
            next += 1;
        }
        let is_new = state.data_seen.is_new(o.at_ms, &o.key);
        if !rules.is_empty() || is_new {
            let found = one_object(bucket, o, &rules, is_new, summary).await?;
            taken.extend(found.taken);
            edits.extend(found.edits);
        }
        if is_new {
            state.data_seen.mark(o.at_ms, &o.key);
        }
        reached = Some(o.clone());
    }
    for w in &mut state.watched {
        if !w.applied && taken.contains(&w.key) {
            w.applied = true;
            if w.kind == WatchedKind::Delete {
                summary.deletions_applied += 1;
            }
        }
    }
    summary.edits_found += edits.len() as u64;
    Ok((reached, edits))
}

/// Where a watched change starts to apply, in the pass's order.
fn activation(w: &Watched) -> (i64, String) {
    match &w.checked_through {
        Some((t, k)) if (*t, k.as_str()) >= (w.from_ms, "") => (*t, k.clone()),
        _ => (w.from_ms, String::new()),
    }
}

/// What one object gave the pass.
struct Found {
    taken: Vec<String>,
    edits: Vec<Change>,
}

async fn one_object<B: Bucket>(
    bucket: &B,
    o: &Placed,
    rules: &Rules,
    is_new: bool,
    summary: &mut PurgeSummary,
) -> Result<Found, PurgeError> {
    let mut found = Found {
        taken: Vec::new(),
        edits: Vec::new(),
    };
    let Some(bytes) = get(bucket, &o.key).await? else {
        return Ok(found);
    };
    summary.objects_read += 1;
    let body = match objects::open(&o.key, bytes) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(key = %o.key, error = %e, "data object unreadable: left as it is");
            summary.objects_unreadable += 1;
            return Ok(found);
        }
    };
    if is_new {
        found.edits = objects::edits_in(&body);
    }
    if rules.is_empty() {
        return Ok(found);
    }
    let filtered = match objects::filter(&o.key, body, rules) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(key = %o.key, error = %e, "data object not rewritten: left as it is");
            summary.objects_unreadable += 1;
            return Ok(found);
        }
    };
    write_back(bucket, o, filtered.bytes.clone(), summary).await?;
    summary.records_deleted += filtered.deleted;
    summary.records_purged += filtered.purged;
    summary.records_superseded += filtered.superseded;
    found.taken = filtered.taken;
    Ok(found)
}

/// Replaces the object with what is left of it, or deletes it when nothing is.
async fn write_back<B: Bucket>(
    bucket: &B,
    o: &Placed,
    bytes: Option<Vec<u8>>,
    summary: &mut PurgeSummary,
) -> Result<(), PurgeError> {
    let (op, result) = match bytes {
        None => return Ok(()),
        Some(b) if b.is_empty() => {
            summary.objects_deleted += 1;
            ("DeleteObject", bucket.delete(&o.key).await)
        }
        Some(b) => {
            summary.objects_rewritten += 1;
            ("PutObject", bucket.put(&o.key, b).await)
        }
    };
    result.map_err(|source| PurgeError::Object {
        op,
        key: o.key.clone(),
        source,
    })
}

/// Counts what is pending and drops what the watch period is over for.
fn settle(
    state: &mut State,
    settings: &PurgeSettings,
    now_ms: i64,
    oldest: Option<&Placed>,
    summary: &mut PurgeSummary,
) {
    let watch = settings.watch.as_millis() as i64;
    let alarm = settings.pending_alarm.as_millis() as i64;
    let skew = settings.creation_skew.as_millis() as i64;
    // A deletion of a post older than everything in the lake has nothing to wait for.
    let lake_start = oldest.map_or(i64::MAX, |o| o.at_ms);
    let mut oldest_pending: Option<i64> = None;
    state.watched.retain(|w| {
        let pending = w.kind == WatchedKind::Delete && !w.applied;
        let could_be_held = w.from_ms == 0 || w.from_ms + skew >= lake_start - skew;
        let over = now_ms - w.at_ms > watch && w.checked_through.is_some();
        if pending && could_be_held {
            if over {
                summary.deletions_expired_unseen += 1;
            } else {
                summary.deletions_pending += 1;
                oldest_pending = Some(oldest_pending.map_or(w.at_ms, |o| o.min(w.at_ms)));
                if now_ms - w.at_ms > alarm {
                    summary.deletions_pending_too_long += 1;
                }
            }
        }
        !over
    });
    summary.watched = state.watched.len() as u64;
    summary.oldest_pending_s = oldest_pending.map_or(0, |t| ((now_ms - t).max(0) / 1_000) as u64);
}
