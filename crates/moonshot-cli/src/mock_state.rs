//! `--mock` keeps its files between commands: `moonshot --mock files upload x.pdf`, then
//! `moonshot --mock files list` shows it. The local server starts from a state directory (in the
//! fixtures format of `moonshot-mock`), and the files it holds when the command ends are written
//! back, whole or not at all.

use std::path::{Path, PathBuf};
use std::time::Duration;

use moonshot::{Client, Error};
use moonshot_mock::{MockFile, demo_files, load_fixtures};

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

/// The files to start from: the state directory's, or the demo files the first time.
pub(crate) fn load(dir: &Path) -> Result<Vec<MockFile>, String> {
    if !dir.join(".saved").exists() {
        return Ok(demo_files());
    }
    load_fixtures(dir).map_err(|e| {
        format!(
            "the --mock state in {} cannot be read ({e}): delete the directory to start afresh",
            dir.display()
        )
    })
}

/// Writes the server's files to `dir`: into a new directory beside it, which then replaces it.
pub(crate) async fn save(client: &Client, ids: &[String], dir: &Path) -> Result<(), String> {
    let failed =
        |e: std::io::Error| format!("cannot keep the --mock files in {}: {e}", dir.display());
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(failed)?;
    let staging = tempfile::Builder::new()
        .prefix(".moonshot-mock-")
        .tempdir_in(parent)
        .map_err(failed)?;
    for id in ids {
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
