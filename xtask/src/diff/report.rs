//! Prints the changes: text for a terminal, Markdown for a pull request, JSON for tools.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use super::{Change, Format, Level};

/// Renders the changes in `format`; the output ends in a newline.
pub fn render(changes: &[Change], format: Format) -> String {
    match format {
        Format::Text => text(changes),
        Format::Markdown => markdown(changes),
        Format::Json => {
            let [breaking, warning, info] = counts(changes);
            let document = json!({
                "summary": {"breaking": breaking, "warning": warning, "info": info},
                "changes": changes,
            });
            format!("{document:#}\n")
        }
    }
}

/// How many changes of each level: breaking, warning, info.
fn counts(changes: &[Change]) -> [usize; 3] {
    let count = |level| changes.iter().filter(|c| c.level == level).count();
    [
        count(Level::Breaking),
        count(Level::Warning),
        count(Level::Info),
    ]
}

fn summary(changes: &[Change]) -> String {
    let [breaking, warning, info] = counts(changes);
    let plural = if changes.len() == 1 { "" } else { "s" };
    format!(
        "{} change{plural}: {breaking} breaking, {warning} warning, {info} info",
        changes.len()
    )
}

/// The changes by operation, document-wide ones under `None`; the groups holding the most
/// severe changes come first, and within a group the most severe change does.
fn groups(changes: &[Change]) -> Vec<(Option<&str>, Vec<&Change>)> {
    let mut by_operation: BTreeMap<Option<&str>, Vec<&Change>> = BTreeMap::new();
    for change in changes {
        by_operation
            .entry(change.operation.as_deref())
            .or_default()
            .push(change);
    }
    let mut groups: Vec<(Option<&str>, Vec<&Change>)> = by_operation.into_iter().collect();
    for (_, list) in &mut groups {
        list.sort_by(|a, b| {
            b.level
                .cmp(&a.level)
                .then_with(|| a.location.cmp(&b.location))
                .then_with(|| a.rule.cmp(&b.rule))
        });
    }
    let worst = |list: &[&Change]| list.iter().map(|c| c.level).max();
    groups.sort_by(|a, b| worst(&b.1).cmp(&worst(&a.1)).then_with(|| a.0.cmp(&b.0)));
    groups
}

fn heading(operation: Option<&str>) -> &str {
    operation.unwrap_or("document-wide")
}

fn text(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no changes\n".to_owned();
    }
    let mut out = summary(changes);
    out.push('\n');
    for (operation, list) in groups(changes) {
        let _ = write!(out, "\n{}\n", heading(operation));
        for change in list {
            let _ = writeln!(
                out,
                "  {:<9} {}: {}\n            at {}",
                change.level.as_str(),
                change.rule,
                change.message,
                change.location
            );
        }
    }
    out
}

fn markdown(changes: &[Change]) -> String {
    let mut out = String::from("## API changes\n\n");
    if changes.is_empty() {
        out.push_str("No changes.\n");
        return out;
    }
    let _ = writeln!(out, "{}", summary(changes));
    let cell = |text: &str| text.replace('|', "\\|");
    for (operation, list) in groups(changes) {
        let _ = write!(
            out,
            "\n### `{}`\n\n| Level | Rule | Change | Location |\n| --- | --- | --- | --- |\n",
            heading(operation)
        );
        for change in list {
            let level = match change.level {
                Level::Breaking => "**breaking**",
                other => other.as_str(),
            };
            let _ = writeln!(
                out,
                "| {level} | `{}` | {} | `{}` |",
                change.rule,
                cell(&change.message),
                cell(&change.location)
            );
        }
    }
    out
}
