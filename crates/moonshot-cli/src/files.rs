//! `moonshot files ...`: upload, list, read, wait for and delete files.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use moonshot::files::FileObject;
use moonshot::{Client, Error};

use crate::output::download;
use crate::report::{Failure, Style, output_failure, print, print_json, table};
use crate::signals::{Interrupts, Signal};
use crate::{local, terminal};

#[derive(Debug, Subcommand)]
pub(crate) enum FilesCommand {
    /// Print a file's metadata as JSON.
    Get {
        /// The file's id.
        id: String,
    },
    /// Print a file's extracted content, exactly as served (control characters escaped on a
    /// terminal).
    Content {
        /// The file's id.
        id: String,
        /// Print the content's fields (content, file_type, filename, title, type) as JSON.
        #[arg(long, conflicts_with = "output")]
        parsed: bool,
        /// Write the content to FILE instead (a partial file is never left behind).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print a file's metadata, then its extracted text.
    Show {
        /// The file's id.
        id: String,
    },
    /// Upload a file (at most 100 MB), showing a progress bar on a terminal.
    Upload {
        /// The file to upload.
        path: PathBuf,
        /// What the file is for: file-extract (its text, for a conversation), image, video,
        /// batch, or another value Moonshot documents.
        #[arg(long, default_value = "file-extract")]
        purpose: String,
        /// Then wait until its processing ends.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits at most: seconds (120) or 90s, 5m.
        #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = moonshot_duration::parse_timeout, requires = "wait", allow_negative_numbers = true)]
        deadline: Duration,
    },
    /// List the account's files (a table on a terminal, JSON when piped or with --json).
    List,
    /// Delete a file.
    Delete {
        /// The file's id.
        id: String,
    },
    /// Wait until a file's processing ends, then print it.
    Wait {
        /// The file's id.
        id: String,
        /// How long to wait at most: seconds (120) or 90s, 5m.
        #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = moonshot_duration::parse_timeout, allow_negative_numbers = true)]
        deadline: Duration,
    },
}

pub(crate) async fn run(
    client: &Client,
    command: FilesCommand,
    style: Style,
) -> Result<(), Failure> {
    match command {
        FilesCommand::Get { id } => {
            let file = client.files().retrieve(&id).await?;
            print_json(&file)
        }
        FilesCommand::Content {
            id, parsed: true, ..
        } => {
            let content = client.files().content(&id).await?;
            print_json(&content.parsed())
        }
        FilesCommand::Content {
            id,
            output: Some(path),
            ..
        } => {
            let written = download(client, &[id.as_str()], &path).await?;
            eprintln!("wrote {written} bytes to {}", path.display());
            Ok(())
        }
        // A person at a terminal sees the text with its control characters escaped; a program
        // gets the body exactly.
        FilesCommand::Content { id, .. } if std::io::stdout().is_terminal() => {
            let content = client.files().content(&id).await?;
            print(&terminal::text(content.as_str()))
        }
        FilesCommand::Content { id, .. } => {
            let mut stdout = tokio::io::stdout();
            match client.files().content_to_writer(&id, &mut stdout).await {
                Err(Error::Write(error)) => Err(output_failure(&error)),
                result => result.map(drop).map_err(Failure::from),
            }
        }
        FilesCommand::Show { id } => {
            let file = client.files().retrieve(&id).await?;
            print_json(&file)?;
            let content = client.files().content(&id).await?;
            let text = content.parsed().content;
            if std::io::stdout().is_terminal() {
                print(&format!("\n{}", terminal::text(&text)))
            } else {
                print(&format!("\n{text}"))
            }
        }
        FilesCommand::Upload {
            path,
            purpose,
            wait,
            deadline,
        } => {
            local::check_file(&path)?;
            if !wait {
                let file = upload(client, &path, &purpose).await?;
                return show_file(&file, style, "uploaded");
            }
            // Ctrl-C or SIGTERM lets the upload finish, so that the file it made is known, and
            // stops the wait; the file is kept, and the command says how to follow it.
            let mut interrupts = Interrupts::listen();
            let (file, signal) = interrupts
                .shielded(upload(client, &path, &purpose))
                .await
                .map_err(|again| {
                    Failure::Interrupted(
                        again,
                        "stopped during the upload: `moonshot files list` shows whether the \
                         file was made"
                            .into(),
                    )
                })?;
            let file = file?;
            if let Some(signal) = signal {
                return Err(kept(signal, &file.id));
            }
            let file = wait_for(client, &file.id, deadline, &mut interrupts).await?;
            show_file(&file, style, "uploaded")
        }
        FilesCommand::List => {
            let files = client.files().list().await?;
            if style == Style::Json {
                return print_json(&files);
            }
            let rows: Vec<Vec<String>> = files
                .iter()
                .map(|f| {
                    vec![
                        f.id.clone(),
                        f.status.to_string(),
                        f.purpose.to_string(),
                        f.bytes.to_string(),
                        f.filename.clone(),
                    ]
                })
                .collect();
            print(&table(
                &["ID", "STATUS", "PURPOSE", "BYTES", "FILENAME"],
                &rows,
            ))
        }
        FilesCommand::Delete { id } => {
            let deleted = client.files().delete(&id).await?;
            match style {
                Style::Json => print_json(&deleted),
                Style::Human => print(&terminal::line(&format!("deleted {}", deleted.id))),
            }
        }
        FilesCommand::Wait { id, deadline } => {
            let mut interrupts = Interrupts::listen();
            let file = wait_for(client, &id, deadline, &mut interrupts).await?;
            show_file(&file, style, "processed")
        }
    }
}

/// Waits until the file's processing ends. Ctrl-C or SIGTERM stops the wait; the file is kept.
async fn wait_for(
    client: &Client,
    id: &str,
    deadline: Duration,
    interrupts: &mut Interrupts,
) -> Result<FileObject, Failure> {
    let files = client.files();
    match interrupts
        .until(files.wait_for_processing_within(id, deadline))
        .await
    {
        Ok(file) => Ok(file?),
        Err(signal) => Err(kept(signal, id)),
    }
}

/// The command stopped by `signal` while the file `id` is processed.
fn kept(signal: Signal, id: &str) -> Failure {
    Failure::Interrupted(
        signal,
        format!("file {id} was kept: follow it with `moonshot files wait {id}`").into(),
    )
}

/// Uploads `path`, with a progress bar on a terminal.
async fn upload(client: &Client, path: &Path, purpose: &str) -> Result<FileObject, Failure> {
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0).with_message(path.display().to_string());
        bar.set_style(
            ProgressStyle::with_template("{msg}: {bytes}/{total_bytes} ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let bar = progress.clone();
    let file = client
        .files()
        .upload_with_progress(path, purpose, move |sent, total| {
            bar.set_length(total);
            bar.set_position(sent);
        })
        .await;
    progress.finish_and_clear();
    Ok(file?)
}

/// A file object: one line for a person, the object as JSON otherwise.
fn show_file(file: &FileObject, style: Style, done: &str) -> Result<(), Failure> {
    match style {
        Style::Json => print_json(file),
        Style::Human => print(&terminal::line(&format!(
            "{done} {}: {}, {} bytes, purpose {}, status {}{}",
            file.id,
            file.filename,
            file.bytes,
            file.purpose,
            file.status,
            file.status_details
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ))),
    }
}
