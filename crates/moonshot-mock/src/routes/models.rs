//! `GET /v1/models`: the models of the API reference.

use axum::response::Response;
use serde_json::{Value, json};

use super::json_body;
use crate::models::{MODELS, Thinking};

/// `created` of every model: 2024-05-29T16:26:40Z, as the demo files.
const MODELS_CREATED: i64 = 1_717_000_000;

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
                "supports_reasoning": model.family.thinking != Thinking::Never,
            })
        })
        .collect();
    json_body(json!({"object": "list", "data": data}).to_string())
}
