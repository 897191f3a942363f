//! Which answer a request gets: a scripted one, a web search call, an answer to tool results,
//! or the extractive answer.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::extract;
use super::fixtures::{ChatFixtures, Script, StreamFault};
use super::request::{ChatRequest, Tool, WEB_SEARCH};
use crate::error::ApiError;

/// The piece a filler answer repeats: one streamed content chunk.
pub(crate) const FILLER_PIECE: &str = "Kimi streams this answer. ";

/// What the assistant says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Content {
    Text(String),
    /// [`FILLER_PIECE`] this many times, generated while it is sent.
    Filler(u64),
}

/// A tool call the assistant makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToolCall {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
}

/// The assistant's answer to one request.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) content: Content,
    pub(crate) reasoning: Option<String>,
    pub(crate) tool_calls: Vec<ToolCall>,
    pub(crate) finish_reason: &'static str,
    /// A fault for this answer's stream, from its fixture.
    pub(crate) fault: Option<StreamFault>,
}

impl Content {
    /// The whole text, generated filler included.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Filler(pieces) => {
                FILLER_PIECE.repeat(usize::try_from(*pieces).unwrap_or(usize::MAX))
            }
        }
    }

    /// The length of the text in UTF-8 bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Text(text) => text.len() as u64,
            Self::Filler(pieces) => pieces * FILLER_PIECE.len() as u64,
        }
    }
}

/// The answer to `request`, or the error a fixture scripts for it.
pub(crate) fn reply(request: &ChatRequest, fixtures: &ChatFixtures) -> Result<Reply, ApiError> {
    if let Some(script) = fixtures.script_for(request) {
        // A scripted answer is sent as written, whatever the request asks.
        return scripted(request, &script);
    }
    let mut reply = if let Some(tool) = request.tool_to_call() {
        tool_call(request, tool)
    } else if request.last_role() == "tool" {
        answer_tool_results(request)
    } else {
        extractive(request)
    };
    if let (true, true, Content::Text(text)) = (
        request.json_output,
        reply.tool_calls.is_empty(),
        &mut reply.content,
    ) {
        *text = json!({ "answer": text }).to_string();
    }
    if let (Some(max), Content::Text(text)) = (request.max_tokens, &mut reply.content) {
        let max_bytes = usize::try_from(max.saturating_mul(4)).unwrap_or(usize::MAX);
        if text.len() > max_bytes {
            let mut end = max_bytes;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            reply.finish_reason = "length";
        }
    }
    Ok(reply)
}

fn plain(content: String, reasoning: String, request: &ChatRequest) -> Reply {
    Reply {
        content: Content::Text(content),
        reasoning: request.thinking.then_some(reasoning),
        tool_calls: Vec::new(),
        finish_reason: "stop",
        fault: None,
    }
}

fn scripted(request: &ChatRequest, script: &Script<'_>) -> Result<Reply, ApiError> {
    if let Some(error) = script.error {
        // Checked when the fixtures were loaded.
        let status =
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(ApiError::new(
            status,
            error.kind.clone(),
            error.message.clone(),
        ));
    }
    let first_id = request.tool_calls_so_far();
    let tool_calls: Vec<ToolCall> = script
        .tool_calls
        .iter()
        .enumerate()
        .map(|(i, call)| ToolCall {
            id: format!("{}:{}", call.name, first_id + i),
            kind: call.kind.clone(),
            name: call.name.clone(),
            arguments: match &call.arguments {
                Value::String(text) => text.clone(),
                value => value.to_string(),
            },
        })
        .collect();
    let content = match (script.reply, script.filler_chunks) {
        (_, Some(pieces)) => Content::Filler(pieces),
        (Some(text), None) => Content::Text(text.to_owned()),
        (None, None) => Content::Text(String::new()),
    };
    let reasoning = script.reasoning.map(str::to_owned).or_else(|| {
        request
            .thinking
            .then(|| format!("Fixture rule {} scripts this answer.", script.number))
    });
    Ok(Reply {
        content,
        reasoning,
        finish_reason: if tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        },
        tool_calls,
        fault: script.fault,
    })
}

/// A call of `tool` that answers the question: for the built-in web search, `{"query":
/// <question>}`; for a function, an object giving the question to each of its required string
/// parameters.
fn tool_call(request: &ChatRequest, tool: &Tool) -> Reply {
    let question = request.question();
    let arguments = if tool.name == WEB_SEARCH {
        json!({ "query": question })
    } else {
        let required = tool.parameters["required"].as_array();
        let fields = required
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|name| tool.parameters["properties"][name]["type"] == "string")
            .map(|name| (name.to_owned(), Value::String(question.clone())));
        Value::Object(fields.collect())
    };
    Reply {
        content: Content::Text(String::new()),
        reasoning: request
            .thinking
            .then(|| format!("`tool_choice` asks for a tool call; I call {}.", tool.name)),
        tool_calls: vec![ToolCall {
            id: format!("{}:{}", tool.name, request.tool_calls_so_far()),
            kind: tool.kind.clone(),
            name: tool.name.clone(),
            arguments: arguments.to_string(),
        }],
        finish_reason: "tool_calls",
        fault: None,
    }
}

fn answer_tool_results(request: &ChatRequest) -> Reply {
    let answers: Vec<String> = request
        .trailing_tool_results()
        .into_iter()
        .map(|(id, name, content)| {
            if name == WEB_SEARCH {
                let query = serde_json::from_str::<Value>(&content)
                    .ok()
                    .and_then(|arguments| arguments["query"].as_str().map(str::to_owned))
                    .unwrap_or(content);
                format!(
                    "I searched the web for \"{query}\" ({WEB_SEARCH}, tool call {id}); the \
                     local server is offline, so it found no pages to quote."
                )
            } else {
                format!("The tool {name} (tool call {id}) answered: {content}")
            }
        })
        .collect();
    plain(
        answers.join("\n"),
        "The last messages are tool results; I report what they say.".to_owned(),
        request,
    )
}

fn extractive(request: &ChatRequest) -> Reply {
    let documents = request.documents();
    let question = request.question();
    if documents.iter().all(|doc| doc.trim().is_empty()) {
        return plain(
            format!(
                "This is moonshot-mock, the local Moonshot server, answering offline without a \
                 model. You asked: {question}"
            ),
            "There is no system message to answer from, so I say what I am and repeat the \
             question."
                .to_owned(),
            request,
        );
    }
    let extract = extract::answer(&documents, &question);
    plain(extract.answer, extract.reasoning, request)
}
