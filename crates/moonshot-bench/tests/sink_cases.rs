//! The hidden `serve-sink` server, read by the hidden upload and stream cases as the groups run
//! them: every chunk and every byte arrives, for raw reqwest and for the facade.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moonshot-bench"))
}

/// `serve-sink` in a child process, stopped when dropped.
struct Sink {
    child: Child,
    base_url: String,
}

impl Sink {
    fn start() -> Self {
        let mut child = bench()
            .arg("serve-sink")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the benchmark binary runs");
        let mut base_url = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut base_url)
            .expect("the sink prints its URL");
        Self {
            child,
            base_url: base_url.trim().to_owned(),
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a case and returns the `units=` figure it printed.
fn units(args: &[String]) -> u64 {
    let output = bench().args(args).output().expect("the case runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{args:?}: {output:?}");
    stdout
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("units="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no units in {stdout:?}"))
}

#[test]
fn each_reader_reads_every_chunk_of_every_answer() {
    let sink = Sink::start();
    assert!(
        sink.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        sink.base_url
    );
    for reader in ["raw", "facade", "async-openai"] {
        let read = units(&[
            "stream-case".to_owned(),
            format!("--base-url={}", sink.base_url),
            format!("--reader={reader}"),
            "--chunks=25".to_owned(),
            "--repeats=2".to_owned(),
        ]);
        assert_eq!(read, 50, "{reader}");
    }
}

#[test]
fn each_uploader_sends_the_whole_file_and_decodes_the_answer() {
    let sink = Sink::start();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (file, warm_up) = (
        dir.path().join("upload.txt"),
        dir.path().join("warm-up.txt"),
    );
    std::fs::write(&file, vec![b'x'; 300_000]).expect("written");
    std::fs::write(&warm_up, b"warm").expect("written");
    for uploader in ["raw", "facade", "async-openai"] {
        let sent = units(&[
            "upload-case".to_owned(),
            format!("--base-url={}", sink.base_url),
            format!("--file={}", file.display()),
            format!("--warm-up={}", warm_up.display()),
            format!("--uploader={uploader}"),
            "--repeats=2".to_owned(),
        ]);
        assert_eq!(sent, 600_000, "{uploader}");
    }
}
