//! Tools the model may call: functions with a JSON Schema, Moonshot's built-in web search, and
//! the handlers that answer them in a tool loop.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use moonshot_api::types::{
    ToolCall, ToolDefinition, ToolDefinitionFunction, ToolDefinitionFunctionName,
    ToolDefinitionType,
};
use serde_json::Value;

use crate::error::{BoxError, Error};

/// The name of Moonshot's built-in web search.
pub const WEB_SEARCH: &str = "$web_search";

/// A tool the model may call.
///
/// ```
/// use moonshot::chat::Tool;
/// let weather = Tool::function(
///     "get_weather",
///     "The weather in a city now",
///     serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
/// )?;
/// assert_eq!(weather.name(), "get_weather");
/// # Ok::<(), moonshot::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Tool {
    definition: ToolDefinition,
}

impl Tool {
    /// A function named `name` (letters, digits, `_` and `-`, 1 to 256 characters, not starting
    /// with a digit or `-`, as the document's pattern says), whose arguments follow the JSON
    /// Schema `parameters` (Moonshot's MFJS dialect).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name outside the documented pattern, or parameters that
    /// are not a JSON object.
    pub fn function(name: &str, description: &str, parameters: Value) -> Result<Self, Error> {
        check_name(name)?;
        if name.starts_with('$') {
            return Err(Error::InvalidInput {
                name: "tool name",
                reason: format!("`{name}`: names starting with `$` are Moonshot's built-in tools"),
            });
        }
        let Value::Object(parameters) = parameters else {
            return Err(Error::InvalidInput {
                name: "parameters",
                reason: format!("the parameters of `{name}` must be a JSON Schema object"),
            });
        };
        Ok(Self {
            definition: ToolDefinition {
                type_: ToolDefinitionType::Function,
                function: ToolDefinitionFunction {
                    name: to_name(name)?,
                    description: Some(description.to_owned()),
                    parameters,
                    strict: None,
                },
            },
        })
    }

    /// A function whose arguments are the Rust type `T`, its JSON Schema derived by schemars.
    ///
    /// # Errors
    /// As [`Tool::function`].
    pub fn of_type<T: schemars::JsonSchema>(name: &str, description: &str) -> Result<Self, Error> {
        Self::function(name, description, schema_of::<T>())
    }

    /// Moonshot's built-in web search: when the model calls it, its arguments go back verbatim
    /// as the tool's result and Moonshot searches. Needs thinking off.
    pub fn web_search() -> Self {
        Self {
            definition: ToolDefinition {
                type_: ToolDefinitionType::BuiltinFunction,
                function: ToolDefinitionFunction {
                    name: ToolDefinitionFunctionName::try_from(WEB_SEARCH)
                        .unwrap_or_else(|_| unreachable!("the built-in name fits the pattern")),
                    description: None,
                    parameters: serde_json::Map::new(),
                    strict: None,
                },
            },
        }
    }

    /// Whether the model's arguments must follow `parameters` strictly (`strict`; the server's
    /// default is true): false only guarantees they are a JSON object.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.definition.function.strict = Some(strict);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        self.definition.function.name.as_str()
    }

    /// The tool as the API takes it.
    pub fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    pub(crate) fn into_definition(self) -> ToolDefinition {
        self.definition
    }

    pub(crate) fn is_web_search(definition: &ToolDefinition) -> bool {
        definition.function.name.as_str() == WEB_SEARCH
    }
}

/// Checks a tool name against the documented pattern.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    to_name(name).map(drop)
}

fn to_name(name: &str) -> Result<ToolDefinitionFunctionName, Error> {
    ToolDefinitionFunctionName::try_from(name).map_err(|_| Error::InvalidInput {
        name: "tool name",
        reason: format!(
            "`{name}` is outside the documented pattern ^[a-zA-Z_][a-zA-Z0-9-_]{{0,255}}$: use \
             1 to 256 letters, digits, `_` or `-`, not starting with a digit or `-`"
        ),
    })
}

/// The JSON Schema of `T`, as a tool's parameters or a structured output want it.
pub(crate) fn schema_of<T: schemars::JsonSchema>() -> Value {
    let mut schema = schemars::schema_for!(T).to_value();
    if let Value::Object(map) = &mut schema {
        map.remove("$schema");
        map.remove("title");
    }
    schema
}

/// A tool call's arguments, parsed from the JSON text the model wrote.
///
/// # Errors
/// [`Error::ToolCall`] naming the call when the arguments are not valid JSON.
pub fn arguments(call: &ToolCall) -> Result<Value, Error> {
    let text = call
        .function
        .as_ref()
        .and_then(|f| f.arguments.as_deref())
        .unwrap_or("{}");
    serde_json::from_str(if text.trim().is_empty() { "{}" } else { text }).map_err(|e| {
        tool_call_error(
            call,
            format!("its arguments are not valid JSON ({e}): {text:?}"),
            None,
        )
    })
}

/// The error of a tool call, naming it.
pub(crate) fn tool_call_error(call: &ToolCall, reason: String, source: Option<BoxError>) -> Error {
    Error::ToolCall {
        tool: call
            .function
            .as_ref()
            .and_then(|f| f.name.clone())
            .unwrap_or_default(),
        call_id: call.id.clone().unwrap_or_default(),
        reason,
        source,
    }
}

type Handler = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<String, BoxError>> + Send + Sync>;

/// The tools of a tool loop and the Rust functions that answer them; see
/// [`Chat::run_tools`](super::Chat::run_tools).
///
/// ```
/// use moonshot::chat::{Tool, Toolbox};
/// let toolbox = Toolbox::new()
///     .function(
///         Tool::function("add", "Adds two numbers", serde_json::json!({"type": "object"}))?,
///         |args| async move {
///             let sum = args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0);
///             Ok::<_, std::convert::Infallible>(sum.to_string())
///         },
///     )
///     .web_search();
/// assert_eq!(toolbox.tools().count(), 2);
/// # Ok::<(), moonshot::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Toolbox {
    tools: Vec<Tool>,
    handlers: BTreeMap<String, Handler>,
}

impl std::fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Toolbox")
            .field(
                "tools",
                &self.tools.iter().map(Tool::name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Toolbox {
    /// No tools yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a function and the handler that answers its calls: it gets the parsed arguments
    /// and returns the text sent back as the tool's result.
    #[must_use]
    pub fn function<F, Fut, E>(mut self, tool: Tool, handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let handler: Handler = Arc::new(move |arguments| {
            let future = handler(arguments);
            Box::pin(async move { future.await.map_err(Into::into) })
        });
        self.handlers.insert(tool.name().to_owned(), handler);
        self.tools.push(tool);
        self
    }

    /// Adds Moonshot's built-in web search; its calls need no handler.
    #[must_use]
    pub fn web_search(mut self) -> Self {
        self.tools.push(Tool::web_search());
        self
    }

    /// The tools, as declared to the model.
    pub fn tools(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter()
    }

    /// Answers one tool call: a built-in's arguments verbatim, a function's handler's text.
    pub(crate) async fn answer(&self, call: &ToolCall) -> Result<String, Error> {
        let function = call.function.as_ref();
        let name = function.and_then(|f| f.name.as_deref()).unwrap_or_default();
        if name.starts_with('$') {
            // Built-in: Moonshot runs it when it gets its own arguments back.
            return Ok(function
                .and_then(|f| f.arguments.clone())
                .unwrap_or_default());
        }
        let Some(handler) = self.handlers.get(name) else {
            return Err(tool_call_error(
                call,
                "the model called a function the toolbox does not have".to_owned(),
                None,
            ));
        };
        let arguments = arguments(call)?;
        handler(arguments)
            .await
            .map_err(|e| tool_call_error(call, "its handler failed".to_owned(), Some(e)))
    }
}
