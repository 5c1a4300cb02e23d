//! Parsing with `brush-parser`, under limits and guards: the reader must stay fast and never
//! overflow its stack or panic on hostile input.

use brush_parser::ast;

use super::{Finding, ShellOptions};

/// Deepest function-call chain followed (recursion and call cycles stop here).
pub(crate) const MAX_CALL_DEPTH: usize = 24;
/// Deepest syntactic nesting walked.
pub(crate) const MAX_NESTING: usize = 150;
/// Commands evaluated per run before giving up.
pub(crate) const FUEL: usize = 200_000;
/// Loop iterations followed one by one; beyond, the body runs once with unknown values.
pub(crate) const MAX_ITERATIONS: usize = 256;
/// Bracket nesting in the raw text above which the parser is not called at all.
const MAX_TEXT_NESTING: usize = 400;
/// Deepest nesting of `(` handed to the parser (opens minus closes, over the raw text).
/// brush-parser backtracks exponentially on open `(` when the script does not parse (each `((`
/// is tried as an arithmetic command and as two subshells): 24 in a row take seconds, 30 take
/// hours, and `((x ` twelve times takes five seconds. No script nests more than a few; deeper
/// nesting (even inside quotes or a comment) is refused unparsed.
const MAX_PAREN_DEPTH: usize = 16;
/// The parser and the walker run on a thread with this stack (deep but bounded nesting).
const STACK_BYTES: usize = 64 * 1024 * 1024;

pub(crate) fn parser_options() -> brush_parser::ParserOptions {
    brush_parser::ParserOptions::default()
}

/// Parses a script; a failure becomes a student-words finding with the line.
pub(crate) fn parse(text: &str) -> Result<ast::Program, Finding> {
    if let Some(line) = too_deep(text) {
        return Err(Finding {
            line: Some(line),
            message: format!("brackets nest more than {MAX_TEXT_NESTING} deep here; the reader does not follow the script"),
            fix: "flatten the nesting".into(),
        });
    }
    if let Some(line) = deep_parens(text) {
        return Err(Finding {
            line: Some(line),
            message: format!("`(` nest more than {MAX_PAREN_DEPTH} deep here (or are left open); the reader does not follow the script"),
            fix: "close every `(` and nest fewer of them (split the expression or the subshells)".into(),
        });
    }
    if let Some(line) = oversized_io_number(text) {
        return Err(Finding {
            line: Some(line),
            message: "a redirection names a file descriptor too large for bash (`99999999999>file`); the reader does not follow the script".into(),
            fix: "use a small file descriptor number (0-9) before `<` or `>`".into(),
        });
    }
    // brush-parser's tokenizer grows a token forever (gigabytes in a second) when the text ends,
    // without a newline, inside a here-document operator in an unclosed `$(`/`$[` (`$(x<<  `).
    // With the final newline a file should have anyway, it stops with a syntax error.
    let owned;
    let text = if text.ends_with('\n') {
        text
    } else {
        owned = format!("{text}\n");
        owned.as_str()
    };
    let parsed = std::panic::catch_unwind(|| {
        let mut parser =
            brush_parser::Parser::new(std::io::Cursor::new(text.as_bytes()), &parser_options());
        parser.parse_program()
    });
    match parsed {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(error)) => {
            let line = match &error {
                brush_parser::ParseError::ParsingNear(p) => Some(p.line),
                brush_parser::ParseError::Tokenizing { position, .. } => {
                    position.as_ref().map(|p| p.line)
                }
                brush_parser::ParseError::ParsingAtEndOfInput => Some(text.lines().count().max(1)),
            };
            Err(Finding {
                line,
                message: format!(
                    "bash cannot parse the script ({error}), so the reader cannot see what it does"
                ),
                fix: "fix the syntax error (`bash -n scripts/smoke.sh` shows it)".into(),
            })
        }
        Err(_) => Err(Finding {
            line: None,
            message:
                "the shell parser gave up on this script, so the reader cannot see what it does"
                    .into(),
            fix: "check it with `bash -n` and simplify the construct".into(),
        }),
    }
}

/// First line where bracket nesting exceeds the limit (a cheap guard before the recursive parser).
fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    for c in text.chars() {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            '\n' => line += 1,
            _ => {}
        }
        if depth > MAX_TEXT_NESTING {
            return Some(line);
        }
    }
    None
}

/// First line where `(` nest more than [`MAX_PAREN_DEPTH`] deep (closes saturate at zero).
fn deep_parens(text: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    for b in text.bytes() {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
        if depth > MAX_PAREN_DEPTH {
            return Some(line);
        }
    }
    None
}

/// First line where a run of digits right before `<` or `>` (an io number, line continuations
/// allowed inside) is too large for an `i32`: brush-parser 0.4 panics on it (`unwrap` of the
/// number). Counted anywhere, quotes included: a superset of what its tokenizer sees.
fn oversized_io_number(text: &str) -> Option<usize> {
    let (mut digits, mut value, mut line) = (0usize, 0u64, 1usize);
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'0'..=b'9' => {
                digits += 1;
                value = value.saturating_mul(10).saturating_add(u64::from(b - b'0'));
                continue;
            }
            b'\\' if bytes.peek() == Some(&b'\n') => {
                bytes.next();
                line += 1;
                continue;
            }
            b'<' | b'>' if digits > 0 && value > i32::MAX as u64 => return Some(line),
            b'\n' => line += 1,
            _ => {}
        }
        digits = 0;
        value = 0;
    }
    None
}

/// Runs `f` on a thread with a large stack and turns a panic into `None`.
pub(crate) fn guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(f)
        .ok()?
        .join()
        .ok()
}

/// Options a `#!` line sets (`#!/bin/bash -e`, `#!/usr/bin/env bash -eu`).
pub(crate) fn shebang_options(text: &str) -> ShellOptions {
    let mut options = ShellOptions::default();
    let Some(first) = text.lines().next().and_then(|l| l.strip_prefix("#!")) else {
        return options;
    };
    let words: Vec<&str> = first.split_whitespace().collect();
    for (i, w) in words.iter().enumerate().skip(1) {
        if let Some(flags) = w.strip_prefix('-').filter(|f| !f.starts_with('-')) {
            options.errexit |= flags.contains('e');
            if flags.ends_with('o') && words.get(i + 1) == Some(&"pipefail") {
                options.pipefail = true;
            }
        }
    }
    options
}
