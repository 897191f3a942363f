//! Serving connections: a request head must arrive within a time limit, and a shutdown gives
//! requests in flight a grace period, then drops the connections left.

use std::pin::pin;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long a connection may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// From the first byte of a request head (or the end of the last request) to its end.
    pub(crate) header_read_timeout: Duration,
    /// From the shutdown signal to the drop of the connections still open.
    pub(crate) shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `stopping` turns true; then stops accepting, lets each
/// connection finish its request in flight, and drops those still open after the grace period.
pub(crate) async fn serve(
    mut listener: TcpListener,
    app: Router,
    limits: Limits,
    stopping: watch::Receiver<bool>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut connections = JoinSet::new();
    let mut stop_accepting = stopping.clone();
    loop {
        tokio::select! {
            // Errors accepting (too many open files) are waited out by axum's listener.
            (stream, _) = axum::serve::Listener::accept(&mut listener) => {
                // A streamed answer is many small writes: without this, each one after the
                // first waits for the client's delayed acknowledgement (40 ms on Linux).
                let _best_effort = stream.set_nodelay(true);
                let connection = http.serve_connection(
                    TokioIo::new(stream),
                    TowerToHyperService::new(app.clone()),
                );
                let mut stop = stopping.clone();
                connections.spawn(async move {
                    let mut connection = pin!(connection);
                    tokio::select! {
                        _ = connection.as_mut() => return,
                        _ = stop.wait_for(|stop| *stop) => {}
                    }
                    // Ends the connection after the request in flight, or at once when idle.
                    connection.as_mut().graceful_shutdown();
                    // The server's own error to report is none: a client that goes is no fault.
                    let _ = connection.await;
                });
            }
            Some(_) = connections.join_next() => {}
            _ = stop_accepting.wait_for(|stop| *stop) => break,
        }
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, drained)
        .await
        .is_err()
    {
        connections.shutdown().await;
    }
}
