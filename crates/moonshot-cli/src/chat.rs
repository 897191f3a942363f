//! `moonshot chat`: ask Kimi, about files if given; the answer streams as it arrives.

use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};

use futures::StreamExt as _;
use moonshot::Client;
use moonshot::chat::{ChatAccumulator, ChatRequest};
use moonshot::files::{FileContent, FileObject, Purpose};
use serde_json::json;

use crate::report::{Failure, Style, output_failure, print_json};
use crate::signals::Interrupts;
use crate::{local, terminal};

/// The model asked when none is named.
pub(crate) const DEFAULT_MODEL: &str = "kimi-k2.6";

/// What to ask, and about what.
#[derive(Debug, clap::Args)]
pub(crate) struct ChatArgs {
    /// The model: any id Moonshot serves.
    #[arg(long, default_value = DEFAULT_MODEL)]
    model: String,
    /// A file to ask about: uploaded, its text extracted and given as a system message. Repeat
    /// for several; they are deleted however the command ends unless --keep-files.
    #[arg(long, value_name = "PATH")]
    file: Vec<PathBuf>,
    /// An uploaded file to ask about, by id: its extracted text is given as a system message.
    #[arg(long, value_name = "ID")]
    file_id: Vec<String>,
    /// Keep the files --file uploaded (Moonshot keeps at most 1,000 per account).
    #[arg(long)]
    keep_files: bool,
    /// Instructions, as a system message before the files.
    #[arg(long, value_name = "TEXT")]
    system: Option<String>,
    /// Turn thinking off, for models that think by default (kimi-k2.6, kimi-k2.5).
    #[arg(long)]
    no_thinking: bool,
    /// The question.
    question: String,
}

/// Asks, and prints the answer: streamed as it arrives for a person (thinking and usage on
/// standard error), whole as JSON otherwise.
///
/// Every `--file` is checked before any is uploaded; the files uploaded are deleted however the
/// command ends (an answer, a failure, Ctrl-C or SIGTERM) unless `--keep-files`.
pub(crate) async fn run(client: &Client, args: ChatArgs, style: Style) -> Result<(), Failure> {
    for path in &args.file {
        local::check_file(path)?;
    }
    let mut interrupts = Interrupts::listen();
    let mut uploaded = Vec::new();
    let result = ask(client, &args, style, &mut interrupts, &mut uploaded).await;
    if !args.keep_files {
        delete(client, &uploaded, &mut interrupts).await;
    }
    result
}

/// Uploads the files, reads their text and asks; the id of each file uploaded is pushed to
/// `uploaded` as soon as it is known.
async fn ask(
    client: &Client,
    args: &ChatArgs,
    style: Style,
    interrupts: &mut Interrupts,
    uploaded: &mut Vec<String>,
) -> Result<(), Failure> {
    let mut request = ChatRequest::new(args.model.as_str());
    if let Some(system) = &args.system {
        request = request.system(system);
    }
    let mut files = Vec::new();
    for path in &args.file {
        let file = upload(client, path, interrupts, uploaded).await?;
        let content = until_interrupted(interrupts, async {
            client.files().wait_for_processing(&file.id).await?;
            Ok(client.files().content(&file.id).await?)
        })
        .await?;
        request = request.file_content(&content);
        files.push(json!({"id": file.id, "filename": file.filename}));
    }
    for id in &args.file_id {
        let content: FileContent =
            until_interrupted(interrupts, async { Ok(client.files().content(id).await?) }).await?;
        request = request.file_content(&content);
        files.push(json!({"id": id}));
    }
    if args.no_thinking {
        request = request.thinking(false);
    }
    request = request.user(&args.question);
    until_interrupted(interrupts, async {
        match style {
            Style::Json => answer_json(client, request, files).await,
            Style::Human => answer_streamed(client, request).await,
        }
    })
    .await
}

/// What main says when Ctrl-C or SIGTERM stopped the command.
const STOPPED: &str = "the question was dropped";

/// Runs `work` unless Ctrl-C or SIGTERM comes first.
async fn until_interrupted<T>(
    interrupts: &mut Interrupts,
    work: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    interrupts
        .until(work)
        .await
        .unwrap_or_else(|signal| Err(Failure::Interrupted(signal, STOPPED.into())))
}

/// Uploads `path` for its text, and pushes its id to `uploaded`. Ctrl-C or SIGTERM during the
/// upload lets it finish (a second one does not), so that the file it made is known and can be
/// deleted; the command then stops.
async fn upload(
    client: &Client,
    path: &Path,
    interrupts: &mut Interrupts,
    uploaded: &mut Vec<String>,
) -> Result<FileObject, Failure> {
    let files = client.files();
    let (result, signal) = interrupts
        .shielded(files.upload(path, Purpose::FileExtract))
        .await
        .map_err(|again| Failure::Interrupted(again, STOPPED.into()))?;
    let file = result?;
    uploaded.push(file.id.clone());
    match signal {
        Some(signal) => Err(Failure::Interrupted(signal, STOPPED.into())),
        None => Ok(file),
    }
}

/// Deletes the files `ids`, warning of each that is not deleted; Ctrl-C or SIGTERM stops it.
async fn delete(client: &Client, ids: &[String], interrupts: &mut Interrupts) {
    let files = client.files();
    for (done, id) in ids.iter().enumerate() {
        let deleted = tokio::select! {
            deleted = files.delete(id) => deleted.map(drop).map_err(|e| e.to_string()),
            signal = interrupts.received() => Err(format!("{} stopped the cleanup", signal.name())),
        };
        // The answer stands even if a cleanup fails; say so, with what to run.
        if let Err(why) = deleted {
            for id in &ids[done..] {
                eprintln!(
                    "warning: the uploaded file {id} was not deleted ({}): delete it with \
                     `moonshot files delete {id}`",
                    terminal::line(&why)
                );
            }
            if why.ends_with("stopped the cleanup") {
                return;
            }
        }
    }
}

async fn answer_json(
    client: &Client,
    request: ChatRequest,
    files: Vec<serde_json::Value>,
) -> Result<(), Failure> {
    let answer = client.chat().create(request).await?;
    print_json(&json!({
        "model": answer.model,
        "content": answer.content(),
        "reasoning_content": answer.reasoning(),
        "finish_reason": answer.finish_reason().map(|r| r.as_str().to_owned()),
        "usage": answer.usage,
        "files": files,
    }))
}

async fn answer_streamed(client: &Client, request: ChatRequest) -> Result<(), Failure> {
    let mut stream = client.chat().stream(request).await?;
    let mut thinking = Thinking::new(std::io::stderr(), std::io::stderr().is_terminal());
    let mut stdout = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                let _ = writeln!(stdout);
                return Err(Failure::Call(error));
            }
        };
        let Some(delta) = chunk.choices.first().and_then(|c| c.delta.as_ref()) else {
            continue;
        };
        if let Some(reasoning) = delta.reasoning_content.as_deref().filter(|r| !r.is_empty()) {
            thinking.show(reasoning);
        }
        if let Some(text) = delta.content.as_deref().filter(|t| !t.is_empty()) {
            thinking.end();
            stdout
                .write_all(terminal::text(text).as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| output_failure(&e))?;
        }
    }
    drop(thinking);
    writeln!(stdout).map_err(|e| output_failure(&e))?;
    report_usage(stream.answer());
    Ok(())
}

/// The thinking text, written as it streams, dim on a terminal. Dropped, it ends its line and
/// resets the style, however the answer ended.
struct Thinking<W: Write> {
    out: W,
    dim: bool,
    shown: bool,
}

impl<W: Write> Thinking<W> {
    fn new(out: W, dim: bool) -> Self {
        Self {
            out,
            dim,
            shown: false,
        }
    }

    /// Writes more thinking, after `thinking: ` the first time.
    fn show(&mut self, text: &str) {
        if !self.shown {
            let _ = write!(self.out, "{}thinking: ", if self.dim { DIM } else { "" });
            self.shown = true;
        }
        let _ = write!(self.out, "{}", terminal::text(text));
        let _ = self.out.flush();
    }

    /// Ends the thinking's line and resets the style, if any thinking was shown.
    fn end(&mut self) {
        if self.shown {
            let _ = writeln!(self.out, "{}", if self.dim { RESET } else { "" });
            let _ = self.out.flush();
            self.shown = false;
        }
    }
}

impl<W: Write> Drop for Thinking<W> {
    fn drop(&mut self) {
        self.end();
    }
}

/// Dim text on a terminal, and back to normal.
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Tokens used, on standard error.
fn report_usage(answer: &ChatAccumulator) {
    if let Some(usage) = answer.usage() {
        let n = |v: Option<i64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
        eprintln!(
            "tokens: {} prompt, {} completion, {} total",
            n(usage.prompt_tokens),
            n(usage.completion_tokens),
            n(usage.total_tokens)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_resets_the_style_however_the_answer_ends() {
        let mut out = Vec::new();
        {
            let mut thinking = Thinking::new(&mut out, true);
            thinking.show("hmm\u{1b}]0;title\u{7}");
            // Dropped mid-thought, as when a signal or an error ends the answer.
        }
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "\x1b[2mthinking: hmm\\u{1b}]0;title\\u{7}\x1b[0m\n"
        );

        let mut out = Vec::new();
        drop(Thinking::new(&mut out, true));
        assert!(out.is_empty(), "nothing shown, nothing to reset");
    }
}
