//! `-o PATH`: where the content goes, and how it gets there whole.
//!
//! What is at `PATH` decides how it is written:
//!
//! - nothing: the content goes to a temporary file beside it, renamed to `PATH` once whole, with
//!   the mode a new file gets from the umask;
//! - a regular file: likewise, and the new file takes the old one's mode, owner and group before
//!   the rename. When that cannot keep what the old file was (it has other hard links, or its
//!   owner cannot be given to the new file), the whole content is first downloaded to the
//!   temporary file, then copied into the existing file, which keeps its inode;
//! - a device, a FIFO, a pipe or a socket: written through, as a shell's `>` would; nothing is
//!   renamed over it. `/dev/stdout` and `/proc/self/fd/1` are standard output, whatever it is;
//! - a symbolic link: followed to what it points at, which is then written as above;
//! - a directory, or nothing at a path ending in `/` (which names a directory): refused.
//!
//! A download that fails, or that Ctrl-C or SIGTERM interrupts, removes its temporary file and
//! leaves `PATH` as it was.

use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};

use std::io::IsTerminal as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use moonshot::Client;
use tempfile::NamedTempFile;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::report::Failure;
use crate::signals::Interrupts;

/// How many symbolic links are followed before giving up, as the kernel's own limit.
const MAX_LINKS: usize = 40;

/// Streams the content of the files `ids`, one after the other, to `path` as this module
/// describes: whole or not at all, even when Ctrl-C or SIGTERM stops it. Returns the bytes
/// written.
pub(crate) async fn download(client: &Client, ids: &[&str], path: &Path) -> Result<u64, Failure> {
    let mut interrupts = Interrupts::listen();
    let destination = Destination::resolve(path).map_err(Failure::Local)?;
    let shown = destination.shown().to_owned();
    let mut download = destination.start().map_err(Failure::Local)?;
    let progress = if std::io::stderr().is_terminal() {
        let bar =
            ProgressBar::new_spinner().with_message(format!("{} -> {shown}", ids.join(" + ")));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}: {bytes} ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut writer = Counting {
        inner: &mut download.file,
        progress: progress.clone(),
    };
    let files = client.files();
    let copied = async {
        let mut written = 0;
        for id in ids {
            written += files.content_to_writer(id, &mut writer).await?;
        }
        Ok::<_, moonshot::Error>(written)
    };
    let written = tokio::select! {
        written = copied => written,
        signal = interrupts.received() => {
            progress.finish_and_clear();
            return Err(Failure::Interrupted(
                signal,
                "the download stopped, and no partial file was left".into(),
            ));
        }
    };
    progress.finish_and_clear();
    // On any failure the download is dropped here, deleting its temporary file.
    let written = written?;
    writer
        .inner
        .shutdown()
        .await
        .map_err(|e| Failure::Local(format!("{shown}: {e}")))?;
    destination.finish(download).map_err(Failure::Local)?;
    Ok(written)
}

/// Where `-o PATH` writes, and how.
#[derive(Debug)]
pub(crate) struct Destination {
    /// `PATH` as given, for messages.
    shown: String,
    /// `PATH` with symbolic links followed.
    path: PathBuf,
    /// What is there now, `None` for nothing.
    existing: Option<Metadata>,
}

/// A download in progress: the file it streams into, and what to do with it once whole.
#[derive(Debug)]
pub(crate) struct Download {
    /// The file the content streams into.
    pub(crate) file: tokio::fs::File,
    /// The temporary file beside the destination; `None` when writing through to a device. Dropped
    /// unfinished, it is removed.
    temporary: Option<NamedTempFile>,
}

impl Destination {
    /// Looks at what is at `path`, following symbolic links.
    ///
    /// # Errors
    /// A message naming `path` when it is a directory, a symbolic link cannot be read or they
    /// loop, or its metadata cannot be read.
    pub(crate) fn resolve(path: &Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        // Asked of the kernel, which follows every link, even those of /proc/self/fd that name a
        // pipe or a socket and lead nowhere on disk: what is neither a file nor a directory is
        // written through at `path` itself.
        if let Ok(metadata) = std::fs::metadata(path)
            && !metadata.is_file()
            && !metadata.is_dir()
        {
            return Ok(Self {
                shown,
                path: path.to_owned(),
                existing: Some(metadata),
            });
        }
        let mut current = path.to_owned();
        for _ in 0..MAX_LINKS {
            let metadata = match std::fs::symlink_metadata(&current) {
                Ok(metadata) => metadata,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if names_a_directory(&current) {
                        return Err(format!(
                            "{shown} ends in `/`, so it names a directory, and there is none: \
                             give the path of a file, e.g. {}",
                            Path::new(&shown).join("content.txt").display()
                        ));
                    }
                    return Ok(Self {
                        shown,
                        path: current,
                        existing: None,
                    });
                }
                Err(e) => return Err(format!("{shown}: {e}")),
            };
            if metadata.file_type().is_symlink() {
                let target = std::fs::read_link(&current).map_err(|e| format!("{shown}: {e}"))?;
                current = parent(&current).join(target);
                continue;
            }
            if metadata.is_dir() {
                return Err(format!(
                    "{shown} is a directory: give the path of a file to write, e.g. {}",
                    Path::new(&shown).join("content.txt").display()
                ));
            }
            return Ok(Self {
                shown,
                path: current,
                existing: Some(metadata),
            });
        }
        Err(format!(
            "{shown}: more than {MAX_LINKS} symbolic links, or a loop: give the path of a file"
        ))
    }

    /// `PATH` as given.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// Opens what the content streams into: the device itself, or a temporary file beside the
    /// destination.
    ///
    /// # Errors
    /// A message naming the file or directory that could not be opened or created.
    pub(crate) fn start(&self) -> Result<Download, String> {
        if self.existing.as_ref().is_some_and(|m| !m.is_file()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(|e| format!("{}: {e}", self.shown))?;
            return Ok(Download {
                file: tokio::fs::File::from_std(file),
                temporary: None,
            });
        }
        let dir = parent(&self.path);
        let mut builder = tempfile::Builder::new();
        builder.prefix(".moonshot-download-");
        #[cfg(unix)]
        if self.existing.is_none() {
            // Created with the mode a new file gets: 0666 less the umask, as the kernel applies it.
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temporary = builder.tempfile_in(dir).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                format!(
                    "{}: the directory {} does not exist: create it first, or give a path in \
                     one that does",
                    self.shown,
                    dir.display()
                )
            } else {
                format!("cannot create a file in {}: {e}", dir.display())
            }
        })?;
        let file = temporary
            .reopen()
            .map_err(|e| format!("{}: {e}", temporary.path().display()))?;
        Ok(Download {
            file: tokio::fs::File::from_std(file),
            temporary: Some(temporary),
        })
    }

    /// Puts a whole download in place (see the module's documentation).
    ///
    /// # Errors
    /// A message naming the destination; the temporary file is then removed and the destination
    /// left as it was, but for a failure while copying into an existing file in place.
    pub(crate) fn finish(&self, download: Download) -> Result<(), String> {
        let Some(temporary) = download.temporary else {
            return Ok(());
        };
        drop(download.file);
        let fail = |e: io::Error| format!("{}: {e}", self.shown);
        match &self.existing {
            None => temporary
                .persist(&self.path)
                .map(drop)
                .map_err(|e| fail(e.error)),
            Some(existing) if take_over(temporary.as_file(), existing).is_ok() => temporary
                .persist(&self.path)
                .map(drop)
                .map_err(|e| fail(e.error)),
            Some(_) => {
                let mut source = temporary.reopen().map_err(fail)?;
                let mut target = std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&self.path)
                    .map_err(fail)?;
                io::copy(&mut source, &mut target)
                    .and_then(|_| target.sync_all())
                    .map_err(fail)
            }
        }
    }
}

/// Whether `path` ends in a separator, which makes it name a directory.
fn names_a_directory(path: &Path) -> bool {
    path.as_os_str()
        .to_string_lossy()
        .ends_with(['/', std::path::MAIN_SEPARATOR])
}

/// The directory a path is in; `.` for a bare file name.
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Gives `file` the mode, owner and group of `existing`, so that renaming it over `existing`
/// changes none of them. Fails, leaving the caller to write in place, when `existing` has other
/// hard links (a rename would cut them) or its owner cannot be given.
#[cfg(unix)]
fn take_over(file: &std::fs::File, existing: &Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    if existing.nlink() > 1 {
        return Err(io::Error::other("the file has other hard links"));
    }
    std::os::unix::fs::fchown(file, Some(existing.uid()), Some(existing.gid()))?;
    file.set_permissions(existing.permissions())
}

#[cfg(not(unix))]
fn take_over(file: &std::fs::File, existing: &Metadata) -> io::Result<()> {
    file.set_permissions(existing.permissions())
}

/// Passes writes through, advancing a progress bar.
struct Counting<W> {
    inner: W,
    progress: ProgressBar,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Counting<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.progress.inc(*n as u64);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
