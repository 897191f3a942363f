//! `--mock`'s state directory: never written where it is not ours, its owner's alone, and safe
//! for commands run side by side.

use std::path::Path;
use std::process::Output;

/// `moonshot --mock ARGS` with the state in `state` (or, with `None`, where it goes by default,
/// under `home`).
async fn mock(state: Option<&Path>, home: &Path, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"));
    command
        .arg("--mock")
        .args(args)
        .env_remove("MOONSHOT_API_KEY")
        .env_remove("MOONSHOT_BASE_URL")
        .env_remove("MOONSHOT_MOCK_STATE")
        .env_remove("XDG_CACHE_HOME")
        .env("HOME", home);
    if let Some(state) = state {
        command.env("MOONSHOT_MOCK_STATE", state);
    }
    command.output().await.expect("runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn listed_ids(out: &Output) -> Vec<String> {
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON when piped");
    let mut ids: Vec<String> = list
        .as_array()
        .or_else(|| list["data"].as_array())
        .expect("a list")
        .iter()
        .map(|f| f["id"].as_str().expect("an id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_that_is_not_a_state_directory_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").expect("write");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "mine\n").expect("write");

    for path in [project.as_path(), file.as_path(), Path::new("/dev/null")] {
        let out = mock(Some(path), dir.path(), &["balance"]).await;

        assert_eq!(out.status.code(), Some(2), "{path:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("`{}`", path.display())),
            "{}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty());
    }
    assert_eq!(
        std::fs::read_to_string(project.join("src/main.rs")).expect("still there"),
        "fn main() {}\n"
    );
    assert_eq!(
        std::fs::read_dir(&project).expect("dir").count(),
        1,
        "nothing added"
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("a file still"),
        "mine\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let null = std::fs::metadata("/dev/null").expect("/dev/null");
        assert!(null.file_type().is_char_device(), "/dev/null replaced");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_state_is_the_users_own_and_owner_only() {
    let home = tempfile::tempdir().expect("tempdir");
    let notes = home.path().join("notes.md");
    std::fs::write(&notes, "# Notes\n\nPrivate text.\n").expect("write");

    let out = mock(
        None,
        home.path(),
        &["files", "upload", notes.to_str().expect("path"), "--wait"],
    )
    .await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let state = home.path().join(".cache/moonshot/mock");
    assert!(state.join(".moonshot-mock-state").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        let data = state.join("data");
        assert_eq!(mode(&data), 0o700);
        let mut saved = 0;
        for entry in std::fs::read_dir(&data).expect("data") {
            let path = entry.expect("entry").path();
            assert_eq!(mode(&path), 0o600, "{path:?}");
            saved += 1;
        }
        assert!(
            saved > 4,
            "the demo files, the upload and the batches: {saved}"
        );
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_others_own_or_may_write_to_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = tempfile::tempdir().expect("tempdir");

    // Group-writable: anyone in the group could plant forged files.
    let loose = home.path().join("loose");
    std::fs::create_dir(&loose).expect("mkdir");
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o770)).expect("chmod");
    let out = mock(Some(&loose), home.path(), &["files", "list"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("can be written by other users"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(&loose).expect("dir").count(), 0);

    // Another user's: as root, a directory given away; as anyone else, the root directory.
    let theirs = if rustix::process::geteuid().is_root() {
        let theirs = home.path().join("theirs");
        std::fs::create_dir(&theirs).expect("mkdir");
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).expect("chown");
        theirs
    } else {
        Path::new("/").to_owned()
    };
    let out = mock(Some(&theirs), home.path(), &["files", "list"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("belongs to another user"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_side_by_side_lose_no_upload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let mut runs = Vec::new();
    for n in 0..10 {
        let path = dir.path().join(format!("note-{n}.md"));
        std::fs::write(&path, format!("Note number {n}.\n")).expect("write");
        let state = state.clone();
        let home = dir.path().to_owned();
        runs.push(tokio::spawn(async move {
            let path = path.to_str().expect("path").to_owned();
            mock(Some(&state), &home, &["files", "upload", &path]).await
        }));
    }
    let mut uploaded = Vec::new();
    for run in runs {
        let out = run.await.expect("joined");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let file: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        uploaded.push(file["id"].as_str().expect("id").to_owned());
    }

    let out = mock(Some(&state), dir.path(), &["files", "list"]).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = listed_ids(&out);
    for id in &uploaded {
        assert!(listed.contains(id), "{id} lost: {listed:?}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&state)
        .expect("state")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".staging-") || name.starts_with(".old-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_with_every_file_deleted_is_still_a_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let out = mock(Some(&state), dir.path(), &["files", "list"]).await;
    let demo = listed_ids(&out);
    assert!(!demo.is_empty());

    for id in &demo {
        let out = mock(Some(&state), dir.path(), &["files", "delete", id]).await;
        assert_eq!(out.status.code(), Some(0), "{id}: {}", stderr(&out));
    }
    let out = mock(Some(&state), dir.path(), &["files", "list"]).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(listed_ids(&out), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_versions_state_is_adopted_and_leftovers_are_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("mkdir");
    std::fs::write(state.join(".saved"), "").expect("write");
    std::fs::write(state.join(".batches.json"), "[]").expect("write");
    let object = serde_json::json!({
        "id": "file-kept", "object": "file", "bytes": 12, "created_at": 1_717_000_000,
        "filename": "kept.txt", "purpose": "file-extract", "status": "ok",
        "status_details": ""
    });
    std::fs::write(state.join("file-kept.json"), object.to_string()).expect("write");
    std::fs::write(state.join("file-kept.txt"), "kept text").expect("write");

    let out = mock(Some(&state), dir.path(), &["files", "list"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(listed_ids(&out), vec!["file-kept".to_owned()]);

    // A write cut short leaves a staging directory: the next one removes it.
    std::fs::create_dir(state.join(".staging-cut")).expect("mkdir");
    let out = mock(Some(&state), dir.path(), &["files", "content", "file-kept"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept text"));
    assert!(!state.join(".staging-cut").exists());
    assert!(state.join(".moonshot-mock-state").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_batch_the_client_cannot_read_is_refused_at_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let out = mock(Some(&state), dir.path(), &["balance"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let batches = state.join("data/.batches.json");
    let broken = serde_json::json!([{"id": "batch-x", "status": "completed", "created_at": 1}]);
    std::fs::write(&batches, broken.to_string()).expect("write");

    let out = mock(Some(&state), dir.path(), &["balance"]).await;

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing printed before failing");
    assert!(stderr(&out).contains(".batches.json"), "{}", stderr(&out));
    assert!(stderr(&out).contains("batch 1"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_timeout_does_not_govern_saving_the_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Timeouts that let the command's own call through only some of the time.
    for timeout in ["200us", "300us", "500us", "700us"] {
        for args in [&["chat", "hi"][..], &["balance"][..]] {
            let state = tempfile::tempdir_in(dir.path()).expect("tempdir");
            let mut all = vec!["--timeout", timeout];
            all.extend_from_slice(args);

            let out = mock(Some(&state.path().join("s")), dir.path(), &all).await;

            // The call itself may time out; a result printed, then a failure, must not happen.
            assert!(
                out.stdout.is_empty() || out.status.success(),
                "{all:?} printed, then failed: {}",
                stderr(&out)
            );
        }
    }
}
