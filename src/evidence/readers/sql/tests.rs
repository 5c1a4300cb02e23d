use super::*;

fn one(sql: &str) -> Statement {
    one_with(sql, &AddedColumns::default())
}

fn one_with(sql: &str, added: &AddedColumns) -> Statement {
    let mut all = classify_with(sql, added);
    assert_eq!(
        all.len(),
        1,
        "expected one statement in {sql:?}, got {all:#?}"
    );
    all.remove(0)
}

fn needs(sql: &str, rule: &str) {
    let s = one(sql);
    assert_eq!(s.safety, Safety::NeedsExpandContract, "{s:#?}");
    assert_eq!(s.rule, rule, "{s:#?}");
    assert!(!s.reason.is_empty());
}

fn additive(sql: &str, rule: &str) {
    let s = one(sql);
    assert_eq!(s.safety, Safety::Additive, "{s:#?}");
    assert_eq!(s.rule, rule, "{s:#?}");
    assert!(!s.reason.is_empty());
}

// --- The contract's non-additive list -------------------------------------------------------

#[test]
fn drop_table_needs_expand_contract() {
    needs("DROP TABLE users;", "drop-table");
    needs("drop table if exists public.users cascade", "drop-table");
}

#[test]
fn drop_column_needs_expand_contract() {
    needs("ALTER TABLE users DROP COLUMN fullname;", "drop-column");
    needs("alter table users drop fullname", "drop-column");
}

#[test]
fn rename_table_needs_expand_contract() {
    needs("ALTER TABLE users RENAME TO people;", "rename-table");
}

#[test]
fn rename_column_needs_expand_contract() {
    needs(
        "ALTER TABLE users RENAME COLUMN fullname TO display_name;",
        "rename-column",
    );
    needs(
        "ALTER TABLE users RENAME fullname TO display_name;",
        "rename-column",
    );
}

#[test]
fn change_column_type_needs_expand_contract() {
    needs(
        "ALTER TABLE users ALTER COLUMN age TYPE bigint;",
        "change-column-type",
    );
    needs(
        "ALTER TABLE users ALTER COLUMN age SET DATA TYPE text USING age::text;",
        "change-column-type",
    );
}

#[test]
fn set_not_null_on_existing_column_needs_expand_contract() {
    needs(
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "set-not-null",
    );
    // Even after a validated CHECK, which squawk accepts as lock-safe: the contract lists it.
    let all = classify(
        "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\n\
         ALTER TABLE users VALIDATE CONSTRAINT email_nn;\n\
         ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    );
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].rule, "set-not-null");
    assert_eq!(all[2].safety, Safety::NeedsExpandContract);
}

#[test]
fn add_validated_foreign_key_needs_expand_contract() {
    needs(
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
        "add-validated-foreign-key",
    );
    needs(
        "ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);",
        "add-validated-foreign-key",
    );
}

#[test]
fn add_validated_check_needs_expand_contract() {
    needs(
        "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0);",
        "add-validated-check",
    );
}

#[test]
fn create_index_without_concurrently_on_existing_table_needs_expand_contract() {
    needs(
        "CREATE INDEX users_email_idx ON users (email);",
        "create-index-blocking",
    );
    needs(
        "create unique index users_email_idx on users (lower(email));",
        "create-index-blocking",
    );
}

#[test]
fn add_not_null_column_without_default_needs_expand_contract() {
    needs(
        "ALTER TABLE users ADD COLUMN nickname text NOT NULL;",
        "add-required-column",
    );
}

#[test]
fn add_column_with_volatile_default_needs_expand_contract() {
    for default in ["random()", "gen_random_uuid()", "clock_timestamp()"] {
        needs(
            &format!("ALTER TABLE users ADD COLUMN x text NOT NULL DEFAULT {default};"),
            "add-column-volatile-default",
        );
    }
    needs(
        "ALTER TABLE users ADD COLUMN seq bigserial;",
        "add-column-volatile-default",
    );
    needs(
        "ALTER TABLE users ADD COLUMN total int GENERATED ALWAYS AS (a + b) STORED;",
        "add-generated-column",
    );
    needs(
        "ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;",
        "add-generated-column",
    );
    let s = one("ALTER TABLE users ADD COLUMN x float DEFAULT (random() * 10);");
    assert_eq!(s.rule, "add-column-volatile-default");
    // The reason quotes the whole action, not only the default expression.
    assert!(
        s.reason
            .starts_with("`ADD COLUMN x float DEFAULT (random() * 10)`"),
        "{}",
        s.reason
    );
}

// --- The contract's additive list -----------------------------------------------------------

#[test]
fn create_table_is_additive() {
    additive(
        "CREATE TABLE audit (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), note varchar(20), at timestamp);",
        "create-table",
    );
    additive(
        "CREATE TABLE IF NOT EXISTS \"Audit\" (id int)",
        "create-table",
    );
}

#[test]
fn add_nullable_column_is_additive() {
    additive(
        "ALTER TABLE users ADD COLUMN display_name text;",
        "add-nullable-column",
    );
    additive(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS display_name varchar(200) NULL;",
        "add-nullable-column",
    );
}

#[test]
fn add_column_with_constant_default_is_additive() {
    additive(
        "ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;",
        "add-column-constant-default",
    );
    additive(
        "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';",
        "add-column-constant-default",
    );
    for default in ["(0)", "((-1.5))", "('it''s')", "(false)", "'{}'::jsonb"] {
        additive(
            &format!("ALTER TABLE users ADD COLUMN c text DEFAULT {default};"),
            "add-column-constant-default",
        );
    }
    // now() is STABLE: evaluated once, stored without a rewrite (Postgres 11+).
    additive(
        "ALTER TABLE users ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();",
        "add-column-constant-default",
    );
}

#[test]
fn create_index_concurrently_is_additive() {
    additive(
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
        "create-index-concurrently",
    );
    additive(
        "create unique index concurrently if not exists i on users (email)",
        "create-index-concurrently",
    );
}

#[test]
fn add_constraint_not_valid_is_additive() {
    additive(
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
        "add-constraint-not-valid",
    );
    additive(
        "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;",
        "add-constraint-not-valid",
    );
}

#[test]
fn create_index_on_table_created_earlier_in_file_is_additive() {
    let all = classify(
        "CREATE TABLE audit (id bigint, user_id bigint);\n\
         CREATE INDEX audit_user_idx ON audit (user_id);\n\
         ALTER TABLE audit ADD CONSTRAINT audit_user_fk FOREIGN KEY (user_id) REFERENCES users (id);\n\
         CREATE INDEX users_name_idx ON users (name);",
    );
    let rules: Vec<&str> = all.iter().map(|s| s.rule.as_str()).collect();
    assert_eq!(
        rules,
        [
            "create-table",
            "create-index-new-table",
            "alter-new-table",
            "create-index-blocking"
        ]
    );
    assert!(!is_additive(&all));
    assert!(is_additive(&all[..3]));
    // An index before the table exists is not covered by the exemption.
    let all = classify("CREATE INDEX i ON later (x);\nCREATE TABLE later (x int);");
    assert_eq!(all[0].rule, "create-index-blocking");
    // Quoted names keep their case: "Audit" is not audit.
    let all = classify("CREATE TABLE \"Audit\" (x int);\nCREATE INDEX i ON audit (x);");
    assert_eq!(all[1].rule, "create-index-blocking");
    let all = classify("CREATE TABLE app.Audit (x int);\nCREATE INDEX i ON AUDIT (x);");
    assert_eq!(all[1].rule, "create-index-new-table");
}

// --- Decisions the contract leaves open -----------------------------------------------------

#[test]
fn validate_constraint_is_additive() {
    additive(
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;",
        "validate-constraint",
    );
}

#[test]
fn drop_index_blocks_unless_concurrently() {
    needs("DROP INDEX users_email_idx;", "drop-index-blocking");
    additive(
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
        "drop-index-concurrently",
    );
}

#[test]
fn relaxing_changes_are_additive_but_drop_default_is_not() {
    additive(
        "ALTER TABLE users ALTER COLUMN fullname DROP NOT NULL;",
        "drop-not-null",
    );
    additive(
        "ALTER TABLE orders DROP CONSTRAINT total_positive;",
        "drop-constraint",
    );
    additive(
        "ALTER TABLE users ALTER COLUMN plan SET DEFAULT 'free';",
        "set-default",
    );
    needs(
        "ALTER TABLE users ALTER COLUMN plan DROP DEFAULT;",
        "drop-default",
    );
}

#[test]
fn unique_and_primary_key_constraints_build_an_index() {
    needs(
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "add-unique-constraint",
    );
    needs("ALTER TABLE users ADD PRIMARY KEY (id);", "add-primary-key");
    additive(
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;",
        "add-constraint-using-index",
    );
    additive(
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_idx;",
        "add-constraint-using-index",
    );
}

#[test]
fn other_objects_dropped_or_renamed_need_expand_contract() {
    needs("DROP VIEW active_users;", "drop-object");
    needs("DROP FUNCTION touch();", "drop-object");
    needs(
        "ALTER VIEW active_users RENAME TO live_users;",
        "rename-object",
    );
    needs("ALTER TABLE users SET SCHEMA archive;", "set-schema");
    // was the catch-all "other"; now recognised explicitly (no query names a constraint).
    additive(
        "ALTER TABLE users RENAME CONSTRAINT a TO b;",
        "rename-constraint",
    );
    additive(
        "CREATE OR REPLACE VIEW active_users AS SELECT * FROM users;",
        "create-object",
    );
}

#[test]
fn multiple_actions_the_worst_decides_and_is_named() {
    let s = one("ALTER TABLE users ADD COLUMN a int, DROP COLUMN b;");
    assert_eq!(s.safety, Safety::NeedsExpandContract);
    assert_eq!(s.rule, "drop-column");
    assert!(s.reason.contains("DROP COLUMN b"), "{}", s.reason);

    let s = one("ALTER TABLE users ALTER COLUMN email SET NOT NULL, RENAME COLUMN x TO y;");
    // RENAME COLUMN cannot share an ALTER TABLE in Postgres; whatever squawk makes of it,
    // the statement must not pass as additive.
    assert_eq!(s.safety, Safety::NeedsExpandContract);

    let s = one(
        "ALTER TABLE users ADD COLUMN n text NOT NULL, ALTER COLUMN age TYPE bigint, DROP COLUMN old;",
    );
    assert_eq!(s.rule, "drop-column");
    assert!(s.reason.contains("change-column-type"), "{}", s.reason);
    assert!(s.reason.contains("add-required-column"), "{}", s.reason);

    additive(
        "ALTER TABLE users ADD COLUMN a text, ADD COLUMN b int DEFAULT 0;",
        "add-nullable-column",
    );
}

#[test]
fn data_changes_are_additive() {
    // an UPDATE is a backfill only of columns the expand commit added.
    let mut added = AddedColumns::new();
    added.insert("users", "display_name");
    let s = one_with(
        "UPDATE users SET display_name = fullname WHERE display_name IS NULL;",
        &added,
    );
    assert_eq!(s.safety, Safety::Additive);
    assert_eq!(s.rule, "data-change");
    assert!(
        s.reason.contains("does not change the schema"),
        "{}",
        s.reason
    );
    additive(
        "INSERT INTO plans (name) VALUES ('free'), ('pro');",
        "data-change",
    );
    // deleting is destructive, never additive.
    needs("DELETE FROM sessions WHERE expired;", "delete-rows");
}

#[test]
fn transaction_control_and_settings_are_additive() {
    let all = classify(
        "BEGIN;\nSET lock_timeout = '2s';\nSET LOCAL statement_timeout TO '5min';\n\
         ALTER TABLE users ADD COLUMN a text;\nCOMMIT;",
    );
    let rules: Vec<&str> = all.iter().map(|s| s.rule.as_str()).collect();
    assert_eq!(
        rules,
        [
            "transaction-control",
            "session-setting",
            "session-setting",
            "add-nullable-column",
            "transaction-control"
        ]
    );
    assert!(is_additive(&all));
}

#[test]
fn style_and_timeout_advice_never_makes_a_statement_non_additive() {
    // squawk would say prefer-bigint, prefer-text-field, prefer-timestamptz,
    // prefer-robust-stmts and require-lock-timeout here.
    let all = classify(
        "CREATE TABLE t (id serial PRIMARY KEY, name varchar(10), c char(3), at timestamp);\n\
         ALTER TABLE users ADD COLUMN nick varchar(30);",
    );
    assert!(is_additive(&all), "{all:#?}");
}

#[test]
fn squawk_ignore_comments_do_not_silence_a_rule() {
    needs(
        "-- squawk-ignore ban-drop-column\nALTER TABLE users DROP COLUMN fullname;",
        "drop-column",
    );
    needs(
        "/* squawk-ignore-file */ ALTER TABLE users DROP COLUMN fullname;",
        "drop-column",
    );
}

mod fail_closed;
mod parsing;
