//! A Jetstream stand-in as a process, for clients in other languages (`.ci/jetstream_client.py`)
//! and local runs: `jetstream-standin [PORT]`. Serves a backlog of 500 events over the last
//! 5 s and a live post every 50 ms; prints its URL once it listens.

use std::time::Duration;

use ks_testkit::With as _;
use ks_testkit::jetstream::{Faults, Network, StandIn};
use ks_testkit::serve;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let net = Network::new();
    net.backlog(500, Duration::from_millis(100), Duration::from_millis(10));
    let _live = net.live(Duration::from_millis(50));
    let faults = Faults::with(|f| f.ping_every = Duration::from_secs(1));
    let standin = StandIn::bind(serve::port_arg(), net, faults).await?;
    serve::announce_until_interrupted(&standin.url()).await
}
