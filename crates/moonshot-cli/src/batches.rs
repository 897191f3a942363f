//! `moonshot batches ...`: create a batch from a JSON Lines file, follow it, list, cancel, and
//! read its results.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use futures::{StreamExt as _, TryStreamExt as _};
use moonshot::Client;
use moonshot::batches::{Batch, BatchOutcome, BatchResult, CompletionWindow};
use moonshot::files::Purpose;
use moonshot::types::BatchCreateRequest;
use serde_json::json;

use crate::output::download;
use crate::report::{Failure, Style, print, print_json, table};
use crate::signals::{Interrupts, Signal};
use crate::{local, terminal};

#[derive(Debug, Subcommand)]
pub(crate) enum BatchesCommand {
    /// Check a JSON Lines file of chat requests, upload it and create its batch.
    ///
    /// Each line: {"custom_id": "...", "method": "POST", "url": "/v1/chat/completions",
    /// "body": {chat request}}; ids unique, one model, at most 100 MB. A bad line is named by
    /// its number and nothing is uploaded.
    Create {
        /// The JSON Lines file.
        file: PathBuf,
        /// How long the batch may run: 12h to 7d, e.g. 24h, 36h, 3d.
        #[arg(long, value_name = "WINDOW", default_value = "1d", value_parser = parse_window, allow_negative_numbers = true)]
        window: CompletionWindow,
        /// Metadata to keep with the batch, KEY=VALUE (up to 16; keys of at most 64 characters,
        /// values of at most 512).
        #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
        metadata: Vec<(String, String)>,
        /// Then wait until it ends, showing its progress on stderr.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits at most: 90s, 30m, 24h.
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = moonshot_duration::parse_timeout, requires = "wait", allow_negative_numbers = true)]
        deadline: Duration,
    },
    /// List the account's batches, newest first (a table on a terminal, JSON otherwise).
    List {
        /// Show at most N batches.
        #[arg(long, value_name = "N", value_parser = parse_limit, allow_negative_numbers = true)]
        limit: Option<usize>,
    },
    /// Print a batch as JSON.
    Get {
        /// The batch's id.
        id: String,
    },
    /// Wait until a batch ends, showing its progress on stderr, then print it.
    Wait {
        /// The batch's id.
        id: String,
        /// How long to wait at most: 90s, 30m, 24h.
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = moonshot_duration::parse_timeout, allow_negative_numbers = true)]
        deadline: Duration,
    },
    /// Cancel a validating or running batch.
    Cancel {
        /// The batch's id.
        id: String,
    },
    /// Print a batch's results, one per line: its custom id, then the answer or the error.
    Results {
        /// The batch's id.
        id: String,
        /// Write the output and error files' lines instead, exactly as served (a partial file
        /// is never left behind).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

fn parse_window(text: &str) -> Result<CompletionWindow, String> {
    if text.trim().starts_with('-') {
        return Err(format!(
            "`{text}` is negative: a window must be positive, 12h to 7d, e.g. 24h, 36h, 3d"
        ));
    }
    text.parse().map_err(|e: moonshot::Error| match e {
        moonshot::Error::InvalidInput { reason, .. } => reason,
        other => other.to_string(),
    })
}

fn parse_limit(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a count: the limit must be a positive whole number, e.g. 10"
        )),
    }
}

/// The documented limits of a batch's metadata, checked before its input is uploaded.
const MAX_METADATA_PAIRS: usize = 16;
const MAX_METADATA_KEY_CHARS: usize = 64;

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

pub(crate) async fn run(
    client: &Client,
    command: BatchesCommand,
    style: Style,
) -> Result<(), Failure> {
    match command {
        BatchesCommand::Create {
            file,
            window,
            metadata,
            wait,
            deadline,
        } => {
            // Everything is checked before the input is uploaded: a refusal leaves no file behind.
            let input = local::read_batch_input(&file)?;
            let mut request = BatchCreateRequest {
                input_file_id: String::new(),
                endpoint: moonshot::batches::CHAT_COMPLETIONS_ENDPOINT.into(),
                completion_window: window.to_string(),
                metadata: Default::default(),
            };
            for (key, value) in metadata {
                if key.chars().count() > MAX_METADATA_KEY_CHARS {
                    return Err(Failure::Usage(format!(
                        "--metadata {key}: keys are at most {MAX_METADATA_KEY_CHARS} characters"
                    )));
                }
                let value = value.try_into().map_err(|e| {
                    Failure::Usage(format!(
                        "--metadata {key}: {e}: values are at most 512 characters"
                    ))
                })?;
                request.metadata.insert(key, value);
            }
            if request.metadata.len() > MAX_METADATA_PAIRS {
                return Err(Failure::Usage(format!(
                    "--metadata: {} keys given, but a batch carries at most {MAX_METADATA_PAIRS} \
                     pairs",
                    request.metadata.len()
                )));
            }
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("batch.jsonl");
            let made = make(client, input.as_jsonl().to_vec(), name, request);
            // With --wait, Ctrl-C or SIGTERM stops the command, not the batch: once it exists it
            // is kept, and the command says how to follow it.
            let mut interrupts = wait.then(Interrupts::listen);
            let (batch, signal) = match &mut interrupts {
                None => (made.await?, None),
                Some(interrupts) => {
                    let (made, signal) = interrupts.shielded(made).await.map_err(|again| {
                        Failure::Interrupted(
                            again,
                            "stopped while the batch was being made: `moonshot batches list` \
                             and `moonshot files list` show what was"
                                .into(),
                        )
                    })?;
                    (made?, signal)
                }
            };
            eprintln!(
                "created {} from {} ({} requests to {})",
                terminal::line(&batch.id),
                file.display(),
                input.len(),
                input.model().unwrap_or_default()
            );
            match (interrupts, signal) {
                (Some(_), Some(signal)) => Err(kept(signal, &batch.id)),
                (Some(mut interrupts), None) => {
                    let batch = wait_for(client, &batch.id, deadline, &mut interrupts).await?;
                    finished(&batch, style)
                }
                (None, _) => show(&batch, style),
            }
        }
        BatchesCommand::List { limit } => {
            let listed = client.batches().list();
            let batches: Vec<Batch> = match limit {
                Some(n) => listed.take(n).try_collect().await?,
                None => listed.try_collect().await?,
            };
            if style == Style::Json {
                return print_json(&batches);
            }
            let rows: Vec<Vec<String>> = batches
                .iter()
                .map(|b| {
                    vec![
                        b.id.clone(),
                        b.status.to_string(),
                        format!("{}/{}", b.request_counts.completed, b.request_counts.total),
                        b.request_counts.failed.to_string(),
                        b.completion_window.clone(),
                    ]
                })
                .collect();
            print(&table(&["ID", "STATUS", "DONE", "FAILED", "WINDOW"], &rows))
        }
        BatchesCommand::Get { id } => print_json(&client.batches().retrieve(&id).await?),
        BatchesCommand::Wait { id, deadline } => {
            let mut interrupts = Interrupts::listen();
            let batch = wait_for(client, &id, deadline, &mut interrupts).await?;
            finished(&batch, style)
        }
        BatchesCommand::Cancel { id } => {
            let batch = client.batches().cancel(&id).await?;
            match style {
                Style::Json => print_json(&batch),
                Style::Human => print(&terminal::line(&format!(
                    "{} is {}",
                    batch.id, batch.status
                ))),
            }
        }
        BatchesCommand::Results { id, output } => {
            let batch = client.batches().retrieve(&id).await?;
            let files = moonshot::batches::result_files(&batch);
            if files.is_empty() {
                return Err(Failure::Local(format!(
                    "batch {id} is {} and has no results{}",
                    batch.status,
                    if moonshot::batches::is_terminal(&batch.status) {
                        ""
                    } else {
                        " yet: wait for it with `moonshot batches wait`"
                    }
                )));
            }
            if let Some(path) = output {
                let written = download(client, &files, &path).await?;
                eprintln!(
                    "wrote {written} bytes ({} file(s) of batch {id}) to {}",
                    files.len(),
                    path.display()
                );
                return Ok(());
            }
            print_results(client, &batch, style).await
        }
    }
}

/// Uploads the batch's input as `name` and creates the batch `request` describes from it; when
/// the batch cannot be created, the input is deleted again.
async fn make(
    client: &Client,
    input: Vec<u8>,
    name: &str,
    mut request: BatchCreateRequest,
) -> Result<Batch, Failure> {
    let uploaded = client
        .files()
        .upload_bytes(input, name, Purpose::Batch)
        .await?;
    request.input_file_id = uploaded.id.clone();
    match client.batches().create_with(request).await {
        Ok(batch) => Ok(batch),
        Err(error) => {
            // No batch uses the input: it is not left on the account.
            let _ = client.files().delete(&uploaded.id).await;
            Err(error.into())
        }
    }
}

/// Waits for the batch, telling its progress on stderr as it changes. Ctrl-C or SIGTERM stops
/// the wait, not the batch.
async fn wait_for(
    client: &Client,
    id: &str,
    deadline: Duration,
    interrupts: &mut Interrupts,
) -> Result<Batch, Failure> {
    let mut last = String::new();
    let batches = client.batches();
    let waited = batches.wait_with_progress(id, deadline, |b| {
        let counts = &b.request_counts;
        let line = format!(
            "{}: {} ({}/{} done, {} failed)",
            b.id, b.status, counts.completed, counts.total, counts.failed
        );
        if line != last {
            eprintln!("{}", terminal::line(&line));
            last = line;
        }
    });
    match interrupts.until(waited).await {
        Ok(batch) => Ok(batch?),
        Err(signal) => Err(kept(signal, id)),
    }
}

/// The command stopped by `signal` while the batch `id` runs on.
fn kept(signal: Signal, id: &str) -> Failure {
    Failure::Interrupted(
        signal,
        format!("batch {id} was kept and runs on: follow it with `moonshot batches wait {id}`")
            .into(),
    )
}

/// Prints a batch that has ended; one that did not complete is a failure (exit 1).
fn finished(batch: &Batch, style: Style) -> Result<(), Failure> {
    show(batch, style)?;
    if batch.status.as_str() == "completed" {
        if style == Style::Human {
            eprintln!(
                "read its results with `moonshot batches results {}`",
                terminal::line(&batch.id)
            );
        }
        Ok(())
    } else {
        Err(Failure::Local(format!(
            "batch {} ended {}",
            batch.id, batch.status
        )))
    }
}

/// A batch: one line for a person, the object as JSON otherwise.
fn show(batch: &Batch, style: Style) -> Result<(), Failure> {
    match style {
        Style::Json => print_json(batch),
        Style::Human => print(&terminal::line(&format!(
            "{}: {}, {}/{} done, {} failed, window {}{}{}",
            batch.id,
            batch.status,
            batch.request_counts.completed,
            batch.request_counts.total,
            batch.request_counts.failed,
            batch.completion_window,
            batch
                .output_file_id
                .as_deref()
                .map(|f| format!(", output {f}"))
                .unwrap_or_default(),
            batch
                .error_file_id
                .as_deref()
                .map(|f| format!(", errors {f}"))
                .unwrap_or_default(),
        ))),
    }
}

/// Prints each result as it is read, then a count on stderr.
async fn print_results(client: &Client, batch: &Batch, style: Style) -> Result<(), Failure> {
    let mut results = std::pin::pin!(client.batches().results(batch));
    let (mut answered, mut failed) = (0usize, 0usize);
    while let Some(result) = results.try_next().await? {
        match &result.outcome {
            BatchOutcome::Answered(_) => answered += 1,
            _ => failed += 1,
        }
        match style {
            Style::Json => print(&result_json(&result).to_string())?,
            Style::Human => print(&format!(
                "{}\t{}",
                terminal::line(result.custom_id.as_deref().unwrap_or("(no custom_id)")),
                terminal::line(&result.outcome.to_string().replace('\n', " "))
            ))?,
        }
    }
    eprintln!(
        "{} result(s): {answered} answered, {failed} failed (of {} requests)",
        answered + failed,
        batch.request_counts.total
    );
    Ok(())
}

/// One result as a JSON line: its id, where it was read, and the answer or the error.
fn result_json(result: &BatchResult) -> serde_json::Value {
    let mut line = json!({
        "custom_id": result.custom_id,
        "file_id": result.file_id,
        "line": result.line,
    });
    let fields = match &result.outcome {
        BatchOutcome::Answered(completion) => json!({
            "outcome": "answered",
            "content": completion.content(),
            "finish_reason": completion.finish_reason().map(ToString::to_string),
            "request_id": completion.request_id(),
        }),
        BatchOutcome::Failed(failure) => json!({
            "outcome": "failed",
            "status": failure.status,
            "type": failure.kind,
            "message": failure.message,
            "request_id": failure.request_id,
        }),
        BatchOutcome::Unreadable { reason, text } => json!({
            "outcome": "unreadable",
            "reason": reason,
            "text": text,
        }),
        _ => json!({"outcome": "unknown"}),
    };
    if let (Some(line), Some(fields)) = (line.as_object_mut(), fields.as_object()) {
        line.extend(fields.clone());
    }
    line
}
