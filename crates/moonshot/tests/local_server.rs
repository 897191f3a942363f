//! The client against the local Moonshot server of `moonshot-mock`, end to end on 127.0.0.1:
//! the file Q&A workflow streamed, a tool loop with a Rust handler, and built-in web search.

use futures::StreamExt as _;
use moonshot::chat::{ChatRequest, Tool, Toolbox};
use moonshot_mock::{ChatFixtures, MockServer};
use serde_json::{Value, json};

const KEY: &str = "sk-local-server-test";

fn client(server: &MockServer) -> moonshot::Client {
    moonshot::Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_question_about_an_uploaded_file_streams_an_answer_from_it() {
    let server = MockServer::builder()
        .api_key(KEY)
        .start()
        .await
        .expect("server");
    let client = client(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lighthouse.txt");
    std::fs::write(
        &path,
        "The lighthouse was built in 1874. Its lamp burns paraffin. \
         Keepers climbed 217 steps every evening.",
    )
    .expect("write");

    let (file, content) = client
        .files()
        .upload_and_extract(&path)
        .await
        .expect("extracted");
    let request = ChatRequest::new("kimi-k2.6")
        .file_content(&content)
        .user("How many steps did the keepers climb?");
    let mut stream = client.chat().stream(request).await.expect("streams");
    let mut pieces = 0;
    while let Some(chunk) = stream.next().await {
        chunk.expect("a chunk");
        pieces += 1;
    }

    let answer = stream.answer();
    assert!(pieces > 2, "the answer came in pieces");
    assert!(
        answer.content().contains("217 steps"),
        "{}",
        answer.content()
    );
    assert!(answer.reasoning().is_some(), "kimi-k2.6 thinks by default");
    assert!(
        answer
            .usage()
            .and_then(|u| u.total_tokens)
            .is_some_and(|t| t > 0)
    );
    client.files().delete(&file.id).await.expect("deleted");
}

#[tokio::test]
async fn a_tool_call_round_trips_through_a_rust_handler() {
    let fixtures = ChatFixtures::parse(
        r#"{"user_contains": "weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
{"user_contains": "weather", "after_tool": true, "reply": "It is sunny in Paris."}"#,
    )
    .expect("fixtures");
    let server = MockServer::builder()
        .api_key(KEY)
        .chat_fixtures(fixtures)
        .start()
        .await
        .expect("server");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let record = std::sync::Arc::clone(&seen);
    let toolbox = Toolbox::new().function(
        Tool::function(
            "get_weather",
            "The weather in a city now",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )
        .expect("tool"),
        move |args| {
            record.lock().expect("lock").push(args.clone());
            async move { Ok::<_, std::convert::Infallible>(format!("sunny in {}", args["city"])) }
        },
    );

    let run = client(&server)
        .chat()
        .run_tools(
            ChatRequest::new("moonshot-v1-8k").user("What is the weather in Paris?"),
            &toolbox,
            3,
        )
        .await
        .expect("answered");

    assert_eq!(run.answer.content(), "It is sunny in Paris.");
    assert_eq!(run.rounds, 2);
    assert_eq!(*seen.lock().expect("lock"), [json!({"city": "Paris"})]);
    let roles: Vec<&str> = run
        .messages
        .iter()
        .map(moonshot::messages::role_of)
        .collect();
    assert_eq!(roles, ["user", "assistant", "tool"]);
}

#[tokio::test]
async fn built_in_web_search_is_answered_by_the_loop_itself() {
    let server = MockServer::builder()
        .api_key(KEY)
        .start()
        .await
        .expect("server");

    let run = client(&server)
        .chat()
        .run_tools(
            ChatRequest::new("kimi-k2.6")
                .thinking(false)
                .user("What is Moonshot AI?"),
            &Toolbox::new().web_search(),
            3,
        )
        .await
        .expect("answered");

    assert_eq!(run.rounds, 2);
    let echoed = run.messages.last().expect("the tool's result");
    assert_eq!(moonshot::messages::role_of(echoed), "tool");
    assert!(
        run.answer.content().contains("What is Moonshot AI?"),
        "{}",
        run.answer.content()
    );
}

#[test]
fn the_local_server_sends_the_request_id_under_the_name_the_client_reads() {
    assert_eq!(
        moonshot_mock::REQUEST_ID_HEADER,
        moonshot_api::hooks::REQUEST_ID_HEADER.as_str()
    );
}
