//! Student words: turns interpreter events into findings that say what is wrong and what to
//! change.

use super::event::Event;
use super::run::SeenRequest;
use super::Finding;

fn short(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        one_line.chars().take(57).collect::<String>() + "..."
    } else {
        one_line
    }
}

/// Turns an event into a finding; `subject` names what failed (a check or the smoke script).
pub(crate) fn describe(event: &Event, subject: &str) -> Option<Finding> {
    let f = |line: usize, message: String, fix: &str| {
        Some(Finding {
            line: Some(line),
            message,
            fix: fix.to_string(),
        })
    };
    match event {
        Event::Pipe { line, hidden, pipeline } => f(
            *line,
            format!("the pipe at line {line} (`{}`) hides the exit status of `{}`: without `set -o pipefail` a pipeline's status is its last command's", short(pipeline), short(hidden)),
            "add `set -o pipefail` (for example `set -euo pipefail` at the top), or do not pipe it",
        ),
        Event::OrSwallow { line, handler } => f(
            *line,
            format!("`|| {}` at line {line} turns the failure of `{subject}` into success", short(handler)),
            "remove it, or write `|| exit 1` (in a function: `|| return 1`)",
        ),
        Event::NoErrexit { line, command, origin } => f(
            *line,
            format!("`{}` fails at line {line} but the script carries on: {origin}", short(command)),
            "put `set -euo pipefail` at the top (and no `set +e`), or add `|| exit 1` after it",
        ),
        Event::Ignored { line, command, context_line } => f(
            *line,
            format!(
                "`{}` fails at line {line} but `set -e` does not apply there: the code runs inside a condition (`if`, `||`, `&&` or `!`) at line {context_line}, where bash ignores `set -e`",
                short(command)
            ),
            "add `|| return 1` after the request inside the check",
        ),
        Event::TestPasses { line, test, code } => f(
            *line,
            format!("the status test `{}` at line {line} lets a {} pass", short(test), if code.is_empty() { "bad status" } else { code }),
            "test for success instead, for example `[ \"$code\" -eq 200 ]` or `[ \"$code\" -lt 400 ]`",
        ),
        Event::TestUnknown { line, test } => f(
            *line,
            format!("the reader cannot evaluate the status test `{}` at line {line}", short(test)),
            "write it as `[ \"$code\" -eq 200 ]`, `[ \"$code\" -lt 400 ]` or a `case` on `2??`",
        ),
        Event::Masked { line, builtin } => f(
            *line,
            format!("`{builtin} x=$(...)` at line {line} returns the status of `{builtin}` (0), so the failure inside `$(...)` is lost"),
            "declare first, then assign: `local out; out=$(curl ...)`",
        ),
        Event::SubstLost { line, command } => f(
            *line,
            format!("the failure inside `$(...)` at line {line} is lost: the status of `{}` is that of the command, not of the substitution", short(command)),
            "assign the output to a variable first (`out=$(curl ...)`), then use it",
        ),
        Event::Background { line, command } => f(
            *line,
            format!("`{}` runs in the background (`&`) at line {line}, so nobody sees its status", short(command)),
            "run it in the foreground (or `wait` for it and test the status)",
        ),
        Event::SuccessExit { line, text } => f(
            *line,
            format!("`{}` at line {line} can end with success even when `{subject}` fails", short(text)),
            "exit with a failure status when a check failed (remove the early success exit)",
        ),
        Event::Trap { line, text } => f(*line, format!("the EXIT trap at line {line} (`{}`) may replace the exit status", short(text)), "do not call `exit` in an EXIT trap"),
    }
}

/// Why a request's bad status does not fail its check, in the student's words.
pub(crate) fn explain_request(r: &SeenRequest, events: &[Event], code: u16, check: &str) -> String {
    let relevant = events
        .iter()
        .find(|e| !matches!(e, Event::SuccessExit { .. }));
    if let Some(e) = relevant {
        if let Some(f) = describe(e, check) {
            return f.message;
        }
    }
    if let Some(peer) = &r.lookalike {
        let flag = peer
            .split_whitespace()
            .skip(1)
            .find(|w| w.starts_with('-') && w.contains('f'))
            .unwrap_or("-f");
        return format!(
            "`{}` is not {}'s `-f`: `{flag}` belongs to `{}`, so {} exits 0 on a {code}",
            short(peer),
            r.tool,
            short(peer),
            r.tool
        );
    }
    match r.tool.as_str() {
        "curl" => format!(
            "`curl` without `--fail` (`-f`) exits 0 on a {code}, and nothing tests the status"
        ),
        "http" | "https" | "xh" => format!(
            "`{}` exits 0 on a {code} unless it has `--check-status`",
            r.tool
        ),
        _ => format!("a {code} answer does not make `{check}` fail"),
    }
}
