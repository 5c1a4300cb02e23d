//! The words a student reads: the rule id of an additive statement, how one statement's findings
//! become one decision, and the reason sentence for every rule id.

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::SyntaxKind;

use super::prescan::snippet;
use super::rules::Finding;

/// The rule id and excerpt for a statement with no non-additive finding, if the statement is
/// recognised as additive (or neutral); `None` means it is not, and fails closed.
pub(crate) fn additive_label(stmt: &ast::Stmt, text: &str) -> Option<(&'static str, String)> {
    use ast::Stmt as S;
    let whole = || snippet(text);
    let rule = match stmt {
        S::CreateTable(_) | S::CreateTableAs(_) | S::SelectInto(_) => "create-table",
        S::CreateIndex(index) if index.concurrently_token().is_some() => {
            "create-index-concurrently"
        }
        S::DropIndex(drop) if drop.concurrently_token().is_some() => "drop-index-concurrently",
        S::AlterTable(alter) => {
            for action in alter.actions() {
                let rule = match &action {
                    ast::AlterTableAction::AddColumn(add) => {
                        let has_default = add
                            .constraints()
                            .any(|c| matches!(c, ast::Constraint::DefaultConstraint(_)));
                        if has_default {
                            "add-column-constant-default"
                        } else {
                            "add-nullable-column"
                        }
                    }
                    ast::AlterTableAction::AddConstraint(add) => match add.constraint() {
                        Some(c) if c.is_not_valid() => "add-constraint-not-valid",
                        Some(_) => "add-constraint-using-index",
                        None => continue,
                    },
                    ast::AlterTableAction::ValidateConstraint(_) => "validate-constraint",
                    ast::AlterTableAction::DropConstraint(_) => "drop-constraint",
                    ast::AlterTableAction::RenameConstraint(_) => "rename-constraint",
                    ast::AlterTableAction::AlterColumn(column) => match column.option() {
                        Some(ast::AlterColumnOption::DropNotNull(_)) => "drop-not-null",
                        Some(ast::AlterColumnOption::SetDefault(_)) => "set-default",
                        _ => continue,
                    },
                    _ => continue,
                };
                return Some((rule, snippet(&action.syntax().text().to_string())));
            }
            return None;
        }
        // Reaching here, an UPDATE sets only new columns (a backfill) and an INSERT has no
        // DO UPDATE of old columns (see `rules::own_findings`).
        S::Insert(_) | S::Update(_) => "data-change",
        S::Copy(copy) if is_copy_in(copy) => "data-change",
        S::Begin(_)
        | S::Commit(ast::Commit::CommitTransaction(_))
        | S::Rollback(ast::Rollback::RollbackToSavepoint(_))
        | S::SavepointCreate(_)
        | S::ReleaseSavepoint(_)
        | S::SetTransaction(_) => "transaction-control",
        S::Set(_)
        | S::Reset(_)
        | S::Show(_)
        | S::SetRole(_)
        | S::ResetRole(_)
        | S::SetSessionAuth(_)
        | S::ResetSessionAuth(_)
        | S::SetConstraints(_) => "session-setting",
        S::CreateView(_)
        | S::CreateMaterializedView(_)
        | S::CreateType(_)
        | S::CreateDomain(_)
        | S::CreateSequence(_)
        | S::CreateSchema(_)
        | S::CreateExtension(_)
        | S::CommentOn(_) => "create-object",
        // GRANT is additive: it only gives privileges, so nothing the previous release can do
        // stops working (taking them away, REVOKE, is not additive).
        S::Grant(_) => "grant",
        S::AlterType(alter)
            if matches!(alter.action(), Some(ast::AlterTypeAction::AddValue(_))) =>
        {
            "add-enum-value"
        }
        _ => return None,
    };
    Some((rule, whole()))
}

/// `COPY t FROM stdin` or a file: rows in, like INSERT. `COPY ... TO` and `PROGRAM` are not.
fn is_copy_in(copy: &ast::Copy) -> bool {
    matches!(copy.copy_direction(), Some(ast::CopyDirection::CopyFrom(_)))
        && !copy
            .syntax()
            .descendants_with_tokens()
            .any(|e| matches!(e.kind(), SyntaxKind::PROGRAM_KW | SyntaxKind::COPY_PROGRAM))
}

/// Picks the worst finding and says why.
pub(crate) fn decide(mut findings: Vec<Finding>) -> Option<(&'static str, String)> {
    findings.sort_by_key(|f| super::rules::severity(f.rule));
    let worst = findings.first()?;
    let mut reason = needs_reason(worst);
    let mut others: Vec<&str> = Vec::new();
    for f in &findings[1..] {
        if f.rule != worst.rule && !others.contains(&f.rule) {
            others.push(f.rule);
        }
    }
    if !others.is_empty() {
        reason.pop();
        reason.push_str(&format!(
            "; the same statement also does: {}.",
            others.join(", ")
        ));
    }
    Some((worst.rule, reason))
}

pub(crate) fn needs_reason(f: &Finding) -> String {
    let seen = &f.seen;
    match f.rule {
        "drop-table" => format!("`{seen}` drops a table the release still running during the deploy may read or write; stop using it in one release and drop it in a later one."),
        "drop-column" => format!("`{seen}` drops a column the previous release may still read or write; stop using it in one release (expand) and drop it in a later one (contract)."),
        "rename-table" => format!("`{seen}` renames a table, which breaks every query of the release still running that uses the old name; add the new name (a view or a new table) first and remove the old one in a later release."),
        "rename-column" => format!("`{seen}` renames a column, which breaks the previous release's queries at once; add the new column, write both and backfill, and drop the old one in a later release."),
        "change-column-type" => format!("`{seen}` changes a column's type, which rewrites the table under an ACCESS EXCLUSIVE lock and can break readers of the old type; add a column of the new type and switch over across releases."),
        "drop-object" => format!("`{seen}` drops an object the previous release may still use; stop using it in one release and drop it in a later one."),
        "rename-object" => format!("`{seen}` renames an object the previous release refers to by its old name; add the new name first and remove the old one in a later release."),
        "set-schema" => format!("`{seen}` moves an object to another schema, so the previous release's references stop finding it; add the new location first and remove the old one in a later release."),
        "add-required-column" => format!("`{seen}` adds a NOT NULL column without a default, so the previous release's INSERTs, which do not know the column, fail; add it nullable (or with a constant default), backfill, and set NOT NULL in a later release."),
        "set-not-null" => format!("`{seen}` sets NOT NULL on an existing column: the previous release may still write NULL, and Postgres scans the table under an ACCESS EXCLUSIVE lock; add a CHECK (... IS NOT NULL) NOT VALID and backfill first, and set NOT NULL in a later release."),
        "drop-default" => format!("`{seen}` removes a default the previous release may rely on when it inserts without that column; stop relying on it in one release and drop it in a later one."),
        "add-column-volatile-default" => format!("`{seen}` adds a column whose default is volatile (computed per row, like random(), gen_random_uuid() or a serial's nextval()), so Postgres rewrites the whole table under an ACCESS EXCLUSIVE lock; add it nullable, backfill in batches, then add the default and constraint."),
        "add-generated-column" => format!("`{seen}` adds a generated or identity column, which fills every existing row and so rewrites the whole table under an ACCESS EXCLUSIVE lock; add a plain nullable column, backfill it in batches, and switch to it in a later release."),
        "add-validated-foreign-key" => format!("`{seen}` adds a foreign key that Postgres validates at once, scanning the table while writes to both tables are blocked; add it NOT VALID and VALIDATE CONSTRAINT in a later migration."),
        "add-validated-check" => format!("`{seen}` adds a CHECK constraint that Postgres validates at once, scanning the table under an ACCESS EXCLUSIVE lock; add it NOT VALID and VALIDATE CONSTRAINT in a later migration."),
        "add-unique-constraint" => format!("`{seen}` builds a unique index while blocking writes to the whole table; create the unique index CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX."),
        "add-primary-key" => format!("`{seen}` builds the primary key's index while blocking writes to the whole table; create a unique index CONCURRENTLY first, then ADD PRIMARY KEY USING INDEX."),
        "create-index-blocking" => format!("`{seen}` builds an index on an existing table without CONCURRENTLY, blocking every write for the whole build; use CREATE INDEX CONCURRENTLY."),
        "drop-index-blocking" => format!("`{seen}` drops an index without CONCURRENTLY, taking an ACCESS EXCLUSIVE lock that blocks reads and writes on the table and queues behind running queries; use DROP INDEX CONCURRENTLY."),
        "reindex-blocking" => format!("`{seen}` rebuilds indexes without CONCURRENTLY, blocking writes to the table meanwhile; use REINDEX ... CONCURRENTLY."),
        "detach-partition-blocking" => format!("`{seen}` detaches a partition under an ACCESS EXCLUSIVE lock on the parent table; use DETACH PARTITION ... CONCURRENTLY."),
        "procedural-code" => format!("`{seen}` runs procedural code (a DO block, EXECUTE, CALL, PREPARE, or a function, procedure, trigger or rule body), which could do anything and cannot be checked: write the statements plainly, one by one, so each can be classified."),
        "revoke" => format!("`{seen}` takes privileges away, so the release still running may lose access to what it uses; revoke in the contract, after the release that stopped needing them."),
        "row-level-security" => format!("`{seen}` changes row-level security, which can hide rows from (or refuse writes by) the release still running; it cannot be shown to be additive, so ship it on its own, after the expand."),
        "lock-table" => format!("`{seen}` locks a table explicitly, blocking the running release's queries for the rest of the migration; it is not additive, so drop it and let each statement take the lock it needs (with a lock_timeout)."),
        "delete-rows" => format!("`{seen}` deletes rows the previous release may still read; destroying data is never additive, so delete in the contract."),
        "truncate-table" => format!("`{seen}` empties a table the previous release may still read; destroying data is never additive, so do it in the contract."),
        "update-existing-column" => format!("`{seen}` overwrites {} in existing rows, which the expand commit did not add, so the previous release sees its data change (a column added with IF NOT EXISTS may have existed already and does not count); only backfill columns the expand commit adds, and change existing data in the contract.", f.detail),
        "merge-rows" => format!("`{seen}` is a MERGE, which can update and delete existing rows, so it cannot be shown to be additive; write a plain INSERT, or an UPDATE that only fills columns the expand commit adds."),
        "nested-data-change" => format!("`{seen}` hides a data change (DELETE, UPDATE, INSERT or MERGE) inside another statement, a WITH clause say, which cannot be checked; write each change as a plain statement of its own."),
        "rollback" => format!("`{seen}` rolls the whole transaction back, so what the file says it adds may never ship; end the transaction with COMMIT (ROLLBACK TO SAVEPOINT is fine)."),
        "unrecognised-action" => format!("`{seen}` is an ALTER TABLE action the clinic does not recognise as additive, so it cannot be shown to be additive (fail closed); move it to the contract."),
        "unrecognised-statement" => format!("`{seen}` could not be recognised as an additive statement (creating a table, an index CONCURRENTLY, adding a nullable column or a NOT VALID constraint, a backfill of a new column, an INSERT, ...), so it cannot be shown to be additive (fail closed); move it to the contract."),
        "parse-error" => format!("The Postgres parser could not read `{seen}` ({}), so the statement could not be recognised and cannot be shown to be additive; fix the SQL.", f.detail.trim_end_matches('.')),
        _ => format!("`{seen}` is a breaking change ({}).", f.detail.trim_end_matches('.')),
    }
}

pub(crate) fn additive_reason(rule: &str, seen: &str) -> String {
    match rule {
        "create-table" => format!("`{seen}` creates a new table; no released code depends on it yet, so it is additive."),
        "create-index-concurrently" => format!("`{seen}` builds the index CONCURRENTLY, so reads and writes go on during the build; additive."),
        "create-index-new-table" => format!("`{seen}` indexes a table created earlier in this file; the table is new and empty, so the short lock blocks no one."),
        "alter-new-table" => format!("`{seen}` changes a table created earlier in this file; no released code uses it yet and it is empty, so this is still additive."),
        "drop-index-concurrently" => format!("`{seen}` drops the index CONCURRENTLY, so reads and writes go on, and no query names an index; additive."),
        "add-nullable-column" => format!("`{seen}` adds a nullable column without a default, a catalog-only change the previous release simply ignores; additive."),
        "add-column-constant-default" => format!("`{seen}` adds a column with a constant (non-volatile) default, which Postgres 11+ stores without rewriting the table, and the previous release ignores the column; additive."),
        "add-constraint-not-valid" => format!("`{seen}` adds the constraint NOT VALID: new rows are checked but existing rows are not scanned, so the lock is brief; additive."),
        "add-constraint-using-index" => format!("`{seen}` attaches an index that already exists, so no index is built under lock; additive."),
        "validate-constraint" => format!("`{seen}` validates a NOT VALID constraint: it scans the table under a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on; it finishes an expand and is safe in one release."),
        "drop-not-null" => format!("`{seen}` relaxes NOT NULL, which the previous release's writes never notice; it is the usual expand step before a column is dropped (readers may now see NULLs)."),
        "drop-constraint" => format!("`{seen}` removes a constraint, relaxing what may be written; the previous release's queries keep working."),
        "set-default" => format!("`{seen}` changes a column default, which affects only future inserts and rewrites nothing; additive."),
        "rename-constraint" => format!("`{seen}` renames a constraint, which no query refers to; additive."),
        "data-change" if seen.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("update")) => format!("`{seen}` only fills columns the expand commit adds (a backfill); it does not change the schema or any data the previous release reads, so it is additive."),
        "data-change" => format!("`{seen}` adds rows; it does not change the schema or existing data, so the running release's queries keep working; additive."),
        "transaction-control" => format!("`{seen}` is transaction control: it changes nothing in the schema and counts neither for nor against the file (neutral)."),
        "session-setting" => format!("`{seen}` sets an option for this session (a lock timeout, say): it changes nothing in the schema and counts neither for nor against the file (neutral)."),
        "create-object" => format!("`{seen}` creates or annotates an object without changing any table the previous release uses; additive."),
        "grant" => format!("`{seen}` grants privileges; it takes nothing away, so everything the previous release does keeps working; additive."),
        "add-enum-value" => format!("`{seen}` adds a value to an enum type; existing values and the previous release's queries keep working; additive."),
        _ => format!("`{seen}` was recognised as additive ({rule})."),
    }
}
