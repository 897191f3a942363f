//! `GET /v1/models`: the models of the API reference.

use axum::response::Response;
use serde_json::{Value, json};

use super::json_body;

/// `created` of every model: 2024-05-29T16:26:40Z, as the demo files.
const MODELS_CREATED: i64 = 1_717_000_000;

/// One model the server lists.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Model {
    pub(crate) id: &'static str,
    context_length: u32,
    image_in: bool,
    video_in: bool,
    reasoning: bool,
}

const fn model(
    id: &'static str,
    context_length: u32,
    image_in: bool,
    video_in: bool,
    reasoning: bool,
) -> Model {
    Model {
        id,
        context_length,
        image_in,
        video_in,
        reasoning,
    }
}

/// The model ids of the reference (`CreateChatCompletionRequestModel`), with the context
/// lengths and abilities Moonshot's model pages give them.
pub(crate) const MODELS: [Model; 14] = [
    model("kimi-k2.6", 262_144, true, true, true),
    model("kimi-k2.5", 262_144, true, true, true),
    model("kimi-k2-0905-preview", 262_144, false, false, false),
    model("kimi-k2-0711-preview", 131_072, false, false, false),
    model("kimi-k2-turbo-preview", 262_144, false, false, false),
    model("kimi-k2-thinking", 262_144, false, false, true),
    model("kimi-k2-thinking-turbo", 262_144, false, false, true),
    model("moonshot-v1-8k", 8_192, false, false, false),
    model("moonshot-v1-32k", 32_768, false, false, false),
    model("moonshot-v1-128k", 131_072, false, false, false),
    model("moonshot-v1-auto", 131_072, false, false, false),
    model("moonshot-v1-8k-vision-preview", 8_192, true, false, false),
    model("moonshot-v1-32k-vision-preview", 32_768, true, false, false),
    model(
        "moonshot-v1-128k-vision-preview",
        131_072,
        true,
        false,
        false,
    ),
];

/// Whether `id` names a model the server lists.
pub(crate) fn is_known_model(id: &str) -> bool {
    MODELS.iter().any(|model| model.id == id)
}

pub(super) async fn list_models() -> Response {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|model| {
            json!({
                "id": model.id,
                "object": "model",
                "created": MODELS_CREATED,
                "owned_by": "moonshot",
                "context_length": model.context_length,
                "supports_image_in": model.image_in,
                "supports_video_in": model.video_in,
                "supports_reasoning": model.reasoning,
            })
        })
        .collect();
    json_body(json!({"object": "list", "data": data}).to_string())
}
