//! `moonshot chat`: ask Kimi, about files if given; the answer streams as it arrives.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use futures::StreamExt as _;
use moonshot::chat::{ChatAccumulator, ChatRequest};
use moonshot::{Client, FileContent};
use serde_json::json;

use crate::{Failure, Style, output_failure, print_json};

/// The model asked when none is named.
pub(crate) const DEFAULT_MODEL: &str = "kimi-k2.6";

/// What to ask, and about what.
#[derive(Debug, clap::Args)]
pub(crate) struct ChatArgs {
    /// The model: any id Moonshot serves.
    #[arg(long, default_value = DEFAULT_MODEL)]
    model: String,
    /// A file to ask about: uploaded, its text extracted and given as a system message. Repeat
    /// for several; they are deleted after the answer unless --keep-files.
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
pub(crate) async fn run(client: &Client, args: ChatArgs, style: Style) -> Result<(), Failure> {
    let mut request = ChatRequest::new(args.model.as_str());
    if let Some(system) = &args.system {
        request = request.system(system);
    }
    let mut uploaded = Vec::new();
    let mut files = Vec::new();
    for path in &args.file {
        let (file, content) = client.files().upload_and_extract(path).await?;
        request = request.file_content(&content);
        files.push(json!({"id": file.id, "filename": file.filename}));
        uploaded.push(file.id);
    }
    for id in &args.file_id {
        let content: FileContent = client.files().content(id).await?;
        request = request.file_content(&content);
        files.push(json!({"id": id}));
    }
    if args.no_thinking {
        request = request.thinking(false);
    }
    request = request.user(&args.question);

    let result = match style {
        Style::Json => answer_json(client, request, files).await,
        Style::Human => answer_streamed(client, request).await,
    };
    if !args.keep_files {
        for id in uploaded {
            // The answer stands even if a cleanup fails; say so.
            if let Err(e) = client.files().delete(&id).await {
                eprintln!("warning: the uploaded file {id} was not deleted: {e}");
            }
        }
    }
    result
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
    let dim = std::io::stderr().is_terminal();
    let mut thinking = false;
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
            if !thinking {
                eprint!("{}thinking: ", if dim { "\x1b[2m" } else { "" });
                thinking = true;
            }
            eprint!("{reasoning}");
        }
        if let Some(text) = delta.content.as_deref().filter(|t| !t.is_empty()) {
            if thinking {
                eprintln!("{}", if dim { "\x1b[0m" } else { "" });
                thinking = false;
            }
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| output_failure(&e))?;
        }
    }
    writeln!(stdout).map_err(|e| output_failure(&e))?;
    report_usage(stream.answer());
    Ok(())
}

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
