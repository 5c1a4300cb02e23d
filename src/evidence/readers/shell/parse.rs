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
