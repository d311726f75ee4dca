//! The deletion-purge Lambda: settings and the S3 client once, then one purge per schedule tick.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    ks_kernel::log::init();
    let state = deletion_purge::State::from_env().await.inspect_err(|e| {
        // Logged as well as returned: the JSON line is what CloudWatch shows for a failed init.
        tracing::error!(error = %e, "cannot start");
    })?;
    let state = &state;
    run(service_fn(move |event: LambdaEvent<_>| state.handle(event))).await
}
