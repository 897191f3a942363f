//! The spec pipeline's timings: `cargo xtask gen`, the generated crate's rebuild after a spec
//! change, and its build from clean.
//!
//! Everything runs in a copy of the workspace kept under the target directory, so the real
//! `openapi/openapi.yaml` is never touched, whatever happens mid-run. The copy keeps its path
//! between runs and is only rewritten where files differ, so cargo's fingerprints stay valid and
//! only the first run pays for a full build. The copy builds into a target directory of its own:
//! cargo gives a path package the same artifact in any copy of a workspace built into one target
//! directory, so a shared one would let the copy's build stand in for the checkout's (an `xtask`
//! built from the copy, run in the checkout).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::report::Report;
use crate::stats::Summary;
use crate::{BenchError, Settings};

/// The copy's directory name under the target directory.
const COPY_DIR: &str = "moonshot-bench-workspace";
/// The copy's own target directory, beside it (inside, syncing would remove it).
const COPY_TARGET_DIR: &str = "moonshot-bench-target";
/// The merged document, relative to the workspace root.
const SPEC: &str = "openapi/openapi.yaml";
/// The generated crate's link to it, relative to the workspace root.
const CRATE_SPEC: &str = "crates/moonshot-api/openapi.yaml";

/// Runs the pipeline group and prints its table.
pub fn run(settings: &Settings) -> Result<(), BenchError> {
    let root = settings.root();
    if !root.join(SPEC).is_file() {
        return Err(format!("{} is not the workspace root (no {SPEC})", root.display()).into());
    }
    let target_dir = target_dir()?;
    let copy = target_dir.join(COPY_DIR);
    eprintln!("pipeline: syncing {} to {}", root.display(), copy.display());
    sync_tree(&root, &copy)?;
    let cargo = Cargo {
        program: std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")),
        workspace: copy.clone(),
        target_dir: target_dir.join(COPY_TARGET_DIR),
    };

    eprintln!("pipeline: warming up (the first run builds the copy's crates in the dev profile)");
    // Exactly the measured commands: cargo unifies features per invocation, so building the two
    // packages together would leave each command's own build still to do.
    cargo.time(&["xtask", "gen"])?;
    cargo.time(&["build", "-p", "moonshot-api"])?;
    cargo.time(&["build", "-p", "moonshot"])?;

    let rounds = settings.rounds() as usize;
    let rebuilds = if settings.quick { 1 } else { 3 };
    let mut gen_times = Vec::new();
    let mut noop_times = Vec::new();
    for round in 0..rounds {
        eprintln!(
            "pipeline: gen and no-op build, round {}/{rounds}",
            round + 1
        );
        gen_times.push(cargo.time(&["xtask", "gen"])?);
        noop_times.push(cargo.time(&["build", "-p", "moonshot-api"])?);
    }
    let spec = copy.join(SPEC);
    let original = std::fs::read_to_string(&spec)?;
    let mut comment_times = Vec::new();
    let mut schema_times = Vec::new();
    let mut facade_times = Vec::new();
    // Each build starts from the previous one's state, as a developer's next build does.
    let rebuilt = (0..rebuilds).try_for_each(|n| {
        eprintln!("pipeline: rebuilds after spec changes {}/{rebuilds}", n + 1);
        std::fs::write(&spec, with_comment(&original, n))?;
        comment_times.push(cargo.time(&["build", "-p", "moonshot-api"])?);
        std::fs::write(&spec, with_new_property(&original, n)?)?;
        schema_times.push(cargo.time(&["build", "-p", "moonshot-api"])?);
        facade_times.push(cargo.time(&["build", "-p", "moonshot"])?);
        Ok::<_, BenchError>(())
    });
    // The copy goes back to the workspace's document even when a rebuild failed.
    std::fs::write(&spec, &original)?;
    rebuilt?;
    let mut cold_times = Vec::new();
    for n in 0..rebuilds {
        eprintln!("pipeline: builds from clean {}/{rebuilds}", n + 1);
        // Removes the crate's own artifacts and its build script's, not its dependencies'.
        cargo.time(&["clean", "-p", "moonshot-api"])?;
        cold_times.push(cargo.time(&["build", "-p", "moonshot-api"])?);
    }

    println!("## Pipeline: wall time in seconds, median (min–max)\n");
    println!(
        "In a copy of the workspace, dev profile, dependencies already built; each command as a \
         developer types it, cargo's own start-up included.\n"
    );
    println!("| step | runs | seconds |");
    println!("|---|---:|---:|");
    for (label, times) in [
        ("`cargo xtask gen` (document up to date)", &gen_times),
        (
            "`cargo build -p moonshot-api`, nothing changed (cargo's floor)",
            &noop_times,
        ),
        (
            "`cargo build -p moonshot-api` after a comment is added to `openapi/openapi.yaml` \
             (build script reruns, generated code unchanged)",
            &comment_times,
        ),
        (
            "`cargo build -p moonshot-api` after a property is added to `FileObject` \
             (generated code changes)",
            &schema_times,
        ),
        (
            "then `cargo build -p moonshot`: the facade on top of the changed crate",
            &facade_times,
        ),
        (
            "`cargo build -p moonshot-api` after `cargo clean -p moonshot-api` (build script \
             compiled and run, crate compiled; dependencies already built)",
            &cold_times,
        ),
    ] {
        let summary = Summary::of(times).ok_or("no samples")?;
        println!("| {label} | {} | {} |", times.len(), summary.show(2));
    }
    println!();
    Ok(())
}

/// Without building anything: the copy keeps the crate's document a link into the copy's own
/// `openapi/openapi.yaml`, and the measured spec changes apply to the workspace's document.
pub fn check(report: &mut Report, settings: &Settings) -> Result<(), BenchError> {
    let dir = tempfile::tempdir()?;
    let outcome = (|| {
        let copy = dir.path().join(COPY_DIR);
        sync_tree(&settings.root(), &copy)?;
        let spec = copy.join(SPEC);
        let edited = with_new_property(&std::fs::read_to_string(&spec)?, 0)?;
        std::fs::write(&spec, &edited)?;
        if std::fs::read_to_string(copy.join(CRATE_SPEC))? != edited {
            return Err(format!("the copy's {CRATE_SPEC} does not follow its {SPEC}").into());
        }
        Ok::<_, BenchError>(())
    })();
    report.record(
        "pipeline: a spec change in the copy reaches the generated crate",
        outcome,
    );
    Ok(())
}

/// The document with a comment appended: the file changes, the API it describes does not.
fn with_comment(spec: &str, n: usize) -> String {
    format!("{spec}# moonshot-bench: spec change {n}\n")
}

/// The document with one more optional string property in the `FileObject` schema, so that the
/// generated struct, its serde and schemars impls change.
fn with_new_property(spec: &str, n: usize) -> Result<String, BenchError> {
    const ANCHOR: &str = "    FileObject:\n      properties:\n";
    let at = spec
        .find(ANCHOR)
        .ok_or("openapi/openapi.yaml has no `FileObject: properties:` block to extend")?
        + ANCHOR.len();
    Ok(format!(
        "{}        bench_extra_{n}:\n          description: Added by moonshot-bench\n          \
         type: string\n{}",
        &spec[..at],
        &spec[at..]
    ))
}

/// Runs cargo in the copy.
struct Cargo {
    program: OsString,
    workspace: PathBuf,
    target_dir: PathBuf,
}

impl Cargo {
    /// Runs `cargo <args>` to its end; returns its wall time in seconds.
    fn time(&self, args: &[&str]) -> Result<f64, BenchError> {
        let started = Instant::now();
        let output = Command::new(&self.program)
            .args(args)
            .current_dir(&self.workspace)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            // Everything the copy needs is already in the local registry cache.
            .env("CARGO_NET_OFFLINE", "true")
            .output()?;
        let seconds = started.elapsed().as_secs_f64();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
            return Err(format!(
                "`cargo {}` in {} failed ({}):\n{}",
                args.join(" "),
                self.workspace.display(),
                output.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
            .into());
        }
        Ok(seconds)
    }
}

/// The target directory this binary was built in: `<target>/release/moonshot-bench`.
fn target_dir() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe()?;
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("{} has no target directory", exe.display()).into())
}

/// Whether a path under the workspace root is left out of the copy: git's data and build
/// output (`target`, `target-*`).
fn skipped(name: &str, top_level: bool) -> bool {
    name == ".git" || (top_level && name.starts_with("target"))
}

/// Makes `dst` hold the files of `src`, writing only those whose content differs (so their
/// modification times, and cargo's fingerprints, stay) and removing those `src` lacks. A
/// symbolic link is copied as a link to the same target (a relative one stays relative, so
/// `crates/moonshot-api/openapi.yaml` points at the copy's `openapi/openapi.yaml` and an edit of
/// the copy's document reaches the generated crate, as it does in a checkout).
fn sync_tree(src: &Path, dst: &Path) -> Result<(), BenchError> {
    sync_dir(src, dst, true)
}

fn sync_dir(src: &Path, dst: &Path, top_level: bool) -> Result<(), BenchError> {
    std::fs::create_dir_all(dst)?;
    let mut kept = Vec::new();
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if skipped(&name.to_string_lossy(), top_level) {
            continue;
        }
        let (from, to) = (entry.path(), dst.join(&name));
        // What is at `to` now, a link not followed.
        let there = std::fs::symlink_metadata(&to).ok().map(|m| m.file_type());
        let file_type = entry.file_type()?;
        if file_type.is_symlink() {
            let target = std::fs::read_link(&from)?;
            let same = there.is_some_and(|t| t.is_symlink())
                && std::fs::read_link(&to).ok().as_ref() == Some(&target);
            if !same {
                remove(&to, there)?;
                symlink(&target, &to)?;
            }
        } else if file_type.is_dir() {
            if there.is_some_and(|t| !t.is_dir()) {
                remove(&to, there)?;
            }
            sync_dir(&from, &to, false)?;
        } else if file_type.is_file() {
            if there.is_some_and(|t| !t.is_file()) {
                remove(&to, there)?;
            }
            let contents = std::fs::read(&from)?;
            if std::fs::read(&to).ok().as_deref() != Some(contents.as_slice()) {
                std::fs::write(&to, &contents)?;
            }
        } else {
            continue;
        }
        kept.push(name);
    }
    for entry in std::fs::read_dir(dst)? {
        let entry = entry?;
        if !kept.contains(&entry.file_name()) {
            remove(&entry.path(), Some(entry.file_type()?))?;
        }
    }
    Ok(())
}

/// Removes what is at `path` (of type `there`, `None` for nothing): a directory with its
/// contents, anything else (a link too, not what it points to) alone.
fn remove(path: &Path, there: Option<std::fs::FileType>) -> Result<(), BenchError> {
    match there {
        None => {}
        Some(t) if t.is_dir() => std::fs::remove_dir_all(path)?,
        Some(_) => std::fs::remove_file(path)?,
    }
    Ok(())
}

/// Makes `link` a symbolic link to `target`, exactly as given.
#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> Result<(), BenchError> {
    Ok(std::os::unix::fs::symlink(target, link)?)
}

/// The benchmarks read `/proc` and run on Linux only.
#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> Result<(), BenchError> {
    Err(format!(
        "{}: copying the symbolic link to {} needs a Unix system",
        link.display(),
        target.display()
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_changes_keep_the_document_valid_yaml_shape() {
        let spec = "components:\n  schemas:\n    FileObject:\n      properties:\n        \
                    bytes:\n          type: integer\n";
        let changed = with_new_property(spec, 2).expect("anchor present");
        assert!(changed.contains(
            "      properties:\n        bench_extra_2:\n          description: Added by \
             moonshot-bench\n          type: string\n        bytes:"
        ));
        assert!(with_new_property("openapi: 3.0.3\n", 0).is_err());
        assert!(with_comment(spec, 1).ends_with("# moonshot-bench: spec change 1\n"));
    }

    #[test]
    fn the_copy_builds_apart_from_the_checkout_and_keeps_its_build() {
        let target = Path::new("/checkout/target");
        let (copy, copy_target) = (target.join(COPY_DIR), target.join(COPY_TARGET_DIR));
        assert_ne!(copy_target, target);
        assert!(
            !copy_target.starts_with(&copy),
            "syncing the copy would remove it"
        );
    }

    /// The workspace this crate is part of.
    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn a_spec_edit_in_the_copy_reaches_the_generated_crate() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let copy = dir.path().join(COPY_DIR);
        sync_tree(&workspace_root(), &copy).expect("synced");

        let link = copy.join(CRATE_SPEC);
        let target = std::fs::read_link(&link).expect("the crate's document is a link");
        assert!(target.is_relative(), "{target:?}");
        let original = std::fs::read_to_string(copy.join(SPEC)).expect("the copy's document");
        let edited = with_comment(&original, 0);
        std::fs::write(copy.join(SPEC), &edited).expect("edited");
        assert_eq!(
            std::fs::read_to_string(&link).expect("the crate's document"),
            edited
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_are_kept_as_links_and_replace_what_an_older_copy_holds() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        std::fs::create_dir_all(src.join("openapi")).expect("mkdir");
        std::fs::create_dir_all(src.join("crates/api")).expect("mkdir");
        std::fs::write(src.join("openapi/openapi.yaml"), "openapi: 3.0.3\n").expect("write");
        std::os::unix::fs::symlink(
            "../../openapi/openapi.yaml",
            src.join("crates/api/openapi.yaml"),
        )
        .expect("link");
        std::os::unix::fs::symlink("openapi", src.join("docs")).expect("link");
        // An older copy holds the document as a regular file, and a directory where the link
        // to a directory goes.
        std::fs::create_dir_all(dst.join("crates/api")).expect("mkdir");
        std::fs::write(dst.join("crates/api/openapi.yaml"), "openapi: 3.0.3\n").expect("write");
        std::fs::create_dir_all(dst.join("docs/old")).expect("mkdir");

        for _ in 0..2 {
            sync_tree(&src, &dst).expect("synced");
            assert_eq!(
                std::fs::read_link(dst.join("crates/api/openapi.yaml")).expect("a link"),
                Path::new("../../openapi/openapi.yaml")
            );
            assert_eq!(
                std::fs::read_link(dst.join("docs")).expect("a link"),
                Path::new("openapi")
            );
        }
        std::fs::write(dst.join("openapi/openapi.yaml"), "edited\n").expect("write");
        assert_eq!(
            std::fs::read_to_string(dst.join("crates/api/openapi.yaml")).expect("read"),
            "edited\n"
        );
        // A link the source no longer has is removed, not what it points to.
        std::fs::remove_file(src.join("docs")).expect("unlink");
        sync_tree(&src, &dst).expect("synced");
        assert!(std::fs::symlink_metadata(dst.join("docs")).is_err());
        assert!(dst.join("openapi/openapi.yaml").is_file());
    }

    #[test]
    fn build_output_and_git_are_not_copied() {
        assert!(skipped(".git", true));
        assert!(skipped(".git", false));
        assert!(skipped("target", true));
        assert!(skipped("target-bench", true));
        assert!(!skipped("target", false));
        assert!(!skipped("crates", true));
    }
}
