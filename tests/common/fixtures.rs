//! Fixtures on top of the demo repository shared by the evidence tests: a second migration
//! (`preferred_name`) and a second flag (`one_click_pay`), each replacing the demo's write-up so
//! its badge stands or falls with it alone.

use super::git::RepoBuilder;

pub const MIGRATION_DEMO: &str = "library/raw/migrations/display-name.md";
pub const MIGRATION: &str = "library/raw/migrations/preferred-name.md";
pub const EXPAND_UP: &str = "db/migrations/0010_add_preferred_name.up.sql";
pub const EXPAND_DOWN: &str = "db/migrations/0010_add_preferred_name.down.sql";
pub const CONTRACT_UP: &str = "db/migrations/0011_drop_display_name.up.sql";
pub const CONTRACT_DOWN: &str = "db/migrations/0011_drop_display_name.down.sql";
pub const ADDITIVE_EXPAND: &str = "-- Expand: nullable, old releases keep working.\nALTER TABLE users ADD COLUMN preferred_name text;\n";

/// A second expand-contract migration replaces the demo's write-up, so the badge stands or
/// falls with it alone.
pub fn write_migration_artifact(repo: &RepoBuilder) {
    repo.remove(MIGRATION_DEMO).write(
        MIGRATION,
        &format!(
            "---\nchange: rename users.display_name to users.preferred_name\nexpand:\n  up: {EXPAND_UP}\n  down: {EXPAND_DOWN}\ncontract:\n  up: {CONTRACT_UP}\n  down: {CONTRACT_DOWN}\n---\nThe overlap window protects the release that still reads `display_name`: both columns exist\nuntil every running version reads the new one.\n"
        ),
    );
}

pub fn write_expand(repo: &RepoBuilder, up: &str) {
    repo.write(EXPAND_UP, up).write(
        EXPAND_DOWN,
        "ALTER TABLE users DROP COLUMN preferred_name;\n",
    );
}

pub fn write_contract(repo: &RepoBuilder) {
    repo.write(CONTRACT_UP, "-- Contract: nothing reads display_name any more.\nALTER TABLE users DROP COLUMN display_name;\n")
        .write(CONTRACT_DOWN, "ALTER TABLE users ADD COLUMN display_name text;\n");
}

pub const FLAG_DEMO: &str = "library/raw/flags/new_checkout.md";
pub const FLAG: &str = "library/raw/flags/one_click_pay.md";
pub const FLAGS_YAML: &str = "config/flags.yaml";
pub const PAY_PY: &str = "app/pay.py";
pub const PAY_FLAGGED: &str = "\"\"\"One-click payment.\"\"\"\nfrom app import flags, payments\n\n\ndef pay(cart):\n    if flags.enabled(\"one_click_pay\"):\n        return payments.charge(cart[\"total\"], idempotency_key=cart[\"id\"])\n    return payments.charge(sum(item[\"price\"] for item in cart[\"items\"]))\n";
pub const PAY_RETIRED: &str = "\"\"\"One-click payment.\"\"\"\nfrom app import payments\n\n\ndef pay(cart):\n    return payments.charge(cart[\"total\"], idempotency_key=cart[\"id\"])\n";

/// A second flag replaces the demo's write-up, so the badge stands or falls with it alone.
pub fn write_flag_artifact(repo: &RepoBuilder) {
    repo.remove(FLAG_DEMO).write(
        FLAG,
        "---\nflag: one_click_pay\nkind: release\n---\n`one_click_pay` guarded the one-click payment path while it was rolled out.\n",
    );
}

/// Adds the key to the flag configuration with `value`, and its toggle point in code.
pub fn introduce_flag(repo: &RepoBuilder, value: &str, at: &str) {
    repo.replace(
        FLAGS_YAML,
        "verbose_logging: false\n",
        &format!("verbose_logging: false\none_click_pay: {value}\n"),
    )
    .write(PAY_PY, PAY_FLAGGED);
    write_flag_artifact(repo);
    repo.commit(at, &format!("Add the one_click_pay flag, {value}"));
}

pub fn flip_flag(repo: &RepoBuilder, at: &str) {
    repo.replace(FLAGS_YAML, "one_click_pay: false", "one_click_pay: true");
    repo.commit(at, "Flip one_click_pay on");
}

pub fn remove_flag_config(repo: &RepoBuilder) {
    repo.replace(FLAGS_YAML, "one_click_pay: true\n", "");
}

pub fn remove_toggle_point(repo: &RepoBuilder) {
    repo.write(PAY_PY, PAY_RETIRED);
}
