//! The Bedrock Runtime stand-in as a process, for clients in other languages (boto3 in
//! `.ci/standins_boto3.py`) and local runs: `bedrock-standin [PORT]`; prints its URL once it
//! listens. Faults from `STANDIN_THROTTLE_FIRST` and `STANDIN_LATENCY_MS`.

use std::time::Duration;

use ks_testkit::bedrock::{Faults, StandIn};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse().expect("PORT must be a number"))
        .unwrap_or(0);
    let var = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let faults = Faults {
        throttle_first: var("STANDIN_THROTTLE_FIRST"),
        latency: Duration::from_millis(var("STANDIN_LATENCY_MS")),
        ..Faults::default()
    };
    let standin = StandIn::bind(([127, 0, 0, 1], port).into(), faults).await?;
    println!("{}", standin.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
