//! `GET /v1/models`: the models of the reference with plausible limits and abilities.

mod common;

use common::{get, json};
use moonshot_mock::MockServer;
use serde_json::Value;

#[tokio::test]
async fn every_model_has_a_context_length_and_abilities_that_fit_its_name() {
    let server = MockServer::start().await.expect("server starts");
    let list = json(get(&server, "/v1/models", None).await).await;
    assert_eq!(list["object"], "list");
    let models = list["data"].as_array().expect("a list");
    let ids: Vec<&str> = models.iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(models.len(), 12, "{ids:?}");
    // Retired models are answered but not listed.
    assert!(
        ids.contains(&"kimi-k3") && ids.contains(&"kimi-k2.7-code"),
        "{ids:?}"
    );
    assert!(!ids.iter().any(|id| id.starts_with("kimi-k2-")), "{ids:?}");
    let flag = |model: &Value, name: &str| model[name].as_bool().expect("a boolean");
    for model in models {
        let id = model["id"].as_str().expect("an id");
        assert_eq!(model["object"], "model", "{id}");
        assert_eq!(model["owned_by"], "moonshot", "{id}");
        assert!(model["created"].as_i64().is_some_and(|t| t > 0), "{id}");
        let context = model["context_length"].as_u64().expect("a length");
        for (suffix, length) in [("-8k", 8_192), ("-32k", 32_768), ("-128k", 131_072)] {
            if id.contains(suffix) {
                assert_eq!(context, length, "{id}");
            }
        }
        assert!(context >= 8_192, "{id}");
        assert_eq!(
            flag(model, "supports_reasoning"),
            id.starts_with("kimi-k3") || id.starts_with("kimi-k2."),
            "{id}"
        );
        if id.contains("vision") {
            assert!(flag(model, "supports_image_in"), "{id}");
        }
        if id.starts_with("moonshot-v1") {
            assert!(!flag(model, "supports_video_in"), "{id}");
        }
    }
}
