//! Upload throughput and peak memory: the facade's `files().upload` against raw reqwest sending
//! the same multipart body, a 100 MB file to the harness's sink, each case in a process of its
//! own.

use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use reqwest::multipart::{Form, Part};
use tokio_util::io::ReaderStream;

use crate::case::{self, CaseOutcome, ClientPair, MB, Repeat};
use crate::report::{Report, pass, rounds_ahead};
use crate::server::{API_KEY, ServerProcess};
use crate::stats::{Summary, paired_ratios};
use crate::{BenchError, Settings};

/// The uploaded file's size: 100 MB.
const FILE_BYTES: u64 = 100_000_000;
/// The file uploaded before the measured uploads.
const WARM_UP_BYTES: u64 = 4_096;
/// How much of the file the raw upload reads at a time, as the facade does.
const CHUNK: usize = 64 * 1024;
/// The purpose both uploads send.
const PURPOSE: &str = "file-extract";
/// The targets: the facade's peak growth under this many bytes, and its throughput at least
/// this share of raw reqwest's.
const GROWTH_LIMIT: f64 = 8.0 * MB;
const THROUGHPUT_TARGET: f64 = 0.90;

/// What uploads the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Uploader {
    /// reqwest's multipart form by hand: a `purpose` field and the file streamed in 64 KiB
    /// chunks, the response decoded into `FileObject`.
    Raw,
    /// `moonshot::files::Files::upload`.
    Facade,
    /// async-openai's `files().create` with purpose `batch`: its closed `FilePurpose` cannot
    /// name `file-extract`.
    AsyncOpenai,
}

impl Uploader {
    /// In table order, the baseline first.
    const ALL: [Self; 3] = [Self::Raw, Self::Facade, Self::AsyncOpenai];

    fn label(self) -> &'static str {
        match self {
            Self::Raw => "raw reqwest multipart",
            Self::Facade => "facade `files().upload()`",
            Self::AsyncOpenai => "async-openai `files().create()` (purpose batch)",
        }
    }
}

/// One case, run by the hidden `upload-case` subcommand in a process of its own.
#[derive(Debug, Clone, Args)]
pub struct CaseArgs {
    /// The sink's base URL.
    #[arg(long)]
    base_url: String,
    /// The file measured.
    #[arg(long)]
    file: PathBuf,
    /// A small file uploaded first, the same way.
    #[arg(long)]
    warm_up: PathBuf,
    /// What uploads.
    #[arg(long, value_enum)]
    uploader: Uploader,
    /// How many times the file is uploaded, one after another.
    #[arg(long, default_value_t = 1)]
    repeats: u32,
}

/// The clients a case may use.
struct Uploaders {
    clients: ClientPair,
}

impl Uploaders {
    /// Uploads the file at `path` once; returns its size. Fails unless the file object answered
    /// carries the purpose sent (the sink answers with the purpose it read from the form).
    async fn upload(&self, uploader: Uploader, path: &Path) -> Result<u64, BenchError> {
        let len = tokio::fs::metadata(path).await?.len();
        let (sent, answered) = match uploader {
            Uploader::Raw => {
                let file = tokio::fs::File::open(path).await?;
                let body = reqwest::Body::wrap_stream(ReaderStream::with_capacity(file, CHUNK));
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let part = Part::stream_with_length(body, len)
                    .file_name(name)
                    .mime_str("text/plain")?;
                let form = Form::new().text("purpose", PURPOSE).part("file", part);
                let response = self
                    .clients
                    .raw
                    .post(format!("{}/v1/files", self.clients.base_url))
                    .bearer_auth(API_KEY)
                    .multipart(form)
                    .send()
                    .await?
                    .error_for_status()?;
                let file: moonshot::types::FileObject =
                    serde_json::from_slice(&response.bytes().await?)?;
                (PURPOSE, purpose_of(&file)?)
            }
            Uploader::Facade => {
                let file = self.clients.facade.files().upload(path, PURPOSE).await?;
                (PURPOSE, purpose_of(&file)?)
            }
            Uploader::AsyncOpenai => {
                use async_openai::types::files::{CreateFileRequest, FileInput, FilePurpose};
                let request = CreateFileRequest {
                    file: FileInput::from(path),
                    purpose: FilePurpose::Batch,
                    expires_after: None,
                };
                let file = self.clients.async_openai.files().create(request).await?;
                ("batch", purpose_of(&file)?)
            }
        };
        if answered != sent {
            return Err(format!("sent purpose {sent:?}, the answer says {answered:?}").into());
        }
        Ok(len)
    }
}

/// The `purpose` of a decoded file object, as it serializes.
fn purpose_of(file: &impl serde::Serialize) -> Result<serde_json::Value, BenchError> {
    Ok(black_box(serde_json::to_value(file)?)["purpose"].take())
}

/// Uploads a 4 KB file once in a case process of each kind: each is answered with a file
/// object carrying the purpose it sent.
pub fn check(report: &mut Report) -> Result<(), BenchError> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("upload.txt");
    write_file(&file, WARM_UP_BYTES)?;
    let server = ServerProcess::start_sink()?;
    for uploader in Uploader::ALL {
        let outcome = spawn_case(server.base_url(), &file, &file, uploader, 1);
        report.record(
            &format!("upload of 4 KB: {}", uploader.label()),
            outcome.map(drop),
        );
    }
    Ok(())
}

/// Runs one case in a child process.
fn spawn_case(
    base_url: &str,
    file: &Path,
    warm_up: &Path,
    uploader: Uploader,
    repeats: u32,
) -> Result<CaseOutcome, BenchError> {
    case::spawn(&[
        "upload-case".to_owned(),
        format!("--base-url={base_url}"),
        format!("--file={}", file.display()),
        format!("--warm-up={}", warm_up.display()),
        format!("--uploader={}", case::arg(uploader)),
        format!("--repeats={repeats}"),
    ])
}

/// The hidden `upload-case` subcommand: sets up, uploads the small file, resets the peak,
/// uploads the large one, prints the figures.
pub fn run_case(args: &CaseArgs) -> Result<(), BenchError> {
    let runtime = crate::runtime()?;
    let outcome = runtime.block_on(async {
        let uploaders = Uploaders {
            clients: ClientPair::new(&args.base_url)?,
        };
        uploaders.upload(args.uploader, &args.warm_up).await?;
        case::measure(args.repeats, || async {
            Ok(Repeat {
                units: uploaders.upload(args.uploader, &args.file).await?,
                first: None,
            })
        })
        .await
    })?;
    println!("{}", outcome.to_line());
    Ok(())
}

/// Writes a text file of `bytes` bytes: lines of words, written a block at a time.
fn write_file(path: &Path, bytes: u64) -> Result<(), BenchError> {
    const LINE: &[u8] = b"The quick brown fox jumps over the lazy dog; Moonshot reads it back.\n";
    let block: Vec<u8> = LINE.iter().copied().cycle().take(1 << 20).collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64);
        file.write_all(&block[..n as usize])?;
        left -= n;
    }
    file.flush()?;
    Ok(())
}

/// Runs the upload group and prints its table.
pub fn run(settings: &Settings) -> Result<(), BenchError> {
    let dir = tempfile::tempdir()?;
    let (file, warm_up) = (
        dir.path().join("upload.txt"),
        dir.path().join("warm-up.txt"),
    );
    write_file(&file, FILE_BYTES)?;
    write_file(&warm_up, WARM_UP_BYTES)?;
    let server = ServerProcess::start_sink()?;
    let rounds = settings.rounds() as usize;
    let repeats: u32 = if settings.quick { 1 } else { 3 };

    let mut outcomes: [Vec<CaseOutcome>; 3] = Default::default();
    for round in 0..rounds {
        eprintln!("upload: round {}/{rounds}", round + 1);
        for index in case::rotation(round, Uploader::ALL.len()) {
            outcomes[index].push(spawn_case(
                server.base_url(),
                &file,
                &warm_up,
                Uploader::ALL[index],
                repeats,
            )?);
        }
    }

    println!("## Upload: throughput and peak memory\n");
    println!(
        "{rounds} rounds, each case in a fresh process, in rotating order; median (min–max). A \
         100 MB text file (from the page cache) is uploaded {repeats} times to a local sink that \
         reads the body and keeps none of it. Peak growth is the process's peak resident size \
         (VmHWM) during the first upload minus its resident size after setup (runtime, client, \
         one upload of a 4 KB file the same way); the last column is the same over every \
         upload. Ratios are to raw reqwest in the same round.\n"
    );
    println!("| client | MB/s | ratio to raw | peak growth (MB) | growth over all uploads (MB) |");
    println!("|---|---:|---:|---:|---:|");
    let mb_s = |o: &CaseOutcome| o.rate() / MB;
    let raw: Vec<f64> = outcomes[0].iter().map(mb_s).collect();
    let mut verdicts = Vec::new();
    let position = |u| {
        Uploader::ALL
            .iter()
            .position(|a| *a == u)
            .ok_or("no such uploader")
    };
    let rates = |u| -> Result<Vec<f64>, BenchError> {
        Ok(outcomes[position(u)?].iter().map(mb_s).collect())
    };
    let paired = paired_ratios(&rates(Uploader::Facade)?, &rates(Uploader::AsyncOpenai)?);
    let versus = Summary::of_each(&paired, |r| *r)?;
    verdicts.push(format!(
        "- facade upload 100 MB at least as fast as async-openai's (purpose batch): {} (median \
         {:.1} %; {})",
        pass(versus.median >= 1.0),
        versus.median * 100.0,
        rounds_ahead(&paired)
    ));
    for (uploader, outcomes) in Uploader::ALL.into_iter().zip(&outcomes) {
        let throughput: Vec<f64> = outcomes.iter().map(mb_s).collect();
        let growth = Summary::of_each(outcomes, |o| o.growth_bytes() / MB)?;
        let growth_all = Summary::of_each(outcomes, |o| o.growth_all_bytes() / MB)?;
        let ratio = if uploader == Uploader::Raw {
            "1 (baseline)".to_owned()
        } else {
            let ratios = Summary::of_each(&paired_ratios(&throughput, &raw), |r| *r)?;
            if uploader == Uploader::Facade {
                verdicts.push(format!(
                    "- facade upload 100 MB: peak growth under 8 MB: {} (worst {:.1} MB); \
                 throughput ≥ {:.0} % of raw: {} (median {:.1} %)",
                    pass(growth.max * MB < GROWTH_LIMIT),
                    growth.max,
                    THROUGHPUT_TARGET * 100.0,
                    pass(ratios.median >= THROUGHPUT_TARGET),
                    ratios.median * 100.0
                ));
            }
            ratios.show(3).to_string()
        };
        println!(
            "| {} | {} | {ratio} | {} | {} |",
            uploader.label(),
            Summary::of_each(&throughput, |t| *t)?.show(0),
            growth.show(1),
            growth_all.show(1)
        );
    }
    println!("\nTargets:\n{}\n", verdicts.join("\n"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_has_the_size_asked_for() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("f.txt");
        write_file(&path, (1 << 20) + 5).expect("written");
        assert_eq!(
            std::fs::metadata(&path).expect("metadata").len(),
            (1 << 20) + 5
        );
        assert!(std::fs::read(&path).expect("read").ends_with(b"The q"));
    }

    #[test]
    fn each_uploader_has_an_argument() {
        for uploader in Uploader::ALL {
            assert!(!case::arg(uploader).is_empty());
        }
    }
}
