//! `comprehend-standin [--addr 127.0.0.1:PORT] [--latency-ms N] [--throttle-every N] [--error-every N]`
//! Runs the stand-in until interrupted; prints `listening on http://ADDR` once ready.

use std::time::Duration;

use ks_testkit::comprehend::{Faults, StandIn};

fn usage(problem: &str) -> ! {
    eprintln!("comprehend-standin: {problem}");
    eprintln!(
        "usage: comprehend-standin [--addr HOST:PORT] [--latency-ms N] [--throttle-every N] [--error-every N]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut addr = "127.0.0.1:0".to_owned();
    let mut faults = Faults::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .unwrap_or_else(|_| usage(&format!("{flag}: {v:?} is not a number")))
        };
        match flag.as_str() {
            "--addr" => addr = value(),
            "--latency-ms" => faults.latency = Duration::from_millis(number(value())),
            "--throttle-every" => faults.throttle_every = number(value()),
            "--error-every" => faults.error_every = number(value()),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    let addr = addr
        .parse()
        .unwrap_or_else(|_| usage(&format!("--addr: {addr:?} is not HOST:PORT")));
    let server = StandIn::bind(addr, faults)
        .await
        .unwrap_or_else(|e| usage(&format!("cannot listen: {e}")));
    println!("listening on {}", server.url());
    let _ = tokio::signal::ctrl_c().await;
}
