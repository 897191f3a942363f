//! A base URL with a path, as a gateway serves the API under a prefix
//! (`http://127.0.0.1:PORT/coding/v1`): every kind of call, hand-written ones included, reaches
//! the local Moonshot server of `moonshot-mock` through a gateway on 127.0.0.1 that forwards only
//! what is under the prefix and answers 404 to anything else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt as _;
use moonshot::batches::{BatchInput, BatchStatus, CompletionWindow};
use moonshot::chat::ChatRequest;
use moonshot_mock::MockServer;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const KEY: &str = "sk-base-path-test";
const PREFIX: &str = "/coding";

/// A gateway in front of `upstream`: a request whose path starts with [`PREFIX`]`/v1/` goes on
/// without the prefix (one request per connection); any other is answered 404 and counted.
struct Gateway {
    addr: std::net::SocketAddr,
    refused: Arc<AtomicUsize>,
}

impl Gateway {
    async fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let refused = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&refused);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, upstream, Arc::clone(&counted)));
            }
        });
        Self { addr, refused }
    }
}

async fn forward(mut client: TcpStream, upstream: std::net::SocketAddr, refused: Arc<AtomicUsize>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a request line");
    let line = String::from_utf8_lossy(&head[..line_end]).into_owned();
    let mut parts = line.splitn(3, ' ');
    let (method, target, version) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let Some(rest) = target
        .strip_prefix(PREFIX)
        .filter(|rest| rest.starts_with("/v1/"))
    else {
        refused.fetch_add(1, Ordering::Relaxed);
        let _ = client
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        return;
    };
    // The upstream closes after its answer, so that the client never sends a second request
    // on this connection, past the rewriting.
    let mut rewritten = format!("{method} {rest} {version}\r\nconnection: close").into_bytes();
    rewritten.extend_from_slice(&head[line_end..]);
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if server.write_all(&rewritten).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}

#[tokio::test]
async fn upload_chat_and_batches_work_under_a_path_prefix() {
    let server = MockServer::builder()
        .api_key(KEY)
        .batch_duration(std::time::Duration::from_millis(100))
        .start()
        .await
        .expect("server");
    let gateway = Gateway::start(server.addr()).await;
    let client = moonshot::Client::builder()
        .api_key(KEY)
        .base_url(format!("http://{}{PREFIX}/v1", gateway.addr))
        .build()
        .expect("client");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("note.txt");
    std::fs::write(&path, "The gate code is 4711.").expect("write");
    let (file, content) = client
        .files()
        .upload_and_extract(&path)
        .await
        .expect("uploaded under the prefix");
    assert!(content.as_str().contains("4711"));

    let request = ChatRequest::new("kimi-k2.6")
        .file_content(&content)
        .user("What is the gate code?");
    let whole = client
        .chat()
        .create(request.clone())
        .await
        .expect("a whole answer under the prefix");
    assert!(!whole.content().is_empty());
    let mut stream = client
        .chat()
        .stream(request)
        .await
        .expect("a stream under the prefix");
    while let Some(chunk) = stream.next().await {
        chunk.expect("a chunk");
    }
    assert!(!stream.answer().content().is_empty());

    let mut input = BatchInput::new();
    input
        .push("q1", &ChatRequest::new("kimi-k2.6").user("Hi"))
        .expect("a line");
    let batch = client
        .batches()
        .submit(&input, CompletionWindow::default())
        .await
        .expect("a batch created under the prefix");
    let again = client
        .batches()
        .retrieve(&batch.id)
        .await
        .expect("retrieved under the prefix");
    assert_eq!(again.id, batch.id);
    assert_ne!(again.status, BatchStatus::Failed);

    // Generated operations, for completeness.
    client.models().list().await.expect("models");
    client.balance().retrieve().await.expect("balance");
    client
        .tokenizers()
        .estimate("kimi-k2.6", vec![moonshot::messages::user("Hi")])
        .await
        .expect("estimate");
    assert!(
        client
            .files()
            .list()
            .await
            .expect("files")
            .iter()
            .any(|f| f.id == file.id)
    );
    client.files().delete(&file.id).await.expect("deleted");
    assert_eq!(
        gateway.refused.load(Ordering::Relaxed),
        0,
        "every request went under the prefix"
    );
}
