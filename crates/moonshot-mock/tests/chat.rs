//! `POST /v1/chat/completions`: extractive answers, thinking, tools and web search, fixtures,
//! streaming, pacing, faults and bad bodies.

mod common;

use std::time::{Duration, Instant};

use common::{json, post_json, read_stream, upload};
use moonshot_mock::{ChatFixtures, Faults, MockServer, StreamFault};
use serde_json::{Value, json};

const CHAT: &str = "/v1/chat/completions";

const REPORT: &str = "Q3 report.\n\
Revenue grew 12% in the third quarter, driven by long-context customers. \
The office moved to a new building in Beijing. \
Costs fell in the third quarter as inference got cheaper. \
The team hired four engineers.";

async fn server() -> MockServer {
    MockServer::start().await.expect("server starts")
}

async fn server_with(fixtures: Value) -> MockServer {
    MockServer::builder()
        .chat_fixtures(ChatFixtures::from_value(fixtures).expect("valid fixtures"))
        .start()
        .await
        .expect("server starts")
}

/// A 200 completion, parsed.
async fn complete(server: &MockServer, body: &Value) -> Value {
    let response = post_json(server, CHAT, body).await;
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(response.headers()["content-type"], "application/json");
    json(response).await
}

/// `body` with `"stream": true` and the OpenAI usage chunk asked for.
fn streamed(body: &Value) -> Value {
    let mut body = body.clone();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    body
}

fn ask(model: &str, question: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": question}]})
}

fn ask_about(model: &str, document: &str, question: &str) -> Value {
    json!({"model": model, "messages": [
        {"role": "system", "content": "You are Kimi."},
        {"role": "system", "content": document},
        {"role": "user", "content": question},
    ]})
}

/// The message of a 400 `invalid_request_error` answer to `body`.
async fn refusal(server: &MockServer, body: &Value) -> String {
    let response = post_json(server, CHAT, body).await;
    assert_eq!(response.status(), 400, "{body}");
    let error = json(response).await;
    assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
    error["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn message(completion: &Value) -> &Value {
    &completion["choices"][0]["message"]
}

#[tokio::test]
async fn the_answer_quotes_the_sentences_of_an_uploaded_file_that_match_the_question() {
    let server = server().await;
    let file = json(upload(&server, "q3.txt", REPORT.as_bytes()).await).await;
    let content = common::get(
        &server,
        &format!("/v1/files/{}/content", file["id"].as_str().expect("an id")),
        None,
    )
    .await
    .text()
    .await
    .expect("the content");
    assert!(content.starts_with(r#"{"content": "#), "{content}");

    let question = "How did revenue and costs do in the third quarter?";
    let completion = complete(&server, &ask_about("moonshot-v1-8k", &content, question)).await;
    assert_eq!(completion["object"], "chat.completion");
    assert!(
        completion["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-"))
    );
    assert_eq!(completion["model"], "moonshot-v1-8k");
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(message(&completion)["role"], "assistant");
    assert_eq!(
        message(&completion)["content"],
        "Revenue grew 12% in the third quarter, driven by long-context customers. Costs fell in \
         the third quarter as inference got cheaper."
    );
    assert!(message(&completion).get("reasoning_content").is_none());

    // Deterministic, and the usage adds up from the token estimate.
    let again = complete(&server, &ask_about("moonshot-v1-8k", &content, question)).await;
    assert_eq!(again["choices"], completion["choices"]);
    assert_eq!(again["usage"], completion["usage"]);
    let estimate = json(
        post_json(
            &server,
            "/v1/tokenizers/estimate-token-count",
            &ask_about("moonshot-v1-8k", &content, question),
        )
        .await,
    )
    .await;
    let usage = &completion["usage"];
    assert_eq!(usage["prompt_tokens"], estimate["data"]["total_tokens"]);
    let answer_bytes = message(&completion)["content"].as_str().map_or(0, str::len) as u64;
    assert_eq!(usage["completion_tokens"], answer_bytes.div_ceil(4));
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(usage["prompt_tokens"].as_u64().unwrap_or(0) + answer_bytes.div_ceil(4))
    );
}

#[tokio::test]
async fn plain_text_documents_and_parts_are_answered_from_too() {
    let server = server().await;
    let body = json!({"model": "kimi-k2.6", "messages": [
        {"role": "system", "content": [{"type": "text", "text": REPORT}]},
        {"role": "user", "content": [{"type": "text", "text": "Where did the office move?"}]},
    ]});
    let completion = complete(&server, &body).await;
    assert_eq!(
        message(&completion)["content"],
        "The office moved to a new building in Beijing."
    );
}

#[tokio::test]
async fn without_documents_the_server_says_what_it_is_and_echoes_the_question() {
    let server = server().await;
    let completion = complete(&server, &ask("moonshot-v1-8k", "Is anyone there?")).await;
    let content = message(&completion)["content"].as_str().expect("a text");
    assert!(content.contains("local Moonshot server"), "{content}");
    assert!(
        content.ends_with("You asked: Is anyone there?"),
        "{content}"
    );
}

#[tokio::test]
async fn thinking_models_give_reasoning_unless_thinking_is_disabled() {
    let server = server().await;
    let question = "How did revenue do?";
    for (model, thinking, thinks) in [
        ("kimi-k2.6", None, true),
        ("kimi-k2.5", None, true),
        ("kimi-k2.5", Some("disabled"), false),
        ("kimi-k2.6", Some("enabled"), true),
        ("kimi-k3", None, true),
        ("kimi-k2.7-code", None, true),
        ("kimi-k2.7-code-highspeed", Some("enabled"), true),
        ("moonshot-v1-128k", None, false),
    ] {
        let mut body = ask_about(model, REPORT, question);
        if let Some(kind) = thinking {
            body["thinking"] = json!({"type": kind});
        }
        let completion = complete(&server, &body).await;
        let reasoning = &message(&completion)["reasoning_content"];
        assert_eq!(
            reasoning.is_string(),
            thinks,
            "{model} {thinking:?}: {completion}"
        );
        if thinks {
            let reasoning = reasoning.as_str().unwrap_or_default();
            assert!(reasoning.contains("\"revenue\""), "{reasoning}");
            assert!(
                reasoning.contains("picked sentences 3 (1 shared)"),
                "{reasoning}"
            );
        }
        assert!(
            message(&completion)["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("Revenue grew 12%"))
        );
    }
}

#[tokio::test]
async fn a_stream_rebuilds_the_same_answer_and_usage_as_the_whole_completion() {
    let server = server().await;
    let body = ask_about(
        "kimi-k2.6",
        REPORT,
        "How did revenue and costs do in the third quarter?",
    );
    let whole = complete(&server, &body).await;
    let stream = read_stream(post_json(&server, CHAT, &streamed(&body)).await).await;
    assert!(stream.done && stream.broken.is_none());

    let first = &stream.chunks[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    assert!(
        stream
            .chunks
            .iter()
            .all(|c| c["id"] == first["id"] && c["model"] == "kimi-k2.6")
    );

    let assembled = stream.assemble();
    assert_eq!(
        assembled.content,
        message(&whole)["content"].as_str().unwrap_or_default()
    );
    assert_eq!(
        assembled.reasoning,
        message(&whole)["reasoning_content"]
            .as_str()
            .unwrap_or_default()
    );
    // Pieces of a few words: reasoning first, then content.
    let pieces: Vec<&Value> = stream
        .chunks
        .iter()
        .map(|c| &c["choices"][0]["delta"])
        .collect();
    let last_reasoning = pieces
        .iter()
        .rposition(|d| d.get("reasoning_content").is_some());
    let first_content = pieces
        .iter()
        .position(|d| d["content"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(last_reasoning < first_content, "{pieces:?}");
    assert!(
        pieces
            .iter()
            .filter_map(|d| d["content"].as_str())
            .all(|c| c.split_whitespace().count() <= 3)
    );
    assert!(pieces.iter().filter(|d| d.get("content").is_some()).count() > 5);

    // Usage where Moonshot puts it, and again where OpenAI does.
    let finish = stream.finish();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(finish["choices"][0]["usage"], whole["usage"]);
    let last = stream.chunks.last().expect("chunks");
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"], whole["usage"]);

    // Without include_usage, no usage chunk.
    let mut plain = body.clone();
    plain["stream"] = json!(true);
    let stream = read_stream(post_json(&server, CHAT, &plain).await).await;
    assert!(stream.chunks.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(
        stream.chunks.last().map(|c| &c["choices"][0]["usage"]),
        Some(&whole["usage"])
    );
}

#[tokio::test]
async fn max_tokens_cuts_the_answer_with_finish_reason_length() {
    let server = server().await;
    // `max_completion_tokens`, and the deprecated `max_tokens` alike.
    for (model, field) in [
        ("moonshot-v1-8k", "max_completion_tokens"),
        ("kimi-k3", "max_completion_tokens"),
        ("kimi-k3", "max_tokens"),
    ] {
        let mut body = ask_about(model, REPORT, "How did revenue do?");
        body[field] = json!(3);
        let completion = complete(&server, &body).await;
        assert_eq!(message(&completion)["content"], "Revenue grew", "{field}");
        assert_eq!(completion["choices"][0]["finish_reason"], "length");
        let reasoning = message(&completion)["reasoning_content"]
            .as_str()
            .map_or(0, str::len);
        assert_eq!(
            completion["usage"]["completion_tokens"],
            ("Revenue grew".len() + reasoning).div_ceil(4)
        );
    }
}

#[tokio::test]
async fn models_that_always_think_refuse_thinking_disabled() {
    let server = server().await;
    for model in ["kimi-k3", "kimi-k2.7-code", "kimi-k2.7-code-highspeed"] {
        let mut body = ask(model, "hi");
        body["thinking"] = json!({"type": "disabled"});
        let text = refusal(&server, &body).await;
        assert!(text.contains(&format!("{model} always thinks")), "{text}");
    }
}

#[tokio::test]
async fn kimi_k3_takes_every_reasoning_effort_and_refuses_others() {
    let server = server().await;
    for effort in ["low", "high", "max"] {
        let mut body = ask_about("kimi-k3", REPORT, "How did revenue do?");
        body["reasoning_effort"] = json!(effort);
        let completion = complete(&server, &body).await;
        assert!(
            message(&completion)["reasoning_content"].is_string(),
            "{effort}"
        );
    }
    let mut body = ask("kimi-k3", "hi");
    body["reasoning_effort"] = json!("medium");
    let text = refusal(&server, &body).await;
    assert!(
        text.contains("`reasoning_effort` must be low, high or max"),
        "{text}"
    );
}

/// A function tool taking a required `city`.
fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
    }})
}

#[tokio::test]
async fn tool_choice_required_makes_the_model_call_a_tool() {
    let server = server().await;
    let question = "What is the weather in Paris?";
    let mut body = ask_about("kimi-k2.6", REPORT, question);
    body["tools"] = json!([
        {"type": "function", "function": {"name": "get_time"}},
        weather_tool(),
    ]);
    // Without `tool_choice` the model answers from the documents.
    let completion = complete(&server, &body).await;
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");

    body["tool_choice"] = json!("required");
    let completion = complete(&server, &body).await;
    assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
    let call = &message(&completion)["tool_calls"][0];
    assert_eq!(call["id"], "get_weather:0");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().expect("text")).expect("JSON");
    assert_eq!(arguments, json!({"city": question}));

    let stream = read_stream(post_json(&server, CHAT, &streamed(&body)).await).await;
    let assembled = stream.assemble();
    assert_eq!(assembled.tool_calls.len(), 1);
    assert_eq!(assembled.tool_calls[0].2, "get_weather");

    // A question that names no tool: the first one declared.
    let mut other = ask("kimi-k2.6", "Anything?");
    other["tools"] = body["tools"].clone();
    other["tool_choice"] = json!("required");
    let completion = complete(&server, &other).await;
    assert_eq!(
        message(&completion)["tool_calls"][0]["function"]["name"],
        "get_time"
    );

    // The function form names the tool to call.
    body["tool_choice"] = json!({"type": "function", "function": {"name": "get_time"}});
    let completion = complete(&server, &body).await;
    assert_eq!(
        message(&completion)["tool_calls"][0]["function"]["name"],
        "get_time"
    );

    let mut nothing_to_call = ask("kimi-k2.6", question);
    nothing_to_call["tool_choice"] = json!("required");
    let text = refusal(&server, &nothing_to_call).await;
    assert!(text.contains("needs a tool to call"), "{text}");
}

#[tokio::test]
async fn dynamic_tool_messages_are_kimi_k3s_and_their_tools_are_callable() {
    let server = server().await;
    let question = "What is the weather in Paris?";
    let body = json!({
        "model": "kimi-k3",
        "reasoning_effort": "low",
        "max_completion_tokens": 1000,
        "tool_choice": "required",
        "messages": [
            {"role": "system", "content": "You are Kimi."},
            {"role": "system", "tools": [weather_tool()]},
            {"role": "user", "content": question},
        ],
    });
    let completion = complete(&server, &body).await;
    assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
    let answer = message(&completion);
    assert_eq!(answer["tool_calls"][0]["function"]["name"], "get_weather");
    assert!(answer["reasoning_content"].is_string(), "{answer}");

    // The tool message counts in the prompt, as the estimate counts it.
    let estimate =
        json(post_json(&server, "/v1/tokenizers/estimate-token-count", &body).await).await;
    assert_eq!(
        completion["usage"]["prompt_tokens"],
        estimate["data"]["total_tokens"]
    );
    let without_tools = json!({"model": "kimi-k3", "messages": [
        {"role": "system", "content": "You are Kimi."},
        {"role": "user", "content": question},
    ]});
    let smaller = json(
        post_json(
            &server,
            "/v1/tokenizers/estimate-token-count",
            &without_tools,
        )
        .await,
    )
    .await;
    assert!(
        smaller["data"]["total_tokens"].as_u64() < estimate["data"]["total_tokens"].as_u64(),
        "{smaller} {estimate}"
    );

    // Tools loaded after the question are not yet callable.
    let late = json!({
        "model": "kimi-k3",
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "messages": [
            {"role": "user", "content": question},
            {"role": "system", "tools": [weather_tool()]},
        ],
    });
    let text = refusal(&server, &late).await;
    assert!(text.contains("names get_weather, which neither"), "{text}");

    // Other families do not take them, nor does a tool message with text.
    for (model, expected) in [
        (
            "kimi-k2.6",
            "kimi-k3 only, and kimi-k2.6 is of the kimi-k2.6 family",
        ),
        ("kimi-k2.7-code", "kimi-k3 only"),
        ("moonshot-v1-8k", "kimi-k3 only"),
    ] {
        let mut refused = body.clone();
        refused["model"] = json!(model);
        refused
            .as_object_mut()
            .map(|b| b.remove("reasoning_effort"));
        for route in [CHAT, "/v1/tokenizers/estimate-token-count"] {
            let response = post_json(&server, route, &refused).await;
            assert_eq!(response.status(), 400, "{model} {route}");
            let error = json(response).await;
            assert_eq!(error["error"]["type"], "invalid_request_error");
            let text = error["error"]["message"].as_str().unwrap_or_default();
            assert!(
                text.starts_with("messages[1]: a dynamic tool message"),
                "{text}"
            );
            assert!(text.contains(expected), "{text}");
        }
    }
    let mut with_text = body.clone();
    with_text["messages"][1]["content"] = json!("tools");
    let text = refusal(&server, &with_text).await;
    assert!(text.contains("carries `tools` and no `content`"), "{text}");
}

#[tokio::test]
async fn retired_models_are_answered_though_no_longer_listed() {
    let server = server().await;
    let listed = json(common::get(&server, "/v1/models", None).await).await;
    for (model, thinks) in [
        ("kimi-k2-turbo-preview", false),
        ("kimi-k2-0905-preview", false),
        ("kimi-k2-0711-preview", false),
        ("kimi-k2-thinking", true),
        ("kimi-k2-thinking-turbo", true),
    ] {
        assert!(
            !listed.to_string().contains(&format!("\"{model}\"")),
            "{model} is listed"
        );
        let completion = complete(
            &server,
            &ask_about(model, REPORT, "Where did the office move?"),
        )
        .await;
        assert_eq!(completion["model"], model);
        assert_eq!(
            message(&completion)["content"],
            "The office moved to a new building in Beijing."
        );
        assert_eq!(
            message(&completion)["reasoning_content"].is_string(),
            thinks,
            "{model}"
        );
        let estimate = post_json(
            &server,
            "/v1/tokenizers/estimate-token-count",
            &ask(model, "hi"),
        )
        .await;
        assert_eq!(estimate.status(), 200, "{model}");
    }
}

#[tokio::test]
async fn any_number_of_tools_is_taken_and_function_names_follow_the_pattern() {
    let server = server().await;
    let mut body = ask("kimi-k2.6", "hi");
    body["tools"] = (0..300)
        .map(|i| json!({"type": "function", "function": {"name": format!("tool-{i}_x")}}))
        .collect();
    complete(&server, &body).await;

    for name in ["9lives", "has space", "dot.name", &"n".repeat(257)] {
        body["tools"] = json!([{"type": "function", "function": {"name": name}}]);
        let text = refusal(&server, &body).await;
        assert!(text.contains("tools[0]: function name"), "{text}");
    }
}

#[tokio::test]
async fn json_mode_answers_a_json_object() {
    let server = server().await;
    let mut body = ask_about("moonshot-v1-8k", REPORT, "Where did the office move?");
    body["response_format"] = json!({"type": "json_object"});
    let completion = complete(&server, &body).await;
    let text = message(&completion)["content"].as_str().expect("a text");
    let answer: Value = serde_json::from_str(text).expect("the answer is JSON");
    assert_eq!(
        answer,
        json!({"answer": "The office moved to a new building in Beijing."})
    );

    body["response_format"] = json!({"type": "yaml"});
    let response = post_json(&server, CHAT, &body).await;
    assert_eq!(response.status(), 400);
    let error = json(response).await;
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`response_format.type`"))
    );
}

fn web_search_request(messages: Value) -> Value {
    json!({
        "model": "kimi-k2.5",
        "thinking": {"type": "disabled"},
        "messages": messages,
        "tools": [{"type": "builtin_function", "function": {"name": "$web_search"}}],
    })
}

#[tokio::test]
async fn web_search_round_trips_through_a_tool_message() {
    let server = server().await;
    let question = "What is the weather in Beijing today?";
    let mut messages = json!([{"role": "user", "content": question}]);
    let first = complete(&server, &web_search_request(messages.clone())).await;
    assert_eq!(first["choices"][0]["finish_reason"], "tool_calls");
    let call = &message(&first)["tool_calls"][0];
    assert_eq!(call["type"], "builtin_function");
    assert_eq!(call["function"]["name"], "$web_search");
    let arguments = call["function"]["arguments"]
        .as_str()
        .expect("arguments text");
    assert_eq!(
        serde_json::from_str::<Value>(arguments).ok(),
        Some(json!({"query": question}))
    );

    // As Moonshot's guide does: the assistant message back, the arguments as the tool result.
    let tool_message = json!({
        "role": "tool",
        "tool_call_id": call["id"],
        "name": "$web_search",
        "content": arguments,
    });
    let items = messages.as_array_mut().expect("a list");
    items.push(message(&first).clone());
    items.push(tool_message);
    let second = complete(&server, &web_search_request(messages.clone())).await;
    assert_eq!(second["choices"][0]["finish_reason"], "stop");
    let answer = message(&second)["content"].as_str().expect("an answer");
    assert!(answer.contains(&format!("\"{question}\"")), "{answer}");
    assert!(
        answer.contains(call["id"].as_str().unwrap_or("?")),
        "{answer}"
    );

    // Streamed, the call comes as fragments that rebuild it.
    let stream = read_stream(
        post_json(
            &server,
            CHAT,
            &streamed(&web_search_request(
                json!([{"role": "user", "content": question}]),
            )),
        )
        .await,
    )
    .await;
    let assembled = stream.assemble();
    assert_eq!(
        assembled.tool_calls,
        [(
            call["id"].as_str().unwrap_or_default().to_owned(),
            "builtin_function".to_owned(),
            "$web_search".to_owned(),
            arguments.to_owned()
        )]
    );
    assert_eq!(stream.finish()["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn web_search_with_thinking_is_refused_and_user_functions_are_not_called() {
    let server = server().await;
    let mut body = web_search_request(json!([{"role": "user", "content": "news?"}]));
    body["thinking"] = json!({"type": "enabled"});
    let response = post_json(&server, CHAT, &body).await;
    assert_eq!(response.status(), 400);
    let error = json(response).await;
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let text = error["error"]["message"].as_str().unwrap_or_default();
    assert!(
        text.contains("$web_search") && text.contains("\"disabled\""),
        "{text}"
    );

    let mut body = ask_about("kimi-k2.5", REPORT, "Where did the office move?");
    body["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let completion = complete(&server, &body).await;
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert!(message(&completion).get("tool_calls").is_none());
    assert_eq!(
        message(&completion)["content"],
        "The office moved to a new building in Beijing."
    );

    // tool_choice "none" keeps the web search uncalled.
    let mut body = web_search_request(json!([{"role": "user", "content": "news?"}]));
    body["tool_choice"] = json!("none");
    let completion = complete(&server, &body).await;
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn fixtures_script_replies_tool_calls_and_errors_first_match_wins() {
    let server = server_with(json!([
        {"user_contains": "weather", "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_time", "arguments": "not json"},
        ]},
        {"user_contains": "weather", "after_tool": true, "reply": "Sunny in Paris.", "reasoning": "The tool said so."},
        {"user_contains": "hello", "model": "kimi-k2.6", "reply": "Hello from a fixture."},
        {"user_contains": "hello", "reply": "Hello, other model."},
        {"user_contains": "busy", "error": {"status": 429, "type": "engine_overloaded_error", "message": "The engine is currently overloaded"}},
    ]))
    .await;

    let first = complete(&server, &ask("kimi-k2.7-code", "What is the weather?")).await;
    assert_eq!(first["choices"][0]["finish_reason"], "tool_calls");
    let calls = &message(&first)["tool_calls"];
    assert_eq!(calls[0]["id"], "get_weather:0");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["arguments"], r#"{"city":"Paris"}"#);
    assert_eq!(calls[1]["function"]["name"], "get_time");
    assert_eq!(calls[1]["function"]["arguments"], "not json");

    let stream =
        read_stream(post_json(&server, CHAT, &streamed(&ask("kimi-k2.7-code", "weather?"))).await)
            .await;
    let assembled = stream.assemble();
    assert_eq!(assembled.tool_calls.len(), 2);
    assert_eq!(assembled.tool_calls[0].3, r#"{"city":"Paris"}"#);
    assert_eq!(assembled.tool_calls[1].2, "get_time");
    // The first fragment of each call names it; later ones only add arguments.
    let heads = stream
        .chunks
        .iter()
        .flat_map(|c| {
            c["choices"][0]["delta"]["tool_calls"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|fragment| fragment.get("id").is_some())
        .count();
    assert_eq!(heads, 2);

    let after = json!({"model": "kimi-k2.7-code", "messages": [
        {"role": "user", "content": "What is the weather?"},
        message(&first),
        {"role": "tool", "tool_call_id": "get_weather:0", "content": "{\"sky\": \"clear\"}"},
        {"role": "tool", "tool_call_id": "get_time:1", "content": "noon"},
    ]});
    let answer = complete(&server, &after).await;
    assert_eq!(message(&answer)["content"], "Sunny in Paris.");
    assert_eq!(message(&answer)["reasoning_content"], "The tool said so.");

    let hello = complete(&server, &ask("kimi-k2.6", "hello there")).await;
    assert_eq!(message(&hello)["content"], "Hello from a fixture.");
    assert!(
        message(&hello)["reasoning_content"]
            .as_str()
            .is_some_and(|r| r.contains("rule 3"))
    );
    let hello = complete(&server, &ask("moonshot-v1-8k", "hello there")).await;
    assert_eq!(message(&hello)["content"], "Hello, other model.");

    for body in [
        ask("kimi-k2.6", "are you busy?"),
        streamed(&ask("kimi-k2.6", "are you busy?")),
    ] {
        let response = post_json(&server, CHAT, &body).await;
        assert_eq!(response.status(), 429);
        let error = json(response).await;
        assert_eq!(error["error"]["type"], "engine_overloaded_error");
        assert_eq!(
            error["error"]["message"],
            "The engine is currently overloaded"
        );
    }

    // Unmatched: the default answer.
    let other = complete(&server, &ask("moonshot-v1-8k", "Anything else?")).await;
    assert!(
        message(&other)["content"]
            .as_str()
            .is_some_and(|c| c.contains("You asked: Anything else?"))
    );
}

#[tokio::test]
async fn a_fixtures_file_loads_and_a_bad_one_is_named() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let good = dir.path().join("chat.jsonl");
    std::fs::write(
        &good,
        "{\"user_contains\": \"ping\", \"reply\": \"pong\"}\n",
    )
    .expect("written");
    let server = MockServer::builder()
        .chat_fixtures(ChatFixtures::load(&good).expect("the file loads"))
        .start()
        .await
        .expect("server starts");
    assert_eq!(
        message(&complete(&server, &ask("kimi-k2.6", "ping")).await)["content"],
        "pong"
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "[\n  {\"reply\": \"a\"},\n  {\"reply\": \"b\", \"tool_call\": []}\n]\n",
    )
    .expect("written");
    let error = ChatFixtures::load(&bad)
        .expect_err("a misspelt field")
        .to_string();
    assert!(
        error.starts_with(&format!("{}: line 3,", bad.display())),
        "{error}"
    );
    assert!(error.contains("unknown field `tool_call`"), "{error}");
}

#[tokio::test]
async fn a_stream_of_ten_thousand_chunks_arrives_whole() {
    let server = server_with(json!({"user_contains": "long", "filler_chunks": 10_000})).await;
    let stream = read_stream(
        post_json(
            &server,
            CHAT,
            &streamed(&ask("moonshot-v1-8k", "a long answer")),
        )
        .await,
    )
    .await;
    assert!(stream.done && stream.broken.is_none());
    let content_chunks = stream
        .chunks
        .iter()
        .filter(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        })
        .count();
    assert_eq!(content_chunks, 10_000);
    let text = stream.assemble().content;
    assert_eq!(text.len(), 10_000 * "Kimi streams this answer. ".len());
    assert_eq!(
        stream.finish()["choices"][0]["usage"]["completion_tokens"],
        (text.len() as u64).div_ceil(4)
    );
}

#[tokio::test]
async fn a_stream_is_made_while_it_is_sent_not_before() {
    use eventsource_stream::Eventsource as _;
    use futures::StreamExt as _;

    // 2.6 GB of text if it were made before sending: only made as sent can it start at once.
    let server =
        server_with(json!({"user_contains": "endless", "filler_chunks": 100_000_000u64})).await;
    let response = post_json(&server, CHAT, &streamed(&ask("moonshot-v1-8k", "endless?"))).await;
    let mut events = response.bytes_stream().eventsource();
    for _ in 0..1_000 {
        let event = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
        assert!(matches!(event, Ok(Some(Ok(_)))), "{event:?}");
    }
    // The server still answers once the reader has gone away.
    drop(events);
    let next = complete(&server, &ask("moonshot-v1-8k", "Still there?")).await;
    assert_eq!(next["object"], "chat.completion");
}

#[tokio::test]
async fn chunk_delay_paces_the_events() {
    let delay = Duration::from_millis(40);
    let server = MockServer::builder()
        .chunk_delay(delay)
        .start()
        .await
        .expect("server starts");
    let started = Instant::now();
    let stream =
        read_stream(post_json(&server, CHAT, &streamed(&ask("moonshot-v1-8k", "Hi?"))).await).await;
    let elapsed = started.elapsed();
    // Role, content pieces, finish, usage and [DONE]: a wait before each but the first.
    let events = stream.chunks.len() as u32 + 1;
    assert!(events >= 6, "{events} events");
    assert!(
        elapsed >= delay * (events - 1),
        "{elapsed:?} for {events} events"
    );

    let unpaced = server_with(json!({"reply": "x"})).await;
    let started = Instant::now();
    read_stream(post_json(&unpaced, CHAT, &streamed(&ask("moonshot-v1-8k", "Hi?"))).await).await;
    assert!(started.elapsed() < delay * (events - 1));
}

async fn faulty(fault: StreamFault) -> MockServer {
    MockServer::builder()
        .faults(Faults::default().stream_fault(fault))
        .start()
        .await
        .expect("server starts")
}

#[tokio::test]
async fn a_cut_stream_drops_the_connection_after_n_events() {
    let server = faulty(StreamFault::CutAfter(3)).await;
    let stream =
        read_stream(post_json(&server, CHAT, &streamed(&ask("moonshot-v1-8k", "Hi?"))).await).await;
    assert_eq!(stream.chunks.len(), 3);
    assert!(!stream.done);
    assert!(stream.broken.is_some(), "{stream:?}");
    // Whole answers are not streams: untouched.
    let whole = complete(&server, &ask("moonshot-v1-8k", "Hi?")).await;
    assert_eq!(whole["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn an_error_event_ends_the_stream_after_n_events() {
    let server = faulty(StreamFault::ErrorAfter(2)).await;
    let stream =
        read_stream(post_json(&server, CHAT, &streamed(&ask("moonshot-v1-8k", "Hi?"))).await).await;
    assert_eq!(stream.chunks.len(), 3);
    assert!(!stream.done && stream.broken.is_none());
    let error = &stream.chunks[2]["error"];
    assert_eq!(error["type"], "server_error");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("after 2 events"))
    );
}

#[tokio::test]
async fn a_stalled_stream_sends_nothing_more_and_stays_open() {
    use eventsource_stream::Eventsource as _;
    use futures::StreamExt as _;

    let server = faulty(StreamFault::StallAfter(2)).await;
    let response = post_json(&server, CHAT, &streamed(&ask("moonshot-v1-8k", "Hi?"))).await;
    let mut events = response.bytes_stream().eventsource();
    for _ in 0..2 {
        let event = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
        assert!(matches!(event, Ok(Some(Ok(_)))), "{event:?}");
    }
    let stalled = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
    assert!(stalled.is_err(), "the stream went on: {stalled:?}");
    // Stopping the server ends it.
    server.shutdown().await.expect("the server stops");
    let after = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    assert!(matches!(after, Ok(None | Some(Err(_)))), "{after:?}");
}

#[tokio::test]
async fn a_fixture_fault_breaks_only_its_own_stream() {
    let server = server_with(json!([
        {"user_contains": "fragile", "filler_chunks": 100, "fault": {"cut_after": 10}},
    ]))
    .await;
    let broken =
        read_stream(post_json(&server, CHAT, &streamed(&ask("kimi-k2.6", "fragile?"))).await).await;
    assert_eq!(broken.chunks.len(), 10);
    assert!(broken.broken.is_some());
    let fine =
        read_stream(post_json(&server, CHAT, &streamed(&ask("kimi-k2.6", "sturdy?"))).await).await;
    assert!(fine.done && fine.broken.is_none());
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_the_problem() {
    let server = server().await;
    let user = json!({"role": "user", "content": "hi"});
    let cases = [
        (json!("not an object"), "must be a JSON object"),
        (json!({"model": "kimi-k2.6"}), "`messages` is required"),
        (
            json!({"model": "kimi-k2.6", "messages": []}),
            "`messages` is required",
        ),
        (json!({"messages": [user]}), "`model` is required"),
        (
            json!({"model": "kimi-k2.6", "messages": [{"role": "robot", "content": "hi"}]}),
            "role \"robot\"",
        ),
        (
            json!({"model": "kimi-k2.6", "messages": [user, {"role": "tool", "content": "42"}]}),
            "messages[1]: a tool message needs `tool_call_id`",
        ),
        (
            json!({"model": "kimi-k2.6", "messages": [user], "thinking": {"type": "maybe"}}),
            "`thinking` must be",
        ),
        (
            json!({"model": "kimi-k2.6", "messages": [user], "stream": "yes"}),
            "`stream` must be true or false",
        ),
        (
            json!({"model": "kimi-k2.6", "messages": [user], "tools": [{"type": "robot", "function": {"name": "f"}}]}),
            "tools[0]: `type`",
        ),
        (
            json!({"model": "kimi-k2.6", "messages": [user], "tool_choice": {"type": "function", "function": {"name": "nope"}}}),
            "which neither `tools` nor a dynamic tool message declares",
        ),
        (
            json!({"model": "kimi-k2.6", "messages": [user], "stop": ["a", "b", "c", "d", "e", "f"]}),
            "at most 5",
        ),
        (
            json!({"model": "kimi-k2.6", "messages": [user], "max_completion_tokens": 0}),
            "positive integer",
        ),
    ];
    for (body, expected) in cases {
        let response = post_json(&server, CHAT, &body).await;
        assert_eq!(response.status(), 400, "{body}");
        let error = json(response).await;
        assert_eq!(error["error"]["type"], "invalid_request_error");
        let text = error["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(expected), "{body}: {text}");
    }

    let response = common::client()
        .post(format!("{}{CHAT}", server.base_url()))
        .header("content-type", "application/json")
        .body("{\"model\": ")
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 400);
    assert!(
        json(response).await["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not valid JSON"))
    );

    let response = post_json(&server, CHAT, &ask("gpt-4o", "hi")).await;
    assert_eq!(response.status(), 404);
    let error = json(response).await;
    assert_eq!(error["error"]["type"], "resource_not_found_error");
    assert_eq!(
        error["error"]["message"],
        "Not found the model gpt-4o or Permission denied"
    );
}

// A current-thread runtime: the server and this test share one thread, so work done on it
// holds up every other request.
#[tokio::test]
async fn a_large_chat_request_does_not_hold_up_the_server() {
    let server = server().await;
    // A task that notes the time every millisecond, when the thread lets it.
    let ticks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let ticker = tokio::spawn({
        let ticks = std::sync::Arc::clone(&ticks);
        async move {
            loop {
                ticks.lock().expect("not poisoned").push(Instant::now());
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    // About 6 MB of sentences: most of the request's time is spent making the answer.
    let document: String = (0..100_000)
        .map(|i| format!("Sentence {i} of the long report tells about topic{i}. "))
        .collect();
    let body = ask_about("moonshot-v1-128k", &document, "What about topic7?");
    let started = Instant::now();
    let response = post_json(&server, CHAT, &body).await;
    assert_eq!(response.status(), 200);
    let answer = json(response).await;
    let took = started.elapsed();
    ticker.abort();
    assert_eq!(
        message(&answer)["content"],
        "Sentence 7 of the long report tells about topic7."
    );
    let ticks = ticks.lock().expect("not poisoned").clone();
    let longest_stall = ticks
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or(took);
    assert!(
        longest_stall * 4 < took,
        "the server's thread was held for {longest_stall:?} of the request's {took:?}"
    );
}
