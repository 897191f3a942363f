//! The OpenAPI document the server answers from when no hand-written route has an operation:
//! by default the merged document the client is generated from, embedded at build time.

mod schema;

use std::sync::{Arc, OnceLock};

use serde_json::Value;

pub(crate) use schema::Schemas;

/// The merged document, `openapi/openapi.yaml`, as the generated client is made from it.
const EMBEDDED: &str = include_str!("../../openapi.yaml");

/// The methods an OpenAPI path item may hold operations under.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A parsed document: the whole of it, and where its operations are.
pub(crate) struct Document {
    root: Value,
    operations: Vec<Operation>,
}

/// One operation: its method and path, and where it is in the document.
struct Operation {
    /// Upper case: `GET`.
    method: String,
    /// The path template: `/v1/caching/{cache_id}`.
    path: String,
    /// `operationId`, when it has one.
    id: Option<String>,
}

/// An operation a request matched, with the values of its path parameters.
pub(crate) struct Matched<'a> {
    /// The operation object.
    pub(crate) operation: &'a Value,
    /// `GET /v1/caching/{cache_id} (retrieve_cache_status)`.
    pub(crate) name: String,
    /// The path parameters: name and the segment the request had there.
    pub(crate) path_values: Vec<(&'a str, String)>,
}

impl Document {
    /// Parses a document, YAML or JSON.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let root: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| format!("the document is not YAML or JSON: {e}"))?;
        let Some(paths) = root.get("paths").and_then(Value::as_object) else {
            return Err("the document has no `paths` object".to_owned());
        };
        let mut operations = Vec::new();
        for (path, item) in paths {
            for method in METHODS {
                if let Some(operation) = item.get(method) {
                    operations.push(Operation {
                        method: method.to_ascii_uppercase(),
                        path: path.clone(),
                        id: operation
                            .get("operationId")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    });
                }
            }
        }
        Ok(Self { root, operations })
    }

    /// The embedded document, parsed once.
    pub(crate) fn embedded() -> Result<Arc<Self>, String> {
        static PARSED: OnceLock<Result<Arc<Document>, String>> = OnceLock::new();
        PARSED
            .get_or_init(|| Self::parse(EMBEDDED).map(Arc::new))
            .clone()
    }

    /// The schemas of the document, to check and make values with.
    pub(crate) fn schemas(&self) -> Schemas<'_> {
        Schemas::new(&self.root)
    }

    /// The operation `method` `path` (a request's path, without its query) is, if any: of
    /// several templates that fit, the one with the most fixed segments.
    pub(crate) fn find(&self, method: &str, path: &str) -> Option<Matched<'_>> {
        let segments: Vec<&str> = path.split('/').collect();
        self.operations
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method))
            .filter_map(|op| {
                let template: Vec<&str> = op.path.split('/').collect();
                if template.len() != segments.len() {
                    return None;
                }
                let mut values = Vec::new();
                for (part, segment) in template.iter().zip(&segments) {
                    match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        Some(name) if !segment.is_empty() => {
                            values.push((name, (*segment).to_owned()));
                        }
                        Some(_) => return None,
                        None if part == segment => {}
                        None => return None,
                    }
                }
                Some((op, values))
            })
            .max_by_key(|(_, values)| std::cmp::Reverse(values.len()))
            .map(|(op, path_values)| Matched {
                operation: &self.root["paths"][&op.path][op.method.to_ascii_lowercase()],
                name: match &op.id {
                    Some(id) => format!("{} {} ({id})", op.method, op.path),
                    None => format!("{} {}", op.method, op.path),
                },
                path_values,
            })
    }
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("operations", &self.operations.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_document_parses_and_has_every_operation() {
        let document = Document::embedded().expect("the embedded document parses");
        let models = document.find("GET", "/v1/models").expect("listed");
        assert_eq!(models.name, "GET /v1/models (list_models)");
        let file = document.find("DELETE", "/v1/files/file-1").expect("listed");
        assert_eq!(file.path_values, [("file_id", "file-1".to_owned())]);
        assert!(document.find("GET", "/v1/nothing").is_none());
        assert!(document.find("GET", "/v1/files/").is_none());
    }
}
