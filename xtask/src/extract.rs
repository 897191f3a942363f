//! Finds the one OpenAPI block of an upstream docs page and parses it.
//!
//! Moonshot's pages end in a `## OpenAPI` section holding a fence of four backticks whose header
//! names the operation (`yaml GET /v1/files/{file_id}`). Fences of three backticks are code
//! samples (Python, curl) and are never read as specs.

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde_json::Value;

use crate::Error;

/// The OpenAPI block of one page, before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiBlock {
    /// The HTTP method the fence header names, upper case (`GET`).
    pub method: String,
    /// The path the fence header names (`/v1/files/{file_id}`).
    pub path: String,
    /// The YAML text inside the fence.
    pub yaml: String,
    /// The line of the page (1-based) on which the YAML starts.
    pub first_line: usize,
}

/// Returns the page's one OpenAPI block.
///
/// # Errors
/// [`Error::NoOpenApiBlock`], [`Error::SeveralOpenApiBlocks`], [`Error::BadFenceHeader`] or
/// [`Error::UnclosedFence`] (a page cut short), each naming `page`.
pub fn extract_block(page: &str, text: &str) -> Result<OpenApiBlock, Error> {
    let mut lines = LineCounter::default();
    let mut blocks = Vec::new();
    let mut current: Option<(String, usize, String)> = None;
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let fence = text[range.start..].trim_start_matches([' ', '\t']);
                if fence.starts_with("````") && info.split_whitespace().next() == Some("yaml") {
                    if !is_closed(&text[range.clone()]) {
                        return Err(Error::UnclosedFence {
                            page: page.to_owned(),
                            line: lines.line_at(text, range.start),
                        });
                    }
                    let line = lines.line_at(text, range.start);
                    current = Some((info.to_string(), line, String::new()));
                }
            }
            Event::Text(body) => {
                if let Some((_, _, yaml)) = current.as_mut() {
                    yaml.push_str(&body);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    let (header, fence_line, yaml) = match blocks.len() {
        0 => {
            return Err(Error::NoOpenApiBlock {
                page: page.to_owned(),
            });
        }
        1 => blocks.remove(0),
        count => {
            let mut lines: Vec<String> = blocks
                .iter()
                .take(SHOWN_LINES)
                .map(|b| b.1.to_string())
                .collect();
            if count > SHOWN_LINES {
                lines.push(format!("and {} more", count - SHOWN_LINES));
            }
            return Err(Error::SeveralOpenApiBlocks {
                page: page.to_owned(),
                count,
                lines: lines.join(", "),
            });
        }
    };
    let words: Vec<&str> = header.split_whitespace().collect();
    let [_, method, path] = words[..] else {
        return Err(Error::BadFenceHeader {
            page: page.to_owned(),
            line: fence_line,
            header,
        });
    };
    if !method.chars().all(|c| c.is_ascii_alphabetic()) || !path.starts_with('/') {
        return Err(Error::BadFenceHeader {
            page: page.to_owned(),
            line: fence_line,
            header,
        });
    }
    Ok(OpenApiBlock {
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        yaml,
        first_line: fence_line + 1,
    })
}

/// How many lines of extra OpenAPI blocks an error lists; a hostile page may hold thousands.
const SHOWN_LINES: usize = 10;

/// Line numbers of increasing offsets, counted from where the last one left off, so that a page
/// is scanned once however many fences it holds.
#[derive(Debug, Default)]
struct LineCounter {
    /// The offset counted up to.
    offset: usize,
    /// The newlines before `offset`.
    newlines: usize,
}

impl LineCounter {
    /// The line (1-based) of `offset`, which is not before any offset asked for earlier.
    fn line_at(&mut self, text: &str, offset: usize) -> usize {
        self.newlines += text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.offset = offset;
        self.newlines + 1
    }
}

/// Whether a fenced block, from its opening fence to where the Markdown parser ended it, ends
/// with a closing fence: a line of at least as many backticks as open it, and nothing else.
/// Markdown ends an unclosed fence with the document, so a page cut short would otherwise pass.
fn is_closed(block: &str) -> bool {
    let block = block.trim_start_matches([' ', '\t']);
    let opening = block.bytes().take_while(|b| *b == b'`').count();
    let mut lines = block.trim_end().lines();
    lines.next();
    lines.next_back().is_some_and(|last| {
        let last = last.trim();
        last.len() >= opening && last.bytes().all(|b| b == b'`')
    })
}

/// Parses the block's YAML into a JSON value, reporting errors at their line in the page.
///
/// # Errors
/// [`Error::Yaml`] with the page's line and column, or [`Error::NotADocument`] for YAML that
/// has no JSON form (tags, non-scalar keys, NaN).
pub fn parse_block(page: &str, block: &OpenApiBlock) -> Result<Value, Error> {
    let value = yaml_text_to_json(&block.yaml).map_err(|problem| match problem {
        YamlProblem::Syntax {
            line,
            column,
            message,
        } => Error::Yaml {
            page: page.to_owned(),
            line: block.first_line + line.saturating_sub(1),
            column,
            message,
        },
        YamlProblem::NoJsonForm(detail) => Error::NotADocument {
            page: page.to_owned(),
            detail,
        },
    })?;
    if !value.is_object() {
        return Err(Error::NotADocument {
            page: page.to_owned(),
            detail: "it is not a YAML mapping".to_owned(),
        });
    }
    Ok(value)
}

/// Why a YAML text could not become a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlProblem {
    /// The text is not valid YAML.
    Syntax {
        /// Line in the text (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// Valid YAML with no JSON form (a tag, a non-scalar key, NaN).
    NoJsonForm(String),
}

impl std::fmt::Display for YamlProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Syntax {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: {message}"),
            Self::NoJsonForm(detail) => f.write_str(detail),
        }
    }
}

/// Parses YAML (and so JSON) text into a JSON value; mapping keys that YAML reads as numbers or
/// booleans (an unquoted `200:`) become strings, as OpenAPI means them.
///
/// # Errors
/// A [`YamlProblem`] with the line and column of a syntax error.
pub fn yaml_text_to_json(text: &str) -> Result<Value, YamlProblem> {
    let yaml: serde_yaml_ng::Value = match serde_yaml_ng::from_str(text) {
        Ok(yaml) => yaml,
        // Text that opens as JSON is told what JSON's reader says: the YAML reader takes
        // trailing garbage after a JSON object for a second document.
        Err(_) if text.trim_start().starts_with(['{', '[']) => {
            return serde_json::from_str(text).map_err(|e| YamlProblem::Syntax {
                line: e.line(),
                column: e.column(),
                message: format!("invalid JSON: {e}"),
            });
        }
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            return Err(YamlProblem::Syntax {
                line,
                column,
                message: e.to_string(),
            });
        }
    };
    yaml_to_json(yaml).map_err(YamlProblem::NoJsonForm)
}

fn yaml_to_json(yaml: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("the number {n} has no JSON form"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(format!("a mapping key must be a scalar, found {other:?}"));
                    }
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => return Err(format!("YAML tag `{}` is not allowed", tagged.tag)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# Get File\n\n<Accordion title=\"Usage Example\">\n  ```python theme={null}\n  client.files.retrieve(file_id=file_id)\n  ```\n</Accordion>\n\n\n## OpenAPI\n\n````yaml GET /v1/files/{file_id}\nopenapi: 3.1.0\npaths: {}\n````\n";

    #[test]
    fn reads_the_four_backtick_block_and_skips_code_samples() {
        let block = extract_block("p.md", PAGE).expect("block");
        assert_eq!(block.method, "GET");
        assert_eq!(block.path, "/v1/files/{file_id}");
        assert_eq!(block.yaml, "openapi: 3.1.0\npaths: {}\n");
        assert_eq!(block.first_line, 13);
    }

    #[test]
    fn a_fence_that_never_closes_is_a_page_cut_short() {
        for cut in [
            "````yaml GET /x\nopenapi: 3.1.0\npaths: {}\n",
            "````yaml GET /x\nopenapi: 3.1.0\n```\n",
            "intro\n\n````yaml GET /x\n",
        ] {
            match extract_block("p.md", cut) {
                Err(error @ Error::UnclosedFence { .. }) => {
                    assert!(error.to_string().starts_with("p.md:"), "{error}");
                }
                other => panic!("{cut:?}: {other:?}"),
            }
        }
        let closed = "````yaml GET /x\nopenapi: 3.1.0\n`````\r\n";
        assert!(extract_block("p.md", closed).is_ok());
    }

    #[test]
    fn thirty_thousand_openapi_fences_are_read_in_one_pass() {
        let page: String = (0..30_000)
            .map(|i| format!("````yaml GET /x{i}\nopenapi: 3.1.0\n````\n"))
            .collect();
        let started = std::time::Instant::now();
        let error = extract_block("p.md", &page).expect_err("several blocks");
        // Rescanning the page per fence took minutes here; one pass takes well under a second.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        match &error {
            Error::SeveralOpenApiBlocks { count, lines, .. } => {
                assert_eq!(*count, 30_000);
                assert_eq!(lines, "1, 4, 7, 10, 13, 16, 19, 22, 25, 28, and 29990 more");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn a_three_backtick_yaml_fence_is_a_code_sample() {
        let text = "```yaml GET /v1/files\nopenapi: 3.1.0\n```\n";
        assert!(matches!(
            extract_block("p.md", text),
            Err(Error::NoOpenApiBlock { .. })
        ));
    }

    #[test]
    fn yaml_errors_point_at_the_page_line() {
        let text = "intro\n\n````yaml GET /x\nopenapi: 3.1.0\npaths: [unclosed\n````\n";
        let block = extract_block("p.md", text).expect("block");
        let err = parse_block("p.md", &block).expect_err("invalid yaml");
        match err {
            Error::Yaml { line, .. } => assert!(line >= 5, "line {line}"),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn json_with_trailing_garbage_is_called_invalid_json() {
        let problem = yaml_text_to_json("{\"openapi\": \"3.0.3\"} trailing").expect_err("garbage");
        let message = problem.to_string();
        assert!(
            message.contains("invalid JSON: trailing characters"),
            "{message}"
        );
        assert!(!message.contains("more than one document"), "{message}");
        assert_eq!(
            yaml_text_to_json("{openapi: 3.0.3}").expect("YAML flow style")["openapi"],
            "3.0.3"
        );
    }

    #[test]
    fn unquoted_status_keys_become_strings() {
        let text = "````yaml GET /x\nresponses:\n  200:\n    description: ok\n````\n";
        let block = extract_block("p.md", text).expect("block");
        let doc = parse_block("p.md", &block).expect("doc");
        assert_eq!(doc["responses"]["200"]["description"], "ok");
    }
}
