//! Asks Kimi about a file, streaming the answer as it arrives.
//!
//! ```sh
//! # Against Moonshot: MOONSHOT_API_KEY set.
//! cargo run -p moonshot --example file_qa -- report.pdf "What are the key findings?"
//! # Offline, against the local server (`cargo run -p moonshot-mock` prints its URL):
//! MOONSHOT_API_KEY=sk-local MOONSHOT_BASE_URL=http://127.0.0.1:PORT \
//!     cargo run -p moonshot --example file_qa -- README.md "What does this project do?"
//! ```

use std::io::Write as _;

use futures::StreamExt as _;
use moonshot::chat::ChatRequest;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(question)) = (args.next(), args.next()) else {
        return Err("usage: file_qa PATH QUESTION".into());
    };
    let client = moonshot::Client::from_env()?;

    // Upload, wait for the text to be extracted, read it.
    let (file, content) = client.files().upload_and_extract(&path).await?;
    eprintln!("{} is {} ({} bytes)", file.filename, file.id, file.bytes);

    // The text as a system message, then the question; the answer streams.
    let request = ChatRequest::new("kimi-k2.6")
        .file_content(&content)
        .user(question);
    let mut stream = client.chat().stream(request).await?;
    let mut stdout = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if let Some(text) = chunk
            .choices
            .first()
            .and_then(|c| c.delta.as_ref()?.content.as_deref())
        {
            write!(stdout, "{text}")?;
            stdout.flush()?;
        }
    }
    writeln!(stdout)?;
    if let Some(usage) = stream.answer().usage() {
        eprintln!("{:?} tokens", usage.total_tokens);
    }

    // Moonshot keeps at most 1,000 files per account.
    client.files().delete(&file.id).await?;
    Ok(())
}
