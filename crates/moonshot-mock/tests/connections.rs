//! Connections: clients that send their request head slowly or not at all, and shutdown.

mod common;

use std::time::Duration;

use common::get;
use moonshot_mock::{Faults, MockServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far above any timeout these tests set: reaching it means the server kept a connection.
const PATIENCE: Duration = Duration::from_secs(30);

/// Opens a connection and sends half a request head.
async fn half_a_head(server: &MockServer) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr()).await.expect("connects");
    stream
        .write_all(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("sends");
    stream
}

/// Whether the server ends the connection (closes or resets it) within [`PATIENCE`].
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest))
        .await
        .is_ok()
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_after_the_header_read_timeout() {
    let server = MockServer::builder()
        .header_read_timeout(Duration::from_millis(200))
        .start()
        .await
        .expect("server starts");
    let mut stream = half_a_head(&server).await;
    assert!(
        closed_by_server(&mut stream).await,
        "the connection stayed open"
    );
    // The server goes on serving.
    assert_eq!(get(&server, "/v1/models", None).await.status(), 200);
}

#[tokio::test]
async fn shutdown_drops_a_connection_stuck_in_its_request_head_after_the_grace_period() {
    let server = MockServer::builder()
        .header_read_timeout(Duration::from_secs(3600))
        .shutdown_grace(Duration::from_millis(200))
        .start()
        .await
        .expect("server starts");
    let mut stream = half_a_head(&server).await;
    // Time for the server to take the connection and read what was sent.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = tokio::time::timeout(PATIENCE, server.shutdown()).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "the server did not stop: {stopped:?}"
    );
    assert!(
        closed_by_server(&mut stream).await,
        "the connection stayed open"
    );
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let server = MockServer::builder()
        .faults(Faults::default().latency(Duration::from_millis(300)))
        .shutdown_grace(PATIENCE)
        .start()
        .await
        .expect("server starts");
    let url = format!("{}/v1/models", server.base_url());
    let request = tokio::spawn(async move { common::client().get(url).send().await });
    while server.request_count() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.shutdown().await.expect("the server stops");
    let response = request.await.expect("the request ends");
    assert_eq!(response.expect("an answer").status(), 200);
}
