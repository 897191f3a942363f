//! Building a chat request, and checking it against the documented limits before the wire.

use moonshot_api::types::{
    CreateChatCompletionRequest, CreateChatCompletionRequestModel,
    CreateChatCompletionRequestPrediction, CreateChatCompletionRequestPredictionContent,
    CreateChatCompletionRequestPredictionType, CreateChatCompletionRequestReasoningEffort,
    CreateChatCompletionRequestResponseFormat, CreateChatCompletionRequestResponseFormatJsonSchema,
    CreateChatCompletionRequestResponseFormatType, CreateChatCompletionRequestStop,
    CreateChatCompletionRequestThinking, CreateChatCompletionRequestThinkingKeep,
    CreateChatCompletionRequestThinkingType, KimiK3DynamicToolMessage,
    KimiK3DynamicToolMessageRole, KimiK3Message, MessageContent, ToolChoice, ToolChoiceMode,
    ToolChoiceObjectFunction, ToolChoiceObjectType,
};

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{Map, Value};

use super::families::{Thinking, behaviour};
use super::tools::Tool;
use crate::error::Error;
use crate::files::FileContent;
use crate::messages;

/// A chat model id: any string (`"kimi-k2.6"`, or one launched after this crate was built); the
/// documented ids are variants.
pub type ChatModel = CreateChatCompletionRequestModel;

/// How hard a thinking model thinks (`reasoning_effort`, Kimi K3): `low`, `high` or `max`
/// (the server's default), or any value a later model takes.
pub type ReasoningEffort = CreateChatCompletionRequestReasoningEffort;

/// The most stop words a request may give, and their longest length in bytes.
pub const MAX_STOP_WORDS: usize = 5;
const MAX_STOP_WORD_BYTES: usize = 32;

/// A chat request, built step by step; only what is set is sent.
///
/// ```
/// use moonshot::chat::{ChatRequest, Tool};
/// let request = ChatRequest::new("kimi-k2.6")
///     .system("Answer in one sentence.")
///     .user("What is the capital of France?")
///     .thinking(false)
///     .temperature(0.6);
/// assert!(request.check().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct ChatRequest {
    inner: CreateChatCompletionRequest,
    /// Body fields the typed request has no field for, sent beside its own.
    extra: Map<String, Value>,
}

/// The body's fields the typed request knows, by their names on the wire: read from the
/// generated type's schema, so a field upstream adds is known as soon as it is generated.
static TYPED_FIELDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let schema = schemars::schema_for!(CreateChatCompletionRequest);
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
});

/// The body as sent: the typed request's fields, then the extra ones.
#[derive(Serialize)]
pub(crate) struct WireBody<'a> {
    #[serde(flatten)]
    typed: &'a CreateChatCompletionRequest,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl ChatRequest {
    /// A request to `model` with no messages yet.
    pub fn new(model: impl Into<ChatModel>) -> Self {
        Self {
            inner: CreateChatCompletionRequest {
                model: model.into(),
                messages: Vec::new(),
                frequency_penalty: None,
                logprobs: None,
                max_completion_tokens: None,
                max_tokens: None,
                n: None,
                prediction: None,
                presence_penalty: None,
                prompt_cache_key: None,
                reasoning_effort: None,
                response_format: None,
                safety_identifier: None,
                stop: None,
                stream: None,
                stream_options: None,
                temperature: None,
                thinking: None,
                tool_choice: None,
                tools: Vec::new(),
                top_logprobs: None,
                top_p: None,
            },
            extra: Map::new(),
        }
    }

    /// Appends a message: a plain [`Message`](moonshot_api::types::Message) (see
    /// [`crate::messages`] for each role), or a dynamic tool message.
    #[must_use]
    pub fn message(mut self, message: impl Into<KimiK3Message>) -> Self {
        self.inner.messages.push(message.into());
        self
    }

    /// Appends messages.
    #[must_use]
    pub fn messages(
        mut self,
        messages: impl IntoIterator<Item = impl Into<KimiK3Message>>,
    ) -> Self {
        self.inner
            .messages
            .extend(messages.into_iter().map(Into::into));
        self
    }

    /// Appends a dynamic tool message (Kimi K3): the tools the model may call from this point
    /// of the conversation on, declared in a `system` message without content. Refused by
    /// [`check`](Self::check) for a model whose family does not take it.
    #[must_use]
    pub fn dynamic_tools(self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.message(KimiK3DynamicToolMessage {
            role: KimiK3DynamicToolMessageRole::System,
            tools: tools.into_iter().map(Tool::into_definition).collect(),
        })
    }

    /// Appends a `system` message.
    #[must_use]
    pub fn system(self, content: impl Into<String>) -> Self {
        self.message(messages::system(content))
    }

    /// Appends a `user` message.
    #[must_use]
    pub fn user(self, content: impl Into<String>) -> Self {
        self.message(messages::user(content))
    }

    /// Appends an `assistant` message: an earlier answer.
    #[must_use]
    pub fn assistant(self, content: impl Into<String>) -> Self {
        self.message(messages::assistant(content))
    }

    /// Appends a file's extracted content as a `system` message, exactly as served: how
    /// Moonshot's docs feed a file to a conversation.
    #[must_use]
    pub fn file_content(self, content: &FileContent) -> Self {
        self.system(content.as_str())
    }

    /// Partial mode: appends an `assistant` message that the reply continues (it must be the
    /// last message).
    #[must_use]
    pub fn partial(self, prefix: impl Into<String>) -> Self {
        self.message(messages::partial(prefix))
    }

    /// Declares a tool the model may call.
    #[must_use]
    pub fn tool(mut self, tool: Tool) -> Self {
        self.inner.tools.push(tool.into_definition());
        self
    }

    /// Declares tools the model may call.
    #[must_use]
    pub fn tools(self, tools: impl IntoIterator<Item = Tool>) -> Self {
        tools.into_iter().fold(self, Self::tool)
    }

    /// Lets the model decide whether to call a tool (`auto`), forbids it (`none`) or makes it
    /// call one (`required`).
    #[must_use]
    pub fn tool_choice(mut self, mode: ToolChoiceMode) -> Self {
        self.inner.tool_choice = Some(ToolChoice::from(mode));
        self
    }

    /// Makes the model call the function `name`.
    #[must_use]
    pub fn force_tool(mut self, name: impl Into<String>) -> Self {
        self.inner.tool_choice = Some(ToolChoice::Object {
            function: ToolChoiceObjectFunction { name: name.into() },
            type_: ToolChoiceObjectType::Function,
        });
        self
    }

    /// JSON mode: the answer is a JSON object (say so in the prompt too).
    #[must_use]
    pub fn json_mode(mut self) -> Self {
        self.inner.response_format = Some(CreateChatCompletionRequestResponseFormat {
            type_: Some(CreateChatCompletionRequestResponseFormatType::JsonObject),
            json_schema: None,
        });
        self
    }

    /// Structured output: the answer follows `schema`, a JSON Schema object, named `name`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `schema` is not a JSON object.
    pub fn json_schema(mut self, name: &str, schema: serde_json::Value) -> Result<Self, Error> {
        let serde_json::Value::Object(schema) = schema else {
            return Err(Error::InvalidInput {
                name: "schema",
                reason: "a JSON Schema is an object".to_owned(),
            });
        };
        self.inner.response_format = Some(CreateChatCompletionRequestResponseFormat {
            type_: Some(CreateChatCompletionRequestResponseFormatType::JsonSchema),
            json_schema: Some(CreateChatCompletionRequestResponseFormatJsonSchema {
                name: name.to_owned(),
                schema,
                strict: None,
            }),
        });
        Ok(self)
    }

    /// Structured output following the JSON Schema of the Rust type `T`.
    #[must_use]
    pub fn json_schema_of<T: schemars::JsonSchema>(self, name: &str) -> Self {
        let schema = super::tools::schema_of::<T>();
        self.json_schema(name, schema)
            .unwrap_or_else(|_| unreachable!("schemars gives objects"))
    }

    /// Turns thinking on or off, for the families that can (kimi-k2.6, kimi-k2.5); Kimi K3 and
    /// kimi-k2.7-code always think, so off is refused for them by [`check`](Self::check). Off is
    /// what built-in web search needs.
    #[must_use]
    pub fn thinking(mut self, enabled: bool) -> Self {
        let type_ = if enabled {
            CreateChatCompletionRequestThinkingType::Enabled
        } else {
            CreateChatCompletionRequestThinkingType::Disabled
        };
        let keep = self.inner.thinking.take().and_then(|t| t.keep);
        self.inner.thinking = Some(CreateChatCompletionRequestThinking { type_, keep });
        self
    }

    /// Preserved thinking (kimi-k2.6): thinking on, and the `reasoning_content` of earlier
    /// assistant messages kept as context (`thinking.keep = all`).
    #[must_use]
    pub fn keep_thinking(mut self) -> Self {
        self.inner.thinking = Some(CreateChatCompletionRequestThinking {
            type_: CreateChatCompletionRequestThinkingType::Enabled,
            keep: Some(CreateChatCompletionRequestThinkingKeep::All),
        });
        self
    }

    /// The sampling temperature (0 to 1; not every model family takes it).
    #[must_use]
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.inner.temperature = Some(temperature);
        self
    }

    /// Nucleus sampling (0 to 1; not every model family takes it).
    #[must_use]
    pub fn top_p(mut self, top_p: f32) -> Self {
        self.inner.top_p = Some(top_p);
        self
    }

    /// How hard the model thinks (Kimi K3: `low`, `high`, `max`). Refused by
    /// [`check`](Self::check) for a model whose family does not take it.
    #[must_use]
    pub fn reasoning_effort(mut self, effort: impl Into<ReasoningEffort>) -> Self {
        self.inner.reasoning_effort = Some(effort.into());
        self
    }

    /// The most tokens the answer may have (`max_completion_tokens`; the default varies by
    /// model).
    #[must_use]
    pub fn max_completion_tokens(mut self, tokens: u32) -> Self {
        self.inner.max_completion_tokens = Some(i64::from(tokens));
        self
    }

    /// The most tokens the answer may have, by the field Moonshot deprecates. Still sent when
    /// set, for servers that do not know `max_completion_tokens` yet.
    #[deprecated(note = "Moonshot deprecates `max_tokens`: use `max_completion_tokens`")]
    #[must_use]
    pub fn max_tokens(mut self, tokens: u32) -> Self {
        self.inner.max_tokens = Some(i64::from(tokens));
        self
    }

    /// Returns the log probability of each output token (`logprobs`), with the `top` most likely
    /// alternatives at each position when `top` is given (0 to 20).
    #[must_use]
    pub fn logprobs(mut self, top: Option<u8>) -> Self {
        self.inner.logprobs = Some(true);
        self.inner.top_logprobs = top.map(i64::from);
        self
    }

    /// Predicted output: text most of the answer is known to repeat (a file regenerated with
    /// small changes), which makes it faster.
    #[must_use]
    pub fn prediction(mut self, content: impl Into<String>) -> Self {
        self.inner.prediction = Some(CreateChatCompletionRequestPrediction {
            content: Some(CreateChatCompletionRequestPredictionContent::String(
                content.into(),
            )),
            type_: Some(CreateChatCompletionRequestPredictionType::Content),
        });
        self
    }

    /// A stable id of your end user (a hash of their account, not their name), which helps
    /// Moonshot tell which user breaks its usage policies.
    #[must_use]
    pub fn safety_identifier(mut self, id: impl Into<String>) -> Self {
        self.inner.safety_identifier = Some(id.into());
        self
    }

    /// Stop words: the answer ends before any of them (at most 5, each at most 32 bytes).
    #[must_use]
    pub fn stop(mut self, words: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let words: Vec<String> = words.into_iter().map(Into::into).collect();
        self.inner.stop = Some(CreateChatCompletionRequestStop::Array(words));
        self
    }

    /// A key that lets Moonshot reuse the cached context of one session.
    #[must_use]
    pub fn prompt_cache_key(mut self, key: impl Into<String>) -> Self {
        self.inner.prompt_cache_key = Some(key.into());
        self
    }

    /// A body field this crate does not know yet (one Moonshot added after it was built),
    /// sent as `value` beside the typed fields; set again, the last value wins.
    ///
    /// A field the typed request has (`temperature`, `thinking`, ...) is refused by
    /// [`check`](Self::check), so nothing is sent twice: set it by its method or through
    /// [`request_mut`](Self::request_mut).
    ///
    /// ```
    /// use moonshot::chat::ChatRequest;
    /// use serde_json::json;
    /// let request = ChatRequest::new("kimi-k3")
    ///     .user("Hi")
    ///     .extra_field("verbosity", json!("low"));
    /// assert!(request.check().is_ok());
    /// assert!(ChatRequest::new("kimi-k3").user("Hi").extra_field("top_p", json!(1)).check().is_err());
    /// ```
    #[must_use]
    pub fn extra_field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }

    /// The extra body fields set with [`extra_field`](Self::extra_field).
    pub fn extra_fields(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// The request as the API takes it, to set what the builder has no method for.
    pub fn request_mut(&mut self) -> &mut CreateChatCompletionRequest {
        &mut self.inner
    }

    /// The request as the API takes it (without the extra fields).
    pub fn as_request(&self) -> &CreateChatCompletionRequest {
        &self.inner
    }

    /// The request as the API takes it, by value (without the extra fields).
    pub fn into_request(self) -> CreateChatCompletionRequest {
        self.inner
    }

    /// Checks the request against the limits Moonshot documents; [`Chat`](super::Chat) does this
    /// before anything is sent.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty model, no messages, an empty `user` or `system`
    /// message, more than 5 stop words (or one over 32 bytes), a tool name outside the
    /// documented pattern, built-in web search with thinking on, thinking turned off for a
    /// family that always thinks, a dynamic tool message or `reasoning_effort` for a family
    /// that does not take them, or an extra field with no name or one the typed request has.
    pub fn check(&self) -> Result<(), Error> {
        let invalid =
            |name: &'static str, reason: String| Err(Error::InvalidInput { name, reason });
        let request = &self.inner;
        for name in self.extra.keys() {
            if name.trim().is_empty() {
                return invalid(
                    "extra_field",
                    "a name is empty: give the field's name on the wire".to_owned(),
                );
            }
            if TYPED_FIELDS.contains(name) {
                return invalid(
                    "extra_field",
                    format!(
                        "`{name}` is a field of the typed request: set it with                          `ChatRequest::{name}` where there is such a method, or through                          `request_mut().{name}`, not as an extra field"
                    ),
                );
            }
        }
        if request.model.as_str().trim().is_empty() {
            return invalid(
                "model",
                "it is empty: name a model such as `kimi-k2.6` (`Client::models` lists them)"
                    .to_owned(),
            );
        }
        if request.messages.is_empty() {
            return invalid("messages", "there are none: add at least one".to_owned());
        }
        for (n, message) in request.messages.iter().enumerate() {
            let KimiK3Message::Message(message) = message else {
                continue;
            };
            let role = message.role.as_str();
            let empty = match &message.content {
                MessageContent::String(text) => text.trim().is_empty(),
                MessageContent::Array(parts) => parts.is_empty(),
            };
            if empty && matches!(role, "user" | "system") {
                return invalid(
                    "messages",
                    format!(
                        "message {} (`{role}`) is empty: give it text, or leave it out",
                        n + 1
                    ),
                );
            }
        }
        if let Some(CreateChatCompletionRequestStop::Array(words)) = &request.stop {
            if words.len() > MAX_STOP_WORDS {
                return invalid(
                    "stop",
                    format!(
                        "{} stop words, over the limit of {MAX_STOP_WORDS}",
                        words.len()
                    ),
                );
            }
            if let Some(word) = words.iter().find(|w| w.len() > MAX_STOP_WORD_BYTES) {
                return invalid(
                    "stop",
                    format!("{word:?} is over {MAX_STOP_WORD_BYTES} bytes"),
                );
            }
        }
        let dynamic: Vec<&KimiK3DynamicToolMessage> = request
            .messages
            .iter()
            .filter_map(|m| match m {
                KimiK3Message::KimiK3DynamicToolMessage(d) => Some(d),
                KimiK3Message::Message(_) => None,
            })
            .collect();
        for tool in request
            .tools
            .iter()
            .chain(dynamic.iter().flat_map(|d| &d.tools))
        {
            super::tools::check_name(tool.function.name.as_str())?;
        }
        if let Some(family) = behaviour(request.model.as_str()) {
            if !family.dynamic_tools && !dynamic.is_empty() {
                return invalid(
                    "messages",
                    format!(
                        "dynamic tool messages are for Kimi K3, and `{}` is of the {} family: \
                         declare the tools with `.tools(..)` instead",
                        request.model, family.family
                    ),
                );
            }
            if !family.dynamic_tools && request.reasoning_effort.is_some() {
                return invalid(
                    "reasoning_effort",
                    format!(
                        "the {} family of `{}` does not take it (Kimi K3 does): drop it",
                        family.family, request.model
                    ),
                );
            }
            let off = request
                .thinking
                .as_ref()
                .is_some_and(|t| t.type_ == CreateChatCompletionRequestThinkingType::Disabled);
            if off && family.thinking == Thinking::Always {
                return invalid(
                    "thinking",
                    format!(
                        "`{}` always thinks ({} family): drop `.thinking(false)`",
                        request.model, family.family
                    ),
                );
            }
        }
        let web_search = request.tools.iter().any(Tool::is_web_search);
        if web_search && self.thinks() {
            return invalid(
                "thinking",
                format!(
                    "built-in $web_search works only with thinking off, and `{}` thinks: call \
                     `.thinking(false)`",
                    request.model
                ),
            );
        }
        Ok(())
    }

    /// Whether the model will think: thinking turned on, or left unset on a model that thinks by
    /// default.
    fn thinks(&self) -> bool {
        match &self.inner.thinking {
            Some(thinking) => thinking.type_ != CreateChatCompletionRequestThinkingType::Disabled,
            None => matches!(
                super::families::thinking_of(self.inner.model.as_str()),
                Some(Thinking::Always | Thinking::ByDefault)
            ),
        }
    }

    /// The most tokens the answer may have, as the request says (`max_completion_tokens`, else
    /// the deprecated `max_tokens`).
    pub(crate) fn answer_limit(&self) -> Option<u64> {
        self.inner
            .max_completion_tokens
            .or(self.inner.max_tokens)
            .and_then(|n| u64::try_from(n).ok())
    }

    /// The request to send, `stream` set as asked (Moonshot sends a stream's usage in its last
    /// chunk without being asked).
    pub(crate) fn into_body(mut self, stream: bool) -> Self {
        self.inner.stream = stream.then_some(true);
        self
    }

    /// The body as it goes on the wire, extra fields included.
    pub(crate) fn wire(&self) -> WireBody<'_> {
        WireBody {
            typed: &self.inner,
            extra: &self.extra,
        }
    }
}

impl From<CreateChatCompletionRequest> for ChatRequest {
    fn from(inner: CreateChatCompletionRequest) -> Self {
        Self {
            inner,
            extra: Map::new(),
        }
    }
}
