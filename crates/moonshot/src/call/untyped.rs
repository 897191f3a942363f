//! Requests by method and path, for operations the generated client does not have yet.

use serde_json::Value;

use super::{Core, Replay};
use crate::error::Error;
use crate::error::map::transport_error;

/// The operation name untyped requests are traced and hooked under.
const OPERATION: &str = "request_json";

impl Core {
    /// `method path?query` with an optional JSON body, through the call machinery; the success
    /// body as JSON (a string when it is not JSON, `null` when it is empty).
    pub(crate) async fn request_json(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        check_path(path)?;
        let read = |response: reqwest::Response| async move {
            let bytes = response.bytes().await.map_err(transport_error)?;
            Ok(json_or_text(&bytes))
        };
        self.send_with(
            OPERATION,
            Replay::Allowed,
            |http, base| {
                let mut request = http.request(method.clone(), format!("{base}{path}"));
                if !query.is_empty() {
                    request = request.query(query);
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                Ok(request)
            },
            read,
        )
        .await
    }
}

/// A success body as JSON: parsed when it is JSON, `null` when empty, else the text as a string.
fn json_or_text(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// Refuses a path that could leave the API: it must be an absolute path (`/v1/...`) with no
/// scheme, authority, `.` or `..` segment (written plainly or percent-encoded), backslash, query,
/// fragment, whitespace or control character.
fn check_path(path: &str) -> Result<(), Error> {
    let refuse = |why: &str| {
        Err(Error::InvalidInput {
            name: "path",
            reason: format!(
                "`{}` {why}: give a path of the API such as `/v1/models`, and query parameters \
                 separately",
                path.escape_debug()
            ),
        })
    };
    if !path.starts_with('/') {
        return refuse("does not start with `/`");
    }
    if path.starts_with("//") || path.contains("://") {
        return refuse("names another server");
    }
    if path.contains(['\\', '?', '#']) {
        return refuse("holds a backslash, `?` or `#`");
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("holds whitespace or a control character");
    }
    let dot_segment = |segment: &str| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    };
    if path.split('/').any(dot_segment) {
        return refuse("holds a `.` or `..` segment");
    }
    if path.contains("//") {
        return refuse("holds an empty segment (`//`)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_leave_the_api_are_refused() {
        for bad in [
            "v1/models",
            "//evil.example/v1",
            "http://evil.example/v1/models",
            "/v1/../../admin",
            "/v1/%2E%2e/admin",
            "/v1/./models",
            "/v1\\..\\admin",
            "/v1/models?limit=1",
            "/v1/models#x",
            "/v1//models",
            "/v1/mod els",
            "/v1/models\n",
            "",
        ] {
            let Err(Error::InvalidInput { name, reason }) = check_path(bad) else {
                panic!("{bad:?} accepted");
            };
            assert_eq!(name, "path");
            assert!(reason.contains("/v1/models"), "{reason}");
        }
        for good in [
            "/v1/models",
            "/v1/files/file-1/content",
            "/v1/caching/c.1",
            "/",
        ] {
            check_path(good).expect(good);
        }
    }

    #[test]
    fn bodies_are_json_or_text() {
        assert_eq!(json_or_text(br#"{"a": 1}"#), serde_json::json!({"a": 1}));
        assert_eq!(
            json_or_text(b"plain text"),
            Value::String("plain text".into())
        );
        assert_eq!(json_or_text(b""), Value::Null);
        assert_eq!(json_or_text(b"\n"), Value::Null);
    }
}
