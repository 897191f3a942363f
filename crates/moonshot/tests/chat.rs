//! Chat completions on a scripted server on 127.0.0.1: whole and streamed answers, every way a
//! stream breaks, retries before the first chunk only, checks before the wire, and tool loops.

mod support;

use std::time::Duration;

use futures::StreamExt as _;
use moonshot::Error;
use moonshot::chat::{ChatRequest, Tool, Toolbox, arguments};
use moonshot::messages::user_parts;
use serde_json::{Value, json};
use support::{Reply, ScriptedServer, client, moonshot_error};

fn completion(message: Value, finish_reason: &str) -> Reply {
    Reply::json(
        200,
        &json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "kimi-k2.6",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
        }),
    )
}

fn answer(text: &str) -> Reply {
    completion(json!({"role": "assistant", "content": text}), "stop")
}

fn chunk(delta: Value) -> String {
    json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "kimi-k2.6",
           "choices": [{"index": 0, "delta": delta, "finish_reason": null}]})
    .to_string()
}

fn last_chunk(finish_reason: &str) -> String {
    json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "kimi-k2.6",
           "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason,
                        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}]})
    .to_string()
}

fn body(server: &ScriptedServer, n: usize) -> Value {
    serde_json::from_slice(&server.bodies()[n]).expect("a JSON request body")
}

#[tokio::test]
async fn a_whole_answer_sends_only_what_was_set() {
    let server = ScriptedServer::start(vec![completion(
        json!({"role": "assistant", "content": "Paris.", "reasoning_content": "Easy."}),
        "stop",
    )])
    .await;
    let request = ChatRequest::new("kimi-k2.6")
        .system("Be brief.")
        .user("Capital of France?")
        .thinking(true);
    let chat = client(&server.base_url());

    // Read as a stream underneath (a server answering JSON is taken at its word); then as a
    // request without `stream`.
    let streamed = chat.chat().create(request.clone()).await.expect("answers");
    let unstreamed = chat
        .chat()
        .create_unstreamed(request)
        .await
        .expect("answers");

    for answer in [&streamed, &unstreamed] {
        assert_eq!(answer.content(), "Paris.");
        assert_eq!(answer.reasoning(), Some("Easy."));
        assert_eq!(answer.finish_reason().map(|r| r.as_str()), Some("stop"));
        assert_eq!(answer.usage.as_ref().and_then(|u| u.total_tokens), Some(7));
        assert_eq!(answer.attempts(), 1);
    }
    assert!(server.requests()[0].starts_with("POST /v1/chat/completions HTTP/1.1"));
    let sent = json!({
        "model": "kimi-k2.6",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"}
        ],
        "thinking": {"type": "enabled"}
    });
    let mut as_stream = sent.clone();
    as_stream["stream"] = json!(true);
    as_stream["stream_options"] = json!({"include_usage": true});
    assert_eq!(body(&server, 0), as_stream);
    assert_eq!(body(&server, 1), sent);
}

#[tokio::test]
async fn any_model_id_multimodal_parts_partial_mode_and_json_schema_reach_the_wire() {
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Verdict {
        ok: bool,
    }
    let server = ScriptedServer::start(vec![answer("{}")]).await;

    client(&server.base_url())
        .chat()
        .create(
            ChatRequest::new("kimi-k9-preview")
                .message(user_parts([
                    moonshot::messages::text("What is this?"),
                    moonshot::messages::image_url("data:image/png;base64,AAAA"),
                ]))
                .partial("It is")
                .json_schema_of::<Verdict>("verdict")
                .stop(["END"]),
        )
        .await
        .expect("answers");

    let sent = body(&server, 0);
    assert_eq!(sent["model"], "kimi-k9-preview");
    assert_eq!(sent["messages"][0]["content"][1]["type"], "image_url");
    assert_eq!(
        sent["messages"][0]["content"][1]["image_url"]["url"],
        "data:image/png;base64,AAAA"
    );
    assert_eq!(
        sent["messages"][1],
        json!({"role": "assistant", "content": "It is", "partial": true})
    );
    assert_eq!(sent["response_format"]["type"], "json_schema");
    assert_eq!(
        sent["response_format"]["json_schema"]["schema"]["properties"]["ok"]["type"],
        "boolean"
    );
    assert_eq!(sent["stop"], json!(["END"]));
}

#[tokio::test]
async fn an_error_object_under_status_200_is_a_typed_error() {
    let server = ScriptedServer::start(vec![Reply::json(
        200,
        &moonshot_error("exceeded_current_quota_error", "your balance is used up"),
    )])
    .await;

    let err = client(&server.base_url())
        .chat()
        .create(ChatRequest::new("kimi-k2.6").user("Hi"))
        .await
        .expect_err("an error object");

    assert!(matches!(err, Error::QuotaExceeded(_)), "{err:?}");
    assert!(err.to_string().contains("your balance is used up"));
}

#[tokio::test]
async fn requests_past_the_documented_limits_never_reach_the_wire() {
    let server = ScriptedServer::start(vec![answer("x")]).await;
    let client = client(&server.base_url());
    let two_tools: Vec<Tool> = (0..2)
        .map(|i| {
            Tool::function(&format!("tool_{i}"), "t", json!({"type": "object"})).expect("tool")
        })
        .collect();
    let cases = [
        (ChatRequest::new("kimi-k2.6"), "messages"),
        (ChatRequest::new("").user("x"), "model"),
        (ChatRequest::new("  ").user("x"), "model"),
        (ChatRequest::new("kimi-k2.6").user(""), "messages"),
        (
            ChatRequest::new("kimi-k2.6").system(" ").user("x"),
            "messages",
        ),
        (
            ChatRequest::new("kimi-k2.6")
                .user("x")
                .dynamic_tools(two_tools.clone()),
            "messages",
        ),
        (
            ChatRequest::new("kimi-k2.6")
                .user("x")
                .reasoning_effort("low"),
            "reasoning_effort",
        ),
        (
            ChatRequest::new("kimi-k3").user("x").thinking(false),
            "thinking",
        ),
        (
            ChatRequest::new("kimi-k2.6")
                .user("x")
                .stop(["a", "b", "c", "d", "e", "f"]),
            "stop",
        ),
        (
            ChatRequest::new("kimi-k2.6")
                .user("x")
                .tool(Tool::web_search()),
            "thinking",
        ),
        (
            ChatRequest::new("moonshot-v1-8k")
                .user("x")
                .tool(Tool::web_search())
                .thinking(true),
            "thinking",
        ),
    ];
    for (request, field) in cases {
        let err = client
            .chat()
            .create(request.clone())
            .await
            .expect_err(field);
        assert!(
            matches!(&err, Error::InvalidInput { name, .. } if *name == field),
            "{field}: {err}"
        );
        let err = client.chat().stream(request).await.expect_err(field);
        assert!(matches!(&err, Error::InvalidInput { .. }), "{field}: {err}");
    }
    let err = client
        .chat()
        .create(ChatRequest::new("kimi-k2.6").system("").user("x"))
        .await
        .expect_err("empty system message");
    assert!(
        err.to_string().contains("message 1 (`system`) is empty"),
        "{err}"
    );
    let too_long = "a".repeat(257);
    for bad in ["1abc", "has space", "$web_search", too_long.as_str()] {
        let err = Tool::function(bad, "d", json!({"type": "object"})).expect_err(bad);
        assert!(matches!(err, Error::InvalidInput { .. }), "{bad}: {err}");
    }
    assert_eq!(server.hits(), 0);

    // Web search with thinking off goes through.
    client
        .chat()
        .create(
            ChatRequest::new("kimi-k2.6")
                .user("x")
                .tool(Tool::web_search())
                .thinking(false),
        )
        .await
        .expect("allowed");
    assert_eq!(
        body(&server, 0)["tools"],
        json!([{"type": "builtin_function", "function": {"name": "$web_search"}}])
    );
}

#[tokio::test]
async fn a_stream_gives_typed_chunks_and_rebuilds_the_whole_answer() {
    let events = [
        chunk(json!({"role": "assistant", "reasoning_content": "Think"})),
        chunk(json!({"reasoning_content": "ing."})),
        chunk(json!({"content": "Hel"})),
        chunk(json!({"content": "lo"})),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call-1", "type": "function",
                                      "function": {"name": "add", "arguments": "{\"a\":"}}]}),
        ),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]})),
        last_chunk("tool_calls"),
        "[DONE]".to_owned(),
    ];
    let data: Vec<&str> = events.iter().map(String::as_str).collect();
    let server = ScriptedServer::start(vec![Reply::events(&data)]).await;

    let mut stream = client(&server.base_url())
        .chat()
        .stream(ChatRequest::new("kimi-k2.6").user("Hi"))
        .await
        .expect("streams");
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        chunk.expect("a chunk");
        chunks += 1;
    }

    assert_eq!(chunks, 7);
    assert_eq!(body(&server, 0)["stream"], true);
    let answer = stream.answer();
    assert_eq!(answer.content(), "Hello");
    assert_eq!(answer.reasoning(), Some("Thinking."));
    assert_eq!(
        answer.finish_reason().map(|r| r.as_str()),
        Some("tool_calls")
    );
    assert_eq!(answer.usage().and_then(|u| u.total_tokens), Some(8));
    let call = &answer.tool_calls()[0];
    assert_eq!(call.id.as_deref(), Some("call-1"));
    assert_eq!(arguments(call).expect("JSON"), json!({"a": 1}));
    let message = answer.to_message();
    assert_eq!(message.tool_calls.len(), 1);
}

#[tokio::test]
async fn usage_in_a_final_chunk_without_choices_is_read_too() {
    let usage_chunk = json!({"id": "c1", "object": "chat.completion.chunk", "choices": [],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
    .to_string();
    let first = chunk(json!({"content": "ok"}));
    let server =
        ScriptedServer::start(vec![Reply::events(&[&first, &usage_chunk, "[DONE]"])]).await;

    let answer = whole_stream(&server).await;

    assert_eq!(answer.content(), "ok");
    assert_eq!(answer.usage().and_then(|u| u.total_tokens), Some(2));
}

/// The whole answer streamed from `server` to a question.
async fn whole_stream(server: &ScriptedServer) -> moonshot::chat::ChatAccumulator {
    client(&server.base_url())
        .chat()
        .stream(ChatRequest::new("kimi-k2.6").user("Hi"))
        .await
        .expect("streams")
        .collect_answer()
        .await
        .expect("the whole answer, ended by [DONE]")
}

/// Streams from `reply` and returns the error that ended it, with the chunks that came before.
async fn broken_stream(reply: Reply) -> (Error, usize) {
    let server = ScriptedServer::start(vec![reply]).await;
    let client = moonshot::Client::builder()
        .api_key(support::API_KEY)
        .base_url(server.base_url())
        .timeout(Duration::from_millis(500))
        .retry(moonshot::RetryPolicy::none())
        .build()
        .expect("client");
    let mut stream = client
        .chat()
        .stream(ChatRequest::new("kimi-k2.6").user("Hi"))
        .await
        .expect("the first chunk arrives");
    let mut chunks = 0;
    loop {
        match stream.next().await {
            Some(Ok(_)) => chunks += 1,
            Some(Err(error)) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream ends after its error"
                );
                return (error, chunks);
            }
            None => panic!("the stream ended cleanly"),
        }
    }
}

/// The part of the answer a broken stream kept.
fn kept(error: &Error) -> &str {
    let Error::StreamBroken { content, .. } = error else {
        panic!("{error:?}");
    };
    content
}

#[tokio::test]
async fn a_stream_that_ends_without_done_is_an_error_keeping_what_arrived() {
    let (a, b) = (
        chunk(json!({"content": "Hel"})),
        chunk(json!({"content": "lo"})),
    );
    let (error, chunks) = broken_stream(Reply::events(&[&a, &b])).await;
    assert_eq!(chunks, 2);
    assert_eq!(kept(&error), "Hello");
    assert!(
        error.to_string().contains("without `data: [DONE]`"),
        "{error}"
    );
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_typed_error() {
    let a = chunk(json!({"content": "Hel"}));
    let failure = moonshot_error("engine_overloaded_error", "overloaded mid-answer").to_string();
    let (error, _) = broken_stream(Reply::events(&[&a, &failure])).await;
    assert_eq!(kept(&error), "Hel");
    let Error::StreamBroken { source, .. } = &error else {
        unreachable!()
    };
    assert!(matches!(**source, Error::Overloaded(_)), "{source:?}");
    assert!(error.api_error().is_some());
}

#[tokio::test]
async fn a_malformed_chunk_is_an_undecodable_error() {
    let a = chunk(json!({"content": "Hel"}));
    let (error, _) = broken_stream(Reply::events(&[&a, "{\"choices\": 5}"])).await;
    let Error::StreamBroken { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        matches!(**source, Error::UndecodableResponse { .. }),
        "{source:?}"
    );
}

#[tokio::test]
async fn a_stalled_stream_times_out_between_events() {
    let a = format!("data: {}\n\n", chunk(json!({"content": "Hel"})));
    let started = std::time::Instant::now();
    let (error, chunks) = broken_stream(Reply::Stalled {
        body: a.into_bytes(),
    })
    .await;
    assert_eq!(chunks, 1);
    let Error::StreamBroken { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(matches!(**source, Error::Timeout { .. }), "{source:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_stream_is_retried_until_its_first_chunk_only() {
    let a = chunk(json!({"content": "ok"}));
    let server = ScriptedServer::start(vec![
        Reply::json(503, &moonshot_error("engine_overloaded_error", "busy")),
        // A 200 that ends before any event: retried too.
        Reply::text(200, "text/event-stream", ""),
        Reply::events(&[&a, "[DONE]"]),
    ])
    .await;

    let answer = client(&server.base_url())
        .chat()
        .stream(ChatRequest::new("kimi-k2.6").user("Hi"))
        .await
        .expect("the third attempt streams")
        .collect_answer()
        .await
        .expect("whole");

    assert_eq!(answer.content(), "ok");
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_tool_loop_runs_handlers_and_echoes_built_in_calls() {
    let call_add = completion(
        json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": "call-1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 3}"}},
            {"id": "call-2", "type": "builtin_function", "function": {"name": "$web_search", "arguments": "{\"query\": \"x\"}"}}
        ]}),
        "tool_calls",
    );
    let server = ScriptedServer::start(vec![call_add, answer("2 + 3 = 5")]).await;
    let toolbox = Toolbox::new()
        .function(
            Tool::function("add", "Adds", json!({"type": "object"})).expect("tool"),
            |args: Value| async move {
                let sum = args["a"].as_i64().unwrap_or(0) + args["b"].as_i64().unwrap_or(0);
                Ok::<_, std::convert::Infallible>(sum.to_string())
            },
        )
        .web_search();

    let run = client(&server.base_url())
        .chat()
        .run_tools(
            ChatRequest::new("kimi-k2.6").thinking(false).user("2 + 3?"),
            &toolbox,
            3,
        )
        .await
        .expect("answers");

    assert_eq!(run.answer.content(), "2 + 3 = 5");
    assert_eq!(run.rounds, 2);
    let first = body(&server, 0);
    let names: Vec<&str> = first["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert_eq!(names, ["add", "$web_search"]);
    let second = body(&server, 1);
    let messages = second["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["tool_calls"][0]["id"], "call-1");
    assert_eq!(
        messages[2],
        json!({"role": "tool", "tool_call_id": "call-1", "content": "5"})
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "call-2", "content": "{\"query\": \"x\"}"})
    );
}

#[tokio::test]
async fn a_tool_call_with_arguments_that_are_not_json_is_an_error_naming_it() {
    let bad = completion(
        json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": "call-9", "type": "function", "function": {"name": "add", "arguments": "{a: 2"}}
        ]}),
        "tool_calls",
    );
    let server = ScriptedServer::start(vec![bad.clone(), bad]).await;
    let toolbox = Toolbox::new().function(
        Tool::function("add", "Adds", json!({"type": "object"})).expect("tool"),
        |_| async { Ok::<_, std::convert::Infallible>(String::new()) },
    );
    let client = client(&server.base_url());

    let err = client
        .chat()
        .run_tools(ChatRequest::new("moonshot-v1-8k").user("x"), &toolbox, 3)
        .await
        .expect_err("bad arguments");
    assert!(
        matches!(&err, Error::ToolCall { call_id, tool, .. } if call_id == "call-9" && tool == "add"),
        "{err:?}"
    );
    assert!(err.to_string().contains("not valid JSON"), "{err}");

    // The same calls again and again: the loop stops at its bound.
    let looping = completion(
        json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": "call-1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
        ]}),
        "tool_calls",
    );
    let server = ScriptedServer::start(vec![looping]).await;
    let err = support::client(&server.base_url())
        .chat()
        .run_tools(ChatRequest::new("moonshot-v1-8k").user("x"), &toolbox, 2)
        .await
        .expect_err("too many rounds");
    assert!(
        matches!(err, Error::ToolRoundsExceeded { rounds: 2 }),
        "{err:?}"
    );
    assert_eq!(server.hits(), 2);
}

/// A server that streams chunks every 2 ms for as long as its client reads them; it reports how
/// many it wrote before the connection was closed under it.
async fn endless_stream_server() -> (String, tokio::sync::oneshot::Receiver<usize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (closed, written) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("a connection");
        let mut request = vec![0u8; 64 * 1024];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let event = format!("data: {}\n\n", chunk(json!({"content": "word "})));
        let framed = format!("{:x}\r\n{event}\r\n", event.len());
        let mut sent = 0;
        while socket.write_all(framed.as_bytes()).await.is_ok() {
            sent += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
            if sent > 20_000 {
                break;
            }
        }
        let _ = closed.send(sent);
    });
    (url, written)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_closes_its_connection() {
    let (url, written) = endless_stream_server().await;
    let client = client(&url);
    let mut stream = client
        .chat()
        .stream(ChatRequest::new("kimi-k2.6").user("Tell me everything."))
        .await
        .expect("opened");
    for _ in 0..5 {
        stream.next().await.expect("a chunk").expect("a good chunk");
    }
    drop(stream);
    // The server's writes fail once the connection is closed: soon, not after 20,000 chunks.
    let sent = tokio::time::timeout(Duration::from_secs(10), written)
        .await
        .expect("the connection closed within 10 s")
        .expect("the server reports");
    assert!(
        sent < 1_000,
        "the server wrote {sent} chunks after the stream was dropped"
    );
}

#[tokio::test]
async fn a_ten_megabyte_tool_call_in_one_event_is_parsed_in_one_pass() {
    // Before, the parser scanned its whole buffer again for each read: this took over a minute.
    let arguments_text = json!({"text": "x".repeat(10 * 1024 * 1024)}).to_string();
    let call = chunk(
        json!({"tool_calls": [{"index": 0, "id": "call-1", "type": "function",
        "function": {"name": "save", "arguments": arguments_text}}]}),
    );
    let server = ScriptedServer::start(vec![Reply::events(&[
        &call,
        &last_chunk("tool_calls"),
        "[DONE]",
    ])])
    .await;
    let client = client(&server.base_url());

    let answer = tokio::time::timeout(Duration::from_secs(30), async {
        client
            .chat()
            .stream(ChatRequest::new("kimi-k2.6").user("Save it"))
            .await
            .expect("streams")
            .collect_answer()
            .await
            .expect("the whole answer")
    })
    .await
    .expect("parsed well within the bound");

    let parsed = arguments(&answer.tool_calls()[0]).expect("JSON");
    assert_eq!(
        parsed["text"].as_str().map(str::len),
        Some(10 * 1024 * 1024)
    );
}

#[tokio::test]
async fn a_stream_with_cr_line_endings_keeps_its_last_done() {
    let body = format!(
        "data: {}\r\rdata: {}\r\rdata: [DONE]\r\r",
        chunk(json!({"content": "Hi"})),
        last_chunk("stop")
    );
    let server = ScriptedServer::start(vec![Reply::text(200, "text/event-stream", body)]).await;

    let answer = whole_stream(&server).await;

    assert_eq!(answer.content(), "Hi");
}

#[test]
fn a_kimi_k3_request_is_written_as_its_page_documents_it() {
    // The body of crates/moonshot-mock/tests/data/kimi-k3-request.json, which the local
    // server's tests check against the merged document and answer.
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../../moonshot-mock/tests/data/kimi-k3-request.json"
    ))
    .expect("the fixture");
    let weather = Tool::function(
        "get_weather",
        "The weather in a city now",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
    .expect("tool");

    let request = ChatRequest::new("kimi-k3")
        .system("You are Kimi.")
        .dynamic_tools([weather])
        .user("What is the weather in Paris?")
        .reasoning_effort("high")
        .max_completion_tokens(4096);

    assert!(request.check().is_ok());
    assert_eq!(
        serde_json::to_value(request.as_request()).expect("JSON"),
        fixture
    );
}
