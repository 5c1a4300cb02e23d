//! `clinic check --format github`: every failed rule as a GitHub Actions annotation at its file
//! and line, and a Markdown table of the four badges for the job summary
//! (`$GITHUB_STEP_SUMMARY`). The escaping follows GitHub's workflow-command rules: `%`, CR and LF
//! in the message, and also `:` and `,` in the properties (`file=`, `title=`).

use std::fmt::Write;

use crate::diagnostics::{Diagnostic, Severity};
use crate::evidence::{Evidence, Problem, State};

/// One `::error ...::...` line per failed rule of a badge that is not verified, then one
/// `::warning`/`::error` per diagnostic (unknown keys, unreadable records, a shallow clone).
pub(crate) fn annotations(evidence: &Evidence, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (kind, badge) in evidence.badges.iter() {
        for problem in &badge.problems {
            let title = format!(
                "clinic: {} badge {} ({})",
                kind.key(),
                badge.state.as_str(),
                problem.rule
            );
            let level = match badge.state {
                State::Missing => "warning",
                _ => "error",
            };
            out.push_str(&command(
                level,
                problem.file.as_deref(),
                problem.line,
                &title,
                &message(problem),
            ));
        }
    }
    for d in diagnostics {
        let level = match d.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        let file = d
            .file
            .as_ref()
            .map(|f| f.to_string_lossy().replace('\\', "/"));
        let mut text = d.message.clone();
        if let Some(hint) = &d.hint {
            let _ = write!(text, "\nHelp: {hint}");
        }
        out.push_str(&command(level, file.as_deref(), d.line, "clinic", &text));
    }
    out
}

/// The problem without its location (the annotation carries it), then its fix.
fn message(problem: &Problem) -> String {
    let mut text = String::new();
    if let Some(mistake) = problem.mistake {
        let _ = write!(text, "common mistake, {mistake}: ");
    }
    text.push_str(&problem.message);
    if !problem.fix.is_empty() {
        let _ = write!(text, "\nFix: {}", problem.fix);
    }
    text
}

fn command(
    level: &str,
    file: Option<&str>,
    line: Option<usize>,
    title: &str,
    text: &str,
) -> String {
    let mut properties = Vec::new();
    if let Some(file) = file {
        properties.push(format!("file={}", escape_property(file)));
        if let Some(line) = line {
            properties.push(format!("line={line}"));
        }
    }
    properties.push(format!("title={}", escape_property(title)));
    format!(
        "::{level} {}::{}\n",
        properties.join(","),
        escape_data(text)
    )
}

/// The message of a workflow command: `%`, CR and LF would end or corrupt it.
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as a message, and `:` and `,` too, which separate properties.
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The job summary: a table of the four badges, and each badge's reasons under it.
pub(crate) fn step_summary(evidence: &Evidence) -> String {
    let mut out = String::from(
        "## clinic: evidence badges\n\n| badge | state | failed rules |\n|---|---|---|\n",
    );
    for (kind, badge) in evidence.badges.iter() {
        let mark = match badge.state {
            State::Verified => "✅ verified",
            State::Incomplete => "❌ incomplete",
            State::Missing => "➖ missing",
        };
        let _ = writeln!(
            out,
            "| {} | {mark} | {} |",
            kind.key(),
            badge.problems.len()
        );
    }
    for (kind, badge) in evidence.badges.iter() {
        if badge.reasons.is_empty() {
            continue;
        }
        let _ = write!(out, "\n### {} ({})\n\n", kind.key(), badge.state.as_str());
        for reason in &badge.reasons {
            let _ = writeln!(out, "- {}", markdown_text(reason));
        }
    }
    out
}

/// A reason as one Markdown list item: no line breaks, no table pipes, no raw HTML.
fn markdown_text(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_github_documents() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn command_carries_file_line_and_title() {
        assert_eq!(
            command(
                "error",
                Some("library/raw/a,b.md"),
                Some(3),
                "t: x",
                "bad\nFix: y"
            ),
            "::error file=library/raw/a%2Cb.md,line=3,title=t%3A x::bad%0AFix: y\n"
        );
        assert_eq!(
            command("warning", None, Some(3), "t", "m"),
            "::warning title=t::m\n"
        );
    }
}
