//! JSON logs for the Lambdas: one object per line, level from `RUST_LOG` (default `info`), and
//! the current span kept, so every line written while an invocation runs carries the
//! runtime's `requestId` (`lambda_runtime` opens that span around each invocation; spawned
//! tasks are instrumented with it where they are spawned).

/// Installs the subscriber. Call once, first thing in `main`.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .init();
}
