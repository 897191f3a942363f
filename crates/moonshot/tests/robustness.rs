//! No response, however malformed, makes the client panic.

mod support;

use proptest::prelude::*;
use support::{Reply, ScriptedServer, client_with};

fn any_reply() -> impl Strategy<Value = Reply> {
    let content_type = prop_oneof![
        Just("application/json"),
        Just("text/plain"),
        Just("text/html"),
        Just("application/octet-stream")
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        // Near-misses of the real shapes are more interesting than noise.
        "\\{\"(id|error|content|purpose|bytes)\": ?(\"[a-z]*\"|-?[0-9]{1,25}|null|\\{\\}|\\[\\]|true)\\}".prop_map(String::into_bytes),
        "\\{\"error\": \\{\"message\": (\"[ -~]{0,40}\"|7|null), \"type\": (\"[a-z_]*\"|1)\\}\\}".prop_map(String::into_bytes),
    ];
    let full = (200u16..600, content_type, body)
        .prop_map(|(status, content_type, body)| Reply::text(status, content_type, body));
    let truncated =
        (1usize..4096, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(extra, body)| {
            Reply::Truncated {
                declared: body.len() + extra,
                body,
            }
        });
    prop_oneof![8 => full, 1 => truncated]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_response_gives_a_result_never_a_panic(reply in any_reply()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let server = ScriptedServer::start(vec![reply]).await;
            let client = client_with(&server.base_url(), moonshot::RetryPolicy::none());
            let retrieved = client.files().retrieve("f").await;
            let content = client.files().content("f").await;
            let streamed = client.files().content_to_writer("f", &mut Vec::new()).await;
            // Whatever came back, success or error, it renders.
            let _ = format!("{retrieved:?} {content:?} {streamed:?}");
            if let Err(e) = &retrieved {
                prop_assert!(!e.to_string().is_empty());
            }
            Ok(())
        })?;
    }
}
