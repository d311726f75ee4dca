//! What every stand-in does to run: bind a loopback port, serve in the background, stop when
//! its handle drops. One copy here, so each stand-in is only its protocol.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::serve::ListenerExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// `127.0.0.1` with a port the system picks.
pub fn loopback() -> SocketAddr {
    ([127, 0, 0, 1], 0).into()
}

/// A server running in the background; it stops when dropped.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    stop: Stop,
}

#[derive(Debug)]
enum Stop {
    /// An HTTP server: told to shut down gracefully.
    Graceful(Option<oneshot::Sender<()>>),
    /// A raw accept loop: its task is aborted.
    Abort(JoinHandle<()>),
}

impl Server {
    /// `http://ADDR`, the endpoint URL to give an SDK or client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.stop {
            Stop::Graceful(tx) => {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
            }
            Stop::Abort(task) => task.abort(),
        }
    }
}

/// Serves `app` on `addr` (port 0: a free one) until the returned handle drops.
pub async fn http(addr: SocketAddr, app: Router) -> std::io::Result<Server> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    // Answer at once, as AWS does: without this, Nagle's algorithm and delayed ACKs add
    // milliseconds to every small response on loopback.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(Server {
        addr,
        stop: Stop::Graceful(Some(tx)),
    })
}

/// Accepts connections on `addr` (port 0: a free one) and hands each to `accept`, until the
/// returned handle drops: for protocols axum does not serve (a raw WebSocket server).
pub async fn tcp(
    addr: SocketAddr,
    mut accept: impl FnMut(TcpStream) + Send + 'static,
) -> std::io::Result<Server> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            accept(tcp);
        }
    });
    Ok(Server {
        addr,
        stop: Stop::Abort(task),
    })
}

/// The stand-in binaries' `[PORT]` argument, as a loopback address (none: a free port).
pub fn port_arg() -> SocketAddr {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse().expect("PORT must be a number"))
        .unwrap_or(0);
    ([127, 0, 0, 1], port).into()
}

/// The stand-in binaries' end: prints `url` (callers wait for that line to know it listens),
/// then keeps serving until interrupted.
pub async fn announce_until_interrupted(url: &str) -> std::io::Result<()> {
    println!("{url}");
    tokio::signal::ctrl_c().await
}

/// What makes a stand-in its own, implemented by its faults: the counters it keeps and the
/// routes that answer. [`StandIn`] runs any of them, so start, bind and shutdown are written
/// once.
pub trait Protocol {
    type Stats: Default;
    fn router(self, stats: Arc<Self::Stats>) -> Router;
}

/// The state most stand-ins' handlers share: the faults to inject and the counters to keep.
pub struct Shared<P: Protocol> {
    pub faults: P,
    pub stats: Arc<P::Stats>,
}

impl<P: Protocol> Shared<P> {
    pub fn new(faults: P, stats: Arc<P::Stats>) -> Arc<Self> {
        Arc::new(Shared { faults, stats })
    }
}

/// A running stand-in: where it listens and what it saw; it stops when dropped.
pub struct StandIn<P: Protocol> {
    pub addr: SocketAddr,
    pub stats: Arc<P::Stats>,
    server: Server,
}

impl<P: Protocol> StandIn<P> {
    /// Starts on `127.0.0.1` with a free port.
    pub async fn start(faults: P) -> std::io::Result<Self> {
        Self::bind(loopback(), faults).await
    }

    pub async fn bind(addr: SocketAddr, faults: P) -> std::io::Result<Self> {
        let stats = Arc::<P::Stats>::default();
        let server = http(addr, faults.router(stats.clone())).await?;
        Ok(StandIn {
            addr: server.addr,
            stats,
            server,
        })
    }

    /// The endpoint URL to give the SDK or client.
    pub fn url(&self) -> String {
        self.server.url()
    }
}

/// Reads of a stats struct's `AtomicU64` counters, one method each (`stats.calls()`).
#[macro_export]
macro_rules! counter_reads {
    ($stats:ty: $($counter:ident),+ $(,)?) => {
        impl $stats {
            $(
                pub fn $counter(&self) -> u64 {
                    self.$counter.load(::std::sync::atomic::Ordering::SeqCst)
                }
            )+
        }
    };
}
