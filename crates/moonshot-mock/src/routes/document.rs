//! Every operation of the document without a hand-written route, answered from the document:
//! the request checked against its schemas, the answer its example or a small valid value.

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::{json_request, unknown_route};
use crate::document::{Matched, Schemas};
use crate::error::ApiError;
use crate::state::ServerState;

/// The most bytes a request body may have here: axum's default limit, which this route keeps.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Answers `method` `uri` from the document, or 404 when the document has no such operation.
pub(crate) async fn answer(
    State(state): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let document = match state.document() {
        Ok(document) => document,
        Err(why) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                format!("moonshot-mock cannot read its OpenAPI document: {why}"),
            )
            .into_response();
        }
    };
    let Some(matched) = document.find(method.as_str(), uri.path()) else {
        return unknown_route(method, uri).await;
    };
    let schemas = document.schemas();
    let checked = check_parameters(schemas, &matched, &uri)
        .and_then(|()| check_body(schemas, matched.operation, body));
    match checked.and_then(|()| make_answer(schemas, &matched)) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// The operation's query and path parameters, as the request has them, against their schemas.
fn check_parameters(
    schemas: Schemas<'_>,
    matched: &Matched<'_>,
    uri: &Uri,
) -> Result<(), ApiError> {
    let query: Vec<(String, String)> = match Query::try_from_uri(uri) {
        Ok(Query(pairs)) => pairs,
        Err(rejection) => {
            return Err(ApiError::invalid_request(format!(
                "the query string cannot be read: {rejection}"
            )));
        }
    };
    let parameters = matched
        .operation
        .get("parameters")
        .and_then(Value::as_array);
    for parameter in parameters.into_iter().flatten() {
        let parameter = schemas
            .resolve(parameter)
            .map_err(ApiError::invalid_request)?;
        let name = parameter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let place = parameter
            .get("in")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let given = match place {
            "query" => query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            "path" => matched
                .path_values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone()),
            _ => continue,
        };
        let what = format!("the {place} parameter `{name}`");
        let Some(given) = given else {
            if parameter.get("required") == Some(&Value::Bool(true)) {
                return Err(ApiError::invalid_request(format!("{what} is required")));
            }
            continue;
        };
        let schema = parameter.get("schema").unwrap_or(&Value::Bool(true));
        let value = typed(schemas, schema, &given);
        schemas
            .check(schema, &value)
            .map_err(|misfit| ApiError::invalid_request(misfit.message(&what)))?;
    }
    Ok(())
}

/// A parameter's text as the JSON value its schema's type says it is: `20` an integer when the
/// schema says integer; the text itself when it does not parse as one.
fn typed(schemas: Schemas<'_>, schema: &Value, text: &str) -> Value {
    let kind = schemas
        .resolve(schema)
        .ok()
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str);
    let parsed = match kind {
        Some("integer" | "number" | "boolean") => serde_json::from_str(text).ok(),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

/// The request body against the operation's `application/json` schema. Bodies of other media
/// types are not checked.
fn check_body(
    schemas: Schemas<'_>,
    operation: &Value,
    body: Result<Bytes, BytesRejection>,
) -> Result<(), ApiError> {
    let Some(request_body) = operation.get("requestBody") else {
        return Ok(());
    };
    let request_body = schemas
        .resolve(request_body)
        .map_err(ApiError::invalid_request)?;
    let Some(schema) = request_body.pointer("/content/application~1json/schema") else {
        return Ok(());
    };
    let empty = body.as_ref().is_ok_and(Bytes::is_empty);
    if empty {
        if request_body.get("required") == Some(&Value::Bool(true)) {
            return Err(ApiError::invalid_request(
                "the request body is required: send a JSON body as the API reference describes",
            ));
        }
        return Ok(());
    }
    let value = json_request(body, BODY_LIMIT)?;
    schemas
        .check(schema, &value)
        .map_err(|misfit| ApiError::invalid_request(misfit.message("the request body")))
}

/// The operation's first success answer: its status, and a body from the document, valid
/// against its schema.
fn make_answer(schemas: Schemas<'_>, matched: &Matched<'_>) -> Result<Response, ApiError> {
    let name = &matched.name;
    let cannot = |why: String| {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "server_error",
            format!("moonshot-mock cannot answer {name}: {why}"),
        )
    };
    let responses = matched
        .operation
        .get("responses")
        .and_then(Value::as_object);
    let Some((status, response)) = responses
        .into_iter()
        .flatten()
        .filter(|(status, _)| status.starts_with('2'))
        .min_by_key(|(status, _)| status.as_str())
    else {
        return Err(cannot(
            "the document gives it no success response".to_owned(),
        ));
    };
    let status = StatusCode::from_bytes(status.replace(['X', 'x'], "0").as_bytes())
        .unwrap_or(StatusCode::OK);
    let response = schemas.resolve(response).map_err(cannot)?;
    let content = response.get("content").and_then(Value::as_object);
    let Some((media_type, media)) = content.and_then(|c| {
        c.get_key_value("application/json")
            .or_else(|| c.iter().next())
    }) else {
        if status == StatusCode::NO_CONTENT {
            return Ok(status.into_response());
        }
        return Err(cannot(format!(
            "the document gives its {status} answer no content"
        )));
    };
    let Some(schema) = media.get("schema") else {
        return Err(cannot(format!(
            "the document gives its {status} {media_type} answer no schema"
        )));
    };
    // The examples the document gives, then a value made from the schema.
    let resolved = schemas.resolve(schema).ok();
    let examples = media.get("examples").and_then(Value::as_object);
    let candidates = media
        .get("example")
        .cloned()
        .into_iter()
        .chain(
            examples
                .into_iter()
                .flatten()
                .filter_map(|(_, example)| example.get("value").cloned()),
        )
        .chain(resolved.and_then(|s| s.get("example")).cloned());
    let body = candidates
        .filter(|value| schemas.check(schema, value).is_ok())
        .chain(std::iter::from_fn(|| schemas.instance(schema)).take(1))
        .next()
        .ok_or_else(|| {
            cannot(format!(
                "no example fits its {status} {media_type} schema, and no value could be made \
                 from it"
            ))
        })?;
    let text = match (media_type.as_str(), body) {
        ("application/json", body) => body.to_string(),
        (_, Value::String(text)) => text,
        (_, body) => body.to_string(),
    };
    let content_type = HeaderValue::from_str(media_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/json"));
    Ok((status, [(CONTENT_TYPE, content_type)], text).into_response())
}
