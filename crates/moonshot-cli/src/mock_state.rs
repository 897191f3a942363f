//! `--mock` keeps its files and batches between commands: `moonshot --mock files upload x.pdf`,
//! then `moonshot --mock files list` shows it. The local server starts from a state directory
//! (files in the fixtures format of `moonshot-mock`, batches in `.batches.json`), and the files
//! and batches it holds when the command ends are written back, whole or not at all. A batch
//! still running then is waited for (a few seconds on the local server) so that it is kept
//! ended, with its result files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use moonshot::batches::is_terminal;
use moonshot::{Client, Error};
use moonshot_mock::{MockFile, MockServer, demo_files, load_fixtures};

/// The environment variable that names the state directory.
pub(crate) const STATE_ENV: &str = "MOONSHOT_MOCK_STATE";

/// Where `--mock` keeps its files: `$MOONSHOT_MOCK_STATE`, else a directory of this user's in
/// the system's temporary directory.
pub(crate) fn state_dir() -> PathBuf {
    match std::env::var_os(STATE_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let user = std::env::var("USER").unwrap_or_else(|_| "user".to_owned());
            std::env::temp_dir().join(format!("moonshot-mock-{user}"))
        }
    }
}

/// The file in the state directory that holds the batches, as the API answered them.
const BATCHES_FILE: &str = ".batches.json";

/// The files and batches to start from: the state directory's, or the demo files the first
/// time.
pub(crate) fn load(dir: &Path) -> Result<(Vec<MockFile>, Vec<serde_json::Value>), String> {
    if !dir.join(".saved").exists() {
        return Ok((demo_files(), Vec::new()));
    }
    let unreadable = |e: &dyn std::fmt::Display| {
        format!(
            "the --mock state in {} cannot be read ({e}): delete the directory to start afresh",
            dir.display()
        )
    };
    let files = load_fixtures(dir).map_err(|e| unreadable(&e))?;
    let batches = match std::fs::read(dir.join(BATCHES_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| unreadable(&e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(unreadable(&e)),
    };
    Ok((files, batches))
}

/// Writes the server's batches and files to `dir`: into a new directory beside it, which then
/// replaces it.
pub(crate) async fn save(client: &Client, server: &MockServer, dir: &Path) -> Result<(), String> {
    let failed =
        |e: std::io::Error| format!("cannot keep the --mock files in {}: {e}", dir.display());
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(failed)?;
    let staging = tempfile::Builder::new()
        .prefix(".moonshot-mock-")
        .tempdir_in(parent)
        .map_err(failed)?;
    // Batches first: one that ends while waited for makes its result files.
    let mut batches = Vec::new();
    for id in server.batch_ids() {
        let mut batch = client
            .batches()
            .retrieve(&id)
            .await
            .map_err(|e| e.to_string())?;
        if !is_terminal(&batch.status)
            && let Ok(ended) = client.batches().wait(&id, Duration::from_secs(30)).await
        {
            batch = ended;
        }
        batches.push(batch);
    }
    let batches = serde_json::to_vec_pretty(&batches).map_err(|e| e.to_string())?;
    std::fs::write(staging.path().join(BATCHES_FILE), batches).map_err(failed)?;
    for id in &server.file_ids() {
        let mut file = client
            .files()
            .retrieve(id)
            .await
            .map_err(|e| e.to_string())?;
        if !file.status.is_ready() && file.status.as_str() == "processing" {
            // Saved mid-processing it would stay so: let it end first.
            if let Ok(done) = client
                .files()
                .wait_for_processing_within(id, Duration::from_secs(10))
                .await
            {
                file = done;
            }
        }
        let object = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        std::fs::write(staging.path().join(format!("{id}.json")), object).map_err(failed)?;
        match client.files().content(id).await {
            Ok(content) => {
                std::fs::write(
                    staging.path().join(format!("{id}.txt")),
                    content.parsed().content,
                )
                .map_err(failed)?;
            }
            Err(Error::ExtractionFailed(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    std::fs::write(staging.path().join(".saved"), b"").map_err(failed)?;
    let staged = staging.keep();
    let old = parent.join(format!(".moonshot-mock-old-{}", std::process::id()));
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(failed)?;
    }
    if let Err(e) = std::fs::rename(&staged, dir) {
        // Put the old state back rather than lose it.
        let _ = std::fs::rename(&old, dir);
        let _ = std::fs::remove_dir_all(&staged);
        return Err(failed(e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
