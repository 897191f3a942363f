//! What a command prints and how it fails: the [`Style`] of its output, the helpers that write
//! to standard output, and the [`Failure`] that sets the exit code.

use std::borrow::Cow;
use std::io::Write as _;
use std::process::ExitCode;

use moonshot::Error;

use crate::signals::Signal;
use crate::terminal;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Tables and plain lines, for a person at a terminal.
    Human,
    /// JSON, for programs: with --json, or when standard output is not a terminal.
    Json,
}

/// Why the command failed, and the exit code that says so.
pub(crate) enum Failure {
    /// The API or the connection failed: exit 1.
    Call(Error),
    /// The command line or configuration is wrong: exit 2.
    Usage(String),
    /// Something local failed (the output file, the local server): exit 1.
    Local(String),
    /// Whoever read standard output stopped reading (`moonshot ... | head`): nothing is wrong,
    /// and nothing more is said; exit 0.
    OutputClosed,
    /// Ctrl-C or SIGTERM stopped the command, after the cleanup the text says (a download's
    /// partial file removed, say) or saying what was kept and how to follow it: exit 128 plus
    /// the signal's number, as a shell reports it.
    Interrupted(Signal, Cow<'static, str>),
}

/// A failure to write to standard output: the reader going away is [`Failure::OutputClosed`].
pub(crate) fn output_failure(error: &std::io::Error) -> Failure {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::OutputClosed
    } else {
        Failure::Local(format!("cannot write to standard output: {error}"))
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput { .. } | Error::Configuration(_) => Self::Usage(error.to_string()),
            other => Self::Call(other),
        }
    }
}

impl Failure {
    /// Says on standard error why the command failed, each message on one line whatever a server
    /// put in it, and returns the exit code that says so.
    pub(crate) fn exit(self) -> ExitCode {
        match self {
            Self::OutputClosed => ExitCode::SUCCESS,
            Self::Call(error) => {
                eprintln!("error: {}", terminal::line(&error.to_string()));
                ExitCode::from(1)
            }
            Self::Local(message) => {
                eprintln!("error: {}", terminal::line(&message));
                ExitCode::from(1)
            }
            Self::Usage(message) => {
                eprintln!("error: {}", terminal::line(&message));
                ExitCode::from(2)
            }
            Self::Interrupted(signal, what) => {
                eprintln!(
                    "interrupted by {}: {}",
                    signal.name(),
                    terminal::line(&what)
                );
                ExitCode::from(signal.exit_code())
            }
        }
    }
}

/// `value` as pretty JSON on standard output.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Local(format!("cannot print JSON: {e}")))?;
    print(&terminal::json(text))
}

/// Writes `text` and a newline to standard output; unlike `println!`, a reader that went away
/// is not a panic.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|e| output_failure(&e))
}

/// Rows under a header, each column as wide as its widest cell; a cell's control characters
/// are escaped, so that each row stays one line.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| terminal::line(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(
        rows.iter()
            .map(|row| line(row.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn a_table_aligns_each_column_to_its_widest_cell() {
        let rows = vec![
            vec!["file-1".to_owned(), "ok".to_owned(), "a.txt".to_owned()],
            vec![
                "f".to_owned(),
                "processing".to_owned(),
                "长文本.md".to_owned(),
            ],
        ];
        assert_eq!(
            table(&["ID", "STATUS", "FILENAME"], &rows),
            "ID      STATUS      FILENAME\nfile-1  ok          a.txt\nf       processing  长文本.md"
        );
    }

    #[test]
    fn a_cell_from_a_server_cannot_break_its_row_or_drive_the_terminal() {
        let rows = vec![vec![
            "file-1".to_owned(),
            "a\u{1b}]0;pwned\u{7}\nfile-2  ok".to_owned(),
        ]];
        assert_eq!(
            table(&["ID", "FILENAME"], &rows),
            "ID      FILENAME\nfile-1  a\\u{1b}]0;pwned\\u{7}\\nfile-2  ok"
        );
    }
}
