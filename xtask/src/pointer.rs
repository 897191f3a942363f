//! JSON pointers (RFC 6901), used to say where in a document something is.

/// Escapes one reference token: `~` becomes `~0`, `/` becomes `~1`.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Appends one (unescaped) token to a pointer.
pub fn join(base: &str, token: &str) -> String {
    format!("{base}/{}", escape(token))
}

/// The pointer of the first place where `a` and `b` differ, below `base`.
///
/// Objects are compared key by key in sorted order and arrays index by index, so the answer is
/// the same whatever order the documents were written in.
pub fn first_difference(a: &serde_json::Value, b: &serde_json::Value, base: &str) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .find(|k| x.get(*k) != y.get(*k))
                .map(|k| match (x.get(k), y.get(k)) {
                    (Some(xv), Some(yv)) => first_difference(xv, yv, &join(base, k)),
                    _ => join(base, k),
                })
                .unwrap_or_else(|| base.to_owned())
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .position(|(xv, yv)| xv != yv)
            .map(|i| first_difference(&x[i], &y[i], &format!("{base}/{i}")))
            .unwrap_or_else(|| base.to_owned()),
        _ => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_slashes_and_tildes() {
        assert_eq!(
            join("/paths", "/v1/files/{file_id}"),
            "/paths/~1v1~1files~1{file_id}"
        );
        assert_eq!(escape("a~b"), "a~0b");
    }

    #[test]
    fn finds_the_deepest_first_difference() {
        let a = json!({"info": {"title": "A", "version": "1"}, "servers": [{"url": "x"}]});
        let b = json!({"info": {"title": "A", "version": "2"}, "servers": [{"url": "x"}]});
        assert_eq!(first_difference(&a, &b, ""), "/info/version");
        let c = json!({"info": {"title": "A", "version": "1"}, "servers": [{"url": "y"}]});
        assert_eq!(first_difference(&a, &c, ""), "/servers/0/url");
        let d = json!({"info": {"title": "A", "version": "1"}});
        assert_eq!(first_difference(&a, &d, ""), "/servers");
    }
}
