//! The clinic's own rules: what squawk does not decide the way the contract needs, the fail-closed
//! recognition of additive statements, the bookkeeping of what the file itself created, and
//! the rule ids, labels and reasons a student reads.

use std::collections::HashSet;

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind};

use super::prescan::{snippet, strip_semicolon};
use super::reasons::{additive_label, additive_reason, decide, needs_reason};
use super::squawk::Span;
use super::{AddedColumns, Item, Safety};

/// A non-additive finding inside one statement.
pub(crate) struct Finding {
    pub(crate) rule: &'static str,
    pub(crate) seen: String,
    pub(crate) detail: String,
    /// Kept even when the statement works on a table created earlier in the same file (parse
    /// errors, row-level security, actions that reach another, existing table).
    pub(crate) sticky: bool,
}

impl Finding {
    fn new(rule: &'static str, seen: String) -> Self {
        Finding {
            rule,
            seen,
            detail: String::new(),
            sticky: false,
        }
    }

    fn sticky(mut self, sticky: bool) -> Self {
        self.sticky = sticky;
        self
    }
}

/// Non-additive rule ids, worst first: when one statement does several things, the first one
/// in this list decides.
const NEEDS_ORDER: &[&str] = &[
    "drop-table",
    "truncate-table",
    "drop-column",
    "delete-rows",
    "update-existing-column",
    "merge-rows",
    "nested-data-change",
    "procedural-code",
    "revoke",
    "row-level-security",
    "rename-table",
    "rename-column",
    "change-column-type",
    "drop-object",
    "rename-object",
    "set-schema",
    "add-required-column",
    "set-not-null",
    "drop-default",
    "add-column-volatile-default",
    "add-generated-column",
    "add-validated-foreign-key",
    "add-validated-check",
    "add-unique-constraint",
    "add-primary-key",
    "create-index-blocking",
    "drop-index-blocking",
    "reindex-blocking",
    "detach-partition-blocking",
    "lock-table",
    "rollback",
    "unrecognised-action",
    "unrecognised-statement",
    "parse-error",
];

pub(crate) fn severity(rule: &str) -> usize {
    NEEDS_ORDER
        .iter()
        .position(|r| *r == rule)
        .unwrap_or(NEEDS_ORDER.len())
}

/// What the file did before the current statement, plus what the caller says the expand commit
/// added in all its files.
struct Context<'a> {
    added: &'a AddedColumns,
    /// Columns added earlier in this file (so a single file's backfill is recognised).
    local: AddedColumns,
    /// Tables created earlier in this file (not `IF NOT EXISTS`: such a table may be old).
    created: HashSet<String>,
}

impl Context<'_> {
    /// Whether `table.column` (normalized) is new: added by the expand commit or earlier in the
    /// file, or on a table created earlier in the file.
    fn is_new_column(&self, table: &str, column: &str) -> bool {
        self.created.contains(table)
            || self.added.contains_normalized(table, column)
            || self.local.contains_normalized(table, column)
    }
}

/// Decides every span of one file, in order.
pub(crate) fn judge(original: &str, spans: Vec<Span>, added: &AddedColumns) -> Vec<Item> {
    let mut ctx = Context {
        added,
        local: AddedColumns::default(),
        created: HashSet::new(),
    };
    let mut items = Vec::with_capacity(spans.len());
    for span in spans {
        let text = strip_semicolon(original.get(span.start..span.end).unwrap_or_default());
        if text.is_empty() {
            continue;
        }
        let mut findings = span.findings;
        let mut label: Option<(&'static str, String)> = None;
        if let Some(stmt) = span.node.as_ref().and_then(|n| ast::Stmt::cast(n.clone())) {
            own_findings(&stmt, &ctx, &mut findings);
            let target = target_table(&stmt);
            let on_new_table = target.as_ref().is_some_and(|t| ctx.created.contains(t));
            if on_new_table && findings.iter().any(|f| !f.sticky) {
                findings.retain(|f| f.sticky);
                if findings.is_empty() {
                    let rule = if matches!(stmt, ast::Stmt::CreateIndex(_)) {
                        "create-index-new-table"
                    } else {
                        "alter-new-table"
                    };
                    label = Some((rule, snippet(text)));
                }
            }
            if !findings.iter().any(|f| f.rule == "parse-error") {
                track_created_tables(&stmt, target.as_deref(), &mut ctx.created);
                record_added(&stmt, target.as_deref(), &mut ctx.local);
            }
            if label.is_none() && findings.is_empty() {
                label = additive_label(&stmt, text);
            }
        }
        let item = match (decide(findings), label) {
            (Some((rule, reason)), _) => {
                Item::new(span.start, text, Safety::NeedsExpandContract, rule, reason)
            }
            (None, Some((rule, seen))) => {
                let safety = match rule {
                    "transaction-control" | "session-setting" => Safety::Neutral,
                    _ => Safety::Additive,
                };
                Item::new(span.start, text, safety, rule, additive_reason(rule, &seen))
            }
            // Fail closed: nothing recognised this statement as additive.
            (None, None) => {
                let f = Finding::new("unrecognised-statement", snippet(text));
                Item::new(
                    span.start,
                    text,
                    Safety::NeedsExpandContract,
                    f.rule,
                    needs_reason(&f),
                )
            }
        };
        items.push(item);
    }
    items
}

/// The columns a file adds: see [`super::added_columns`]. Statements with a parse error add
/// nothing.
pub(crate) fn added_in(sanitized: &str) -> AddedColumns {
    let parse = SourceFile::parse(sanitized);
    let mut errors: Vec<usize> = parse
        .errors()
        .iter()
        .map(|e| usize::from(e.range().start()))
        .collect();
    errors.sort_unstable();
    let mut added = AddedColumns::default();
    for node in parse.syntax_node().children() {
        let Some(stmt) = ast::Stmt::cast(node.clone()) else {
            continue;
        };
        let range = node.text_range();
        let (start, end) = (usize::from(range.start()), usize::from(range.end()));
        let first_error = errors.partition_point(|&e| e < start);
        if errors.get(first_error).is_some_and(|&e| e <= end) {
            continue;
        }
        record_added(&stmt, target_table(&stmt).as_deref(), &mut added);
    }
    added
}

/// Checks squawk does not make the way the contract needs them, and the fail-closed rules (see the
/// module comment).
fn own_findings(stmt: &ast::Stmt, ctx: &Context, findings: &mut Vec<Finding>) {
    use ast::Stmt as S;
    let whole = || snippet(&stmt.syntax().text().to_string());
    let mut procedural = false;
    let mut push = |rule: &'static str, sticky: bool| {
        findings.push(Finding::new(rule, whole()).sticky(sticky));
    };
    match stmt {
        S::AlterTable(alter) => alter_table_findings(alter, findings),
        S::CreateIndex(index) if index.concurrently_token().is_none() => {
            push("create-index-blocking", false);
        }
        // Code the classifier cannot see into: a DO block or function may run any statement,
        // EXECUTE builds statements from strings, a trigger or rule runs code on every write.
        S::Do(_)
        | S::Call(_)
        | S::Execute(_)
        | S::Prepare(_)
        | S::CreateFunction(_)
        | S::CreateProcedure(_)
        | S::CreateTrigger(_)
        | S::CreateEventTrigger(_)
        | S::CreateRule(_) => {
            procedural = true;
            push("procedural-code", true);
        }
        S::Revoke(_) => push("revoke", true),
        S::CreatePolicy(_) | S::AlterPolicy(_) | S::DropPolicy(_) => {
            push("row-level-security", true);
        }
        S::Lock(_) => push("lock-table", true),
        S::Delete(_) => push("delete-rows", true),
        S::Truncate(_) => push("truncate-table", true),
        S::Merge(_) => push("merge-rows", true),
        S::Rollback(ast::Rollback::RollbackTransaction(_)) => push("rollback", true),
        S::Update(update) => {
            let table = update
                .relation_name()
                .and_then(|r| r.relation_name_ref())
                .and_then(|r| r.path_ref())
                .map(|p| normalize_name(&p.syntax().text().to_string()));
            check_set(table, update.set_clause(), ctx, whole(), findings);
        }
        S::Insert(insert) => {
            let upsert = insert
                .on_conflict_clause()
                .and_then(|c| c.conflict_action());
            if let Some(ast::ConflictAction::ConflictDoUpdateSet(set)) = upsert {
                let table = insert
                    .relation_name_ref()
                    .and_then(|r| r.path_ref())
                    .map(|p| normalize_name(&p.syntax().text().to_string()));
                check_set(table, set.set_clause(), ctx, whole(), findings);
            }
        }
        _ => {}
    }
    // `WITH d AS (DELETE ...) INSERT ...`: a data change hidden inside another statement.
    let nested = !procedural
        && stmt.syntax().descendants().skip(1).any(|n| {
            matches!(
                n.kind(),
                SyntaxKind::DELETE | SyntaxKind::UPDATE | SyntaxKind::INSERT | SyntaxKind::MERGE
            )
        });
    if nested {
        findings.push(Finding::new("nested-data-change", whole()).sticky(true));
    }
}

/// Every ALTER TABLE action must be recognised: additive ones pass, known breaking ones are
/// named (squawk names most of them too; the duplicate keeps this check independent of squawk),
/// and anything else is `unrecognised-action`.
fn alter_table_findings(alter: &ast::AlterTable, findings: &mut Vec<Finding>) {
    use ast::AlterColumnOption as O;
    use ast::AlterTableAction as A;
    for action in alter.actions() {
        let seen = snippet(&action.syntax().text().to_string());
        let (rule, sticky) = match &action {
            A::AlterColumn(column) => match column.option() {
                Some(O::SetNotNull(_)) => ("set-not-null", false),
                Some(O::SetType(_)) => ("change-column-type", false),
                Some(O::DropDefault(_)) => ("drop-default", false),
                Some(O::DropNotNull(_) | O::SetDefault(_)) => continue,
                _ => ("unrecognised-action", false),
            },
            A::AddConstraint(add) => {
                let Some(constraint) = add.constraint() else {
                    findings.push(Finding::new("unrecognised-action", seen));
                    continue;
                };
                if constraint.is_not_valid() {
                    continue;
                }
                let rule = match &constraint {
                    ast::Constraint::ForeignKeyConstraint(_)
                    | ast::Constraint::ReferencesConstraint(_) => "add-validated-foreign-key",
                    ast::Constraint::CheckConstraint(_) => "add-validated-check",
                    ast::Constraint::NotNullConstraint(_) => "set-not-null",
                    ast::Constraint::UniqueConstraint(c) if c.using_index().is_none() => {
                        "add-unique-constraint"
                    }
                    ast::Constraint::ExcludeConstraint(_) => "add-unique-constraint",
                    ast::Constraint::PrimaryKeyConstraint(c) if c.using_index().is_none() => {
                        "add-primary-key"
                    }
                    _ => continue,
                };
                (rule, false)
            }
            A::AddColumn(add) => {
                let ty = add
                    .ty()
                    .map(|t| t.syntax().text().to_string().trim().to_ascii_lowercase())
                    .unwrap_or_default();
                let serial = matches!(
                    ty.as_str(),
                    "serial" | "serial2" | "serial4" | "serial8" | "smallserial" | "bigserial"
                );
                if !serial {
                    continue;
                }
                ("add-column-volatile-default", false)
            }
            A::DropColumn(_) => ("drop-column", false),
            A::RenameColumn(_) => ("rename-column", false),
            A::TableRenameTo(_) => ("rename-table", false),
            A::SetSchema(_) => ("set-schema", false),
            A::ValidateConstraint(_) | A::DropConstraint(_) | A::RenameConstraint(_) => continue,
            A::EnableRls(_) | A::DisableRls(_) | A::ForceRls(_) | A::NoForceRls(_) => {
                ("row-level-security", true)
            }
            // These reach another table, which may be old and big.
            A::AttachPartition(_) | A::InheritTable(_) | A::NoInheritTable(_) => {
                ("unrecognised-action", true)
            }
            _ => ("unrecognised-action", false),
        };
        findings.push(Finding::new(rule, seen).sticky(sticky));
    }
}

/// An UPDATE (or an upsert's DO UPDATE) is a backfill only if every column it sets is new.
fn check_set(
    table: Option<String>,
    set: Option<ast::SetClause>,
    ctx: &Context,
    seen: String,
    findings: &mut Vec<Finding>,
) {
    let old: Vec<String> = match (table, set_columns(set)) {
        (Some(table), Some(columns)) => {
            let mut old: Vec<String> = Vec::new();
            for column in columns {
                if !ctx.is_new_column(&table, &column) && !old.contains(&column) {
                    old.push(column);
                }
            }
            old
        }
        _ => vec!["columns it could not name".to_string()],
    };
    if !old.is_empty() {
        let mut f = Finding::new("update-existing-column", seen).sticky(true);
        f.detail = old.join(", ");
        findings.push(f);
    }
}

/// The normalized names of the columns a SET clause assigns; `None` if one cannot be read.
fn set_columns(set: Option<ast::SetClause>) -> Option<Vec<String>> {
    let name = |target: ast::ColumnTarget| {
        target
            .name()
            .map(|n| normalize_name(&n.syntax().text().to_string()))
    };
    let mut out = Vec::new();
    for column in set?.set_column_list()?.set_columns() {
        match column {
            ast::SetColumn::SetSingleColumn(single) => out.push(name(single.column_target()?)?),
            ast::SetColumn::SetMultipleColumns(multiple) => {
                let before = out.len();
                for target in multiple.column_target_list()?.column_targets() {
                    out.push(name(target)?);
                }
                if out.len() == before {
                    return None;
                }
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The table an ALTER TABLE or CREATE INDEX works on, normalized.
fn target_table(stmt: &ast::Stmt) -> Option<String> {
    let relation = match stmt {
        ast::Stmt::AlterTable(alter) => alter.table_relation_name()?,
        ast::Stmt::CreateIndex(index) => index.table_relation_name()?,
        _ => return None,
    };
    let path = relation.table_name_ref()?.path_ref()?;
    Some(normalize_name(&path.syntax().text().to_string()))
}

/// Tables created by this statement (and renames of tables created earlier). `IF NOT EXISTS`
/// does not count: the table may already exist, full of rows.
fn track_created_tables(stmt: &ast::Stmt, target: Option<&str>, created: &mut HashSet<String>) {
    match stmt {
        ast::Stmt::CreateTable(table) if table.if_not_exists().is_none() => {
            if let Some(name) = table.table_name() {
                created.insert(normalize_name(&name.syntax().text().to_string()));
            }
        }
        ast::Stmt::CreateTableAs(table) if table.if_not_exists().is_none() => {
            if let Some(name) = table.table_name() {
                created.insert(normalize_name(&name.syntax().text().to_string()));
            }
        }
        ast::Stmt::AlterTable(alter) => {
            let Some(target) = target else { return };
            if !created.contains(target) {
                return;
            }
            for action in alter.actions() {
                if let ast::AlterTableAction::TableRenameTo(rename) = action {
                    if let Some(name) = rename.table_name() {
                        created.insert(normalize_name(&name.syntax().text().to_string()));
                    }
                }
            }
        }
        _ => {}
    }
}

/// Columns this statement adds: every column of a `CREATE TABLE`, and `ADD COLUMN`. With
/// `IF NOT EXISTS` nothing is added for sure (the table or column may be old), so nothing counts.
fn record_added(stmt: &ast::Stmt, target: Option<&str>, added: &mut AddedColumns) {
    let text = |node: &dyn AstNode| normalize_name(&node.syntax().text().to_string());
    match stmt {
        ast::Stmt::CreateTable(table) if table.if_not_exists().is_none() => {
            let Some(name) = table.table_name() else {
                return;
            };
            let table_name = text(&name);
            for arg in table.table_arg_list().into_iter().flat_map(|l| l.args()) {
                if let ast::TableArg::Column(column) = arg {
                    if let Some(column) = column.name() {
                        added.insert_normalized(table_name.clone(), text(&column));
                    }
                }
            }
        }
        ast::Stmt::AlterTable(alter) => {
            let Some(target) = target else { return };
            for action in alter.actions() {
                if let ast::AlterTableAction::AddColumn(add) = action {
                    if let (None, Some(column)) = (add.if_not_exists(), add.column_name()) {
                        added.insert_normalized(target.to_string(), text(&column));
                    }
                }
            }
        }
        _ => {}
    }
}

/// The last segment of a possibly schema-qualified name: unquoted names fold to lower case,
/// quoted ones keep their case (`"Users"` and `users` are different tables in Postgres).
pub(crate) fn normalize_name(path: &str) -> String {
    let path = path.trim();
    let bytes = path.as_bytes();
    let mut in_quotes = false;
    let mut segment_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'.' if !in_quotes => segment_start = i + 1,
            _ => {}
        }
    }
    let segment = path[segment_start..].trim();
    match segment.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => segment.to_lowercase(),
    }
}
