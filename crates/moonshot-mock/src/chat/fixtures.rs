//! Scripted chat answers: rules loaded from a JSON or JSON Lines file, first match wins. The
//! format is described in the [`chat`](crate::chat) module docs.

use std::path::Path;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::request::ChatRequest;

/// A fault that breaks a streamed answer after some events, so clients can be tested against a
/// stream that goes wrong midway. Counted in `data:` events sent, the first (the role) being 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum StreamFault {
    /// After this many events, the connection is dropped without `data: [DONE]`.
    CutAfter(u64),
    /// After this many events, an error event `data: {"error": {"message": ..., "type":
    /// "server_error"}}` is sent and the stream ends without `data: [DONE]`.
    ErrorAfter(u64),
    /// After this many events, nothing more is sent; the connection stays open until the client
    /// drops it or the server stops.
    StallAfter(u64),
}

/// Scripted chat answers for tests: an ordered list of rules, the first that matches a request
/// answers it; a request no rule matches gets the default answer.
///
/// ```
/// use moonshot_mock::ChatFixtures;
///
/// let fixtures = ChatFixtures::parse(
///     r#"{"user_contains": "weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
/// {"user_contains": "weather", "after_tool": true, "reply": "Sunny in Paris."}"#,
/// )?;
/// assert_eq!(fixtures.len(), 2);
/// # Ok::<(), moonshot_mock::ChatFixtureError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatFixtures {
    rules: Vec<ChatRule>,
}

/// Why chat fixtures were refused. Each variant says where: the file (or `chat fixtures` for
/// text and values given in code), and the line or rule at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChatFixtureError {
    /// The file could not be read.
    #[error("cannot read chat fixtures {}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The text is not JSON, or a rule has an unknown field or a field of the wrong type.
    #[error("{origin}: line {line}, column {column}: {message}")]
    Syntax {
        /// The file, or `chat fixtures`.
        origin: String,
        /// The line at fault, 1-based.
        line: usize,
        /// The column at fault, 1-based.
        column: usize,
        /// What is wrong, as the JSON parser says it.
        message: String,
    },
    /// A rule is well-formed JSON but cannot answer anything (see [`ChatFixtures`]).
    #[error("{origin}: rule {rule}{}: {problem}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Rule {
        /// The file, or `chat fixtures`.
        origin: String,
        /// The rule at fault, 1-based.
        rule: usize,
        /// Its line, for JSON Lines.
        line: Option<usize>,
        /// What is wrong.
        problem: String,
    },
}

/// One rule as written in a fixtures file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatRule {
    #[serde(default)]
    user_contains: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    after_tool: bool,
    #[serde(default)]
    reply: Option<String>,
    #[serde(default)]
    filler_chunks: Option<u64>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ScriptedToolCall>,
    #[serde(default)]
    error: Option<ScriptedError>,
    #[serde(default)]
    fault: Option<StreamFault>,
}

/// A tool call a rule makes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScriptedToolCall {
    pub(crate) name: String,
    /// A string is sent as is (even if it is not JSON); any other value is sent as its JSON text.
    pub(crate) arguments: Value,
    #[serde(rename = "type", default = "function_type")]
    pub(crate) kind: String,
}

fn function_type() -> String {
    "function".to_owned()
}

/// An error a rule answers with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScriptedError {
    pub(crate) status: u16,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) message: String,
}

/// What the first matching rule scripts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Script<'a> {
    /// The rule's 1-based number, for reasoning texts.
    pub(crate) number: usize,
    pub(crate) reply: Option<&'a str>,
    pub(crate) filler_chunks: Option<u64>,
    pub(crate) reasoning: Option<&'a str>,
    pub(crate) tool_calls: &'a [ScriptedToolCall],
    pub(crate) error: Option<&'a ScriptedError>,
    pub(crate) fault: Option<StreamFault>,
}

const IN_CODE: &str = "chat fixtures";

impl ChatFixtures {
    /// Reads rules from a file: a JSON array of rules, or JSON Lines (one rule object per line;
    /// blank lines are skipped).
    ///
    /// # Errors
    ///
    /// [`ChatFixtureError::Read`] when the file cannot be read, otherwise as [`parse`](Self::parse),
    /// naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ChatFixtureError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ChatFixtureError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse_from(&text, &path.display().to_string())
    }

    /// Reads rules from text: a JSON array of rules, or JSON Lines.
    ///
    /// # Errors
    ///
    /// [`ChatFixtureError::Syntax`] for text that is not such JSON or a rule with an unknown
    /// field; [`ChatFixtureError::Rule`] for a rule that cannot answer.
    pub fn parse(text: &str) -> Result<Self, ChatFixtureError> {
        Self::parse_from(text, IN_CODE)
    }

    /// Takes rules from a JSON value: an array of rules, or one rule.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse).
    pub fn from_value(value: Value) -> Result<Self, ChatFixtureError> {
        let values = match value {
            Value::Array(values) => values,
            rule => vec![rule],
        };
        let rules = values
            .into_iter()
            .enumerate()
            .map(|(i, value)| {
                let rule = ChatRule::deserialize(value).map_err(|e| ChatFixtureError::Rule {
                    origin: IN_CODE.to_owned(),
                    rule: i + 1,
                    line: None,
                    problem: e.to_string(),
                })?;
                checked(rule, IN_CODE, i + 1, None)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn parse_from(text: &str, origin: &str) -> Result<Self, ChatFixtureError> {
        let syntax = |e: serde_json::Error, line_offset: usize| ChatFixtureError::Syntax {
            origin: origin.to_owned(),
            line: e.line() + line_offset,
            column: e.column(),
            message: strip_position(&e.to_string()),
        };
        let rules = if text.trim_start().starts_with('[') {
            let rules: Vec<ChatRule> = serde_json::from_str(text).map_err(|e| syntax(e, 0))?;
            rules
                .into_iter()
                .enumerate()
                .map(|(i, rule)| checked(rule, origin, i + 1, None))
                .collect::<Result<_, _>>()?
        } else {
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .enumerate()
                .map(|(i, (n, line))| {
                    let rule = serde_json::from_str(line).map_err(|e| syntax(e, n))?;
                    checked(rule, origin, i + 1, Some(n + 1))
                })
                .collect::<Result<_, _>>()?
        };
        Ok(Self { rules })
    }

    /// The script of the first rule that matches `request`, if any.
    pub(crate) fn script_for(&self, request: &ChatRequest) -> Option<Script<'_>> {
        let after_tool = request.last_role() == "tool";
        let question = request.question();
        self.rules
            .iter()
            .enumerate()
            .find(|(_, rule)| {
                rule.after_tool == after_tool
                    && rule.model.as_deref().is_none_or(|m| m == request.model)
                    && rule
                        .user_contains
                        .as_deref()
                        .is_none_or(|needle| question.contains(needle))
            })
            .map(|(i, rule)| Script {
                number: i + 1,
                reply: rule.reply.as_deref(),
                filler_chunks: rule.filler_chunks,
                reasoning: rule.reasoning.as_deref(),
                tool_calls: &rule.tool_calls,
                error: rule.error.as_ref(),
                fault: rule.fault,
            })
    }
}

/// serde_json appends " at line L column C", which the error says in its own words.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The rule if it can answer, or why not.
fn checked(
    rule: ChatRule,
    origin: &str,
    number: usize,
    line: Option<usize>,
) -> Result<ChatRule, ChatFixtureError> {
    let refuse = |problem: String| ChatFixtureError::Rule {
        origin: origin.to_owned(),
        rule: number,
        line,
        problem,
    };
    let answers =
        rule.reply.is_some() || rule.filler_chunks.is_some() || !rule.tool_calls.is_empty();
    if let Some(error) = &rule.error {
        if answers || rule.reasoning.is_some() || rule.fault.is_some() {
            return Err(refuse(
                "`error` answers alone: drop `reply`, `filler_chunks`, `reasoning`, `tool_calls` \
                 and `fault`"
                    .to_owned(),
            ));
        }
        let status = StatusCode::from_u16(error.status).ok();
        if !status.is_some_and(|s| s.is_client_error() || s.is_server_error()) {
            return Err(refuse(format!(
                "`error.status` {} is not an error status (400 to 599)",
                error.status
            )));
        }
    } else if !answers {
        return Err(refuse(
            "the rule answers nothing: give `reply`, `filler_chunks`, `tool_calls` or `error`"
                .to_owned(),
        ));
    }
    if rule.reply.is_some() && rule.filler_chunks.is_some() {
        return Err(refuse(
            "give `reply` or `filler_chunks`, not both".to_owned(),
        ));
    }
    if let Some(call) = rule.tool_calls.iter().find(|call| call.name.is_empty()) {
        return Err(refuse(format!(
            "a tool call needs a non-empty `name` (arguments {})",
            call.arguments
        )));
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_json_lines_give_the_same_rules() {
        let lines = "{\"user_contains\": \"a\", \"reply\": \"x\"}\n\n{\"error\": {\"status\": 429, \"type\": \"rate_limit_reached_error\", \"message\": \"slow\"}}\n";
        let array = format!("[{}]", lines.trim().replace("\n\n", ","));
        let from_lines = ChatFixtures::parse(lines).expect("JSON Lines load");
        assert_eq!(from_lines.len(), 2);
        assert_eq!(
            from_lines,
            ChatFixtures::parse(&array).expect("a JSON array loads")
        );
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let text = "{\"reply\": \"ok\"}\n\n{\"reply\": \"ok\", \"colour\": 1}\n";
        let error = ChatFixtures::parse(text).expect_err("an unknown field");
        let message = error.to_string();
        assert!(message.starts_with("chat fixtures: line 3,"), "{message}");
        assert!(message.contains("unknown field `colour`"), "{message}");

        let error = ChatFixtures::parse("{\"user_contains\": \"x\"}").expect_err("no answer");
        assert!(
            error
                .to_string()
                .contains("rule 1 (line 1): the rule answers nothing"),
            "{error}"
        );
        let error = ChatFixtures::parse(
            r#"[{"reply": "a"}, {"error": {"status": 200, "type": "x", "message": "y"}}]"#,
        )
        .expect_err("a 200 error");
        assert!(
            error.to_string().contains("rule 2: `error.status` 200"),
            "{error}"
        );
        let error = ChatFixtures::parse(r#"[{"reply": "a", "fault": {"melt_after": 2}}]"#)
            .expect_err("an unknown fault");
        assert!(error.to_string().contains("melt_after"), "{error}");
    }
}
