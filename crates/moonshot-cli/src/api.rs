//! `moonshot api METHOD PATH`: any operation of the document the client was generated from, as
//! `gh api` reaches any GitHub endpoint: the client's key, retries and errors, JSON out.
//!
//! Fields: `-f KEY=VALUE` a string, `-F KEY=VALUE` a typed value (a number, `true`, `false`,
//! `null`, JSON, or `@FILE`: the file's text, taken as JSON when it is). They go to the query for
//! GET and DELETE and to a JSON body otherwise; with `--input FILE` (or `-` for standard input)
//! the body is that file's JSON and the fields go to the query. A path the document does not
//! have is refused, naming the nearest it has.

use std::path::PathBuf;

use moonshot::Client;
use serde_json::{Map, Value};

use crate::report::{Failure, print_json};

/// The `api` command's arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ApiArgs {
    /// The HTTP method: GET, POST, DELETE...
    method: String,
    /// The path, as the API reference writes it with its parameters filled in:
    /// /v1/models, /v1/files/FILE_ID.
    path: String,
    /// A string field: KEY=VALUE.
    #[arg(short = 'f', long = "raw-field", value_name = "KEY=VALUE")]
    raw_fields: Vec<String>,
    /// A typed field: KEY=VALUE, the value a number, true, false, null, JSON, or @FILE.
    #[arg(short = 'F', long = "field", value_name = "KEY=VALUE")]
    fields: Vec<String>,
    /// The request body: a JSON file, or - for standard input (the fields then go to the query).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
}

/// Runs `moonshot api`.
pub(crate) async fn run(client: &Client, args: ApiArgs) -> Result<(), Failure> {
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::Usage(format!("`{}` is not an HTTP method", args.method)))?;
    let path = args.path.split('?').next().unwrap_or_default().to_owned();
    check_path(&method, &path)?;
    let mut fields = Map::new();
    for raw in &args.raw_fields {
        let (key, value) = split_field(raw, "-f")?;
        fields.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    for typed in &args.fields {
        let (key, value) = split_field(typed, "-F")?;
        fields.insert(key.to_owned(), typed_value(value)?);
    }
    let body = match &args.input {
        Some(input) => Some(read_input(input)?),
        None => None,
    };
    let to_query =
        body.is_some() || method == reqwest::Method::GET || method == reqwest::Method::DELETE;
    let (query, body) = if to_query {
        let query = fields
            .into_iter()
            .map(|(key, value)| {
                let text = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                (key, text)
            })
            .collect();
        (query, body)
    } else {
        (Vec::new(), Some(Value::Object(fields)))
    };
    let answer = client
        .request_json(method, &path, &query, body.as_ref())
        .await?;
    print_json(&answer)
}

fn split_field<'a>(field: &'a str, flag: &str) -> Result<(&'a str, &'a str), Failure> {
    field
        .split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "{flag} `{field}` is not KEY=VALUE: give the field's name, `=`, and its value"
            ))
        })
}

/// A `-F` value: JSON when it reads as JSON (numbers, booleans, null, arrays, objects), the
/// text of a file for `@FILE` (as JSON when it is), a string otherwise.
fn typed_value(value: &str) -> Result<Value, Failure> {
    if let Some(path) = value.strip_prefix('@') {
        let text = crate::local::read_regular(std::path::Path::new(path), 16 * 1024 * 1024)?;
        let text = String::from_utf8(text)
            .map_err(|_| Failure::Usage(format!("`{path}` is not UTF-8 text")))?;
        return Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)));
    }
    Ok(serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned())))
}

fn read_input(input: &std::path::Path) -> Result<Value, Failure> {
    let bytes = if input.as_os_str() == "-" {
        use std::io::Read as _;
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::Local(format!("cannot read standard input: {e}")))?;
        bytes
    } else {
        crate::local::read_regular(input, 100 * 1024 * 1024)?
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        Failure::Usage(format!(
            "--input `{}` is not JSON ({e}): give the request body as a JSON document",
            input.display()
        ))
    })
}

/// Refuses a method and path the document has no operation for, naming the nearest it has.
fn check_path(method: &reqwest::Method, path: &str) -> Result<(), Failure> {
    let operations = operations();
    let wanted = method.as_str().to_ascii_lowercase();
    if operations
        .iter()
        .any(|(m, template)| *m == wanted && matches_template(template, path))
    {
        return Ok(());
    }
    let mut nearest: Vec<(usize, String)> = operations
        .iter()
        .map(|(m, template)| {
            let shown = format!("{} {template}", m.to_ascii_uppercase());
            let distance = edit_distance(&format!("{} {path}", method.as_str()), &shown);
            (distance, shown)
        })
        .collect();
    nearest.sort();
    let names: Vec<String> = nearest.into_iter().take(3).map(|(_, s)| s).collect();
    Err(Failure::Usage(format!(
        "the API reference has no `{} {path}`; the nearest operations are: {}",
        method.as_str(),
        names.join(", ")
    )))
}

/// Every operation of the document the client was generated from: method (lower case) and
/// path template.
fn operations() -> Vec<(String, String)> {
    let document: Value = serde_yaml_ng::from_str(moonshot_api::DOCUMENT).unwrap_or(Value::Null);
    let mut found = Vec::new();
    for (path, item) in document
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for method in item.as_object().into_iter().flat_map(|i| i.keys()) {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                found.push((method.clone(), path.clone()));
            }
        }
    }
    found
}

/// Whether `path` is `template` with its `{parameters}` filled in (one segment each).
fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            (t.starts_with('{') && t.ends_with('}') && !p.is_empty() && *p != "." && *p != "..")
                || t == p
        })
}

/// Levenshtein's distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_templates_and_typed_values_are_typed() {
        assert!(matches_template("/v1/files/{file_id}", "/v1/files/file-1"));
        assert!(!matches_template("/v1/files/{file_id}", "/v1/files/"));
        assert!(!matches_template("/v1/files/{file_id}", "/v1/files/.."));
        assert!(!matches_template("/v1/files", "/v1/files/x"));
        assert_eq!(typed_value("3").ok(), Some(Value::from(3)));
        assert_eq!(typed_value("true").ok(), Some(Value::from(true)));
        assert_eq!(typed_value("null").ok(), Some(Value::Null));
        assert_eq!(typed_value("kimi-k3").ok(), Some(Value::from("kimi-k3")));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn every_operation_of_the_document_is_known() {
        let operations = operations();
        assert!(operations.len() >= 13, "{operations:?}");
        assert!(check_path(&reqwest::Method::GET, "/v1/models").is_ok());
        let Err(Failure::Usage(message)) = check_path(&reqwest::Method::GET, "/v1/model") else {
            panic!("a path the document does not have");
        };
        assert!(message.contains("GET /v1/models"), "{message}");
    }
}
