//! A scripted HTTP server on 127.0.0.1 for what a mock server cannot do: answer differently
//! from one request to the next, stall, or break a body off mid-way.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The API key tests configure; no output may ever contain it.
pub const API_KEY: &str = "sk-test-5ecret-key-never-printed";

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A whole response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Wait, then answer.
    Delayed(Duration, Box<Reply>),
    /// Declare `declared` body bytes, send `body` (fewer), then close the connection.
    Truncated { declared: usize, body: Vec<u8> },
    /// Declare a body of a gigabyte, send `start`, then spaces until the client hangs up.
    Endless { status: u16, start: Vec<u8> },
    /// Send `body` as the start of a 200 event stream, then neither send more nor close.
    Stalled { body: Vec<u8> },
    /// A 200 event stream of these `data:` lines, one event every `gap`, then the end.
    Paced { gap: Duration, data: Vec<String> },
}

impl Reply {
    /// A 200 event stream of these `data:` lines, each an event.
    pub fn events(data: &[&str]) -> Self {
        let body: String = data.iter().map(|d| format!("data: {d}\n\n")).collect();
        Self::text(200, "text/event-stream", body)
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::Full {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn text(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::Full {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Self::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// A server answering each request with the next reply of its script (the last one repeats).
pub struct ScriptedServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

impl ScriptedServer {
    pub async fn start(script: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let (seen, replies) = (Arc::clone(&requests), Arc::clone(&script));
        let read_bodies = Arc::clone(&bodies);
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (seen, replies) = (Arc::clone(&seen), Arc::clone(&replies));
                let read_bodies = Arc::clone(&read_bodies);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
                    let rest = head.split_off(end);
                    let text = String::from_utf8_lossy(&head).into_owned();
                    let body = read_body(&mut socket, &text, rest).await;
                    read_bodies.lock().expect("lock").push(body);
                    seen.lock().expect("lock").push(text);
                    let reply = {
                        let mut replies = replies.lock().expect("lock");
                        if replies.len() > 1 {
                            replies.pop_front()
                        } else {
                            replies.front().cloned()
                        }
                    };
                    let Some(reply) = reply else { return };
                    write_reply(&mut socket, reply).await;
                });
            }
        });
        Self {
            addr,
            requests,
            bodies,
            script,
        }
    }

    /// The bodies of the requests received so far, in order (decoded when chunked).
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().expect("lock").clone()
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far (request line and headers).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }

    /// The request lines received so far, in order.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.lines().next().unwrap_or_default().to_owned())
            .collect()
    }

    pub fn hits(&self) -> usize {
        self.requests.lock().expect("lock").len()
    }

    /// Replaces the script.
    pub fn answer(&self, script: Vec<Reply>) {
        *self.script.lock().expect("lock") = VecDeque::from(script);
    }
}

/// Reads a request's body after its head: `Content-Length` bytes, or chunks until the last.
async fn read_body(
    socket: &mut tokio::net::TcpStream,
    head: &str,
    mut buffered: Vec<u8>,
) -> Vec<u8> {
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_ascii_lowercase())
        })
    };
    let mut buf = [0u8; 65536];
    if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while buffered.len() < length {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buffered.extend_from_slice(&buf[..n]),
            }
        }
        return buffered;
    }
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            // One chunk: its size line, its bytes, CRLF.
            let line_end = loop {
                if let Some(i) = buffered.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return body,
                    Ok(n) => buffered.extend_from_slice(&buf[..n]),
                }
            };
            let size_text = String::from_utf8_lossy(&buffered[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.trim(), 16).unwrap_or(0);
            buffered.drain(..line_end + 2);
            if size == 0 {
                return body;
            }
            while buffered.len() < size + 2 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return body,
                    Ok(n) => buffered.extend_from_slice(&buf[..n]),
                }
            }
            body.extend_from_slice(&buffered[..size]);
            buffered.drain(..size + 2);
        }
    }
    buffered
}

async fn write_reply(socket: &mut tokio::net::TcpStream, reply: Reply) {
    match reply {
        Reply::Delayed(wait, reply) => {
            tokio::time::sleep(wait).await;
            Box::pin(write_reply(socket, *reply)).await;
        }
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} Scripted\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            let _ = socket.write_all(out.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
        }
        Reply::Endless { status, start } => {
            let head = format!(
                "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n"
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&start).await;
            let spaces = vec![b' '; 64 * 1024];
            while socket.write_all(&spaces).await.is_ok() {}
        }
        Reply::Truncated { declared, body } => {
            let out = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {declared}\r\nconnection: close\r\n\r\n"
            );
            let _ = socket.write_all(out.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.flush().await;
            // Dropping the socket closes the connection before the declared length.
        }
        Reply::Paced { gap, data } => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            for data in data {
                tokio::time::sleep(gap).await;
                let event = format!("data: {data}\n\n");
                if socket.write_all(event.as_bytes()).await.is_err() {
                    return;
                }
                let _ = socket.flush().await;
            }
            let _ = socket.shutdown().await;
        }
        Reply::Stalled { body } => {
            let out = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 100000\r\n\r\n";
            let _ = socket.write_all(out.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.flush().await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    }
}

/// A client for `base_url` with the test key and quick retries.
pub fn client(base_url: &str) -> moonshot::Client {
    client_with(base_url, quick_retries())
}

/// A client for `base_url` with the test key and `retry`.
pub fn client_with(base_url: &str, retry: moonshot::RetryPolicy) -> moonshot::Client {
    moonshot::Client::builder()
        .api_key(API_KEY)
        .base_url(base_url)
        .retry(retry)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client builds")
}

/// The default number of retries with short waits, so tests run fast.
pub fn quick_retries() -> moonshot::RetryPolicy {
    moonshot::RetryPolicy::default()
        .initial_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20))
}

pub fn file_object(id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "object": "file",
        "bytes": 761790,
        "created_at": 1700815879,
        "filename": "xlnet.pdf",
        "purpose": "file-extract",
        "status": "ok",
        "status_details": ""
    })
}

pub fn moonshot_error(error_type: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"error": {"message": message, "type": error_type}})
}
