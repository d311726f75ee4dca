//! What several test files share: the lexicon backend's state under given variables, handling
//! one of `events/`'s sample events.

use firehose_transform::{Analyzer, State, TransformConfig};
use ks_transform::metrics::Summary;
use ks_transform::record::{FirehoseEvent, FirehoseResponse};
use lambda_runtime::{Context, LambdaEvent};

/// `events/<sample>` handled by the lexicon backend configured by `vars`, with 30 s left: the
/// event, the answer and the invocation's summary.
pub async fn lexicon_handles(
    vars: &[(&str, &str)],
    sample: &str,
) -> (FirehoseEvent, FirehoseResponse, Summary) {
    let config = TransformConfig::from_lookup(ks_kernel::env::fixed(vars)).unwrap();
    let state: &'static State = Box::leak(Box::new(State::new(
        Analyzer::Lexicon(Box::new(ks_lexicon::Lexicon::new())),
        config,
    )));
    let path = format!("{}/../../events/{sample}", env!("CARGO_MANIFEST_DIR"));
    let event: FirehoseEvent =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut ctx = Context::default();
    ctx.deadline = ks_kernel::deadline::now_ms() + 30_000;
    let (resp, summary) = state
        .handle_with_summary(LambdaEvent::new(event.clone(), ctx))
        .await
        .unwrap();
    (event, resp, summary)
}
