//! The spec pipeline on the real pages and on hand-made ones: extraction, conversion, merging,
//! ids, corrections, determinism, and each bad input.

mod common;

use common::workspace;

use proptest::prelude::*;
use serde_json::{Value, json};
use xtask::Error;
use xtask::canonical::render;
use xtask::overlay::Corrections;
use xtask::pipeline::{Page, build, read_page};

/// A page in the upstream format: prose, a three-backtick code sample, then the OpenAPI block.
fn page(name: &str, method: &str, path: &str, yaml: &str) -> Page {
    Page {
        name: format!("openapi/upstream/{name}"),
        text: format!(
            "# A page\n\n> Some prose.\n\n<Accordion title=\"Usage Example\">\n  ```python theme={{null}}\n  client.files.retrieve(file_id=file_id)\n  ```\n</Accordion>\n\n## OpenAPI\n\n````yaml {method} {path}\n{yaml}````\n"
        ),
    }
}

/// The parts every real page repeats, so hand-made pages merge with the real ones.
const HEAD: &str = "openapi: 3.1.0\ninfo:\n  title: Moonshot AI API\n  version: 1.0.0\n  description: API for Moonshot AI / Kimi large language model services\nservers:\n  - url: https://api.moonshot.ai\n    description: Production\nsecurity: []\n";

fn operation_yaml(method: &str, path: &str, summary: &str, schemas: &str) -> String {
    format!(
        "{HEAD}paths:\n  {path}:\n    {method}:\n      summary: {summary}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema:\n                $ref: '#/components/schemas/Thing'\ncomponents:\n  schemas:\n{schemas}"
    )
}

/// A page whose one operation is `GET path`, answering a `Thing`.
fn get_page(name: &str, path: &str, summary: &str) -> Page {
    page(
        name,
        "GET",
        path,
        &operation_yaml("get", path, summary, THING),
    )
}

const THING: &str =
    "    Thing:\n      type: object\n      properties:\n        id:\n          type: string\n";

fn real_pages() -> Vec<Page> {
    xtask::pipeline::read_pages(&workspace(), &workspace().join("openapi/upstream")).expect("pages")
}

fn real_corrections() -> Corrections {
    let text = std::fs::read_to_string(workspace().join("openapi/overlay.yaml")).expect("overlay");
    Corrections::parse("openapi/overlay.yaml", &text).expect("overlay parses")
}

#[test]
fn the_real_pages_merge_into_one_document_with_both_operations() {
    let merged = build(&real_pages(), Some(&real_corrections())).expect("builds");
    assert_eq!(merged["openapi"], "3.0.3");
    assert_eq!(
        merged["paths"]["/v1/files/{file_id}"]["get"]["operationId"],
        "retrieve_file"
    );
    assert_eq!(
        merged["paths"]["/v1/files/{file_id}/content"]["get"]["operationId"],
        "retrieve_file_content"
    );
    // The overlay moved `purpose` into a component, keeping upstream's values.
    assert_eq!(
        merged["components"]["schemas"]["FileObject"]["properties"]["purpose"],
        json!({"$ref": "#/components/schemas/Purpose"})
    );
    assert_eq!(
        merged["components"]["schemas"]["Purpose"]["enum"],
        json!(["file-extract", "image", "video", "batch"])
    );
}

#[test]
fn without_corrections_ids_come_from_the_summaries() {
    let pages: Vec<Page> = real_pages()
        .into_iter()
        .filter(|p| !p.name.ends_with("files-upload.md"))
        .collect();
    let merged = build(&pages, None).expect("builds");
    assert_eq!(
        merged["paths"]["/v1/files/{file_id}"]["get"]["operationId"],
        "get_file_information"
    );
    assert_eq!(
        merged["paths"]["/v1/files/{file_id}/content"]["get"]["operationId"],
        "get_file_content"
    );
    assert_eq!(
        merged["paths"]["/v1/users/me/balance"]["get"]["operationId"],
        "check_balance"
    );
}

#[test]
fn an_operation_progenitor_cannot_generate_must_be_marked_hand_written() {
    // Without the overlay, nothing marks the multipart upload.
    let err = build(&real_pages(), None).expect_err("the upload is not marked");
    let text = err.to_string();
    assert!(
        matches!(&err, Error::NotGenerable { page, operation, .. }
            if page == "openapi/upstream/files-upload.md" && operation == "POST /v1/files"),
        "{text}"
    );
    assert!(text.contains("multipart/form-data"), "{text}");
    assert!(text.contains("x-hand-written"), "{text}");

    // With it, the operation stays as documented, marked.
    let merged = build(&real_pages(), Some(&real_corrections())).expect("builds");
    let upload = &merged["paths"]["/v1/files"]["post"];
    assert!(upload["x-hand-written"].is_string());
    assert!(upload["requestBody"]["content"]["multipart/form-data"].is_object());
}

/// The operations left for progenitor: the merged document less those written by hand, as
/// `moonshot-api`'s build script hands it over.
fn generable(mut merged: Value) -> openapiv3::OpenAPI {
    if let Some(paths) = merged["paths"].as_object_mut() {
        for item in paths.values_mut() {
            if let Some(item) = item.as_object_mut() {
                item.retain(|_, op| op.get(xtask::hand_written::MARK).is_none());
            }
        }
    }
    serde_json::from_value(merged).expect("valid OpenAPI 3.0")
}

/// What progenitor generates from `spec`, as text.
fn generate(spec: &openapiv3::OpenAPI) -> String {
    let mut settings = progenitor::GenerationSettings::new();
    settings.with_interface(progenitor::InterfaceStyle::Positional);
    progenitor::Generator::new(&settings)
        .generate_tokens(spec)
        .expect("generates")
        .to_string()
}

#[test]
fn every_operation_is_generated_or_marked_hand_written() {
    let merged = build(&real_pages(), Some(&real_corrections())).expect("builds");
    let code = generate(&generable(merged.clone()));
    let mut hand_written = Vec::new();
    let mut generated = Vec::new();
    for (name, operation) in xtask::ids::operations(&merged) {
        let id = operation["operationId"].as_str().expect("an id");
        if operation.get(xtask::hand_written::MARK).is_some() {
            assert!(!code.contains(&format!("pub async fn {id} ")), "{id}");
            hand_written.push(name);
        } else {
            assert!(
                code.contains(&format!("pub async fn {id} ")),
                "no method {id}"
            );
            generated.push(id.to_owned());
        }
    }
    assert_eq!(hand_written, ["POST /v1/files"]);
    assert_eq!(generated.len(), 12);
}

#[test]
fn an_enum_that_cannot_be_opened_is_refused_with_its_pointer() {
    let thing = "    Thing:\n      type: object\n      properties:\n        level:\n          type: integer\n          enum: [1, 2, 3]\n";
    let pages = [page(
        "a.md",
        "GET",
        "/v1/things",
        &operation_yaml("get", "/v1/things", "Get", thing),
    )];
    let err = build(&pages, None).expect_err("an integer enum");
    assert!(
        matches!(&err, Error::EnumNotOpenable { pointer, .. }
            if pointer == "/components/schemas/Thing/properties/level"),
        "{err}"
    );
    assert!(err.to_string().contains("openapi/overlay.yaml"), "{err}");
}

#[test]
fn inline_enums_are_named_as_progenitor_names_types_and_tags_stay_inline() {
    let thing = "    Thing:\n      type: object\n      properties:\n        status:\n          type: string\n          enum: [ok, failed]\n        parts:\n          type: array\n          items:\n            oneOf:\n              - type: object\n                title: text\n                required: [type]\n                properties:\n                  type:\n                    type: string\n                    enum: [text]\n                  style:\n                    type: string\n                    enum: [bold, plain, null]\n";
    let pages = [page(
        "a.md",
        "GET",
        "/v1/things",
        &operation_yaml("get", "/v1/things", "Get", thing),
    )];
    let merged = build(&pages, None).expect("builds");
    let schemas = &merged["components"]["schemas"];
    assert_eq!(
        schemas["Thing"]["properties"]["status"],
        json!({"$ref": "#/components/schemas/ThingStatus"})
    );
    assert_eq!(schemas["ThingStatus"]["enum"], json!(["ok", "failed"]));
    let part = &schemas["Thing"]["properties"]["parts"]["items"]["oneOf"][0]["properties"];
    // The alternative's tag stays inline and closed; its other enums are named; null is dropped.
    assert_eq!(part["type"]["enum"], json!(["text"]));
    assert_eq!(
        part["style"],
        json!({"$ref": "#/components/schemas/ThingPartsItemTextStyle"})
    );
    assert_eq!(
        schemas["ThingPartsItemTextStyle"]["enum"],
        json!(["bold", "plain"])
    );
}

#[test]
fn model_families_become_one_request_type() {
    let merged = build(&real_pages(), Some(&real_corrections())).expect("builds");
    let body = &merged["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(
        body,
        &json!({"$ref": "#/components/schemas/CreateChatCompletionRequest"})
    );
    let schemas = &merged["components"]["schemas"];
    // The families and both bases they build on (kimi-k3 on the common fields, the others on
    // the common fields plus messages) are gone.
    for family in [
        "KimiK3ChatRequest",
        "KimiK27CodeChatRequest",
        "KimiK26ChatRequest",
        "KimiK25ChatRequest",
        "MoonshotV1ChatRequest",
        "ChatRequestBase",
        "ChatRequestCommon",
    ] {
        assert!(schemas.get(family).is_none(), "{family} is left");
    }
    let request = &schemas["CreateChatCompletionRequest"];
    assert_eq!(request["required"], json!(["messages", "model"]));
    // Every family's model ids, opened as one enum, and kept by family.
    let models = schemas["CreateChatCompletionRequestModel"]["enum"]
        .as_array()
        .expect("model ids");
    assert_eq!(models.len(), 12);
    assert_eq!(
        request["x-model-families"]["kimi-k2.7-code"],
        json!(["kimi-k2.7-code", "kimi-k2.7-code-highspeed"])
    );
    // A field only some families have: no default sent, each family's kept for the record.
    let temperature = &request["properties"]["temperature"];
    assert!(temperature.get("default").is_none());
    assert_eq!(temperature["x-server-default"], json!({"moonshot-v1": 0.0}));
    assert_eq!(
        (&temperature["minimum"], &temperature["maximum"]),
        (&json!(0), &json!(1))
    );
    let effort = &schemas["CreateChatCompletionRequestReasoningEffort"];
    assert!(effort.get("default").is_none());
    assert_eq!(effort["x-server-default"], json!({"kimi-k3": "max"}));
    // thinking: the `keep` of kimi-k2.6 and kimi-k2.7-code and kimi-k2.5's plain form, united.
    let thinking = &request["properties"]["thinking"]["properties"];
    assert!(thinking.get("type").is_some() && thinking.get("keep").is_some());
    // messages: kimi-k3's own items (a standard message or a dynamic tool message) take the
    // base's standard message, so they are the union, one type.
    assert_eq!(
        request["properties"]["messages"]["items"],
        json!({"$ref": "#/components/schemas/KimiK3Message"})
    );
    // Defaults of the common fields are the server's too.
    assert_eq!(
        request["properties"]["stream"]["x-server-default"],
        json!(false)
    );
    assert!(request["properties"]["stream"].get("default").is_none());
}

#[test]
fn families_that_cannot_be_merged_are_refused() {
    let yaml = format!(
        "{HEAD}paths:\n  /v1/ask:\n    post:\n      summary: Ask\n      requestBody:\n        content:\n          application/json:\n            schema:\n              oneOf:\n                - $ref: '#/components/schemas/A'\n                - $ref: '#/components/schemas/B'\n              discriminator:\n                propertyName: model\n      responses:\n        '200':\n          description: ok\ncomponents:\n  schemas:\n    Base:\n      type: object\n      properties:\n        q:\n          type: string\n    A:\n      allOf:\n        - $ref: '#/components/schemas/Base'\n        - type: object\n          properties:\n            model:\n              type: string\n              enum: [a]\n            n:\n              type: integer\n    B:\n      allOf:\n        - $ref: '#/components/schemas/Base'\n        - type: object\n          properties:\n            model:\n              type: string\n              enum: [b]\n            n:\n              type: string\n"
    );
    let err = build(&[page("a.md", "POST", "/v1/ask", &yaml)], None).expect_err("n differs");
    assert!(
        matches!(&err, Error::FamilyConflict { pointer, .. } if pointer.ends_with("/properties/n/type")),
        "{err}"
    );
}

#[test]
fn a_new_page_adds_an_operation_with_no_code_change() {
    let mut pages = real_pages();
    let usage = "    UsageReport:\n      type: object\n      properties:\n        tokens:\n          type: integer\n";
    let yaml = operation_yaml("get", "/v1/users/me/usage", "Get Usage Report", usage)
        .replace("schemas/Thing", "schemas/UsageReport");
    pages.push(page("usage.md", "GET", "/v1/users/me/usage", &yaml));
    let merged = build(&pages, Some(&real_corrections())).expect("builds");
    assert_eq!(
        merged["paths"]["/v1/users/me/usage"]["get"]["operationId"],
        "get_usage_report"
    );

    // And progenitor makes a method and a type of it, beside the others.
    let code = generate(&generable(merged));
    for method in [
        "get_usage_report",
        "retrieve_file",
        "create_chat_completion",
    ] {
        assert!(
            code.contains(&format!("pub async fn {method}")),
            "no method {method}"
        );
    }
    assert!(code.contains("pub struct UsageReport"));
}

#[test]
fn the_fence_header_must_agree_with_the_document() {
    let p = page(
        "a.md",
        "POST",
        "/v1/things",
        &operation_yaml("get", "/v1/things", "Get", THING),
    );
    match read_page(&p) {
        Err(Error::HeaderMismatch {
            page,
            header,
            found,
        }) => {
            assert_eq!(page, "openapi/upstream/a.md");
            assert_eq!(header, "POST /v1/things");
            assert_eq!(found, "GET /v1/things");
        }
        other => panic!("expected a header mismatch, got {other:?}"),
    }
}

#[test]
fn pages_without_or_with_two_blocks_are_refused() {
    let none = Page {
        name: "none.md".into(),
        text: "# Title\n\n```yaml\nopenapi: 3.1.0\n```\n".into(),
    };
    assert!(matches!(read_page(&none), Err(Error::NoOpenApiBlock { page }) if page == "none.md"));

    let one = page(
        "two.md",
        "GET",
        "/v1/things",
        &operation_yaml("get", "/v1/things", "Get", THING),
    );
    let two = Page {
        name: "two.md".into(),
        text: format!("{}\n{}", one.text, one.text),
    };
    let err = read_page(&two).expect_err("two blocks");
    assert!(
        matches!(err, Error::SeveralOpenApiBlocks { count: 2, .. }),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("two.md: 2 OpenAPI blocks"),
        "{err}"
    );
}

#[test]
fn invalid_yaml_names_the_page_line_and_column() {
    let p = page(
        "bad.md",
        "GET",
        "/v1/x",
        "openapi: 3.1.0\ninfo: {title: x\npaths: {}\n",
    );
    let err = read_page(&p).expect_err("invalid YAML");
    let Error::Yaml {
        page, line, column, ..
    } = &err
    else {
        panic!("expected a YAML error, got {err:?}")
    };
    assert_eq!(page, "openapi/upstream/bad.md");
    // The block's first line is line 14 of the page; the parser stops on its third line.
    assert_eq!((*line, *column), (16, 6), "{err}");
    assert!(
        err.to_string()
            .starts_with("openapi/upstream/bad.md:16:6: invalid YAML"),
        "{err}"
    );
}

#[test]
fn unsupported_versions_are_refused() {
    for (version, shown) in [
        ("swagger: '2.0'", "swagger 2.0"),
        ("openapi: 4.0.0", "4.0.0"),
        ("openapi: 3.2.0", "3.2.0"),
    ] {
        let yaml = format!("{version}\npaths:\n  /x:\n    get:\n      responses: {{}}\n");
        let err = read_page(&page("v.md", "GET", "/x", &yaml)).expect_err(version);
        assert!(
            matches!(&err, Error::UnsupportedVersion { found, .. } if found == shown),
            "{version}: {err}"
        );
    }
}

#[test]
fn exact_31_forms_are_converted() {
    let schemas = "    Thing:\n      type: object\n      properties:\n        name:\n          type: [string, 'null']\n        kind:\n          const: file\n        size:\n          type: integer\n          exclusiveMinimum: 0\n          examples: [42, 43]\n        tags:\n          type: array\n          items:\n            type: [string]\n";
    let doc = read_page(&page(
        "c.md",
        "GET",
        "/t",
        &operation_yaml("get", "/t", "Get", schemas),
    ))
    .expect("converts")
    .document;
    let props = &doc["components"]["schemas"]["Thing"]["properties"];
    assert_eq!(props["name"], json!({"type": "string", "nullable": true}));
    assert_eq!(props["kind"], json!({"enum": ["file"]}));
    assert_eq!(
        props["size"],
        json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "example": 42})
    );
    assert_eq!(props["tags"]["items"], json!({"type": "string"}));
    assert_eq!(doc["openapi"], "3.0.3");
}

#[test]
fn other_31_forms_are_refused_with_page_and_pointer() {
    let cases = [
        (
            "type: [string, integer]",
            "/components/schemas/Thing/properties/bad/type",
        ),
        (
            "prefixItems: [{type: string}]",
            "/components/schemas/Thing/properties/bad/prefixItems",
        ),
        (
            "type: 'null'",
            "/components/schemas/Thing/properties/bad/type",
        ),
        (
            "$defs: {a: {type: string}}",
            "/components/schemas/Thing/properties/bad/$defs",
        ),
    ];
    for (form, expected) in cases {
        let schemas =
            format!("    Thing:\n      type: object\n      properties:\n        bad: {{{form}}}\n");
        let err = read_page(&page(
            "r.md",
            "GET",
            "/t",
            &operation_yaml("get", "/t", "Get", &schemas),
        ))
        .expect_err(form);
        match &err {
            Error::Unsupported31 { page, pointer, .. } => {
                assert_eq!(page, "openapi/upstream/r.md");
                assert_eq!(pointer, expected, "{form}");
            }
            other => panic!("{form}: expected Unsupported31, got {other}"),
        }
    }
}

#[test]
fn identical_repeats_collapse_and_differences_name_both_pages() {
    let a = get_page("a.md", "/a", "Get A");
    let b = get_page("b.md", "/b", "Get B");
    let merged = build(&[a.clone(), b], None).expect("identical components collapse");
    assert_eq!(merged["paths"].as_object().expect("paths").len(), 2);

    let other_thing =
        "    Thing:\n      type: object\n      properties:\n        id:\n          type: integer\n";
    let c = page(
        "c.md",
        "GET",
        "/c",
        &operation_yaml("get", "/c", "Get C", other_thing),
    );
    match build(&[c, a.clone()], None) {
        Err(Error::Conflict {
            pointer,
            first,
            second,
        }) => {
            assert_eq!(pointer, "/components/schemas/Thing/properties/id/type");
            assert_eq!(
                (first.as_str(), second.as_str()),
                ("openapi/upstream/a.md", "openapi/upstream/c.md")
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }

    let other_server =
        operation_yaml("get", "/d", "Get D", THING).replace("api.moonshot.ai", "api.moonshot.cn");
    let d = page("d.md", "GET", "/d", &other_server);
    let err = build(&[a.clone(), d], None).expect_err("servers differ");
    assert!(
        matches!(&err, Error::Conflict { pointer, .. } if pointer == "/servers/0/url"),
        "{err}"
    );

    let other_info =
        operation_yaml("get", "/e", "Get E", THING).replace("version: 1.0.0", "version: 1.1.0");
    let e = page("e.md", "GET", "/e", &other_info);
    let err = build(&[a, e], None).expect_err("info differs");
    assert!(
        matches!(&err, Error::Conflict { pointer, .. } if pointer == "/info/version"),
        "{err}"
    );
}

#[test]
fn a_differing_security_scheme_is_a_conflict() {
    let with_scheme = |scheme: &str| {
        format!(
            "{}  securitySchemes:\n    bearerAuth:\n      type: http\n      scheme: {scheme}\n",
            operation_yaml("get", "/s", "Get", THING)
        )
    };
    let a = page("a.md", "GET", "/s", &with_scheme("bearer"));
    let b = page(
        "b.md",
        "GET",
        "/t",
        &with_scheme("basic").replace("/s:", "/t:"),
    );
    let err = build(&[a, b], None).expect_err("schemes differ");
    assert!(
        matches!(&err, Error::Conflict { pointer, .. } if pointer == "/components/securitySchemes/bearerAuth/scheme"),
        "{err}"
    );
}

#[test]
fn the_same_operation_on_two_pages_is_refused() {
    let a = get_page("a.md", "/a", "Get A");
    let b = get_page("b.md", "/a", "Get A");
    let err = build(&[a, b], None).expect_err("duplicate");
    assert_eq!(
        err.to_string(),
        "GET /a is defined by both openapi/upstream/a.md and openapi/upstream/b.md: keep one of the pages"
    );
}

#[test]
fn ids_that_collide_once_snake_cased_are_refused() {
    let a = get_page("a.md", "/a", "Get Thing");
    let b = get_page("b.md", "/b", "get-thing");
    let err = build(&[a, b], None).expect_err("duplicate ids");
    assert!(
        matches!(&err, Error::DuplicateOperationId { id, first, second }
            if id == "get_thing" && first == "GET /a" && second == "GET /b"),
        "{err}"
    );
}

#[test]
fn a_stale_correction_is_an_error() {
    let overlay = "overlay: 1.1.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.paths['/gone'].get\n    update: {operationId: gone}\n";
    let corrections = Corrections::parse("openapi/overlay.yaml", overlay).expect("parses");
    let a = get_page("a.md", "/a", "Get A");
    match build(&[a], Some(&corrections)) {
        Err(Error::StaleOverlayAction {
            path,
            index,
            target,
        }) => {
            assert_eq!(
                (path.as_str(), index, target.as_str()),
                ("openapi/overlay.yaml", 0, "$.paths['/gone'].get")
            );
        }
        other => panic!("expected a stale action, got {other:?}"),
    }
}

#[test]
fn a_correction_that_makes_a_type_hold_itself_is_refused() {
    let overlay = "overlay: 1.1.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: \
                   $.components.schemas.Thing\n    update: {required: [id], properties: {id: \
                   {$ref: '#/components/schemas/Thing'}}}\n";
    let corrections = Corrections::parse("openapi/overlay.yaml", overlay).expect("parses");
    let a = get_page("a.md", "/a", "Get A");
    let err = build(&[a], Some(&corrections)).expect_err("a type that holds itself");
    assert!(
        matches!(&err, Error::InfinitelySizedType { document, pointer, cycle }
            if document == "the merged document"
                && pointer == "/components/schemas/Thing/properties/id/$ref"
                && cycle == "Thing -> Thing"),
        "{err}"
    );
}

#[test]
fn an_overlay_that_does_not_parse_is_refused() {
    for text in [
        "overlay: [",
        "overlay: 1.1.0\ninfo: {title: t, version: '1'}\n",
        "not: an overlay\n",
    ] {
        let err = Corrections::parse("openapi/overlay.yaml", text).expect_err(text);
        assert!(
            matches!(&err, Error::Overlay { path, .. } if path == "openapi/overlay.yaml"),
            "{text}: {err}"
        );
    }
}

#[test]
fn rendering_is_sorted_and_ends_in_one_newline() {
    let text =
        render(&json!({"paths": {}, "openapi": "3.0.3", "info": {"version": "1", "title": "t"}}));
    assert!(text.starts_with("# Generated by `cargo xtask gen`"));
    let body: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        body,
        [
            "info:",
            "  title: t",
            "  version: '1'",
            "openapi: 3.0.3",
            "paths: {}"
        ]
    );
    assert!(text.ends_with("{}\n") && !text.ends_with("\n\n"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any order of the pages gives the same bytes.
    #[test]
    fn page_order_does_not_change_the_bytes(order in Just((0..16usize).collect::<Vec<_>>()).prop_shuffle()) {
        let mut pages = real_pages();
        for (name, path) in [("x.md", "/x"), ("y.md", "/y"), ("z.md", "/z")] {
            pages.push(page(name, "GET", path, &operation_yaml("get", path, &format!("Get {name}"), THING)));
        }
        // The real pages share ErrorResponse; the hand-made ones share Thing.
        let corrections = real_corrections();
        let reference = render(&build(&pages, Some(&corrections)).expect("builds"));
        prop_assert_eq!(pages.len(), order.len());
        let shuffled: Vec<Page> = order.iter().map(|i| pages[*i].clone()).collect();
        prop_assert_eq!(render(&build(&shuffled, Some(&corrections)).expect("builds")), reference);
    }
}

#[test]
fn merged_values_survive_a_render_round_trip() {
    let merged = build(&real_pages(), Some(&real_corrections())).expect("builds");
    let text = render(&merged);
    let back: Value = serde_yaml_ng::from_str(&text).expect("parses");
    assert_eq!(back, merged);
}
