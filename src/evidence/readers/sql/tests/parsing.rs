//! Tests of parsing: splitting, line numbers, quoting, garbage, deep nesting and big input.

use super::*;

#[test]
fn empty_and_comment_only_input() {
    assert!(classify("").is_empty());
    assert!(classify("  \n\t ").is_empty());
    assert!(classify("-- nothing here\n/* nor /* nested */ here */\n").is_empty());
    assert!(classify(";;\n;").is_empty());
    assert!(is_additive(&classify("")));
    assert!(is_additive(&[]));
}

#[test]
fn line_numbers_and_text_across_multi_line_statements_and_comments() {
    let sql = "-- 0007: add display name\n\
               /* a block\n   comment; with a semicolon */\n\
               ALTER TABLE users\n\
               \x20 ADD COLUMN display_name text; -- trailing; comment\n\
               \n\
               UPDATE users\n\
               \x20  SET display_name = fullname -- copy; it\n\
               \x20  WHERE display_name IS NULL\n\
               ;\n\
               CREATE INDEX CONCURRENTLY users_dn_idx ON users (display_name);";
    let all = classify(sql);
    let got: Vec<(usize, &str)> = all.iter().map(|s| (s.line, s.rule.as_str())).collect();
    assert_eq!(
        got,
        [
            (4, "add-nullable-column"),
            (7, "data-change"),
            (11, "create-index-concurrently")
        ]
    );
    assert_eq!(
        all[0].text,
        "ALTER TABLE users\n  ADD COLUMN display_name text"
    );
    assert!(all[1].text.starts_with("UPDATE users"));
    assert!(all[1].text.ends_with("WHERE display_name IS NULL"));
    assert!(!all[2].text.ends_with(';'));
}

#[test]
fn semicolon_in_string_or_dollar_quoted_body_does_not_split() {
    let sql = "UPDATE users SET bio = 'a; b'';c' WHERE id = 1;\n\
               UPDATE users SET bio = E'x\\'; y' WHERE id = 2;\n\
               CREATE FUNCTION touch() RETURNS trigger AS $fn$\n\
               BEGIN\n  NEW.updated_at := now(); RETURN NEW;\nEND;\n$fn$ LANGUAGE plpgsql;\n\
               DO $$ BEGIN PERFORM 1; END $$;\n\
               ALTER TABLE \"weird;name\" ADD COLUMN \"semi;colon\" text;";
    // `bio` counts as added by the expand commit, so the UPDATEs stay backfills.
    let all = classify_with(
        sql,
        &added_columns("ALTER TABLE users ADD COLUMN bio text;"),
    );
    let got: Vec<(usize, &str)> = all.iter().map(|s| (s.line, s.rule.as_str())).collect();
    assert_eq!(
        got,
        [
            (1, "data-change"),
            (2, "data-change"),
            // procedural code fails closed (was create-object and other).
            (3, "procedural-code"),
            (8, "procedural-code"),
            (9, "add-nullable-column")
        ],
        "{all:#?}"
    );
    assert!(all[2].text.contains("RETURN NEW;"));
    assert!(all[2].text.ends_with("LANGUAGE plpgsql"));
}

#[test]
fn keywords_are_case_insensitive_and_identifiers_may_be_quoted() {
    needs(
        "aLtEr TaBlE \"User Accounts\" dRoP cOlUmN \"Full Name\";",
        "drop-column",
    );
    needs(
        "alter table public.\"Users\" rename column \"a\"\"b\" to c",
        "rename-column",
    );
    additive(
        "Create Index Concurrently \"Idx\" On \"Users\" (\"Email\")",
        "create-index-concurrently",
    );
}

#[test]
fn serializes_in_kebab_case() {
    let s = one("DROP TABLE users;");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["safety"], "needs-expand-contract");
    assert_eq!(json["rule"], "drop-table");
    assert_eq!(json["line"], 1);
    assert_eq!(json["text"], "DROP TABLE users");
    assert_eq!(
        serde_json::to_value(Safety::Additive).unwrap(),
        serde_json::json!("additive")
    );
}

#[test]
fn garbage_does_not_panic_and_is_not_additive() {
    let inputs = [
        "this is not sql;",
        "ALTER TABLE;",
        "'unterminated string; DROP TABLE x;",
        "$tag$ never closed; DROP TABLE x;",
        "/* unterminated comment",
        "\"unterminated identifier",
        "\0\u{1}\u{7f}ÿ€😀;;;)))(((",
        "SELECT (((((1;",
        ")))]]] END END CASE;",
        "E'\\",
        "$",
        "$$",
        "$1$",
        "--",
        "/*/",
        "ALTER TABLE t ADD COLUMN c int DEFAULT (;",
    ];
    for input in inputs {
        let all = classify(input);
        for s in &all {
            assert!(!s.rule.is_empty() && !s.reason.is_empty() && s.line >= 1);
        }
    }
    let s = one("this is not sql;");
    assert_eq!(s.rule, "parse-error");
    assert_eq!(s.safety, Safety::NeedsExpandContract);
    // A bad statement does not hide the good ones around it.
    let all = classify("CREATE TABLE a (x int);\nnonsense words here;\nDROP TABLE b;");
    let rules: Vec<&str> = all.iter().map(|s| s.rule.as_str()).collect();
    assert_eq!(rules, ["create-table", "parse-error", "drop-table"]);
    assert_eq!(all[1].line, 2);
}

#[test]
fn every_byte_prefix_of_a_migration_is_handled() {
    let sql = "CREATE TABLE t (id bigint, n text DEFAULT 'a;''b');\n\
               ALTER TABLE t ADD COLUMN é text; -- ünïcode\n\
               CREATE FUNCTION f() RETURNS int AS $b$ SELECT 1; $b$ LANGUAGE sql;\n\
               /* c */ DROP INDEX CONCURRENTLY i;";
    for end in 0..=sql.len() {
        if sql.is_char_boundary(end) {
            let _ = classify(&sql[..end]);
        }
    }
}

#[test]
fn deep_nesting_is_reported_not_parsed() {
    let deep = format!("SELECT {}1{}", "(".repeat(20_000), ")".repeat(20_000));
    let nots = format!("SELECT {}true", "NOT ".repeat(20_000));
    let sql = format!("CREATE TABLE a (x int);\n{deep};\n{nots};\nDROP TABLE b;");
    let all = classify(&sql);
    let rules: Vec<&str> = all.iter().map(|s| s.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["create-table", "too-complex", "too-complex", "drop-table"]
    );
    assert_eq!(all[1].line, 2);
    assert_eq!(all[3].line, 4);
    // Moderate nesting is still parsed.
    let ok = format!(
        "UPDATE t SET c = {}1{} WHERE id = 1;",
        "(".repeat(50),
        ")".repeat(50)
    );
    // `c` must be a column the expand commit added for the UPDATE to be a backfill.
    let s = one_with(&ok, &added_columns("ALTER TABLE t ADD COLUMN c int;"));
    assert_eq!(
        (s.safety, s.rule.as_str()),
        (Safety::Additive, "data-change")
    );
}

#[test]
fn one_megabyte_input_completes() {
    let block = "ALTER TABLE users ADD COLUMN a text; -- note\n\
                 UPDATE users SET a = 'x;y' WHERE id < 10;\n\
                 CREATE INDEX CONCURRENTLY i ON users (a);\n\
                 DROP TABLE old;\n";
    let sql = block.repeat(1_000_000 / block.len() + 1);
    assert!(sql.len() >= 1_000_000);
    let all = classify(&sql);
    assert_eq!(all.len(), 4 * (1_000_000 / block.len() + 1));
    assert!(!is_additive(&all));

    let garbage = "x\0'\"$$(;] ¤ ".repeat(1_000_000 / 12 + 1);
    let _ = classify(&garbage);
    let values = format!(
        "INSERT INTO t (a, b) VALUES {}(2, 'z');",
        "(1, 'abc'), ".repeat(1_000_000 / 12)
    );
    additive(&values, "data-change");
}
