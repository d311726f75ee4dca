//! The Bedrock Runtime stand-in as a process, for clients in other languages (boto3 in
//! `.ci/standins_boto3.py`) and local runs: `bedrock-standin [PORT]`; prints its URL once it
//! listens. Faults from `STANDIN_THROTTLE_FIRST` and `STANDIN_LATENCY_MS`.

use std::time::Duration;

use ks_testkit::With as _;
use ks_testkit::bedrock::{Faults, StandIn};
use ks_testkit::serve;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let var = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let faults = Faults::with(|f| {
        f.throttle_first = var("STANDIN_THROTTLE_FIRST");
        f.latency = Duration::from_millis(var("STANDIN_LATENCY_MS"));
    });
    let standin = StandIn::bind(serve::port_arg(), faults).await?;
    serve::announce_until_interrupted(&standin.url()).await
}
