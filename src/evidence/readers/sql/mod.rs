//! Classifies every statement of a Postgres migration file as additive-safe, as needing the
//! expand-contract pattern, or as neutral (transaction control, session settings), and names the
//! rule that decided (the artifact reference, `content/reference/artifacts.md`, "Expand-contract
//! migration").
//!
//! The question it answers for the expand half of a migration: can this statement ship in the
//! same release as the code that uses it, while the previous release is still running against
//! the same database? Only a statement it *recognises* as additive gets "yes"; everything else
//! is "needs expand-contract" with a reason a student can act on (fail closed). The caller
//! decides a file with [`is_additive`].
//!
//! # Layout
//!
//! - `mod.rs`: the public API ([`classify`], [`classify_with`], [`added_columns`],
//!   [`is_additive`]) and this documentation;
//! - `prescan.rs`: the linear text pass before parsing (comments blanked, over-deep statements
//!   kept from the parser) and the text helpers (line numbers, excerpts);
//! - `squawk.rs`: parsing and linting with squawk, and mapping its findings to our rule ids;
//! - `rules.rs`: the clinic's own rules, the fail-closed checks and the per-file bookkeeping
//!   (tables created, columns added);
//! - `reasons.rs`: the additive labels and every reason sentence;
//! - `tests.rs`: the unit tests.
//!
//! # Why squawk-linter (and why 2.68.0)
//!
//! A maintained Postgres migration linter serves better than a hand-written classifier: `squawk-linter` parses with a real Postgres grammar (quotes, dollar
//! quoting, comments, `BEGIN ATOMIC` bodies), is error tolerant, and reports per-violation rule
//! names with byte ranges. Measured before choosing:
//!
//! - coverage: every item of the contract's non-additive list is flagged by a squawk rule
//!   (`ban-drop-table`, `ban-drop-column`, `renaming-table`, `renaming-column`,
//!   `changing-column-type`, `adding-not-nullable-field`, `adding-foreign-key-constraint`,
//!   `constraint-missing-not-valid`, `require-concurrent-index-creation`,
//!   `adding-required-field`, `adding-field-with-default`), and none of the additive list is
//!   flagged by a rule that matters here (only style/timeout rules fire on those);
//! - cost: +22 s on a clean release build of clinic (279 s → 301 s; squawk compiles in
//!   parallel with libgit2), +27 crates in the dependency graph (184 → 211 unique);
//! - speed: a 1 MB migration is classified in about 0.5 s (release build).
//!
//! 2.68.0 is pinned because 2.69.0 and later (and squawk-parser/-lexer/-line-index 2.72) declare
//! `rust-version = 1.99`, which our 1.95 toolchain refuses; 2.68.0 declares 1.94. The five squawk
//! crates are pinned with `=` in Cargo.toml so `cargo update` cannot pull a 1.99-only release.
//!
//! # What this module adds on top of squawk
//!
//! squawk answers "is this dangerous?" for one file; the contract asks "is this additive?", so:
//!
//! - squawk rules that are style or operational advice (`prefer-*`, timeouts,
//!   `prefer-robust-stmts`, `ban-drop-not-null`, …) are not enabled: they never make a
//!   statement need expand-contract;
//! - `SET NOT NULL` always needs expand-contract (spec: "setting NOT NULL on an existing
//!   column"), even after a validated `CHECK (c IS NOT NULL)`, which squawk accepts as lock-safe;
//! - a constraint added without `NOT VALID` is decided from squawk's syntax tree and named by
//!   its kind (foreign key, check, unique, primary key); squawk's `constraint-missing-not-valid`
//!   flags the same statements without saying which kind, so it is not enabled;
//! - `CREATE INDEX` without `CONCURRENTLY` is checked on the syntax tree too, because squawk
//!   exempts a table created earlier only inside an explicit transaction and ignores order;
//! - `DEFAULT (0)` is constant: squawk's `adding-field-with-default` does not look inside
//!   parentheses, so a parenthesised literal it flags is let through;
//! - adding a `serial` column needs expand-contract (its `nextval()` default rewrites the table;
//!   squawk only suggests identity columns there);
//! - any statement on a table created earlier in the same file (index, constraint, column
//!   change) is additive: the table is new, empty and unknown to released code. A table made
//!   with `CREATE TABLE IF NOT EXISTS` does not count (it may be old), and parse errors,
//!   row-level security and actions that reach another table (`ATTACH PARTITION`, `INHERIT`)
//!   are not excused;
//! - additive statements get a positive rule name (`create-table`, `add-nullable-column`, …);
//! - `-- squawk-ignore` comments are not honoured: comments are blanked before linting, so a
//!   student cannot silence a rule on their own word;
//! - statements nested more than [`MAX_NESTING`] levels deep are not handed to the parser
//!   (deep nesting costs it quadratic time and, at about 10 000 levels, overflows the stack,
//!   which is an abort no `catch_unwind` can stop); they are reported as `too-complex`.
//!
//! # Decisions the contract leaves open
//!
//! - `DEFAULT now()` / `CURRENT_TIMESTAMP` is additive: `now()` is STABLE, not VOLATILE, so
//!   Postgres 11+ evaluates it once and stores it without a rewrite (squawk agrees). Truly
//!   volatile defaults (`random()`, `gen_random_uuid()`, `clock_timestamp()`, `nextval()`) and
//!   stored generated columns need expand-contract. Postgres 11 or later is assumed.
//! - `DROP INDEX` without `CONCURRENTLY` needs expand-contract (`drop-index-blocking`): it takes
//!   an ACCESS EXCLUSIVE lock on the table, blocking reads and writes, like the contract's blocking
//!   `CREATE INDEX`. `DROP INDEX CONCURRENTLY` is additive.
//! - `VALIDATE CONSTRAINT` is additive: it is the finishing step of a NOT VALID constraint and
//!   takes only a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on while it scans.
//! - `DROP NOT NULL`, `DROP CONSTRAINT` and `SET DEFAULT` are additive: they relax what may be
//!   written and the previous release keeps working (dropping NOT NULL is the usual expand step
//!   before a column is dropped). `DROP DEFAULT` needs expand-contract: the previous release
//!   may insert without the column and rely on the default.
//! - Dropping, renaming or moving (`SET SCHEMA`) other objects the application may use (views,
//!   functions, types, sequences, schemas…) needs expand-contract, like tables.
//! - A statement the parser cannot read needs expand-contract (`parse-error`): it cannot be
//!   shown to be additive.
//! - `GRANT` is additive: it only gives privileges, so the previous release loses nothing.
//!   `CREATE EXTENSION`, views, types, domains, sequences, schemas, comments and adding an enum
//!   value are additive too (they change no table the previous release uses).
//!
//! # Fail closed
//!
//! A statement is additive only if it is recognised as additive; everything else needs
//! expand-contract, with a rule id that says why:
//!
//! - procedural code the classifier cannot see into: `DO` blocks, `EXECUTE`, `PREPARE`, `CALL`,
//!   `CREATE FUNCTION`/`PROCEDURE` (any language: a SQL body can delete too), `CREATE TRIGGER`,
//!   `CREATE EVENT TRIGGER`, `CREATE RULE` (`procedural-code`: write the statements plainly);
//! - `REVOKE` (`revoke`), row-level security (`ALTER TABLE .. ENABLE/DISABLE/FORCE ROW LEVEL
//!   SECURITY`, `CREATE/ALTER/DROP POLICY`: `row-level-security`), `LOCK` (`lock-table`), a full
//!   `ROLLBACK`/`ABORT` (`rollback`: what the file adds may never ship);
//! - destructive data changes: `DELETE` (`delete-rows`), `TRUNCATE` (`truncate-table`), `MERGE`
//!   (`merge-rows`), an `UPDATE` (or `INSERT .. ON CONFLICT DO UPDATE`) that sets a column the
//!   expand commit did not add (`update-existing-column`), a data change nested in another
//!   statement, e.g. in `WITH` (`nested-data-change`);
//! - an `ALTER TABLE` action not known to be additive (`unrecognised-action`), any other
//!   statement (`unrecognised-statement`) and unreadable SQL (`parse-error`).
//!
//! Data changes that are additive: `INSERT` (and `COPY .. FROM` a file or stdin) add rows;
//! an `UPDATE` that only sets columns the expand commit added is a backfill. "Added by the
//! expand commit" is the set the caller passes to [`classify_with`] (the union of
//! [`added_columns`] over the commit's files), plus the columns added, and every column of the
//! tables created, earlier in the same file. A column added with `IF NOT EXISTS`, or a table
//! created with `IF NOT EXISTS`, may be old, so it does not count.
//!
//! Neutral ([`Safety::Neutral`], ignored by [`is_additive`]): transaction control (`BEGIN`,
//! `START TRANSACTION`, `COMMIT`, `END`, `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`,
//! `SET TRANSACTION`) and session settings (`SET`, `SET LOCAL`, `RESET`, `SHOW`, `SET ROLE`,
//! `SET CONSTRAINTS`).
//!
//! # Rule ids
//!
//! Needs expand-contract, worst first (the worst action of a statement decides, and the reason
//! lists the others): `drop-table`, `drop-column`, `rename-table`, `rename-column`,
//! `change-column-type`, `drop-object`, `rename-object`, `set-schema`, `add-required-column`,
//! `set-not-null`, `drop-default`, `add-column-volatile-default`, `add-generated-column`,
//! `add-validated-foreign-key`, `add-validated-check`, `add-unique-constraint`,
//! `add-primary-key`, `create-index-blocking`, `drop-index-blocking`, `reindex-blocking`,
//! `detach-partition-blocking`, `lock-table`, `rollback`, `unrecognised-action`,
//! `unrecognised-statement`, `parse-error`, `too-complex`; the fail-closed ones rank high:
//! `truncate-table` after `drop-table`, then `delete-rows`, `update-existing-column`,
//! `merge-rows`, `nested-data-change`, `procedural-code`, `revoke`, `row-level-security` after
//! `drop-column`.
//!
//! Additive: `create-table`, `create-index-concurrently`, `create-index-new-table`,
//! `alter-new-table`, `drop-index-concurrently`, `add-nullable-column`,
//! `add-column-constant-default`, `add-constraint-not-valid`, `add-constraint-using-index`,
//! `validate-constraint`, `drop-not-null`, `drop-constraint`, `rename-constraint`,
//! `set-default`, `data-change` (INSERT, COPY FROM, backfill UPDATE), `create-object`, `grant`,
//! `add-enum-value`.
//!
//! Neutral: `transaction-control`, `session-setting`.

use std::collections::{HashMap, HashSet};

mod prescan;
mod reasons;
mod rules;
mod squawk;
#[cfg(test)]
mod tests;

use prescan::{prescan, snippet, strip_semicolon, LineIndex};

/// Whether a statement can ship in one release, needs the expand-contract pattern, or does not
/// count either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Safety {
    Additive,
    NeedsExpandContract,
    /// Transaction control and session settings: they change nothing, and [`is_additive`]
    /// ignores them.
    Neutral,
}

/// One classified statement of a migration file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    /// The statement text, trimmed, without the trailing `;`.
    pub text: String,
    /// 1-based line in the file where the statement starts.
    pub line: usize,
    pub safety: Safety,
    /// A stable id for the rule that decided, e.g. "add-nullable-column", "drop-column".
    pub rule: String,
    /// One sentence a student understands: what was seen and why it is (or is not) safe.
    pub reason: String,
}

/// Deepest nesting of parentheses, brackets and `CASE` (or longest run of prefix operators such
/// as `NOT NOT …`) that is handed to the parser.
pub(crate) const MAX_NESTING: usize = 100;

/// The `(table, column)` pairs an expand commit adds, so that an `UPDATE` of only those columns
/// counts as a backfill. Names are normalized as the classifier compares them: the last segment
/// of a schema-qualified name, unquoted names folded to lower case, quoted ones kept as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AddedColumns {
    tables: HashMap<String, HashSet<String>>,
}

impl AddedColumns {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a pair given as SQL spells it (`app.users`, `"Users"`, `Email`).
    #[cfg(test)]
    pub(crate) fn insert(&mut self, table: &str, column: &str) {
        self.insert_normalized(rules::normalize_name(table), rules::normalize_name(column));
    }

    /// Whether the pair, given as SQL spells it, is in the set.
    #[cfg(test)]
    pub(crate) fn contains(&self, table: &str, column: &str) -> bool {
        self.contains_normalized(
            &rules::normalize_name(table),
            &rules::normalize_name(column),
        )
    }

    /// Adds every pair of `other` (to union the files of one commit).
    pub(crate) fn union_with(&mut self, other: &AddedColumns) {
        for (table, columns) in &other.tables {
            self.tables
                .entry(table.clone())
                .or_default()
                .extend(columns.iter().cloned());
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.tables.values().map(HashSet::len).sum()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.values().all(HashSet::is_empty)
    }

    /// The normalized `(table, column)` pairs, in no particular order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.tables
            .iter()
            .flat_map(|(t, cs)| cs.iter().map(move |c| (t.as_str(), c.as_str())))
    }

    pub(crate) fn insert_normalized(&mut self, table: String, column: String) {
        self.tables.entry(table).or_default().insert(column);
    }

    pub(crate) fn contains_normalized(&self, table: &str, column: &str) -> bool {
        self.tables.get(table).is_some_and(|c| c.contains(column))
    }
}

/// True when no statement needs expand-contract (neutral ones are ignored; an empty file counts
/// as additive).
pub(crate) fn is_additive(statements: &[Statement]) -> bool {
    statements
        .iter()
        .all(|s| s.safety != Safety::NeedsExpandContract)
}

/// Classifies every statement as if the expand commit added no column outside this file; see
/// [`classify_with`].
pub(crate) fn classify(sql: &str) -> Vec<Statement> {
    classify_with(sql, &AddedColumns::default())
}

/// Classifies every statement; `added` holds the columns the expand commit adds in all its files
/// (the union of [`added_columns`]), so an `UPDATE` that sets only those is an additive backfill.
/// Never panics on any input, bounded time on huge input.
pub(crate) fn classify_with(sql: &str, added: &AddedColumns) -> Vec<Statement> {
    let sql = &one_newline(sql);
    let scan = prescan(sql);
    let lines = LineIndex::new(sql);
    let sanitized = scan.sanitized;
    let parsed =
        std::panic::catch_unwind(|| rules::judge(sql, squawk::spans(sql, &sanitized), added));
    let mut items = match parsed {
        Ok(items) => items,
        // Defensive: the parser is not known to panic, but a verifier must not crash on a
        // student's file. Nothing was classified, so nothing can be shown to be additive.
        Err(_) => {
            let text = sql.trim();
            if text.is_empty() {
                Vec::new()
            } else {
                let start = sql.len() - sql.trim_start().len();
                vec![Item::new(
                    start,
                    text,
                    Safety::NeedsExpandContract,
                    "parse-error",
                    format!(
                        "The SQL parser failed on this file, so `{}` could not be recognised and cannot be shown to be additive.",
                        snippet(text)
                    ),
                )]
            }
        }
    };
    for &(start, end) in &scan.too_deep {
        let text = strip_semicolon(&sql[start..end]);
        items.push(Item::new(
            start,
            text,
            Safety::NeedsExpandContract,
            "too-complex",
            format!(
                "`{}` is nested more than {MAX_NESTING} levels deep, too deep to analyse safely, so it cannot be shown to be additive.",
                snippet(text)
            ),
        ));
    }
    items.sort_by_key(|item| item.start);
    items
        .into_iter()
        .map(|item| Statement {
            text: item.text,
            line: lines.line(item.start),
            safety: item.safety,
            rule: item.rule.to_string(),
            reason: item.reason,
        })
        .collect()
}

/// The `(table, column)` pairs this SQL adds: every column of a `CREATE TABLE`, and every
/// `ALTER TABLE .. ADD COLUMN`. `IF NOT EXISTS` adds nothing for sure (the table or column may
/// be old), so it does not count; nor does a statement the parser cannot read. The caller unions
/// this over all files of the expand commit and passes it to [`classify_with`].
pub(crate) fn added_columns(sql: &str) -> AddedColumns {
    let scan = prescan(&one_newline(sql));
    std::panic::catch_unwind(|| rules::added_in(&scan.sanitized)).unwrap_or_default()
}

/// `\r\n` and a lone `\r` as `\n`: Postgres ends a `--` comment at either, so a file with old
/// Mac line endings must not hide the statements after its first comment.
fn one_newline(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains('\r') {
        std::borrow::Cow::Owned(sql.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(sql)
    }
}

/// A statement before its line number is known.
pub(crate) struct Item {
    start: usize,
    text: String,
    safety: Safety,
    rule: &'static str,
    reason: String,
}

impl Item {
    pub(crate) fn new(
        start: usize,
        text: &str,
        safety: Safety,
        rule: &'static str,
        reason: String,
    ) -> Self {
        Item {
            start,
            text: text.to_string(),
            safety,
            rule,
            reason,
        }
    }
}
