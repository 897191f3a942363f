//! `--mock` keeps its files and batches between commands: `moonshot --mock files upload x.pdf`,
//! then `moonshot --mock files list` shows it. The local server starts from a state directory
//! and the files and batches it holds when the command ends are written back.
//!
//! The state directory holds a user's documents (the text of every upload), so it is handled as
//! such:
//! - it lives in the user's own cache directory unless `$MOONSHOT_MOCK_STATE` names another;
//! - it carries a marker file, and a path that exists without one is never written to: it is
//!   refused, naming it, unless it is an empty directory or a state directory of an earlier
//!   version (only its files in it, owned by the user), which is adopted;
//! - it and everything in it are the owner's alone (0700 and 0600 on Unix), and on Unix a
//!   directory owned by another user, or that others may write to, is refused;
//! - each read and each write takes a lock in it for the moments it lasts (never across a wait),
//!   and a write merges what this command changed (files and batches added, changed, deleted)
//!   into the state on disk as it is then, so commands run side by side lose nothing;
//! - a write goes to a staging directory inside it and is renamed into place whole; what an
//!   interrupted write left is removed by the next one.
//!
//! A batch still running when a command ends is waited for (a few seconds on the local server)
//! so that it is kept ended, with its result files.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Duration;

use moonshot::batches::{Batch, is_terminal};
use moonshot::{Client, Error};
use moonshot_mock::{MockFile, MockServer, demo_files};
use serde_json::Value;

/// The environment variable that names the state directory.
pub(crate) const STATE_ENV: &str = "MOONSHOT_MOCK_STATE";

/// The file whose presence says a directory is a state directory of ours.
const MARKER: &str = ".moonshot-mock-state";
/// What the marker holds: for a person who finds the directory.
const MARKER_TEXT: &str = "The `moonshot --mock` command's files and batches. Delete this \
                           directory to start afresh.\n";
/// The lock every read and write of the state takes.
const LOCK: &str = ".lock";
/// The directory that holds the state itself; absent until the first command saves.
const DATA: &str = "data";
/// The file in the data directory that holds the batches, as the API answered them.
const BATCHES_FILE: &str = ".batches.json";
/// Prefixes of the directories a write makes beside `data`, and removes when done.
const STAGING_PREFIX: &str = ".staging-";
const OLD_PREFIX: &str = ".old-";
/// What an earlier version's state directory held: besides these, `<id>.json` and `<id>.txt`.
const LEGACY_MARKER: &str = ".saved";

/// The files and batches a server holds, as they are kept on disk: each file's object and
/// extracted text, each batch's object, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Snapshot {
    files: BTreeMap<String, (Value, Option<String>)>,
    batches: BTreeMap<String, Value>,
}

impl Snapshot {
    /// The demo files of a first run.
    fn demo() -> Self {
        let files = demo_files()
            .into_iter()
            .map(|f| {
                let object = Value::Object(f.object().clone());
                (f.id().to_owned(), (object, f.content().map(str::to_owned)))
            })
            .collect();
        Self {
            files,
            batches: BTreeMap::new(),
        }
    }

    /// The files and batches to start a server with.
    pub(crate) fn into_server_input(self) -> Result<(Vec<MockFile>, Vec<Value>), String> {
        let files = self
            .files
            .into_iter()
            .map(|(id, (object, content))| {
                MockFile::new(object, content)
                    .map_err(|e| format!("the --mock state's file `{id}` cannot be served: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok((files, self.batches.into_values().collect()))
    }

    /// Reads what a server holds now, through `client`.
    pub(crate) async fn of(client: &Client, server: &MockServer) -> Result<Self, String> {
        let failed =
            |e: &dyn std::fmt::Display| format!("cannot read the local server's state: {e}");
        let mut snapshot = Self::default();
        for id in server.batch_ids() {
            let batch = client
                .batches()
                .retrieve(&id)
                .await
                .map_err(|e| failed(&e))?;
            let value = serde_json::to_value(&batch).map_err(|e| failed(&e))?;
            snapshot.batches.insert(id, value);
        }
        for id in server.file_ids() {
            let file = client.files().retrieve(&id).await.map_err(|e| failed(&e))?;
            let content = match client.files().content(&id).await {
                Ok(content) => Some(content.parsed().content),
                Err(Error::ExtractionFailed(_)) => None,
                Err(e) => return Err(failed(&e)),
            };
            let object = serde_json::to_value(&file).map_err(|e| failed(&e))?;
            snapshot.files.insert(id, (object, content));
        }
        Ok(snapshot)
    }

    /// `self`, the state on disk now, with the changes from `before` to `after` made to it: what
    /// `after` added or changed is written, what it deleted is removed, and the rest (another
    /// command's work) is left as it is.
    fn merged(mut self, before: &Self, after: &Self) -> Self {
        merge(&mut self.files, &before.files, &after.files);
        merge(&mut self.batches, &before.batches, &after.batches);
        self
    }
}

fn merge<V: Clone + PartialEq>(
    disk: &mut BTreeMap<String, V>,
    before: &BTreeMap<String, V>,
    after: &BTreeMap<String, V>,
) {
    for id in before.keys().filter(|id| !after.contains_key(*id)) {
        disk.remove(id);
    }
    for (id, value) in after {
        if before.get(id) != Some(value) {
            disk.insert(id.clone(), value.clone());
        }
    }
}

/// A state directory of ours, checked and locked for use.
#[derive(Debug)]
pub(crate) struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state directory `$MOONSHOT_MOCK_STATE` names, else the user's own: made if absent,
    /// adopted if empty or of an earlier version, refused if it is anything else.
    pub(crate) fn open() -> Result<Self, String> {
        Self::open_at(location()?)
    }

    pub(crate) fn open_at(root: PathBuf) -> Result<Self, String> {
        let cannot = |e: std::io::Error| {
            format!(
                "cannot use `{}` for the --mock state: {e}; set {STATE_ENV} to another directory",
                root.display()
            )
        };
        match fs::metadata(&root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::create_dir_all(parent).map_err(cannot)?;
                }
                match private_dir_builder().create(&root) {
                    Ok(()) => {}
                    // Made by another command just now: checked below as any other.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(cannot(e)),
                }
            }
            Err(e) => return Err(cannot(e)),
            Ok(_) => {}
        }
        let metadata = fs::metadata(&root).map_err(cannot)?;
        if !metadata.is_dir() {
            return Err(format!(
                "`{}` exists and is not a directory, so it cannot hold the --mock state; it was \
                 left as it is: set {STATE_ENV} to a new path or an empty directory",
                root.display()
            ));
        }
        check_owner(&root, &metadata)?;
        let state = Self { root };
        if !state.root.join(MARKER).exists() {
            state.adopt()?;
        }
        // Only once it is known to be ours.
        make_private(&state.root, &metadata).map_err(|e| state.failed("protect", &e))?;
        Ok(state)
    }

    /// Marks an empty directory, or one of an earlier version's, as ours; refuses any other.
    /// Another command started beside this one may adopt it first: then it is ours already.
    fn adopt(&self) -> Result<(), String> {
        let names = entry_names(&self.root)?;
        if names.iter().any(|n| n == MARKER) {
            return Ok(());
        }
        let legacy = names.iter().all(|name| is_legacy_entry(name));
        if !legacy {
            let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
            return Err(format!(
                "`{}` exists and is not a --mock state directory (it has no `{MARKER}` and holds \
                 {}{}); it was left as it is: set {STATE_ENV} to a new path or an empty directory",
                self.root.display(),
                shown.join(", "),
                if names.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                },
            ));
        }
        let _lock = self.lock()?;
        if self.root.join(MARKER).exists() {
            return Ok(());
        }
        if names.iter().any(|n| n == LEGACY_MARKER) {
            // An earlier version kept the state itself in the directory: move it into `data`.
            let staging = self.staging()?;
            for name in names.iter().filter(|n| n.as_str() != LEGACY_MARKER) {
                fs::rename(self.root.join(name), staging.path().join(name))
                    .map_err(|e| self.failed("move an earlier version's state", &e))?;
            }
            fs::rename(staging.keep(), self.root.join(DATA))
                .map_err(|e| self.failed("move an earlier version's state", &e))?;
            let _ = fs::remove_file(self.root.join(LEGACY_MARKER));
        }
        write_private(&self.root.join(MARKER), MARKER_TEXT.as_bytes())
            .map_err(|e| self.failed("mark the state directory", &e))
    }

    /// The state to start from: the saved one, or the demo files on a first run.
    pub(crate) fn load(&self) -> Result<Snapshot, String> {
        let _lock = self.lock()?;
        self.recover()?;
        Ok(self.read()?.unwrap_or_else(Snapshot::demo))
    }

    /// Writes the changes from `before` (the state the command started from, as the server
    /// served it) to `after` into the state on disk.
    pub(crate) fn save(&self, before: &Snapshot, after: &Snapshot) -> Result<(), String> {
        let _lock = self.lock()?;
        self.recover()?;
        let disk = self.read()?.unwrap_or_else(|| before.clone());
        let merged = disk.merged(before, after);
        let staging = self.staging()?;
        write_snapshot(staging.path(), &merged).map_err(|e| self.failed("write", &e))?;
        let data = self.root.join(DATA);
        let old = self
            .root
            .join(format!("{OLD_PREFIX}{}", std::process::id()));
        if data.exists() {
            fs::rename(&data, &old).map_err(|e| self.failed("write", &e))?;
        }
        let staged = staging.keep();
        if let Err(e) = fs::rename(&staged, &data) {
            // Put the old state back rather than lose it.
            let _ = fs::rename(&old, &data);
            let _ = fs::remove_dir_all(&staged);
            return Err(self.failed("write", &e));
        }
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }

    /// Takes the state's lock, waiting for another command's read or write to end.
    fn lock(&self) -> Result<File, String> {
        let file = private_file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.root.join(LOCK))
            .map_err(|e| self.failed("lock", &e))?;
        file.lock().map_err(|e| self.failed("lock", &e))?;
        Ok(file)
    }

    /// Puts back a state an interrupted write had moved aside, and removes what it left.
    fn recover(&self) -> Result<(), String> {
        let data = self.root.join(DATA);
        for name in entry_names(&self.root)? {
            let path = self.root.join(&name);
            if name.starts_with(OLD_PREFIX) && !data.exists() {
                fs::rename(&path, &data).map_err(|e| self.failed("recover", &e))?;
            } else if name.starts_with(OLD_PREFIX) || name.starts_with(STAGING_PREFIX) {
                let _ = fs::remove_dir_all(&path);
            }
        }
        Ok(())
    }

    fn staging(&self) -> Result<tempfile::TempDir, String> {
        let mut builder = tempfile::Builder::new();
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        builder
            .prefix(STAGING_PREFIX)
            .tempdir_in(&self.root)
            .map_err(|e| self.failed("write", &e))
    }

    /// The saved state, if any.
    fn read(&self) -> Result<Option<Snapshot>, String> {
        let data = self.root.join(DATA);
        if !data.exists() {
            return Ok(None);
        }
        read_snapshot(&data).map(Some).map_err(|e| {
            format!(
                "the --mock state in `{}` cannot be read ({e}): delete the directory to start \
                 afresh",
                self.root.display()
            )
        })
    }

    fn failed(&self, what: &str, e: &std::io::Error) -> String {
        format!(
            "cannot {what} the --mock state in `{}`: {e}",
            self.root.display()
        )
    }
}

/// Where the state lives unless `$MOONSHOT_MOCK_STATE` says: the user's own cache directory.
fn location() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os(STATE_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let cache = if cfg!(windows) {
        absolute("LOCALAPPDATA")
    } else {
        absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|h| h.join(".cache")))
    };
    cache
        .map(|dir| dir.join("moonshot").join("mock"))
        .ok_or_else(|| {
            format!(
                "no directory of yours to keep the --mock state in (HOME is not set): set \
                 {STATE_ENV} to one"
            )
        })
}

/// The names in a directory.
fn entry_names(dir: &Path) -> Result<Vec<String>, String> {
    let unreadable = |e: std::io::Error| {
        format!(
            "cannot read `{}` for the --mock state: {e}; set {STATE_ENV} to another directory",
            dir.display()
        )
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(unreadable)? {
        let name = entry.map_err(unreadable)?.file_name();
        names.push(name.to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Whether an earlier version's state directory held an entry of this name.
fn is_legacy_entry(name: &str) -> bool {
    name == LEGACY_MARKER
        || name == BATCHES_FILE
        || name == LOCK
        || (!name.starts_with('.') && (name.ends_with(".json") || name.ends_with(".txt")))
}

/// The file with the given name in the data directory, refusing a name that would be another.
fn data_file(dir: &Path, id: &str, extension: &str) -> std::io::Result<PathBuf> {
    if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\', '\0']) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("the id {id:?} cannot name a file"),
        ));
    }
    Ok(dir.join(format!("{id}.{extension}")))
}

fn write_snapshot(dir: &Path, snapshot: &Snapshot) -> std::io::Result<()> {
    let batches: Vec<&Value> = snapshot.batches.values().collect();
    write_private(
        &dir.join(BATCHES_FILE),
        &serde_json::to_vec_pretty(&batches)?,
    )?;
    for (id, (object, content)) in &snapshot.files {
        write_private(
            &data_file(dir, id, "json")?,
            &serde_json::to_vec_pretty(object)?,
        )?;
        if let Some(content) = content {
            write_private(&data_file(dir, id, "txt")?, content.as_bytes())?;
        }
    }
    Ok(())
}

fn read_snapshot(dir: &Path) -> Result<Snapshot, String> {
    let mut snapshot = Snapshot::default();
    let mut contents = BTreeMap::new();
    for name in entry_names(dir)? {
        let path = dir.join(&name);
        let read = || fs::read(&path).map_err(|e| format!("`{}`: {e}", path.display()));
        if name == BATCHES_FILE {
            let batches: Vec<Value> = serde_json::from_slice(&read()?)
                .map_err(|e| format!("`{}`: {e}", path.display()))?;
            for (index, batch) in batches.into_iter().enumerate() {
                // Read as the client reads a batch, so that a later save can read it back.
                let id = serde_json::from_value::<Batch>(batch.clone())
                    .map_err(|e| format!("`{}`, batch {}: {e}", path.display(), index + 1))?
                    .id;
                snapshot.batches.insert(id, batch);
            }
        } else if let Some(id) = name.strip_suffix(".json") {
            let object: Value = serde_json::from_slice(&read()?)
                .map_err(|e| format!("`{}`: {e}", path.display()))?;
            if object.get("id").and_then(Value::as_str) != Some(id) {
                return Err(format!(
                    "`{}` is not the file object of `{id}`",
                    path.display()
                ));
            }
            snapshot.files.insert(id.to_owned(), (object, None));
        } else if let Some(id) = name.strip_suffix(".txt") {
            let text = String::from_utf8(read()?)
                .map_err(|_| format!("`{}` is not UTF-8 text", path.display()))?;
            contents.insert(id.to_owned(), text);
        } else {
            return Err(format!("`{}` is not part of the state", path.display()));
        }
    }
    for (id, text) in contents {
        let Some((_, content)) = snapshot.files.get_mut(&id) else {
            return Err(format!("`{id}.txt` has no `{id}.json` beside it"));
        };
        *content = Some(text);
    }
    Ok(snapshot)
}

/// Lets the server's unfinished work end (briefly: the local server's batches take seconds),
/// so that it is kept ended: a batch with its result files, a file with its text.
pub(crate) async fn settle(client: &Client, server: &MockServer) {
    for id in server.batch_ids() {
        if let Ok(batch) = client.batches().retrieve(&id).await
            && !is_terminal(&batch.status)
        {
            let _ = client.batches().wait(&id, Duration::from_secs(30)).await;
        }
    }
    for id in server.file_ids() {
        if let Ok(file) = client.files().retrieve(&id).await
            && file.status.as_str() == "processing"
        {
            let _ = client
                .files()
                .wait_for_processing_within(&id, Duration::from_secs(10))
                .await;
        }
    }
}

fn private_dir_builder() -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

fn private_file_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = private_file_options()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Refuses a directory another user owns or may write to: its contents could be forged.
#[cfg(unix)]
fn check_owner(root: &Path, metadata: &fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me {
        return Err(format!(
            "`{}` belongs to another user (uid {}), so its --mock state cannot be trusted; it \
             was left as it is: set {STATE_ENV} to a directory of yours",
            root.display(),
            metadata.uid()
        ));
    }
    if metadata.mode() & 0o022 != 0 {
        return Err(format!(
            "`{}` can be written by other users, so its --mock state cannot be trusted: make it \
             yours alone (chmod 700) or set {STATE_ENV} to another directory",
            root.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner(_root: &Path, _metadata: &fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// Makes the state directory its owner's alone (it is, once checked, ours).
#[cfg(unix)]
fn make_private(root: &Path, metadata: &fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    if metadata.mode() & 0o077 != 0 {
        fs::set_permissions(root, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_root: &Path, _metadata: &fs::Metadata) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: &str, status: &str) -> (Value, Option<String>) {
        (
            serde_json::json!({"id": id, "status": status}),
            Some(format!("text of {id}")),
        )
    }

    fn snapshot(files: &[(&str, &str)]) -> Snapshot {
        Snapshot {
            files: files
                .iter()
                .map(|(id, status)| ((*id).to_owned(), file(id, status)))
                .collect(),
            batches: BTreeMap::new(),
        }
    }

    #[test]
    fn a_directory_another_command_adopted_meanwhile_is_taken_as_ours() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = StateDir {
            root: dir.path().to_owned(),
        };
        first.adopt().expect("an empty directory is adopted");
        // A second command that saw no marker before the first wrote it.
        let second = StateDir {
            root: dir.path().to_owned(),
        };
        second
            .adopt()
            .expect("a directory adopted meanwhile is ours");
        let marker = fs::read_to_string(dir.path().join(MARKER)).expect("the marker");
        assert_eq!(marker, MARKER_TEXT);
    }

    #[test]
    fn a_save_keeps_what_another_command_did_meanwhile() {
        let before = snapshot(&[("a", "ok"), ("b", "ok")]);
        // This command uploaded c, deleted a, and b ended processing.
        let after = snapshot(&[("b", "done"), ("c", "ok")]);
        // Meanwhile another command uploaded d and deleted... nothing of ours.
        let disk = snapshot(&[("a", "ok"), ("b", "ok"), ("d", "ok")]);

        let merged = disk.merged(&before, &after);

        assert_eq!(merged, snapshot(&[("b", "done"), ("c", "ok"), ("d", "ok")]));
    }

    #[test]
    fn a_save_does_not_bring_back_what_another_command_deleted() {
        let before = snapshot(&[("a", "ok"), ("b", "ok")]);
        let after = before.clone(); // this command changed nothing
        let disk = snapshot(&[("b", "ok")]); // another deleted a

        assert_eq!(disk.merged(&before, &after), snapshot(&[("b", "ok")]));
    }

    #[test]
    fn ids_that_would_name_another_file_are_refused() {
        let dir = Path::new("/state/data");
        for id in ["", ".lock", "../x", "a/b", "a\\b"] {
            assert!(data_file(dir, id, "json").is_err(), "{id:?}");
        }
        assert_eq!(
            data_file(dir, "file-1", "json").expect("a plain id"),
            dir.join("file-1.json")
        );
    }

    #[test]
    fn a_snapshot_is_read_back_as_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut written = snapshot(&[("file-1", "ok")]);
        written.files.insert(
            "file-2".to_owned(),
            (serde_json::json!({"id": "file-2"}), None),
        );

        write_snapshot(dir.path(), &written).expect("written");

        assert_eq!(read_snapshot(dir.path()).expect("read"), written);
    }
}
