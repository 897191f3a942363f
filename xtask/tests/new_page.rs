//! A new upstream page reaches facade users, the local server and the `moonshot api` command
//! after `cargo xtask gen` alone: in a copy of the workspace, a page with a new operation and a
//! new component is added, `gen` is run, and the three are used with no other file changed.
//!
//! Slow (it builds the copy): `cargo test -p xtask --test new_page -- --ignored`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A page as upstream publishes them, for an operation today's document lacks, up to the parts
/// every page repeats, which are taken from a page of today ([`page`]).
const PAGE_HEAD: &str = r#"> ## Documentation Index
> Fetch the complete documentation index at: https://platform.kimi.ai/docs/llms.txt
> Use this file to discover all available pages before exploring further.

# Retrieve Cache Status

> Retrieve the status of a context cache.


## OpenAPI

````yaml GET /v1/caching/{cache_id}
openapi: 3.1.0
info:
  title: Moonshot AI API
  version: 1.0.0
  description: API for Moonshot AI / Kimi large language model services
servers:
  - url: https://api.moonshot.ai
    description: Production
security: []
paths:
  /v1/caching/{cache_id}:
    get:
      tags:
        - Caching
      summary: Retrieve Cache Status
      description: Retrieve the status of a context cache.
      parameters:
        - name: cache_id
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: The cache
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/CacheObject'
        '401':
          description: Unauthorized - Invalid or missing API key
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/ErrorResponse'
      security:
        - bearerAuth: []
components:
  schemas:
    CacheObject:
      type: object
      properties:
        id:
          type: string
          example: cache-id-xxxxxxxx
        object:
          type: string
          example: context_cache.object
        tokens:
          type: integer
          description: Tokens the cache holds
      required:
        - id
        - object
        - tokens
"#;

/// A facade user's program: the new operation through the client's machinery.
const PROGRAM: &str = r#"#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = std::env::args().nth(1).ok_or("usage: new_page BASE_URL")?;
    let client = moonshot::Client::builder().base_url(base_url).api_key("sk-new-page").build()?;
    let cache = client.call(|api| api.retrieve_cache_status("cache-1")).await?;
    println!("{} {} {}", cache.id, cache.object, cache.tokens);
    Ok(())
}
"#;

#[test]
#[ignore = "builds a copy of the workspace: minutes"]
fn a_new_page_reaches_the_facade_the_local_server_and_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    // The copy builds into the target directory this test was built in: only what the new page
    // changes is built again.
    let target_dir = scratch.parent().expect("the target directory").to_owned();
    let copy = scratch.join("new-page-workspace");
    if copy.exists() {
        std::fs::remove_dir_all(&copy).expect("the old copy is removed");
    }
    copy_tree(&root, &copy, true).expect("the workspace is copied");
    std::fs::write(
        copy.join("openapi/upstream/caching-retrieve.md"),
        page(&root),
    )
    .expect("page");
    let cargo = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO"));
        command
            .args(args)
            .current_dir(&copy)
            .env("CARGO_TARGET_DIR", &target_dir);
        command
    };
    run(cargo(&["run", "--quiet", "-p", "xtask", "--", "gen", "--root"]).arg(&copy));
    let document = std::fs::read_to_string(copy.join("openapi/openapi.yaml")).expect("merged");
    assert!(
        document.contains("retrieve_cache_status"),
        "gen added the operation"
    );

    // The local server of the copy answers the new operation from the document.
    run(&mut cargo(&[
        "build",
        "--quiet",
        "-p",
        "moonshot-mock",
        "-p",
        "moonshot-cli",
        "--bins",
    ]));
    let mut server = Server(
        Command::new(target_dir.join("debug/moonshot-mock"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the local server starts"),
    );
    let mut first_line = String::new();
    BufReader::new(server.0.stdout.take().expect("piped"))
        .read_line(&mut first_line)
        .expect("the server prints its URL");
    let base_url = first_line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first_line:?}"))
        .to_owned();

    // The facade: `client.call(|api| api.retrieve_cache_status(..))`.
    std::fs::create_dir_all(copy.join("crates/moonshot/examples")).expect("examples");
    std::fs::write(copy.join("crates/moonshot/examples/new_page.rs"), PROGRAM).expect("program");
    let facade = run(cargo(&[
        "run",
        "--quiet",
        "-p",
        "moonshot",
        "--example",
        "new_page",
        "--",
    ])
    .arg(&base_url));
    // The CLI: `moonshot api GET /v1/caching/{cache_id}`.
    let cli = run(Command::new(target_dir.join("debug/moonshot")).args([
        "--base-url",
        &base_url,
        "--api-key",
        "sk-new-page",
        "api",
        "GET",
        "/v1/caching/cache-1",
    ]));
    drop(server);

    assert_eq!(facade.trim(), "cache-id-xxxxxxxx context_cache.object 0");
    let answer: serde_json::Value = serde_json::from_str(&cli).expect("the CLI prints JSON");
    assert_eq!(
        answer,
        serde_json::json!({"id": "cache-id-xxxxxxxx", "object": "context_cache.object", "tokens": 0})
    );
}

/// The new page: [`PAGE_HEAD`], then what every page repeats (the error schema, the security
/// scheme), as the models page has it.
fn page(root: &Path) -> String {
    let models = std::fs::read_to_string(root.join("openapi/upstream/models-list.md"))
        .expect("the models page is readable");
    let repeated = models
        .find("    ErrorResponse:")
        .expect("the models page has the error schema");
    format!("{PAGE_HEAD}{}", &models[repeated..])
}

/// The local server's process, stopped when dropped, the test passing or not.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a command to its end, failing the test with its output unless it succeeds; its stdout.
fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Copies `from` into `to`, keeping symbolic links as links (relative ones stay relative) and
/// leaving out `.git` and the build output (`target*` at the top).
fn copy_tree(from: &Path, to: &Path, top_level: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        if name_text == ".git" || (top_level && name_text.starts_with("target")) {
            continue;
        }
        let (source, dest) = (entry.path(), to.join(&name));
        let file_type = entry.file_type()?;
        if file_type.is_symlink() {
            symlink(&std::fs::read_link(&source)?, &dest)?;
        } else if file_type.is_dir() {
            copy_tree(&source, &dest, false)?;
        } else {
            std::fs::copy(&source, &dest)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::copy(link.parent().unwrap_or(link).join(target), link).map(|_| ())
}
