//! Each kind of change upstream has made to its pages, on a small hand-made workspace: one chat
//! page (two model families on different bases) and one other page. Every test starts from the
//! same pages and says only what it changes, then runs `gen` and `diff` as maintainers do.

mod common;

use common::xtask;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use xtask::pipeline::{Page, build};

/// The chat operation: a `oneOf` of two families. `alpha` builds on `Base` (the common fields
/// repeated, plus `messages`); `beta` builds on `Common` and brings its own `messages`, whose
/// items are a standard message or a tools message.
const CHAT_TEMPLATE: &str = r"openapi: 3.1.0
info:
  title: Test API
  version: 1.0.0
paths:
  /v1/chat:
    post:
      summary: Create Chat
      requestBody:
        required: true
        content:
          application/json:
            schema:
              oneOf:
                - $ref: '#/components/schemas/AlphaRequest'
                - $ref: '#/components/schemas/BetaRequest'
              discriminator:
                propertyName: model
      responses:
        '200':
          description: The reply
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Reply'
components:
  schemas:
    Reply:
      type: object
      properties:
        id:
          type: string
      required:
        - id
    Common:
      type: object
      properties:
        # COMMON_FIELDS
    Base:
      type: object
      properties:
        # COMMON_FIELDS
        messages:
          type: array
          items:
            $ref: '#/components/schemas/Message'
      required:
        - messages
    Message:
      type: object
      properties:
        role:
          type: string
        content:
          type: string
      required:
        - role
        - content
    ToolsMessage:
      type: object
      properties:
        role:
          type: string
        tools:
          type: array
          items:
            type: object
      required:
        - role
        - tools
    BetaMessage:
      oneOf:
        - $ref: '#/components/schemas/Message'
        - $ref: '#/components/schemas/ToolsMessage'
    AlphaRequest:
      title: alpha
      allOf:
        - $ref: '#/components/schemas/Base'
        - type: object
          properties:
            model:
              type: string
              enum:
                - alpha-1
            temperature:
              type: number
          required:
            - model
    BetaRequest:
      title: beta
      allOf:
        - $ref: '#/components/schemas/Common'
        - type: object
          properties:
            model:
              type: string
              enum:
                - beta-1
            messages:
              type: array
              items:
                $ref: '#/components/schemas/BetaMessage'
            effort:
              type: string
          required:
            - model
            - messages
";

/// The fields both bases have: `Base` repeats `Common`'s, as upstream writes it.
const COMMON_FIELDS: &str = "        stream:\n          type: boolean\n        max_tokens:\n          type: integer\n          deprecated: true\n          description: The most tokens to generate.\n";

/// The chat page's document.
fn chat() -> String {
    CHAT_TEMPLATE.replace("        # COMMON_FIELDS\n", COMMON_FIELDS)
}

/// A second operation, on a page of its own.
const THINGS: &str = r"openapi: 3.1.0
info:
  title: Test API
  version: 1.0.0
paths:
  /v1/things:
    get:
      summary: List Things
      responses:
        '200':
          description: The things
          content:
            application/json:
              schema:
                type: object
                properties:
                  count:
                    type: integer
";

/// A third family, for the tests that add one: `gamma`, on `Base` like `alpha`, with a field of
/// its own (`seed`) instead of `temperature`.
fn gamma() -> String {
    let start = CHAT_TEMPLATE.find("    AlphaRequest:\n").expect("alpha");
    let end = CHAT_TEMPLATE.find("    BetaRequest:\n").expect("beta");
    CHAT_TEMPLATE[start..end]
        .replace("AlphaRequest", "GammaRequest")
        .replace("alpha", "gamma")
        .replace(
            "temperature:\n              type: number",
            "seed:\n              type: integer",
        )
}

/// `yaml` as an upstream page whose one block documents `method path`.
fn page_text(method: &str, path: &str, yaml: &str) -> String {
    format!("# A page\n\nSome prose.\n\n## OpenAPI\n\n````yaml {method} {path}\n{yaml}````\n")
}

fn chat_page(yaml: &str) -> Page {
    Page {
        name: "openapi/upstream/chat.md".to_owned(),
        text: page_text("POST", "/v1/chat", yaml),
    }
}

/// `text` with `from` replaced once by `to`; the edit must change something.
fn edit(text: &str, from: &str, to: &str) -> String {
    let edited = text.replacen(from, to, 1);
    assert_ne!(edited, text, "`{from}` is not in the page");
    edited
}

/// The chat page with a third family, `gamma`.
fn with_gamma(chat: &str) -> String {
    let chat = edit(
        chat,
        "                - $ref: '#/components/schemas/BetaRequest'\n",
        "                - $ref: '#/components/schemas/BetaRequest'\n                - $ref: '#/components/schemas/GammaRequest'\n",
    );
    format!("{chat}{}", gamma())
}

/// A workspace whose pages are `chat` and the things page, with `overlay` when given, and the
/// merged document `gen` makes of them written (when they generate).
fn workspace(chat: &str, overlay: Option<&str>) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    let upstream = root.path().join("openapi/upstream");
    std::fs::create_dir_all(&upstream).expect("mkdir");
    std::fs::write(
        upstream.join("chat.md"),
        page_text("POST", "/v1/chat", chat),
    )
    .expect("write");
    std::fs::write(
        upstream.join("things.md"),
        page_text("GET", "/v1/things", THINGS),
    )
    .expect("write");
    if let Some(overlay) = overlay {
        std::fs::write(root.path().join("openapi/overlay.yaml"), overlay).expect("write");
    }
    xtask(root.path(), &["gen"]);
    root
}

/// Rewrites the chat page of `root` to `chat`.
fn publish(root: &Path, chat: &str) {
    std::fs::write(
        root.join("openapi/upstream/chat.md"),
        page_text("POST", "/v1/chat", chat),
    )
    .expect("write");
}

/// `cargo xtask diff --format json` in `root`: the exit code and (rule, level, location) of
/// each change.
fn diff(root: &Path) -> (Option<i32>, Vec<(String, String, String)>, Output) {
    let out = xtask(root, &["diff", "--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "no verdict: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    });
    let changes = json["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let text = |key: &str| c[key].as_str().unwrap_or_default().to_owned();
            (text("rule"), text("level"), text("location"))
        })
        .collect();
    (out.status.code(), changes, out)
}

fn has(changes: &[(String, String, String)], rule: &str, level: &str, location: &str) -> bool {
    changes
        .iter()
        .any(|(r, l, at)| r == rule && l == level && at == location)
}

const BODY: &str = "/paths/~1v1~1chat/post/requestBody/content/application~1json/schema";

#[test]
fn families_on_different_bases_become_one_request_type() {
    let merged = build(&[chat_page(&chat())], None).expect("builds");
    let schemas = &merged["components"]["schemas"];
    for gone in ["AlphaRequest", "BetaRequest", "Base", "Common"] {
        assert!(schemas.get(gone).is_none(), "{gone} is left");
    }
    let request = &schemas["CreateChatRequest"];
    let fields: Vec<&String> = request["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .collect();
    assert_eq!(
        fields,
        [
            "effort",
            "max_tokens",
            "messages",
            "model",
            "stream",
            "temperature"
        ]
    );
    // Both families require messages and model, whatever part of them says so.
    assert_eq!(request["required"], json!(["messages", "model"]));
    // A field the same in every family, from either base, as it is.
    assert_eq!(request["properties"]["stream"], json!({"type": "boolean"}));
    assert_eq!(
        request["x-model-families"],
        json!({"alpha": ["alpha-1"], "beta": ["beta-1"]})
    );
}

#[test]
fn a_family_with_its_own_messages_takes_the_union_of_the_items() {
    let merged = build(&[chat_page(&chat())], None).expect("builds");
    // beta's items are a standard message or a tools message: they take alpha's standard
    // message, so they are the union, one type.
    assert_eq!(
        merged["components"]["schemas"]["CreateChatRequest"]["properties"]["messages"]["items"],
        json!({"$ref": "#/components/schemas/BetaMessage"})
    );
    // Items that neither holds the other become a `oneOf` of both.
    let own = edit(
        &chat(),
        "                $ref: '#/components/schemas/BetaMessage'\n",
        "                $ref: '#/components/schemas/ToolsMessage'\n",
    );
    let merged = build(&[chat_page(&own)], None).expect("builds");
    assert_eq!(
        merged["components"]["schemas"]["CreateChatRequest"]["properties"]["messages"]["items"],
        json!({"oneOf": [
            {"$ref": "#/components/schemas/Message"},
            {"$ref": "#/components/schemas/ToolsMessage"}
        ]})
    );
}

#[test]
fn a_deprecated_field_says_so_in_its_generated_doc() {
    let merged = build(&[chat_page(&chat())], None).expect("builds");
    let field = &merged["components"]["schemas"]["CreateChatRequest"]["properties"]["max_tokens"];
    assert_eq!(field["deprecated"], true, "the keyword stays");
    assert_eq!(
        field["description"],
        "Deprecated. The most tokens to generate."
    );
    let spec: openapiv3::OpenAPI = serde_json::from_value(merged).expect("OpenAPI 3.0");
    let mut settings = progenitor::GenerationSettings::new();
    settings.with_interface(progenitor::InterfaceStyle::Positional);
    let code = progenitor::Generator::new(&settings)
        .generate_tokens(&spec)
        .expect("generates")
        .to_string();
    assert!(
        code.contains("Deprecated. The most tokens to generate."),
        "the generated doc does not say it"
    );
    // Still a field that can be sent.
    assert!(code.contains("pub max_tokens :"), "no field max_tokens");
}

#[test]
fn a_family_removed_is_breaking_and_one_added_is_not() {
    let root = workspace(&with_gamma(&chat()), None);
    // Upstream retires gamma: its own field disappears from the request type.
    publish(root.path(), &chat());
    let (code, changes, _) = diff(root.path());
    assert_eq!(code, Some(1), "{changes:?}");
    assert!(
        has(
            &changes,
            "request-property-removed",
            "breaking",
            &format!("{BODY}/properties/seed")
        ),
        "{changes:?}"
    );

    // And the other way: a family launched upstream adds a field and model ids.
    let root = workspace(&chat(), None);
    publish(root.path(), &with_gamma(&chat()));
    let (code, changes, _) = diff(root.path());
    assert_eq!(code, Some(0), "{changes:?}");
    assert!(
        has(
            &changes,
            "request-property-added",
            "warning",
            &format!("{BODY}/properties/seed")
        ),
        "{changes:?}"
    );
    assert!(
        changes.iter().all(|(_, level, _)| level != "breaking"),
        "{changes:?}"
    );
}

#[test]
fn an_operation_that_appears_is_info_and_one_that_vanishes_is_breaking() {
    let root = workspace(&chat(), None);
    let things = root.path().join("openapi/upstream/things.md");
    std::fs::remove_file(&things).expect("remove");
    let (code, changes, _) = diff(root.path());
    assert_eq!(code, Some(1));
    assert!(
        has(
            &changes,
            "operation-removed",
            "breaking",
            "/paths/~1v1~1things/get"
        ),
        "{changes:?}"
    );

    // The committed document without the page, and the page back: a new operation.
    assert!(xtask(root.path(), &["gen"]).status.success());
    std::fs::write(&things, page_text("GET", "/v1/things", THINGS)).expect("write");
    let (code, changes, _) = diff(root.path());
    assert_eq!(code, Some(0));
    assert!(
        has(
            &changes,
            "operation-added",
            "info",
            "/paths/~1v1~1things/get"
        ),
        "{changes:?}"
    );
}

#[test]
fn a_component_renamed_or_inlined_changes_the_generated_type_name() {
    let response = "/paths/~1v1~1chat/post/responses/200/content/application~1json/schema";
    let root = workspace(&chat(), None);
    let renamed = chat()
        .replace("schemas/Reply'", "schemas/ChatReply'")
        .replace("    Reply:\n", "    ChatReply:\n");
    publish(root.path(), &renamed);
    let (code, changes, _) = diff(root.path());
    assert_eq!(code, Some(1));
    assert!(
        has(&changes, "response-body-type-changed", "breaking", response),
        "{changes:?}"
    );

    let inlined = edit(
        &chat(),
        "                $ref: '#/components/schemas/Reply'\n",
        "                type: object\n                properties:\n                  id:\n                    type: string\n                required:\n                  - id\n",
    );
    publish(root.path(), &inlined);
    let (code, changes, _) = diff(root.path());
    assert_eq!(code, Some(1));
    assert!(
        has(&changes, "response-body-type-changed", "breaking", response),
        "{changes:?}"
    );
}

/// An overlay that gives beta's `effort` the values upstream does not list.
const EFFORT_VALUES: &str = r"overlay: 1.1.0
info:
  title: Corrections
  version: 1.0.0
actions:
  - target: $.components.schemas.BetaRequest.allOf[1].properties.effort
    description: The efforts the server takes.
    update:
      enum:
        - low
        - high
";

#[test]
fn a_correction_made_redundant_fails_gen_and_is_an_info_finding() {
    let root = workspace(&chat(), Some(EFFORT_VALUES));
    let merged = root.path().join("openapi/openapi.yaml");
    let committed = std::fs::read(&merged).expect("gen wrote the document");
    // Upstream now lists the values itself, and documents them.
    let upstream_says_it = edit(
        &chat(),
        "            effort:\n              type: string\n",
        "            effort:\n              type: string\n              description: How hard to think.\n              enum:\n                - low\n                - high\n",
    );
    publish(root.path(), &upstream_says_it);

    let out = xtask(root.path(), &["gen"]);
    assert_eq!(out.status.code(), Some(1), "gen refuses");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("correction 0 (The efforts the server takes.)")
            && stderr.contains("BetaRequest.allOf[1].properties.effort")
            && stderr.contains("remove it"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&merged).expect("read"), committed);

    let (code, changes, _) = diff(root.path());
    assert!(matches!(code, Some(0 | 1)), "a verdict: {changes:?}");
    assert!(
        has(
            &changes,
            "overlay-correction-redundant",
            "info",
            "openapi/overlay.yaml#/actions/0"
        ),
        "{changes:?}"
    );
}

#[test]
fn a_correction_already_stale_on_the_old_side_is_not_a_finding() {
    // The correction targets a family neither side has.
    let overlay = EFFORT_VALUES.replace("BetaRequest", "DeltaRequest");
    let root = workspace(&chat(), Some(&overlay));
    let old = root.path().join("old");
    std::fs::create_dir_all(&old).expect("mkdir");
    std::fs::write(old.join("chat.md"), page_text("POST", "/v1/chat", &chat())).expect("write");
    publish(root.path(), &edit(&chat(), "The reply", "The answer"));

    let new = root.path().join("openapi/upstream");
    let (old, new) = (old.to_string_lossy(), new.to_string_lossy());
    let out = xtask(
        root.path(),
        &["diff", "--format", "json", "--old", &old, "--new", &new],
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let rules: Vec<&str> = json["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["rule"].as_str())
        .collect();
    assert!(!rules.contains(&"overlay-correction-stale"), "{rules:?}");
    assert!(rules.contains(&"operation-added"), "{rules:?}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn families_disagreeing_on_a_field_type_name_both_and_write_nothing() {
    let root = workspace(&chat(), None);
    let merged = root.path().join("openapi/openapi.yaml");
    let committed = std::fs::read(&merged).expect("gen wrote the document");
    // beta's effort becomes a number; alpha starts taking an effort that is a string.
    let disagreeing = edit(
        &edit(
            &chat(),
            "            effort:\n              type: string\n",
            "            effort:\n              type: number\n",
        ),
        "            temperature:\n              type: number\n",
        "            temperature:\n              type: number\n            effort:\n              type: string\n",
    );
    publish(root.path(), &disagreeing);

    // gen fails (1, as for any input it refuses), diff has no verdict to give (2).
    for (args, code) in [(&["gen"][..], 1), (&["diff"][..], 2)] {
        let out = xtask(root.path(), args);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for part in [
            "family `beta` and family `alpha` disagree",
            "`type`",
            &format!("{BODY}/properties/effort/type"),
        ] {
            assert!(stderr.contains(part), "{args:?}: no {part}: {stderr}");
        }
        assert_eq!(std::fs::read(&merged).expect("read"), committed);
    }
}
