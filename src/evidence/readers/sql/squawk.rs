//! squawk-linter's side: parse the sanitized text with squawk's Postgres grammar, group the top
//! level into statements, and map squawk's violations and parse errors to the clinic's rule ids.
//! Which squawk rules are enabled, and why the others are not, is explained in the module
//! documentation (`mod.rs`).

use squawk_linter::{Linter, Rule};
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind, SyntaxNode};

use super::prescan::snippet;
use super::rules::Finding;

/// The squawk rules that can decide "needs expand-contract". Style, naming and timeout rules are
/// deliberately absent.
pub(crate) const LINT_RULES: &[Rule] = &[
    Rule::BanDropTable,
    Rule::BanDropColumn,
    Rule::RenamingTable,
    Rule::RenamingColumn,
    Rule::ChangingColumnType,
    Rule::AddingNotNullableField,
    Rule::AddingForeignKeyConstraint,
    Rule::DisallowedUniqueConstraint,
    Rule::AddingSerialPrimaryKeyField,
    Rule::RequireConcurrentIndexCreation,
    Rule::RequireConcurrentIndexDeletion,
    Rule::AddingRequiredField,
    Rule::AddingFieldWithDefault,
    Rule::BanDropView,
    Rule::BanDropFunction,
    Rule::BanDropType,
    Rule::BanDropSchema,
    Rule::BanDropSequence,
    Rule::BanDropDomain,
    Rule::BanDropDatabase,
    Rule::BanDropExtension,
    Rule::RenamingObject,
    Rule::BanSetSchema,
    Rule::BanDropDefault,
    Rule::BanAlterDomainWithAddConstraint,
    Rule::RequireConcurrentReindex,
    Rule::RequireConcurrentPartitionDetach,
];

/// A top-level piece of the file: a parsed statement, or text the parser could not read.
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) node: Option<SyntaxNode>,
    pub(crate) findings: Vec<Finding>,
}

/// Parses and lints `sanitized` (the prescan's output) and returns the file's top-level pieces in
/// order, each with squawk's findings and parse errors; `original` is used for the quoted excerpts.
pub(crate) fn spans(original: &str, sanitized: &str) -> Vec<Span> {
    let parse = SourceFile::parse(sanitized);
    let violations = Linter::from(LINT_RULES.iter().copied()).lint(&parse, sanitized);
    let errors = parse.errors();
    let root = parse.syntax_node();

    // Group the top level into spans; ERROR nodes and stray tokens up to the next `;` or
    // statement form one unreadable span.
    let mut spans: Vec<Span> = Vec::new();
    let mut pending: Option<(usize, usize)> = None;
    let flush = |pending: &mut Option<(usize, usize)>, spans: &mut Vec<Span>| {
        if let Some((start, end)) = pending.take() {
            spans.push(Span {
                start,
                end,
                node: None,
                findings: Vec::new(),
            });
        }
    };
    for element in root.children_with_tokens() {
        let kind = element.kind();
        let range = element.text_range();
        let (start, end) = (usize::from(range.start()), usize::from(range.end()));
        match kind {
            SyntaxKind::WHITESPACE | SyntaxKind::COMMENT => {}
            SyntaxKind::EMPTY_STMT | SyntaxKind::SEMICOLON => flush(&mut pending, &mut spans),
            _ => match element.as_node() {
                Some(node) if ast::Stmt::can_cast(kind) => {
                    flush(&mut pending, &mut spans);
                    spans.push(Span {
                        start,
                        end,
                        node: Some(node.clone()),
                        findings: Vec::new(),
                    });
                }
                _ => {
                    pending = Some(match pending {
                        Some((s, _)) => (s, end),
                        None => (start, end),
                    });
                }
            },
        }
    }
    flush(&mut pending, &mut spans);

    // squawk's findings, mapped to our rule ids.
    for violation in &violations {
        let start = usize::from(violation.text_range.start());
        let end = usize::from(violation.text_range.end());
        let Some(index) = span_at(&spans, start) else {
            continue;
        };
        let seen = original.get(start..end).unwrap_or_default();
        if violation.code == Rule::AddingFieldWithDefault && is_plain_constant(seen) {
            // squawk does not look inside parentheses: `DEFAULT (0)` is as constant as `0`.
            continue;
        }
        let node = spans[index].node.as_ref();
        let is_alter_table = node.is_some_and(|n| n.kind() == SyntaxKind::ALTER_TABLE);
        if let Some(rule) = map_squawk_rule(violation.code, seen, is_alter_table) {
            // Quote the whole ALTER TABLE action (`ALTER COLUMN a TYPE int`), not just the
            // node squawk points at (`TYPE int`).
            let action = node
                .and_then(|n| ast::AlterTable::cast(n.clone()))
                .and_then(|alter| {
                    alter.actions().find(|a| {
                        a.syntax()
                            .text_range()
                            .contains_inclusive(violation.text_range.start())
                    })
                })
                .map(|a| a.syntax().text().to_string());
            spans[index].findings.push(Finding {
                rule,
                seen: snippet(action.as_deref().unwrap_or(seen)),
                detail: violation.message.clone(),
                sticky: false,
            });
        }
    }

    // Parse errors: inside a statement they make it unreadable; one outside any statement
    // gets a span of its own (up to the end of its line).
    let mut orphans: Vec<Span> = Vec::new();
    for error in &errors {
        let start = usize::from(error.range().start()).min(sanitized.len());
        let finding = |text: &str| Finding {
            rule: "parse-error",
            seen: snippet(text),
            detail: error.message().to_string(),
            // A table created earlier in the file does not make unreadable SQL additive.
            sticky: true,
        };
        if let Some(index) = span_at(&spans, start) {
            let text = original
                .get(spans[index].start..spans[index].end)
                .unwrap_or_default();
            spans[index].findings.push(finding(text));
        } else if !matches!(orphans.last(), Some(o) if start <= o.end) {
            let end = sanitized
                .get(start..)
                .and_then(|rest| rest.find('\n'))
                .map_or(sanitized.len(), |n| start + n);
            let text = original.get(start..end).unwrap_or_default();
            orphans.push(Span {
                start,
                end,
                node: None,
                findings: vec![finding(text)],
            });
        }
    }
    spans.extend(orphans);
    spans.sort_by_key(|s| s.start);
    spans
}

/// Index of the span containing `offset` (a zero-width position at a span's end counts).
fn span_at(spans: &[Span], offset: usize) -> Option<usize> {
    let after = spans.partition_point(|s| s.start <= offset);
    let index = after.checked_sub(1)?;
    (offset <= spans[index].end).then_some(index)
}

fn map_squawk_rule(rule: Rule, seen: &str, is_alter_table: bool) -> Option<&'static str> {
    Some(match rule {
        Rule::BanDropTable => "drop-table",
        Rule::BanDropColumn => "drop-column",
        Rule::RenamingTable => "rename-table",
        Rule::RenamingColumn => "rename-column",
        Rule::ChangingColumnType => "change-column-type",
        Rule::AddingNotNullableField => "set-not-null",
        Rule::AddingForeignKeyConstraint => "add-validated-foreign-key",
        Rule::DisallowedUniqueConstraint => "add-unique-constraint",
        Rule::AddingSerialPrimaryKeyField => "add-primary-key",
        Rule::RequireConcurrentIndexCreation => "create-index-blocking",
        Rule::RequireConcurrentIndexDeletion => "drop-index-blocking",
        Rule::AddingRequiredField => "add-required-column",
        Rule::AddingFieldWithDefault => {
            if seen
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("generated")
            {
                "add-generated-column"
            } else {
                "add-column-volatile-default"
            }
        }
        Rule::BanDropView
        | Rule::BanDropFunction
        | Rule::BanDropType
        | Rule::BanDropSchema
        | Rule::BanDropSequence
        | Rule::BanDropDomain
        | Rule::BanDropDatabase
        | Rule::BanDropExtension => "drop-object",
        // In an ALTER TABLE this is RENAME CONSTRAINT, which no query refers to.
        Rule::RenamingObject if is_alter_table => return None,
        Rule::RenamingObject => "rename-object",
        Rule::BanSetSchema => "set-schema",
        Rule::BanDropDefault => "drop-default",
        Rule::BanAlterDomainWithAddConstraint => "add-validated-check",
        Rule::RequireConcurrentReindex => "reindex-blocking",
        Rule::RequireConcurrentPartitionDetach => "detach-partition-blocking",
        _ => return None,
    })
}

/// A literal, possibly in parentheses: `(0)`, `('free')`, `(true)`.
fn is_plain_constant(expr: &str) -> bool {
    let mut e = expr.trim();
    while let Some(inner) = e.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        e = inner.trim();
    }
    let lower = e.to_ascii_lowercase();
    if matches!(lower.as_str(), "true" | "false" | "null") {
        return true;
    }
    if !lower.is_empty()
        && lower
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.e".contains(&b))
    {
        return e.parse::<f64>().is_ok();
    }
    e.len() >= 2
        && e.starts_with('\'')
        && e.ends_with('\'')
        && !e[1..e.len() - 1].replace("''", "").contains('\'')
}
