//! A chat completion request, checked as Moonshot checks it, and what the responders read of it.

use serde_json::Value;

use crate::error::ApiError;
use crate::models::{Thinking, family_of};
use crate::tokens::{estimate, is_dynamic_tool_message};

/// The name of Moonshot's built-in web search tool.
pub(crate) const WEB_SEARCH: &str = "$web_search";

/// The longest function name: `^[a-zA-Z_][a-zA-Z0-9-_]{0,255}$`.
const MAX_TOOL_NAME: usize = 256;
/// The reasoning efforts Kimi K3 takes.
const REASONING_EFFORTS: [&str; 3] = ["low", "high", "max"];
/// The most stop words a request may give.
const MAX_STOP_WORDS: usize = 5;

/// A tool the request declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tool {
    /// `function` or `builtin_function`.
    pub(crate) kind: String,
    pub(crate) name: String,
    /// `function.parameters`, a JSON Schema (`Null` when absent).
    pub(crate) parameters: Value,
}

/// What `tool_choice` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToolChoice {
    /// The model decides (the default).
    Auto,
    /// The model must not call tools.
    None,
    /// The model must call a tool.
    Required,
    /// The model must call this function.
    Function(String),
}

/// A request the server can answer.
#[derive(Debug, Clone)]
pub(crate) struct ChatRequest {
    pub(crate) model: String,
    pub(crate) messages: Vec<Value>,
    /// The tools the model may call: those of `tools`, then those of the dynamic tool messages
    /// before the last user message.
    pub(crate) tools: Vec<Tool>,
    pub(crate) tool_choice: ToolChoice,
    /// Whether the model thinks before answering (and so sends `reasoning_content`).
    pub(crate) thinking: bool,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
    /// `response_format` asks for JSON (`json_object` or `json_schema`).
    pub(crate) json_output: bool,
    /// `max_completion_tokens` (or the deprecated `max_tokens`).
    pub(crate) max_tokens: Option<u64>,
    /// The prompt's tokens, as the token estimate counts them.
    pub(crate) prompt_tokens: u64,
}

impl ChatRequest {
    /// Checks a request body (already JSON) and takes what the responders need.
    pub(crate) fn parse(body: &Value) -> Result<Self, ApiError> {
        if !body.is_object() {
            return Err(ApiError::invalid_request(
                "the request body must be a JSON object with `model` and `messages`",
            ));
        }
        // The token estimate checks the model, the roles and the contents, as for its own route.
        let prompt_tokens = estimate(body)?;
        let model = body["model"].as_str().unwrap_or_default().to_owned();
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        for (i, message) in messages.iter().enumerate() {
            let has_call_id = message
                .get("tool_call_id")
                .and_then(Value::as_str)
                .is_some_and(|id| !id.is_empty());
            if message["role"] == "tool" && !has_call_id {
                return Err(ApiError::invalid_request(format!(
                    "messages[{i}]: a tool message needs `tool_call_id`, the id of the tool call \
                     it answers"
                )));
            }
        }
        let mut tools = tools(body.get("tools"), "tools")?;
        tools.extend(dynamic_tools(&messages)?);
        let tool_choice = tool_choice(body.get("tool_choice"), &tools)?;
        let thinking = thinks(&model, body.get("thinking"))?;
        reasoning_effort(&model, body.get("reasoning_effort"))?;
        if thinking && tools.iter().any(|tool| tool.name == WEB_SEARCH) {
            return Err(ApiError::invalid_request(format!(
                "the builtin {WEB_SEARCH} tool cannot be used while {model} is thinking: send \
                 \"thinking\": {{\"type\": \"disabled\"}} (kimi-k2.6, kimi-k2.5) or use a model \
                 that does not think"
            )));
        }
        let stream = optional_bool(body, "stream")?;
        let include_usage = body
            .get("stream_options")
            .and_then(|options| options.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        stop_words(body.get("stop"))?;
        let max_tokens = max_tokens(body)?;
        let json_output = json_output(body.get("response_format"))?;
        Ok(Self {
            model,
            messages,
            tools,
            tool_choice,
            thinking,
            stream,
            include_usage,
            json_output,
            max_tokens,
            prompt_tokens,
        })
    }

    /// The role of the last message.
    pub(crate) fn last_role(&self) -> &str {
        self.messages
            .last()
            .and_then(|message| message["role"].as_str())
            .unwrap_or_default()
    }

    /// The text of the last user message: the question being answered.
    pub(crate) fn question(&self) -> String {
        self.messages
            .iter()
            .rev()
            .find(|message| message["role"] == "user")
            .map(|message| text_of(&message["content"]))
            .unwrap_or_default()
    }

    /// The texts of the system messages, in order; a text that is the JSON object the files
    /// content endpoint serves counts as its `content` field.
    pub(crate) fn documents(&self) -> Vec<String> {
        self.messages
            .iter()
            .filter(|message| message["role"] == "system" && !is_dynamic_tool_message(message))
            .map(|message| {
                let text = text_of(&message["content"]);
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(file)) => match file.get("content") {
                        Some(Value::String(content)) => content.clone(),
                        _ => text,
                    },
                    _ => text,
                }
            })
            .collect()
    }

    /// The tool the model calls to answer the last message, if any: none unless it is a user
    /// message; the function `tool_choice` names; with `"required"`, the first declared
    /// function whose name's longest word the question holds (or the built-in web search, or
    /// the first declared tool); by
    /// default, the built-in web search when declared.
    pub(crate) fn tool_to_call(&self) -> Option<&Tool> {
        if self.last_role() != "user" {
            return None;
        }
        let web_search = || {
            self.tools
                .iter()
                .find(|tool| tool.kind == "builtin_function" && tool.name == WEB_SEARCH)
        };
        match &self.tool_choice {
            ToolChoice::None => None,
            ToolChoice::Auto => web_search(),
            ToolChoice::Function(name) => self.tools.iter().find(|tool| &tool.name == name),
            ToolChoice::Required => {
                let question = self.question().to_lowercase();
                self.tools
                    .iter()
                    .find(|tool| {
                        let longest_word = tool
                            .name
                            .split(['_', '-'])
                            .max_by_key(|word| word.len())
                            .unwrap_or_default();
                        tool.kind == "function" && question.contains(&longest_word.to_lowercase())
                    })
                    .or_else(web_search)
                    .or_else(|| self.tools.first())
            }
        }
    }

    /// How many tool calls the conversation holds so far, so new call ids do not repeat them.
    pub(crate) fn tool_calls_so_far(&self) -> usize {
        self.messages
            .iter()
            .filter_map(|message| message.get("tool_calls").and_then(Value::as_array))
            .map(Vec::len)
            .sum()
    }

    /// The tool results at the end of the conversation: (tool call id, function name, content).
    pub(crate) fn trailing_tool_results(&self) -> Vec<(String, String, String)> {
        let trailing = self
            .messages
            .iter()
            .rev()
            .take_while(|message| message["role"] == "tool")
            .count();
        self.messages[self.messages.len() - trailing..]
            .iter()
            .map(|message| {
                let id = message["tool_call_id"].as_str().unwrap_or_default();
                let name = message["name"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| self.function_named_by(id));
                (id.to_owned(), name, text_of(&message["content"]))
            })
            .collect()
    }

    /// The function name of the earlier tool call `id`, or `""` if none has that id.
    fn function_named_by(&self, id: &str) -> String {
        self.messages
            .iter()
            .filter_map(|message| message.get("tool_calls").and_then(Value::as_array))
            .flatten()
            .find(|call| call["id"] == id)
            .and_then(|call| call["function"]["name"].as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

/// A message content as text: the string, or its text parts joined by newlines.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn optional_bool(body: &Value, field: &str) -> Result<bool, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(on)) => Ok(*on),
        Some(other) => Err(ApiError::invalid_request(format!(
            "`{field}` must be true or false, got {other}"
        ))),
    }
}

/// The tools of a `tools` list, `field` naming it in errors.
fn tools(tools: Option<&Value>, field: &str) -> Result<Vec<Tool>, ApiError> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(tools)) => tools,
        Some(_) => {
            return Err(ApiError::invalid_request(format!(
                "`{field}` must be a list of tools"
            )));
        }
    };
    tools
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            let kind = tool["type"].as_str().unwrap_or_default();
            if kind != "function" && kind != "builtin_function" {
                return Err(ApiError::invalid_request(format!(
                    "{field}[{i}]: `type` must be function or builtin_function"
                )));
            }
            let name = tool["function"]["name"]
                .as_str()
                .filter(|name| !name.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid_request(format!("{field}[{i}]: `function.name` is required"))
                })?;
            if kind == "function" && !is_function_name(name) {
                return Err(ApiError::invalid_request(format!(
                    "{field}[{i}]: function name {name:?} must start with a letter or `_` and \
                     hold only letters, digits, `-` and `_`, at most {MAX_TOOL_NAME} in all"
                )));
            }
            Ok(Tool {
                kind: kind.to_owned(),
                name: name.to_owned(),
                parameters: tool["function"]["parameters"].clone(),
            })
        })
        .collect()
}

/// Whether `name` matches `^[a-zA-Z_][a-zA-Z0-9-_]{0,255}$`.
fn is_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= MAX_TOOL_NAME
}

/// The tools declared by the dynamic tool messages before the last user message: the ones the
/// model may call when it answers it. (The token estimate has refused them for a model that
/// does not take them.)
fn dynamic_tools(messages: &[Value]) -> Result<Vec<Tool>, ApiError> {
    let last_user = messages
        .iter()
        .rposition(|message| message["role"] == "user")
        .unwrap_or(0);
    let mut declared = Vec::new();
    for (i, message) in messages[..last_user].iter().enumerate() {
        if is_dynamic_tool_message(message) {
            declared.extend(tools(
                message.get("tools"),
                &format!("messages[{i}].tools"),
            )?);
        }
    }
    Ok(declared)
}

/// What `tool_choice` asks; refuses a choice the request cannot honour.
fn tool_choice(choice: Option<&Value>, tools: &[Tool]) -> Result<ToolChoice, ApiError> {
    let choice = match choice {
        None | Some(Value::Null) => return Ok(ToolChoice::Auto),
        Some(Value::String(mode)) if mode == "none" => return Ok(ToolChoice::None),
        Some(Value::String(mode)) if mode == "auto" => return Ok(ToolChoice::Auto),
        Some(Value::String(mode)) if mode == "required" => ToolChoice::Required,
        Some(choice) => {
            let name = choice["function"]["name"].as_str().unwrap_or_default();
            if choice["type"] != "function" || name.is_empty() {
                return Err(ApiError::invalid_request(format!(
                    "`tool_choice` must be \"auto\", \"none\", \"required\" or {{\"type\": \
                     \"function\", \"function\": {{\"name\": ...}}}}, got {choice}"
                )));
            }
            if !tools.iter().any(|tool| tool.name == name) {
                return Err(ApiError::invalid_request(format!(
                    "`tool_choice` names {name}, which neither `tools` nor a dynamic tool \
                     message declares"
                )));
            }
            ToolChoice::Function(name.to_owned())
        }
    };
    if tools.is_empty() {
        return Err(ApiError::invalid_request(
            "`tool_choice` \"required\" needs a tool to call: declare one in `tools`",
        ));
    }
    Ok(choice)
}

/// Whether `model` thinks, given the request's `thinking`; refuses turning off the thinking of
/// a model that always thinks, as Moonshot does.
fn thinks(model: &str, thinking: Option<&Value>) -> Result<bool, ApiError> {
    let disabled = match thinking {
        None | Some(Value::Null) => false,
        Some(thinking) => match thinking["type"].as_str() {
            Some("enabled") => false,
            Some("disabled") => true,
            _ => {
                return Err(ApiError::invalid_request(format!(
                    "`thinking` must be {{\"type\": \"enabled\"}} or {{\"type\": \"disabled\"}}, \
                     got {thinking}"
                )));
            }
        },
    };
    // The token estimate has refused a model the server does not know.
    let Some(family) = family_of(model) else {
        return Ok(false);
    };
    match family.thinking {
        Thinking::Always if disabled => Err(ApiError::invalid_request(format!(
            "{model} always thinks: `thinking` {{\"type\": \"disabled\"}} is not supported; \
             leave `thinking` out, or use a model whose thinking can be turned off (kimi-k2.6, \
             kimi-k2.5)"
        ))),
        Thinking::Always => Ok(true),
        Thinking::ByDefault => Ok(!disabled),
        Thinking::Never => Ok(false),
    }
}

/// Refuses a `reasoning_effort` Kimi K3 does not take.
fn reasoning_effort(model: &str, effort: Option<&Value>) -> Result<(), ApiError> {
    match effort {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(effort)) if REASONING_EFFORTS.contains(&effort.as_str()) => Ok(()),
        Some(other) => Err(ApiError::invalid_request(format!(
            "`reasoning_effort` must be low, high or max (the default for {model}), got {other}"
        ))),
    }
}

fn stop_words(stop: Option<&Value>) -> Result<(), ApiError> {
    match stop {
        Some(Value::Array(words)) if words.len() > MAX_STOP_WORDS => {
            Err(ApiError::invalid_request(format!(
                "`stop` holds {} words; at most {MAX_STOP_WORDS} are allowed",
                words.len()
            )))
        }
        _ => Ok(()),
    }
}

/// Whether `response_format` asks for JSON; refuses a format Moonshot does not know.
fn json_output(format: Option<&Value>) -> Result<bool, ApiError> {
    match format {
        None | Some(Value::Null) => Ok(false),
        Some(format) => match format["type"].as_str() {
            Some("text") => Ok(false),
            Some("json_object") => Ok(true),
            Some("json_schema") if format["json_schema"]["schema"].is_object() => Ok(true),
            Some("json_schema") => Err(ApiError::invalid_request(
                "`response_format.json_schema.schema` is required with type json_schema",
            )),
            _ => Err(ApiError::invalid_request(format!(
                "`response_format.type` must be text, json_object or json_schema, got {format}"
            ))),
        },
    }
}

fn max_tokens(body: &Value) -> Result<Option<u64>, ApiError> {
    for field in ["max_completion_tokens", "max_tokens"] {
        match body.get(field) {
            None | Some(Value::Null) => {}
            Some(value) => {
                return match value.as_u64().filter(|&n| n > 0) {
                    Some(n) => Ok(Some(n)),
                    None => Err(ApiError::invalid_request(format!(
                        "`{field}` must be a positive integer, got {value}"
                    ))),
                };
            }
        }
    }
    Ok(None)
}
