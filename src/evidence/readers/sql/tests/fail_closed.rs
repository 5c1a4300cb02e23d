//! Tests for the fail-closed rules of the expand half (fail closed): each rule in both directions (the
//! gaming form is not additive and says why; the honest form is additive or neutral), the
//! `added_columns` API, and a property-style robustness test.

use super::*;

fn neutral(sql: &str, rule: &str) {
    let s = one(sql);
    assert_eq!(s.safety, Safety::Neutral, "{s:#?}");
    assert_eq!(s.rule, rule, "{s:#?}");
    assert!(!s.reason.is_empty());
}

fn rules_of(all: &[Statement]) -> Vec<&str> {
    all.iter().map(|s| s.rule.as_str()).collect()
}

#[test]
fn procedural_code_cannot_be_checked() {
    let s = one("DO $$ BEGIN EXECUTE 'ALTER TABLE users DROP COLUMN fullname'; END $$;");
    assert_eq!(s.safety, Safety::NeedsExpandContract);
    assert_eq!(s.rule, "procedural-code");
    assert!(
        s.reason.contains("write the statements plainly"),
        "{}",
        s.reason
    );
    for sql in [
        "DO LANGUAGE plpgsql $x$ BEGIN PERFORM 1; END $x$;",
        "EXECUTE drop_it(1);",
        "PREPARE drop_it AS DELETE FROM users;",
        "CALL backfill_users();",
        "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM users $$;",
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;",
        "CREATE PROCEDURE p() LANGUAGE sql AS $$ TRUNCATE users $$;",
        "CREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION f();",
        "CREATE RULE r AS ON INSERT TO users DO INSTEAD NOTHING;",
    ] {
        needs(sql, "procedural-code");
    }
    // EXECUTE of a string is not even valid at the top level: still not additive.
    let all = classify("EXECUTE 'ALTER TABLE users DROP COLUMN fullname';");
    assert!(!all.is_empty() && !is_additive(&all), "{all:#?}");
    // The honest version, written plainly, is classified statement by statement.
    additive(
        "ALTER TABLE users ADD COLUMN display_name text;",
        "add-nullable-column",
    );
    let all =
        classify("ALTER TABLE users ADD COLUMN a text;\nDO $$ BEGIN PERFORM 1; END $$;\nCOMMIT;");
    assert_eq!(
        rules_of(&all),
        [
            "add-nullable-column",
            "procedural-code",
            "transaction-control"
        ]
    );
    assert!(!is_additive(&all));
}

#[test]
fn revoke_is_not_additive_but_grant_is() {
    needs("REVOKE SELECT ON users FROM app;", "revoke");
    needs(
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM app;",
        "revoke",
    );
    additive("GRANT SELECT ON users TO app;", "grant");
    additive("GRANT reporting TO app;", "grant");
}

#[test]
fn row_level_security_is_not_additive() {
    needs(
        "ALTER TABLE users ENABLE ROW LEVEL SECURITY;",
        "row-level-security",
    );
    needs(
        "ALTER TABLE users FORCE ROW LEVEL SECURITY;",
        "row-level-security",
    );
    needs(
        "CREATE POLICY own_rows ON users USING (id = current_user_id());",
        "row-level-security",
    );
    needs("DROP POLICY own_rows ON users;", "row-level-security");
    // Not excused on a table created earlier in the file either.
    let all =
        classify("CREATE TABLE notes (id bigint);\nALTER TABLE notes ENABLE ROW LEVEL SECURITY;");
    assert_eq!(rules_of(&all), ["create-table", "row-level-security"]);
}

#[test]
fn explicit_lock_is_not_additive() {
    needs("LOCK TABLE users;", "lock-table");
    needs("LOCK users IN ACCESS EXCLUSIVE MODE;", "lock-table");
    neutral("SET lock_timeout = '2s';", "session-setting");
}

#[test]
fn unrecognised_statements_fail_closed() {
    let s = one("this line is garbage");
    assert_eq!(s.safety, Safety::NeedsExpandContract);
    assert_eq!(s.rule, "parse-error");
    assert!(s.reason.contains("could not be recognised"), "{}", s.reason);
    for sql in [
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity;",
        "VACUUM FULL users;",
        "CLUSTER users USING users_pkey;",
        "ALTER SEQUENCE users_id_seq RESTART WITH 1;",
        "REFRESH MATERIALIZED VIEW totals;",
        "ROLLBACK PREPARED 'x';",
        "COPY users TO PROGRAM 'rm -rf /';",
        "COPY users FROM PROGRAM 'curl example.com';",
    ] {
        let s = one(sql);
        assert_eq!(s.safety, Safety::NeedsExpandContract, "{s:#?}");
        assert_eq!(s.rule, "unrecognised-statement", "{s:#?}");
        assert!(s.reason.contains("could not be recognised"), "{}", s.reason);
    }
    needs(
        "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';",
        "rename-object",
    );
    // ALTER TABLE actions outside the additive list.
    needs("ALTER TABLE users SET UNLOGGED;", "unrecognised-action");
    needs(
        "ALTER TABLE users OWNER TO someone_else;",
        "unrecognised-action",
    );
    needs(
        "ALTER TABLE users DISABLE TRIGGER ALL;",
        "unrecognised-action",
    );
    needs(
        "ALTER TABLE users ADD COLUMN a text, SET UNLOGGED;",
        "unrecognised-action",
    );
    // On a table created earlier in the file they are excused, unless they reach another table.
    let all = classify(
        "CREATE TABLE notes (id bigint);\nALTER TABLE notes OWNER TO app;\n\
         ALTER TABLE notes ATTACH PARTITION users FOR VALUES IN (1);",
    );
    assert_eq!(
        rules_of(&all),
        ["create-table", "alter-new-table", "unrecognised-action"]
    );
    // Recognised additions keep working.
    additive("ALTER TYPE mood ADD VALUE 'meh';", "add-enum-value");
    additive("COMMENT ON TABLE users IS 'people';", "create-object");
}

#[test]
fn destructive_data_changes_are_not_additive() {
    needs("DELETE FROM users;", "delete-rows");
    needs("TRUNCATE orders;", "truncate-table");
    needs("TRUNCATE TABLE orders, users CASCADE;", "truncate-table");
    needs(
        "MERGE INTO users u USING incoming i ON u.id = i.id WHEN MATCHED THEN DELETE;",
        "merge-rows",
    );
    needs(
        "WITH gone AS (DELETE FROM users RETURNING id) INSERT INTO audit (id) SELECT id FROM gone;",
        "nested-data-change",
    );
    let s = one("UPDATE users SET email = lower(email);");
    assert_eq!(s.safety, Safety::NeedsExpandContract);
    assert_eq!(s.rule, "update-existing-column");
    assert!(s.reason.contains("overwrites email"), "{}", s.reason);
    // An upsert's DO UPDATE is an UPDATE too; DO NOTHING is a plain insert.
    needs(
        "INSERT INTO users (id, email) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET email = excluded.email;",
        "update-existing-column",
    );
    additive(
        "INSERT INTO users (id, email) VALUES (1, 'a') ON CONFLICT DO NOTHING;",
        "data-change",
    );
}

#[test]
fn inserts_and_backfills_of_new_columns_are_additive() {
    additive("INSERT INTO roles VALUES (1,'x');", "data-change");
    additive(
        "INSERT INTO roles (id, name) SELECT id, name FROM legacy_roles;",
        "data-change",
    );
    additive("COPY roles (id, name) FROM stdin;", "data-change");
}

#[test]
fn backfill_of_a_column_added_in_the_same_file_is_additive() {
    let sql = "BEGIN; ALTER TABLE users ADD COLUMN display_name text; UPDATE users SET display_name = fullname; COMMIT;";
    let all = classify(sql);
    assert_eq!(
        rules_of(&all),
        [
            "transaction-control",
            "add-nullable-column",
            "data-change",
            "transaction-control"
        ]
    );
    let safeties: Vec<Safety> = all.iter().map(|s| s.safety).collect();
    assert_eq!(
        safeties,
        [
            Safety::Neutral,
            Safety::Additive,
            Safety::Additive,
            Safety::Neutral
        ]
    );
    assert!(all[2].reason.contains("backfill"), "{}", all[2].reason);
    assert!(is_additive(&all));
    // Same with the caller's set, and with the set of another file of the expand commit.
    assert_eq!(classify_with(sql, &added_columns(sql)), all);
    let other_file = added_columns("ALTER TABLE users ADD COLUMN display_name text;");
    let s = one_with("UPDATE users SET display_name = fullname;", &other_file);
    assert_eq!(
        (s.safety, s.rule.as_str()),
        (Safety::Additive, "data-change")
    );
    // A table created earlier in the file: every column is new.
    let all = classify(
        "CREATE TABLE notes (id bigint, body text);\nINSERT INTO notes VALUES (1, 'a');\n\
         UPDATE notes SET body = 'b';",
    );
    assert!(is_additive(&all), "{all:#?}");
    // A CTE that only reads does not hide a data change.
    let s = one_with(
        "WITH src AS (SELECT id, fullname FROM users) UPDATE users u SET display_name = src.fullname FROM src WHERE u.id = src.id;",
        &other_file,
    );
    assert_eq!(
        (s.safety, s.rule.as_str()),
        (Safety::Additive, "data-change")
    );
}

#[test]
fn backfill_rule_cannot_be_gamed() {
    // Old column next to a new one: the old one is named.
    let added = added_columns("ALTER TABLE users ADD COLUMN display_name text;");
    let s = one_with("UPDATE users SET display_name = 'x', email = NULL;", &added);
    assert_eq!(s.rule, "update-existing-column");
    assert!(s.reason.contains("overwrites email in"), "{}", s.reason);
    let s = one_with(
        "UPDATE users SET (display_name, email) = ('x', NULL);",
        &added,
    );
    assert_eq!(s.rule, "update-existing-column");
    // The same column name on another table is another column.
    needs_with("UPDATE orders SET display_name = 'x';", &added);
    // IF NOT EXISTS may add nothing: the column may be old.
    let all = classify(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS email text;\nUPDATE users SET email = '';",
    );
    assert_eq!(
        rules_of(&all),
        ["add-nullable-column", "update-existing-column"]
    );
    assert!(added_columns("ALTER TABLE users ADD COLUMN IF NOT EXISTS email text;").is_empty());
    let all = classify(
        "CREATE TABLE IF NOT EXISTS users (id int, email text);\nUPDATE users SET email = '';",
    );
    assert_eq!(rules_of(&all), ["create-table", "update-existing-column"]);
    // Order matters: before the ADD COLUMN, the column is not the new one.
    let all = classify("UPDATE users SET nick = '';\nALTER TABLE users ADD COLUMN nick text;");
    assert_eq!(
        rules_of(&all),
        ["update-existing-column", "add-nullable-column"]
    );
    // Quoted names keep their case.
    let added = added_columns("ALTER TABLE \"Users\" ADD COLUMN \"Nick\" text;");
    additive_with("UPDATE \"Users\" SET \"Nick\" = 'x';", &added);
    needs_with("UPDATE users SET nick = 'x';", &added);
    // A DO block's ADD COLUMN is not seen, so it adds nothing.
    assert!(
        added_columns("DO $$ BEGIN ALTER TABLE users ADD COLUMN email text; END $$;").is_empty()
    );
}

fn needs_with(sql: &str, added: &AddedColumns) {
    let s = one_with(sql, added);
    assert_eq!(
        (s.safety, s.rule.as_str()),
        (Safety::NeedsExpandContract, "update-existing-column"),
        "{s:#?}"
    );
}

fn additive_with(sql: &str, added: &AddedColumns) {
    let s = one_with(sql, added);
    assert_eq!(
        (s.safety, s.rule.as_str()),
        (Safety::Additive, "data-change"),
        "{s:#?}"
    );
}

#[test]
fn added_columns_lists_created_and_added_columns() {
    let added = added_columns(
        "CREATE TABLE app.Notes (id bigint PRIMARY KEY, \"Body\" text, CONSTRAINT c CHECK (id > 0));\n\
         ALTER TABLE public.users ADD COLUMN a text, ADD b int DEFAULT 0, DROP COLUMN c;\n\
         ALTER TABLE orders ADD COLUMN IF NOT EXISTS d text;\n\
         ALTER TABLE orders ADD COLUMN e int DEFAULT (;\n\
         CREATE TABLE IF NOT EXISTS old (f int);",
    );
    let mut pairs: Vec<(&str, &str)> = added.iter().collect();
    pairs.sort_unstable();
    assert_eq!(
        pairs,
        [
            ("notes", "Body"),
            ("notes", "id"),
            ("users", "a"),
            ("users", "b")
        ]
    );
    assert_eq!(added.len(), 4);
    assert!(added.contains("NOTES", "\"Body\""));
    assert!(added.contains("x.users", "A"));
    assert!(!added.contains("notes", "body"));
    let mut all = AddedColumns::new();
    assert!(all.is_empty());
    all.union_with(&added);
    all.union_with(&added_columns("ALTER TABLE orders ADD COLUMN g text;"));
    all.insert("Orders", "H");
    assert_eq!(all.len(), 6);
    assert!(all.contains("orders", "g") && all.contains("orders", "h"));
    assert!(added_columns("").is_empty());
    assert!(added_columns("\0$$'(((").is_empty());
}

#[test]
fn transaction_control_and_session_settings_are_neutral() {
    for sql in [
        "BEGIN;",
        "BEGIN ISOLATION LEVEL SERIALIZABLE;",
        "START TRANSACTION;",
        "COMMIT;",
        "END;",
        "SAVEPOINT before_backfill;",
        "RELEASE before_backfill;",
        "RELEASE SAVEPOINT before_backfill;",
        "ROLLBACK TO before_backfill;",
        "ROLLBACK TO SAVEPOINT before_backfill;",
    ] {
        neutral(sql, "transaction-control");
    }
    for sql in [
        "SET lock_timeout = '2s';",
        "SET LOCAL statement_timeout TO '5min';",
        "SET search_path TO app, public;",
        "RESET lock_timeout;",
        "RESET ALL;",
    ] {
        neutral(sql, "session-setting");
    }
    // Neutral statements alone, or around additive ones, leave a file additive...
    assert!(is_additive(&classify(
        "BEGIN; SET lock_timeout = '2s'; COMMIT;"
    )));
    // ...and do not excuse a non-additive one.
    assert!(!is_additive(&classify("BEGIN; DELETE FROM users; COMMIT;")));
    // A full ROLLBACK would throw the file's work away: not neutral.
    needs("ROLLBACK;", "rollback");
    needs("ABORT;", "rollback");
    assert_eq!(
        serde_json::to_value(Safety::Neutral).unwrap(),
        serde_json::json!("neutral")
    );
}

#[test]
fn tables_not_created_earlier_in_the_file_are_existing() {
    // CREATE TABLE IF NOT EXISTS may find an old, big table: no exemption.
    let all = classify(
        "CREATE TABLE IF NOT EXISTS users (id bigint);\n\
         CREATE INDEX users_email_idx ON users (email);\n\
         ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id);\n\
         ALTER TABLE users ADD CONSTRAINT users_age CHECK (age > 0) NOT VALID;\n\
         CREATE INDEX CONCURRENTLY users_name_idx ON users (name);",
    );
    assert_eq!(
        rules_of(&all),
        [
            "create-table",
            "create-index-blocking",
            "add-validated-foreign-key",
            "add-constraint-not-valid",
            "create-index-concurrently"
        ]
    );
    // A table created (plainly) earlier in the file, even under another name, is new.
    let all = classify(
        "CREATE TABLE notes_tmp (id bigint, user_id bigint);\n\
         ALTER TABLE notes_tmp RENAME TO notes;\n\
         CREATE INDEX notes_user_idx ON notes (user_id);\n\
         ALTER TABLE notes ADD CONSTRAINT notes_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
    );
    assert!(is_additive(&all), "{all:#?}");
}

/// Every rule id the classifier can give, by safety.
const ADDITIVE_RULES: &[&str] = &[
    "create-table",
    "create-index-concurrently",
    "create-index-new-table",
    "alter-new-table",
    "drop-index-concurrently",
    "add-nullable-column",
    "add-column-constant-default",
    "add-constraint-not-valid",
    "add-constraint-using-index",
    "validate-constraint",
    "drop-not-null",
    "drop-constraint",
    "rename-constraint",
    "set-default",
    "data-change",
    "create-object",
    "grant",
    "add-enum-value",
];

/// Property-style: pseudo-random token soup (keywords, quotes, dollar quotes, comments, brackets,
/// control bytes, non-ASCII) never panics, finishes within a bound, and never yields an additive
/// or neutral statement under a rule outside the recognised lists.
#[test]
fn arbitrary_input_never_panics_and_fails_closed() {
    const TOKENS: &[&str] = &[
        "ALTER",
        "TABLE",
        "users",
        "ADD",
        "COLUMN",
        "DROP",
        "CREATE",
        "INDEX",
        "CONCURRENTLY",
        "ON",
        "UPDATE",
        "SET",
        "=",
        "DELETE",
        "FROM",
        "INSERT",
        "INTO",
        "VALUES",
        "DO",
        "$$",
        "$t$",
        "BEGIN",
        "END",
        "COMMIT",
        "ROLLBACK",
        "TO",
        "EXECUTE",
        "'",
        "''",
        "\"",
        "(",
        ")",
        "[",
        "]",
        ";",
        ";",
        ",",
        ".",
        "--",
        "\n",
        "/*",
        "*/",
        "NOT",
        "NULL",
        "VALID",
        "CASE",
        "WITH",
        "AS",
        "RETURNING",
        "TRUNCATE",
        "LOCK",
        "REVOKE",
        "GRANT",
        "POLICY",
        "E'\\",
        "\0",
        "\u{7f}",
        "é",
        "😀",
        "1",
        "$1",
        "text",
        "IF",
        "EXISTS",
        "DEFAULT",
        "random()",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let started = std::time::Instant::now();
    for _ in 0..400 {
        let len = (next() % 60) as usize;
        let mut sql = String::new();
        for _ in 0..len {
            sql.push_str(TOKENS[(next() % TOKENS.len() as u64) as usize]);
            if next() % 3 != 0 {
                sql.push(' ');
            }
        }
        let case = std::time::Instant::now();
        let added = added_columns(&sql);
        let all = classify_with(&sql, &added);
        assert!(
            case.elapsed() < std::time::Duration::from_secs(2),
            "slow on {sql:?}"
        );
        let mut last_line = 0;
        for s in &all {
            assert!(
                !s.rule.is_empty() && !s.reason.is_empty(),
                "{sql:?}: {s:#?}"
            );
            assert!(s.line >= last_line.max(1), "{sql:?}: {all:#?}");
            last_line = s.line;
            match s.safety {
                Safety::Additive => {
                    assert!(ADDITIVE_RULES.contains(&s.rule.as_str()), "{sql:?}: {s:#?}")
                }
                Safety::Neutral => assert!(
                    matches!(s.rule.as_str(), "transaction-control" | "session-setting"),
                    "{sql:?}: {s:#?}"
                ),
                Safety::NeedsExpandContract => {}
            }
        }
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "400 cases took {:?}",
        started.elapsed()
    );
}
