//! The firehose-transform Lambda: settings and clients once, then one handler call per batch.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    ks_kernel::log::init();
    let state = firehose_transform::State::from_env()
        .await
        .inspect_err(|e| {
            // Logged as well as returned: the JSON line is what CloudWatch shows for a failed init.
            tracing::error!(error = %e, "invalid configuration");
        })?;
    // Lives as long as the process: each invocation's task borrows it.
    let state: &'static _ = Box::leak(Box::new(state));
    run(service_fn(move |event: LambdaEvent<_>| state.handle(event))).await
}
