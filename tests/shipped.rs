//! Adversarial tests for the contract's Revision 2 (`R0`, `R1`, `R2`, `R6`, `R7`): badges that
//! must be impossible to earn without the work, and honest work in ordinary styles that must
//! still verify.
//!
//! Every test builds a real git repository in a temporary directory, usually the `clinic demo`
//! repository (all four badges verified) with commits on top that try one trick or do one honest
//! thing, and asserts the badge's state, the rule that failed (or that none did), and that the
//! other three badges stay verified.
//!
//! Dates: the demo ends on 2026-10-22 09:30 (+01:00). Commits added here lie between that and
//! the end of November 2026, so no test trips the "dated in the future" rule by accident (the
//! build's clock is compared with every date a badge relies on); the test that wants future
//! dates uses 2031.

mod common;

use std::path::Path;
use std::process::Command;

use clinic::evidence::{Evidence, State};
use common::badges::*;
use common::fixtures::*;
use common::git::{git_cli, RepoBuilder};
use serde_json::Value;
use tempfile::TempDir;

// ---- Helpers (copied from tests/evidence.rs) ------------------------------------------------

fn short(id: git2::Oid) -> String {
    id.to_string()[..7].to_string()
}

/// Runs the real `git` with extra environment (a chosen committer date, an identity), in a
/// neutral configuration.
#[track_caller]
fn git_env(dir: &Path, envs: &[(&str, &str)], args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Grace Hopper")
        .env("GIT_AUTHOR_EMAIL", "grace@example.org")
        .env("GIT_COMMITTER_NAME", "Grace Hopper")
        .env("GIT_COMMITTER_EMAIL", "grace@example.org")
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("git {}: {e}", args.join(" ")));
    assert!(
        output.status.success(),
        "git {} failed ({}):\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---- Migration fixtures (from tests/evidence.rs) --------------------------------------------

/// Contract, write-up, second release, after an expand that is already committed and released.
fn contract_and_release(repo: &RepoBuilder) {
    write_contract(repo);
    repo.commit("2026-11-09 10:00", "Contract: drop users.display_name");
    write_migration_artifact(repo);
    repo.commit("2026-11-10 10:00", "Write up the preferred_name migration");
    repo.tag("v1.9.0", "2026-11-10 12:00");
}

/// Expand (with `extra` files in the same commit), release, contract, release.
fn migration_in_two_releases_with(repo: &RepoBuilder, expand_up: &str, extra: &[(&str, &str)]) {
    write_expand(repo, expand_up);
    for (path, text) in extra {
        repo.write(path, text);
    }
    repo.commit("2026-11-02 10:00", "Expand: add users.preferred_name");
    repo.tag("v1.8.0", "2026-11-02 12:00");
    contract_and_release(repo);
}

fn migration_in_two_releases(repo: &RepoBuilder, expand_up: &str) {
    migration_in_two_releases_with(repo, expand_up, &[]);
}

/// The migration badge over an expand whose SQL is `expand_up`, shipped in two releases.
fn migration_evidence(expand_up: &str) -> (TempDir, RepoBuilder, Evidence) {
    let (tmp, repo) = demo();
    migration_in_two_releases(&repo, expand_up);
    let e = evidence(repo.root());
    (tmp, repo, e)
}

/// The expand is rejected by the statement rule `sql_rule` (e.g. `revoke`).
#[track_caller]
fn expect_expand_rejected(e: &Evidence, sql_rule: &str) {
    let b = expect_state(e, "migration", State::Incomplete);
    let p = expect_problem_with(b, "migration.expand-not-additive", sql_rule);
    assert_eq!(p.file.as_deref(), Some(EXPAND_UP), "{p:?}");
    assert!(p.line.is_some(), "{p:?}");
    expect_reason(b, &[EXPAND_UP, "not additive", sql_rule]);
    expect_others_verified(e, "migration");
}

// ---- Flag fixtures (from tests/evidence.rs) -------------------------------------------------

/// Introduced off at `intro`, flipped at `flip`, retired in one commit at `retire`.
fn flag_lifecycle(repo: &RepoBuilder, intro: &str, flip: &str, retire: &str) -> git2::Oid {
    introduce_flag(repo, "false", intro);
    flip_flag(repo, flip);
    remove_flag_config(repo);
    remove_toggle_point(repo);
    repo.commit(retire, "Retire one_click_pay")
}

// ---- Rehearsal fixtures ---------------------------------------------------------------------

const REHEARSAL: &str = "library/raw/rollback-rehearsals/001.md";
const REHEARSAL_2: &str = "library/raw/rollback-rehearsals/002.md";
const DEMO_RESTORE: &str = "restore_command: kubectl rollout undo deployment/orders-api -n staging";

/// Edits the demo's rehearsal write-up and commits the edit.
fn edit_rehearsal(from: &str, to: &str) -> (TempDir, RepoBuilder, Evidence) {
    let (tmp, repo) = demo();
    repo.replace(REHEARSAL, from, to);
    repo.commit("2026-11-02 10:00", "Edit rollback rehearsal 001");
    let e = evidence(repo.root());
    (tmp, repo, e)
}

/// A second rehearsal write-up (`002.md`, replacing `001.md` so the badge stands or falls with
/// it): the demo's text with its releases and its day replaced.
fn write_second_rehearsal(repo: &RepoBuilder, bad: &str, restored: &str, day: &str) {
    let text = repo
        .read(REHEARSAL)
        .replace("bad_release: v1.3.0", &format!("bad_release: {bad}"))
        .replace(
            "restored_release: v1.2.0",
            &format!("restored_release: {restored}"),
        )
        .replace("2026-10-02", day);
    assert!(text.contains(&format!("bad_release: {bad}")), "{text}");
    repo.remove(REHEARSAL).write(REHEARSAL_2, &text);
}

/// A known-bad build on a branch `bad-build` off the demo's HEAD (v1.7.0), never merged.
fn bad_build_branch(repo: &RepoBuilder) -> git2::Oid {
    repo.branch("bad-build");
    repo.write(
        "app/payments.py",
        &format!(
            "{}\nRETRY_DECLINED_CARDS = True\n",
            repo.read("app/payments.py")
        ),
    );
    let bad = repo.commit("2026-11-02 12:50", "Retry declined cards too");
    repo.switch("main");
    bad
}

// ---- R2: expand-contract migrations, earned without the work --------------------------------

#[test]
fn migration_shipped_as_a_rename_then_edited_to_an_add_column_is_judged_as_shipped() {
    let (_tmp, repo) = demo();
    write_expand(
        &repo,
        "ALTER TABLE users RENAME COLUMN display_name TO preferred_name;\n",
    );
    repo.commit("2026-11-02 10:00", "Expand: rename display_name");
    repo.tag("v1.8.0", "2026-11-02 12:00");
    // After the release, the file is rewritten to look additive.
    repo.write(EXPAND_UP, ADDITIVE_EXPAND);
    repo.commit("2026-11-04 10:00", "Tidy the expand migration");
    contract_and_release(&repo);

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem_with(b, "migration.expand-not-additive", "rename-column");
    assert_eq!(p.file.as_deref(), Some(EXPAND_UP), "{p:?}");
    expect_reason(b, &[EXPAND_UP, "not additive", "rename-column"]);
    let item = &b.items[0];
    assert!(
        item.notes.iter().any(|n| n.contains(EXPAND_UP)
            && n.contains("edited after it shipped")
            && n.contains("v1.8.0")),
        "a note says the file was edited after it shipped in v1.8.0: {:?}",
        item.notes
    );
    let statements = &facts_json(item)["expand"]["statements"];
    assert!(
        statements.to_string().contains("RENAME COLUMN"),
        "the page shows the shipped text: {statements}"
    );
    expect_others_verified(&e, "migration");
}

#[test]
fn migration_release_tag_added_on_the_expand_weeks_after_the_contract_does_not_count() {
    let (_tmp, repo) = demo();
    write_expand(&repo, ADDITIVE_EXPAND);
    let expand = repo.commit("2026-11-02 10:00", "Expand: add users.preferred_name");
    contract_and_release(&repo);
    // Three weeks after the contract, an annotated tag is put on the expand commit.
    git_env(
        repo.root(),
        &[("GIT_COMMITTER_DATE", "2026-11-27T10:00:00+01:00")],
        &[
            "tag",
            "-a",
            "v1.8.0",
            &expand.to_string(),
            "-m",
            "Release v1.8.0",
        ],
    );

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem_with(b, "migration.no-release", "v1.8.0");
    assert!(
        p.message.contains("after the contract was committed"),
        "the reason says the tag came after the contract: {}",
        p.message
    );
    expect_reason(b, &[MIGRATION, "v1.8.0", "after the fact"]);
    let facts = facts_json(&b.items[0]);
    assert!(
        facts["release_between"].is_null() && facts["overlap_days"].is_null(),
        "no release between, no (negative) overlap: {facts}"
    );
    expect_others_verified(&e, "migration");
}

#[test]
fn migration_expand_commit_hiding_an_unnamed_drop_column_file_fails() {
    const HIDDEN: &str = "db/migrations/0002b_drop.up.sql";
    let (_tmp, repo) = demo();
    migration_in_two_releases_with(
        &repo,
        ADDITIVE_EXPAND,
        &[(HIDDEN, "ALTER TABLE orders DROP COLUMN legacy_total;\n")],
    );

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem_with(b, "migration.expand-hidden", "drop-column");
    assert_eq!(p.file.as_deref(), Some(HIDDEN), "{p:?}");
    assert!(p.mistake.is_some(), "{p:?}");
    expect_reason(b, &[HIDDEN, "common mistake", "drop-column"]);
    expect_others_verified(&e, "migration");
}

#[test]
fn migration_expand_with_a_do_block_executing_a_drop_column_fails() {
    let (_tmp, _repo, e) = migration_evidence(
        "ALTER TABLE users ADD COLUMN preferred_name text;\n\nDO $$\nBEGIN\n  EXECUTE 'ALTER TABLE users DROP COLUMN display_name';\nEND\n$$;\n",
    );
    expect_expand_rejected(&e, "procedural-code");
}

#[test]
fn migration_expand_with_revoke_fails() {
    let (_tmp, _repo, e) = migration_evidence(&format!(
        "{ADDITIVE_EXPAND}REVOKE SELECT ON users FROM reporting;\n"
    ));
    expect_expand_rejected(&e, "revoke");
}

#[test]
fn migration_expand_enabling_row_level_security_fails() {
    let (_tmp, _repo, e) = migration_evidence(&format!(
        "{ADDITIVE_EXPAND}ALTER TABLE users ENABLE ROW LEVEL SECURITY;\n"
    ));
    expect_expand_rejected(&e, "row-level-security");
}

#[test]
fn migration_expand_with_lock_table_fails() {
    let (_tmp, _repo, e) = migration_evidence(&format!(
        "BEGIN;\nLOCK TABLE users IN ACCESS EXCLUSIVE MODE;\n{ADDITIVE_EXPAND}COMMIT;\n"
    ));
    expect_expand_rejected(&e, "lock-table");
}

#[test]
fn migration_expand_deleting_and_truncating_rows_fails() {
    let (_tmp, _repo, e) = migration_evidence(&format!(
        "{ADDITIVE_EXPAND}DELETE FROM users; TRUNCATE orders;\n"
    ));
    expect_expand_rejected(&e, "delete-rows");
    let b = badge(&e, "migration");
    expect_problem_with(b, "migration.expand-not-additive", "truncate-table");
}

// Own variants, earned without the work.

#[test]
fn migration_expand_overwriting_an_existing_column_is_not_a_backfill() {
    let (_tmp, _repo, e) = migration_evidence(&format!(
        "{ADDITIVE_EXPAND}UPDATE users SET preferred_name = display_name, display_name = NULL;\n"
    ));
    expect_expand_rejected(&e, "update-existing-column");
}

#[test]
fn migration_with_only_a_pre_release_tag_between_the_halves_fails() {
    let (_tmp, repo) = demo();
    write_expand(&repo, ADDITIVE_EXPAND);
    repo.commit("2026-11-02 10:00", "Expand: add users.preferred_name");
    repo.tag("v1.8.0-rc1", "2026-11-02 12:00");
    contract_and_release(&repo);

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem(b, "migration.no-release");
    assert!(
        p.message.contains("not a pre-release"),
        "the reason says why the rc tag does not count: {}",
        p.message
    );
    expect_reason(b, &[MIGRATION, "no release tag"]);
    expect_others_verified(&e, "migration");
}

#[test]
fn migration_expand_released_only_on_an_unmerged_branch_then_shipped_with_its_contract_fails() {
    // The expand was released from a side branch HEAD never reaches; on the main line the
    // expand and the contract arrive in one commit.
    let (_tmp, repo) = demo();
    repo.branch("early-expand");
    write_expand(&repo, ADDITIVE_EXPAND);
    repo.commit("2026-11-01 10:00", "Expand: add users.preferred_name");
    repo.tag("v1.8.0", "2026-11-01 12:00");
    repo.switch("main");
    write_expand(&repo, ADDITIVE_EXPAND);
    write_contract(&repo);
    write_migration_artifact(&repo);
    let both = repo.commit("2026-11-09 10:00", "Rename display_name to preferred_name");
    repo.tag("v1.9.0", "2026-11-09 12:00");

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem(b, "migration.same-commit");
    assert!(p.mistake.is_some(), "{p:?}");
    let facts = facts_json(&b.items[0]);
    assert_eq!(
        facts["expand"]["commit"]["id"],
        both.to_string(),
        "the expand commit is the first one HEAD reaches: {facts}"
    );
    expect_reason(b, &[MIGRATION, "common mistake", "same commit"]);
    expect_others_verified(&e, "migration");
}

// ---- R1 and R0: rollback rehearsals, earned without the work --------------------------------

/// One test per migration tool's down step used as the restore command: the rehearsal is
/// incomplete with `rehearsal.migration-down`, and the reason names what the command runs.
macro_rules! down_step_tests {
    ($($name:ident: $command:expr => $named:expr;)*) => {$(
        #[test]
        fn $name() {
            let (_tmp, _repo, e) = edit_rehearsal(DEMO_RESTORE, &format!("restore_command: {}", $command));
            let b = expect_state(&e, "rehearsal", State::Incomplete);
            let p = expect_problem(b, "rehearsal.migration-down");
            assert!(p.mistake.is_some(), "{p:?}");
            assert_eq!(p.line, Some(7), "the line of `restore_command`: {p:?}");
            assert!(p.message.contains($named), "the reason names {:?}: {}", $named, p.message);
            expect_reason(b, &[REHEARSAL, "common mistake", $named]);
            assert_eq!(b.items[0].problems.len(), 1, "{}", describe(b));
            expect_others_verified(&e, "rehearsal");
        }
    )*};
}

down_step_tests! {
    restore_by_rails_db_migrate_down: "rails db:migrate:down VERSION=1" => "db:migrate:down";
    restore_by_knex_migrate_down: "knex migrate:down" => "knex migrate:down";
    restore_by_django_migrate_to_an_earlier_migration: "python manage.py migrate orders 0006" => "migrate orders 0006";
    restore_by_dbmate_rollback: "dbmate rollback" => "dbmate rollback";
    restore_by_liquibase_rollback_count: "liquibase rollback-count 1" => "rollback-count";
    restore_by_sqitch_revert: "sqitch revert" => "sqitch revert";
    restore_by_prisma_migrate_reset: "prisma migrate reset" => "prisma migrate reset";
    // Own variants: wrapped the way CI scripts and runbooks wrap them.
    restore_by_django_down_step_in_a_compose_container: "docker compose exec api python manage.py migrate orders 0006" => "migrate orders 0006";
    restore_by_app_rollback_then_knex_rollback: "kubectl rollout undo deployment/orders-api -n staging && npx knex migrate:rollback --all" => "knex migrate:rollback";
}

#[test]
fn rehearsal_with_every_date_in_2031_is_dated_in_the_future() {
    let (_tmp, repo) = demo();
    repo.write(
        "app/refunds.py",
        "\"\"\"Refunds.\"\"\"\n\n\ndef refund(order):\n    return order\n",
    );
    repo.commit("2031-03-01 10:00", "Add refunds");
    repo.tag("v2.0.0", "2031-03-01 11:00");
    repo.write(
        "app/refunds.py",
        "\"\"\"Refunds.\"\"\"\n\n\ndef refund(order, retries=3):\n    return order\n",
    );
    repo.commit("2031-03-02 12:50", "Retry refunds");
    repo.tag("v2.1.0", "2031-03-02 13:50");
    write_second_rehearsal(&repo, "v2.1.0", "v2.0.0", "2031-03-02");
    repo.commit("2031-03-03 09:30", "Write up rollback rehearsal 002");

    let e = evidence(repo.root());
    let b = expect_state(&e, "rehearsal", State::Incomplete);
    let future = problems(b, "evidence.future");
    assert!(
        future.iter().any(|p| p.message.contains("timeline entry")),
        "the timeline's dates are refused: {}",
        describe(b)
    );
    assert!(
        future.iter().any(|p| p.message.contains("bad_release")),
        "the bad release's commit date is refused: {}",
        describe(b)
    );
    expect_reason(b, &[REHEARSAL_2, "dated in the future"]);
    assert!(
        b.items[0]
            .problems
            .iter()
            .all(|p| p.rule == "evidence.future"),
        "only the dates are wrong: {}",
        describe(b)
    );
    expect_others_verified(&e, "rehearsal");
}

#[test]
fn rehearsal_restoring_a_later_main_commit_over_a_bad_branch_is_a_roll_forward() {
    // Own variant: refs resolve among all branches, but `main` (which moved on) is no ancestor
    // of the known-bad build.
    let (_tmp, repo) = demo();
    bad_build_branch(&repo);
    write_second_rehearsal(&repo, "bad-build", "main", "2026-11-02");
    repo.commit("2026-11-03 09:30", "Write up rollback rehearsal 002");

    let e = evidence(repo.root());
    let b = expect_state(&e, "rehearsal", State::Incomplete);
    expect_problem(b, "rehearsal.rollforward");
    expect_reason(b, &[REHEARSAL_2, "roll-forward"]);
    expect_others_verified(&e, "rehearsal");
}

// ---- R6 and R0: flag lifecycles, earned without the work ------------------------------------

#[test]
fn flag_retired_over_two_commits_the_first_adding_a_comment_naming_it_is_split() {
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-09 10:00");
    // The toggle point goes, and a comment naming the flag comes in its place.
    repo.write(
        PAY_PY,
        &PAY_RETIRED.replace(
            "def pay(cart):\n",
            "def pay(cart):\n    # one_click_pay is always on now; TODO: drop one_click_pay from config\n",
        ),
    );
    let first = repo.commit("2026-11-12 10:00", "Remove the one_click_pay toggle point");
    remove_flag_config(&repo);
    let second = repo.commit(
        "2026-11-13 10:00",
        "Remove one_click_pay from the configuration",
    );

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "flag.split-removal");
    assert!(p.mistake.is_some(), "{p:?}");
    assert!(p.message.contains("2 separate changes"), "{}", p.message);
    for commit in [first, second] {
        assert!(
            p.message.contains(&short(commit)),
            "names {}: {}",
            short(commit),
            p.message
        );
    }
    expect_reason(b, &[FLAG, "common mistake", "separate changes"]);
    expect_others_verified(&e, "flag");
}

#[test]
fn flag_lifetime_of_28_days_and_one_hour_is_over_two_sprints() {
    let (_tmp, repo) = demo();
    flag_lifecycle(
        &repo,
        "2026-10-25 10:00",
        "2026-11-01 10:00",
        "2026-11-22 11:00",
    );

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "flag.retired-late");
    assert!(p.message.contains("two sprints (28 days)"), "{}", p.message);
    assert_eq!(facts_json(&b.items[0])["lifetime_days"], 28.0);
    expect_reason(b, &[FLAG, "common mistake", "two sprints"]);
    expect_others_verified(&e, "flag");
}

#[test]
fn flag_retire_commit_back_dated_before_its_parent_makes_dates_go_backwards() {
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-09 10:00");
    repo.write("app/receipts.py", "\"\"\"Receipts.\"\"\"\n");
    let parent = repo.commit("2026-11-20 10:00", "Add receipts");
    remove_flag_config(&repo);
    remove_toggle_point(&repo);
    // Committed after the receipts commit, dated eight days before it.
    let retired = repo.commit("2026-11-12 10:00", "Retire one_click_pay");

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "evidence.dates-backwards");
    assert!(
        p.message.contains(&short(retired)) && p.message.contains(&short(parent)),
        "names the back-dated commit {} and its later ancestor {}: {}",
        short(retired),
        short(parent),
        p.message
    );
    expect_reason(b, &[FLAG, "cannot be trusted"]);
    expect_others_verified(&e, "flag");
}

#[test]
fn flag_under_a_student_sprint_length_of_60_days_is_judged_with_the_default_14() {
    let (_tmp, repo) = demo();
    repo.replace(
        "clinic.yaml",
        "sprint_length_days: 14",
        "sprint_length_days: 60",
    );
    // 38 days (the demo ends on 2026-10-22 and no date may lie in the future).
    flag_lifecycle(
        &repo,
        "2026-10-22 10:00",
        "2026-10-29 10:00",
        "2026-11-29 10:00",
    );

    let (e, diagnostics) = clinic::check(repo.root(), true).unwrap();
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "flag.retired-late");
    assert!(
        p.message.contains("38 days") && p.message.contains("(28 days)"),
        "{}",
        p.message
    );
    assert_eq!(facts_json(&b.items[0])["limit_days"], 28);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.is_error() && d.to_string().contains("sprint_length_days")),
        "the sprint length is a configuration error: {:?}",
        diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        e.policy.sprint_length_days, None,
        "the refused value is not the policy applied"
    );
    expect_others_verified(&e, "flag");
}

#[test]
fn flag_key_left_in_a_markdown_template_outside_docs_is_not_retired() {
    let (_tmp, repo) = demo();
    repo.write(
        "app/templates/checkout.md",
        "# Checkout\n\n{% if flags.one_click_pay %}Pay in one click.{% endif %}\n",
    );
    flag_lifecycle(
        &repo,
        "2026-11-02 10:00",
        "2026-11-09 10:00",
        "2026-11-16 10:00",
    );

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "flag.not-retired");
    assert!(p.message.contains("still referenced"), "{}", p.message);
    expect_reason(b, &[FLAG, "still referenced"]);
    expect_others_verified(&e, "flag");
}

// Own variants, earned without the work.

#[test]
fn flag_key_left_in_a_nested_readme_is_code_and_not_retired() {
    let (_tmp, repo) = demo();
    repo.write(
        "app/README.md",
        "# app\n\nSet `one_click_pay` in config/flags.yaml to turn on one-click payment.\n",
    );
    flag_lifecycle(
        &repo,
        "2026-11-02 10:00",
        "2026-11-09 10:00",
        "2026-11-16 10:00",
    );

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    expect_problem(b, "flag.not-retired");
    expect_reason(b, &[FLAG, "still referenced"]);
    expect_others_verified(&e, "flag");
}

#[test]
fn flag_key_left_in_a_trailing_comment_on_a_code_line_is_not_retired() {
    // Only a line that is entirely a comment is not a reference.
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-09 10:00");
    remove_flag_config(&repo);
    repo.write(
        PAY_PY,
        &PAY_RETIRED.replace(
            "    return payments.charge(",
            "    return payments.charge(  # was behind one_click_pay\n        ",
        ),
    );
    repo.commit("2026-11-16 10:00", "Retire one_click_pay");

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    expect_problem(b, "flag.not-retired");
    expect_others_verified(&e, "flag");
}

// ---- R0: the history cache ------------------------------------------------------------------

/// The demo with a commit that turns `new_checkout` back on in config: the flag is no longer
/// retired, so the flag badge is incomplete.
fn demo_with_the_flag_back() -> (TempDir, RepoBuilder, git2::Oid) {
    let (tmp, repo) = demo();
    repo.replace(
        FLAGS_YAML,
        "verbose_logging: false\n",
        "verbose_logging: false\nnew_checkout: true\n",
    );
    let back = repo.commit("2026-11-02 10:00", "Bring new_checkout back");
    (tmp, repo, back)
}

/// Commits `bytes` as a work-tree cache with `git add -f` (the demo's .gitignore ignores it).
fn commit_work_tree_cache(repo: &RepoBuilder, bytes: &[u8]) {
    for path in [".clinic/cache/history.bin", ".clinic/history.bin"] {
        let full = repo.root().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, bytes).unwrap();
        git_cli(repo.root(), &["add", "-f", path]);
    }
    git_env(
        repo.root(),
        &[
            ("GIT_AUTHOR_DATE", "2026-11-03T10:00:00+01:00"),
            ("GIT_COMMITTER_DATE", "2026-11-03T10:00:00+01:00"),
        ],
        &["commit", "-q", "-m", "Speed up CI with a history cache"],
    );
    let tree = git_cli(repo.root(), &["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(
        tree.contains(".clinic/cache/history.bin"),
        "the fixture must commit the cache:\n{tree}"
    );
}

fn as_json(e: &Evidence) -> Value {
    serde_json::to_value(e).unwrap()
}

/// The commit count and each badge's state, for short failure messages.
fn summary(e: &Evidence) -> (usize, Vec<(&'static str, State)>) {
    (
        e.repository.commits,
        e.badges.iter().map(|(k, b)| (k.key(), b.state)).collect(),
    )
}

/// With the cache, without it, and the cache it wrote lives in the git directory.
#[track_caller]
fn expect_cache_ignored(root: &Path) -> Evidence {
    let (cached, _) = clinic::check(root, false).unwrap();
    let (uncached, _) = clinic::check(root, true).unwrap();
    assert_eq!(summary(&cached), summary(&uncached));
    assert!(
        as_json(&cached) == as_json(&uncached),
        "a run with the cache differs from a --no-cache run"
    );
    assert!(
        root.join(".git/clinic/history.bin").is_file(),
        "the cache lives in .git/clinic/history.bin"
    );
    // Once more, now reading the cache it wrote itself.
    let (again, _) = clinic::check(root, false).unwrap();
    assert!(
        as_json(&again) == as_json(&uncached),
        "a second cached run differs from a --no-cache run"
    );
    uncached
}

#[test]
fn a_committed_cache_of_another_repository_is_never_read() {
    // The pristine demo's cache (all four verified), copied into a repository whose flag was
    // brought back.
    let (_other_tmp, other) = demo();
    let (e, _) = clinic::check(other.root(), false).unwrap();
    assert!(e.badges.all_verified());
    let foreign = std::fs::read(other.root().join(".git/clinic/history.bin")).unwrap();

    let (_tmp, repo, _) = demo_with_the_flag_back();
    commit_work_tree_cache(&repo, &foreign);
    let e = expect_cache_ignored(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    expect_problem(b, "flag.not-retired");
    expect_others_verified(&e, "flag");
}

#[test]
fn a_committed_cache_of_garbage_bytes_is_never_read() {
    let (_tmp, repo, _) = demo_with_the_flag_back();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    commit_work_tree_cache(&repo, &garbage);
    let e = expect_cache_ignored(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    expect_problem(b, "flag.not-retired");
    expect_others_verified(&e, "flag");
}

/// The cache file's shape (`src/history/cache.rs`), to write a doctored one.
#[derive(serde::Serialize, serde::Deserialize)]
struct CacheFile {
    version: u32,
    tips: Vec<clinic::history::Id>,
    keys: Vec<String>,
    shallow: bool,
    walked: clinic::history::walk::Walked,
}

#[test]
fn a_doctored_cache_in_the_work_tree_that_hides_the_flag_is_never_read() {
    // Own variant: a cache that matches this repository's refs exactly, with the commit that
    // brought the flag back erased from the flag's lines. Trusted, it would verify the badge.
    let (_tmp, repo, back) = demo_with_the_flag_back();
    commit_work_tree_cache(&repo, b"placeholder");
    let root = repo.root();
    clinic::check(root, false).unwrap();
    let real = std::fs::read(root.join(".git/clinic/history.bin")).unwrap();
    let mut cache: CacheFile = postcard::from_bytes(&real).expect("the cache decodes");
    let back = clinic::history::Id::from(back);
    let back = cache
        .walked
        .commits
        .iter()
        .position(|c| c.id == back)
        .expect("the cache holds the commit that brought the flag back") as u32;
    let lines = cache
        .walked
        .key_lines
        .get_mut("new_checkout")
        .expect("the cache holds new_checkout");
    let before = lines.len();
    lines.retain(|l| l.commit != back);
    assert!(lines.len() < before, "the doctoring removed something");
    let doctored = postcard::to_stdvec(&cache).unwrap();
    assert_ne!(doctored, real);

    for path in [".clinic/cache/history.bin", ".clinic/history.bin"] {
        std::fs::write(root.join(path), &doctored).unwrap();
    }
    std::fs::remove_dir_all(root.join(".git/clinic")).unwrap();
    let e = expect_cache_ignored(root);
    let b = expect_state(&e, "flag", State::Incomplete);
    expect_problem(b, "flag.not-retired");
    expect_others_verified(&e, "flag");
}

// ---- Honest work that must verify -----------------------------------------------------------

#[test]
fn honest_migration_squashed_into_a_baseline_later_verifies() {
    let (_tmp, repo) = demo();
    migration_in_two_releases(&repo, ADDITIVE_EXPAND);
    let mut squashed = vec![EXPAND_UP, EXPAND_DOWN, CONTRACT_UP, CONTRACT_DOWN];
    squashed.extend([
        "db/migrations/0001_create_users.up.sql",
        "db/migrations/0001_create_users.down.sql",
        "db/migrations/0002_create_orders.up.sql",
        "db/migrations/0002_create_orders.down.sql",
        "db/migrations/0007_add_display_name.up.sql",
        "db/migrations/0007_add_display_name.down.sql",
        "db/migrations/0008_backfill_display_name.up.sql",
        "db/migrations/0009_drop_fullname.up.sql",
        "db/migrations/0009_drop_fullname.down.sql",
    ]);
    let mut args = vec!["rm", "-q"];
    args.extend(squashed.iter().copied());
    git_cli(repo.root(), &args);
    repo.write(
        "db/migrations/0000_baseline.up.sql",
        "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, preferred_name text);\nCREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), total_cents bigint NOT NULL);\n",
    );
    repo.commit("2026-11-20 10:00", "Squash the migrations into a baseline");
    repo.tag("v1.10.0", "2026-11-20 12:00");
    assert!(!repo.root().join(EXPAND_UP).exists());

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Verified);
    assert_eq!(b.artifacts, vec![MIGRATION.to_string()]);
    assert_eq!(facts_json(&b.items[0])["release_between"]["name"], "v1.8.0");
    expect_all_verified(&e);
}

#[test]
fn honest_expand_from_a_pr_branch_tagged_rc_then_squash_merged_verifies() {
    let (_tmp, repo) = demo();
    repo.branch("preferred-name");
    write_expand(&repo, ADDITIVE_EXPAND);
    repo.commit("2026-11-01 10:00", "Expand: add users.preferred_name");
    repo.tag("v1.3.0-rc1", "2026-11-01 12:00");
    repo.switch("main");
    // The squash merge: a new commit on main adding the same files.
    write_expand(&repo, ADDITIVE_EXPAND);
    let squash = repo.commit("2026-11-02 10:00", "Add users.preferred_name (#15)");
    repo.tag("v1.8.0", "2026-11-02 12:00");
    contract_and_release(&repo);

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Verified);
    let facts = facts_json(&b.items[0]);
    assert_eq!(
        facts["expand"]["commit"]["id"],
        squash.to_string(),
        "{facts}"
    );
    assert_eq!(facts["release_between"]["name"], "v1.8.0", "{facts}");
    expect_all_verified(&e);
}

#[test]
fn honest_rehearsal_of_a_known_bad_build_on_an_unmerged_branch_verifies() {
    let (_tmp, repo) = demo();
    let bad = bad_build_branch(&repo);
    write_second_rehearsal(&repo, "bad-build", "v1.7.0", "2026-11-02");
    repo.commit("2026-11-03 09:30", "Write up rollback rehearsal 002");

    let e = evidence(repo.root());
    let b = expect_state(&e, "rehearsal", State::Verified);
    assert_eq!(b.artifacts, vec![REHEARSAL_2.to_string()]);
    let facts = facts_json(&b.items[0]);
    assert_eq!(
        facts["bad_release"]["commit"]["id"],
        bad.to_string(),
        "{facts}"
    );
    expect_all_verified(&e);
}

#[test]
fn honest_ecs_deploy_rollback_is_an_application_rollback() {
    let (_tmp, _repo, e) = edit_rehearsal(
        DEMO_RESTORE,
        "restore_command: ecs deploy --rollback cluster service",
    );
    expect_all_verified(&e);
}

#[test]
fn honest_live_sibling_flag_does_not_keep_new_checkout_alive() {
    let (_tmp, repo) = demo();
    repo.replace(
        FLAGS_YAML,
        "verbose_logging: false\n",
        "verbose_logging: false\nnew_checkout_banner: false\n",
    )
    .write(
        "app/banner.py",
        "\"\"\"The checkout banner.\"\"\"\nimport os\n\nfrom app import flags\n\n\ndef banner():\n    if flags.enabled(\"new_checkout_banner\") or os.environ.get(\"NEW_CHECKOUT\"):\n        return \"Try the faster checkout\"\n    return \"\"\n",
    );
    repo.commit("2026-11-02 10:00", "Add the new_checkout_banner flag, off");

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Verified);
    assert_eq!(b.artifacts, vec![FLAG_DEMO.to_string()]);
    expect_all_verified(&e);
}

#[test]
fn honest_off_value_with_a_trailing_todo_naming_the_flag_reads_as_off() {
    const TODO: &str = "  # TODO: delete one_click_pay after launch";
    let (_tmp, repo) = demo();
    repo.replace(
        FLAGS_YAML,
        "verbose_logging: false\n",
        &format!("verbose_logging: false\none_click_pay: false{TODO}\n"),
    )
    .write(PAY_PY, PAY_FLAGGED);
    write_flag_artifact(&repo);
    let intro = repo.commit("2026-11-02 10:00", "Add the one_click_pay flag, off");
    flip_flag(&repo, "2026-11-09 10:00");
    repo.replace(FLAGS_YAML, &format!("one_click_pay: true{TODO}\n"), "");
    remove_toggle_point(&repo);
    let retired = repo.commit("2026-11-16 10:00", "Retire one_click_pay");

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Verified);
    let facts = facts_json(&b.items[0]);
    assert_eq!(
        facts["deployed_off"]["commit"]["id"],
        intro.to_string(),
        "{facts}"
    );
    assert_eq!(facts["retired"]["id"], retired.to_string(), "{facts}");
    expect_all_verified(&e);
}

// Own honest variants.

macro_rules! application_rollback_tests {
    ($($name:ident: $command:expr;)*) => {$(
        #[test]
        fn $name() {
            let (_tmp, _repo, e) = edit_rehearsal(DEMO_RESTORE, &format!("restore_command: {}", $command));
            expect_all_verified(&e);
        }
    )*};
}

application_rollback_tests! {
    honest_helm_rollback_verifies: "helm rollback orders-api 3 --wait";
    honest_rollout_undo_of_a_deployment_named_migrate_verifies: "kubectl rollout undo deployment/migrate-worker -n staging";
    honest_ecs_update_service_to_the_previous_task_definition_verifies: "aws ecs update-service --cluster staging --service orders-api --task-definition orders-api:41";
}

#[test]
fn honest_rehearsal_naming_a_remote_tracking_branch_verifies() {
    let (_tmp, repo) = demo();
    let bad = bad_build_branch(&repo);
    repo.repo()
        .reference("refs/remotes/origin/bad-build", bad, true, "fetch")
        .unwrap();
    repo.repo()
        .find_branch("bad-build", git2::BranchType::Local)
        .unwrap()
        .delete()
        .unwrap();
    write_second_rehearsal(&repo, "origin/bad-build", "v1.7.0", "2026-11-02");
    repo.commit("2026-11-03 09:30", "Write up rollback rehearsal 002");

    let e = evidence(repo.root());
    let b = expect_state(&e, "rehearsal", State::Verified);
    assert_eq!(
        facts_json(&b.items[0])["bad_release"]["commit"]["id"],
        bad.to_string()
    );
    expect_all_verified(&e);
}

#[test]
fn honest_flag_retired_in_exactly_28_days_verifies() {
    let (_tmp, repo) = demo();
    flag_lifecycle(
        &repo,
        "2026-10-25 10:00",
        "2026-11-01 10:00",
        "2026-11-22 10:00",
    );
    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Verified);
    assert_eq!(facts_json(&b.items[0])["lifetime_days"], 28.0);
    expect_all_verified(&e);
}

#[test]
fn honest_flag_under_a_course_sprint_length_of_21_days_verifies_and_shows_the_policy() {
    let (_tmp, repo) = demo();
    repo.replace(
        "clinic.yaml",
        "sprint_length_days: 14",
        "sprint_length_days: 21",
    );
    flag_lifecycle(
        &repo,
        "2026-10-22 10:00",
        "2026-10-29 10:00",
        "2026-11-29 10:00",
    );
    let (e, diagnostics) = clinic::check(repo.root(), true).unwrap();
    assert!(
        diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );
    let b = expect_state(&e, "flag", State::Verified);
    assert_eq!(facts_json(&b.items[0])["limit_days"], 42);
    assert_eq!(e.policy.sprint_length_days, Some(21));
    assert_eq!(as_json(&e)["policy"]["sprint_length_days"], 21);
    expect_all_verified(&e);
}

#[test]
fn honest_flag_named_in_docs_top_level_notes_and_a_code_comment_after_retirement_verifies() {
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-09 10:00");
    remove_flag_config(&repo);
    repo.write(
        PAY_PY,
        &PAY_RETIRED.replace(
            "def pay(cart):\n",
            "def pay(cart):\n    # one_click_pay was retired in #15: one-click is the only path.\n",
        ),
    )
    .write(
        "docs/flags.md",
        "# Flags\n\n- one_click_pay: retired on 2026-11-16.\n",
    )
    .write("NOTES.md", "one_click_pay: retired, see docs/flags.md\n");
    repo.commit("2026-11-16 10:00", "Retire one_click_pay");

    let e = evidence(repo.root());
    expect_state(&e, "flag", State::Verified);
    expect_all_verified(&e);
}

#[test]
fn honest_backfill_in_a_second_file_of_the_expand_commit_verifies() {
    let (_tmp, repo) = demo();
    migration_in_two_releases_with(
        &repo,
        ADDITIVE_EXPAND,
        &[(
            "db/migrations/0010b_backfill_preferred_name.up.sql",
            "UPDATE users SET preferred_name = display_name WHERE preferred_name IS NULL;\n",
        )],
    );
    let e = evidence(repo.root());
    expect_state(&e, "migration", State::Verified);
    expect_all_verified(&e);
}

#[test]
fn honest_expand_in_a_transaction_with_session_settings_and_a_concurrent_index_verifies() {
    let (_tmp, repo) = demo();
    migration_in_two_releases_with(
        &repo,
        "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE users ADD COLUMN preferred_name text;\nALTER TABLE users ADD COLUMN name_source text DEFAULT 'legacy';\nCOMMIT;\n",
        &[(
            "db/migrations/0010b_index_preferred_name.up.sql",
            "CREATE INDEX CONCURRENTLY users_preferred_name_idx ON users (preferred_name);\n",
        )],
    );
    let e = evidence(repo.root());
    expect_state(&e, "migration", State::Verified);
    expect_all_verified(&e);
}

// ---- Further tricks (own variants) ----------------------------------------------------------

/// A migration tool's down step the tool must see through, where the reason's wording is the
/// tool's own: the rule and the common mistake are asserted.
macro_rules! down_step_unnamed_tests {
    ($($name:ident: $command:expr;)*) => {$(
        #[test]
        fn $name() {
            let (_tmp, _repo, e) = edit_rehearsal(DEMO_RESTORE, &format!("restore_command: {}", $command));
            let b = expect_state(&e, "rehearsal", State::Incomplete);
            let p = expect_problem(b, "rehearsal.migration-down");
            assert!(p.mistake.is_some(), "{p:?}");
            expect_reason(b, &[REHEARSAL, "common mistake"]);
            expect_others_verified(&e, "rehearsal");
        }
    )*};
}

down_step_tests! {
    // `cross-env` (Node) only sets variables and runs the rest, like `env`.
    restore_by_knex_migrate_down_under_cross_env: "npx cross-env NODE_ENV=production knex migrate:down" => "knex migrate:down";
}

down_step_unnamed_tests! {
    // Running a migration's down file by hand is that migration's down step.
    restore_by_psql_running_a_down_migration_file: "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -f db/migrations/0009_drop_fullname.down.sql";
}

application_rollback_tests! {
    honest_heroku_rollback_verifies: "heroku rollback v41 --app orders-api";
    honest_docker_service_rollback_verifies: "docker service rollback orders-api";
}

#[test]
fn migration_statement_hidden_behind_a_comment_ended_by_a_carriage_return_fails() {
    // Postgres ends a `--` comment at a carriage return as well as at a line feed, so with
    // classic-Mac line endings the DROP below runs; it must not be read as part of the comment.
    let (_tmp, _repo, e) = migration_evidence(
        "-- Expand: nullable, old releases keep working.\rALTER TABLE users ADD COLUMN preferred_name text;\rALTER TABLE users DROP COLUMN display_name;\r",
    );
    expect_expand_rejected(&e, "drop-column");
}

#[test]
fn flag_kept_alive_in_files_with_carriage_return_line_endings_is_not_retired() {
    // Python and YAML both treat a lone carriage return as a line break: after this "retirement"
    // the config still sets the flag on and the toggle point still reads it.
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-09 10:00");
    let config = repo.read(FLAGS_YAML).replace('\n', "\r");
    let code = format!("# One-click payment.\n{PAY_FLAGGED}").replace('\n', "\r");
    repo.write(FLAGS_YAML, &config).write(PAY_PY, &code);
    repo.commit("2026-11-16 10:00", "Normalise line endings");
    assert!(repo.read(FLAGS_YAML).contains("one_click_pay: true"));

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    expect_problem(b, "flag.not-retired");
    expect_others_verified(&e, "flag");
}

#[test]
fn migration_shipped_text_is_not_moved_by_a_tag_back_dated_before_its_commit() {
    // v1.8.0 shipped a RENAME. Two days later the file is rewritten and tagged v1.8.1 with a
    // tagger date set before v1.8.0 (and before the commit it names): a release cannot precede
    // its own commit, so the expand still shipped in v1.8.0.
    let (_tmp, repo) = demo();
    write_expand(
        &repo,
        "ALTER TABLE users RENAME COLUMN display_name TO preferred_name;\n",
    );
    repo.commit("2026-11-02 10:00", "Expand: rename display_name");
    repo.tag("v1.8.0", "2026-11-02 12:00");
    repo.write(EXPAND_UP, ADDITIVE_EXPAND);
    let edit = repo.commit("2026-11-04 10:00", "Tidy the expand migration");
    repo.tag_commit("v1.8.1", edit, "2026-11-02 11:00");
    contract_and_release(&repo);

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    expect_problem_with(b, "migration.expand-not-additive", "rename-column");
    expect_others_verified(&e, "migration");
}

#[test]
fn flag_toggle_point_removed_in_a_merge_commit_of_its_own_is_a_second_change() {
    // The config and one toggle point go in a direct commit on main; the other toggle point is
    // deleted in the resolution of a later, unrelated merge (an "evil merge"). The merge leaves
    // fewer reference lines than its parents had, so it is a removal commit of another change.
    const RECEIPT: &str = "app/receipt.py";
    let (_tmp, repo) = demo();
    repo.write(
        RECEIPT,
        "from app import flags\n\n\ndef receipt(order):\n    if flags.enabled(\"one_click_pay\"):\n        return {\"one_click\": True, \"id\": order[\"id\"]}\n    return {\"id\": order[\"id\"]}\n",
    );
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-09 10:00");
    repo.branch("tidy-readme");
    repo.write("README.md", "# orders-api\n\nA small orders service.\n");
    repo.commit("2026-11-10 10:00", "Tidy the README");
    repo.switch("main");
    remove_flag_config(&repo);
    remove_toggle_point(&repo);
    let direct = repo.commit("2026-11-11 10:00", "Retire one_click_pay");
    let dates = [
        ("GIT_AUTHOR_DATE", "2026-11-12T10:00:00+01:00"),
        ("GIT_COMMITTER_DATE", "2026-11-12T10:00:00+01:00"),
    ];
    git_env(
        repo.root(),
        &dates,
        &["merge", "--no-ff", "--no-commit", "-q", "tidy-readme"],
    );
    std::fs::write(
        repo.root().join(RECEIPT),
        "def receipt(order):\n    return {\"one_click\": True, \"id\": order[\"id\"]}\n",
    )
    .unwrap();
    git_cli(repo.root(), &["add", RECEIPT]);
    git_env(
        repo.root(),
        &dates,
        &[
            "commit",
            "-q",
            "-m",
            "Merge pull request #16 from grace/tidy-readme",
        ],
    );
    let merge = git_cli(repo.root(), &["rev-parse", "HEAD"]);
    let merge = merge.trim();
    assert_eq!(
        git_cli(repo.root(), &["rev-list", "--parents", "-n", "1", "HEAD"])
            .split_whitespace()
            .count(),
        3,
        "the fixture must be a merge"
    );

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "flag.split-removal");
    assert!(
        p.message.contains(&short(direct)) && p.message.contains(&merge[..7]),
        "names the direct commit and the merge: {}",
        p.message
    );
    expect_others_verified(&e, "flag");
}

#[test]
fn honest_unshallow_after_a_cached_shallow_check_matches_a_no_cache_run() {
    // The advice for a shallow clone is `git fetch --unshallow`; a cache written while the clone
    // was shallow must not outlive the history it was walked from.
    let (tmp, repo) = demo();
    let url = format!("file://{}", repo.root().display());
    let clone = tmp.path().join("clone");
    git_cli(
        tmp.path(),
        &[
            "clone",
            "--quiet",
            "--depth",
            "1",
            &url,
            clone.to_str().unwrap(),
        ],
    );
    let (shallow, _) = clinic::check(&clone, false).unwrap();
    assert!(shallow.repository.shallow);
    git_cli(&clone, &["fetch", "--quiet", "--unshallow", "--tags"]);
    assert!(!clone.join(".git/shallow").exists());

    let (cached, _) = clinic::check(&clone, false).unwrap();
    let (uncached, _) = clinic::check(&clone, true).unwrap();
    expect_all_verified(&uncached);
    assert_eq!(
        summary(&cached),
        summary(&uncached),
        "the cache walked while the clone was shallow was trusted after --unshallow (commits, badge states)"
    );
    assert!(
        as_json(&cached) == as_json(&uncached),
        "a run with the cache differs from a --no-cache run"
    );
}

#[test]
fn honest_expand_with_windows_line_endings_verifies() {
    let (_tmp, repo) = demo();
    migration_in_two_releases(
        &repo,
        "-- Expand: nullable, old releases keep working.\r\nALTER TABLE users ADD COLUMN preferred_name text;\r\n",
    );
    let e = evidence(repo.root());
    expect_state(&e, "migration", State::Verified);
    expect_all_verified(&e);
}

// ---- Found in review: each was wrong before its fix -----------------------------------------

#[test]
fn honest_retirement_with_an_update_branch_merge_is_one_change() {
    // main: introduce, flip, retire (one commit). A feature branch from the flip takes "Merge
    // branch 'main' into feature" (GitHub's "Update branch"), then main merges the feature.
    // The update merge only repeats the retirement; it is no second change.
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-05 10:00");
    repo.branch("feature");
    repo.write("app/receipts.py", "\"\"\"Receipts.\"\"\"\n");
    repo.commit("2026-11-06 10:00", "Add receipts");
    repo.switch("main");
    remove_flag_config(&repo);
    remove_toggle_point(&repo);
    repo.commit("2026-11-09 10:00", "Retire one_click_pay");
    repo.switch("feature");
    repo.merge(
        "main",
        "2026-11-09 11:00",
        "Merge branch 'main' into feature",
    );
    repo.switch("main");
    repo.merge(
        "feature",
        "2026-11-09 12:00",
        "Merge pull request #7 from ada/feature",
    );
    let e = evidence(repo.root());
    expect_all_verified(&e);
}

#[test]
fn a_toggle_point_with_a_default_value_is_still_the_toggle_point() {
    // `flags.get("one_click_pay", False)` reads as off, yet it is the branch point in code.
    let (_tmp, repo) = demo();
    let flagged = PAY_FLAGGED.replace(
        "flags.enabled(\"one_click_pay\")",
        "flags.get(\"one_click_pay\", False)",
    );
    repo.replace(
        FLAGS_YAML,
        "verbose_logging: false\n",
        "verbose_logging: false\none_click_pay: false\n",
    )
    .write(PAY_PY, &flagged);
    write_flag_artifact(&repo);
    repo.commit("2026-11-02 10:00", "Add the one_click_pay flag, false");
    flip_flag(&repo, "2026-11-05 10:00");
    remove_flag_config(&repo);
    remove_toggle_point(&repo);
    repo.commit("2026-11-09 10:00", "Retire one_click_pay");
    expect_all_verified(&evidence(repo.root()));
}

#[test]
fn a_rehearsal_may_name_a_tag_outside_the_release_pattern() {
    // `bad-build-3` is a tag (not `v*`) on a commit whose branch was deleted: still a ref.
    let (_tmp, repo) = demo();
    let bad = bad_build_branch(&repo);
    repo.tag_commit("bad-build-3", bad, "2026-11-02 12:55");
    git_cli(repo.root(), &["branch", "-D", "bad-build"]);
    write_second_rehearsal(&repo, "bad-build-3", "v1.7.0", "2026-11-02");
    repo.commit("2026-11-03 09:30", "Write up rollback rehearsal 002");
    let e = evidence(repo.root());
    expect_state(&e, "rehearsal", State::Verified);
}

#[test]
fn a_repository_url_in_clinic_yaml_does_not_widen_the_ci_run_rule() {
    // `origin` is GitHub (ada-example/orders-api); pointing `repository_url` at another host
    // must not make any https link (another project's failing run) acceptable.
    let (_tmp, repo) = demo();
    repo.replace(
        "clinic.yaml",
        "sprint_length_days: 14\n",
        "sprint_length_days: 14\nrepository_url: https://git.example.org/me/svc\n",
    )
    .replace(
        "library/raw/smoke-drills/001.md",
        "ci_run: https://github.com/ada-example/orders-api/actions/runs/11840213377",
        "ci_run: https://github.com/someone-else/shop/actions/runs/1",
    );
    repo.commit("2026-11-02 10:00", "Point the site at the mirror");
    let e = evidence(repo.root());
    let b = expect_state(&e, "smoke", State::Incomplete);
    expect_problem(b, "smoke.drill-ci-run");
}

#[test]
fn a_break_that_only_moves_a_line_is_a_change_of_code() {
    // Moving `raise` above `return` breaks the endpoint without adding or removing a line.
    let (_tmp, repo) = demo();
    repo.write(
        "app/guard.py",
        "def guard(order):\n    check(order)\n    return order\n",
    );
    repo.commit("2026-11-02 10:00", "Add the order guard");
    repo.write(
        "app/guard.py",
        "def guard(order):\n    return order\n    check(order)\n",
    );
    let moved = repo.commit(
        "2026-11-02 11:00",
        "Return before the check (break on purpose)",
    );
    let commits = {
        let text = repo.read("library/raw/smoke-drills/001.md");
        let line = text
            .lines()
            .find(|l| l.starts_with("break_commit:"))
            .unwrap();
        line.to_string()
    };
    repo.replace(
        "library/raw/smoke-drills/001.md",
        &commits,
        &format!("break_commit: {}", short(moved)),
    );
    repo.commit("2026-11-02 12:00", "Point the drill at the moved line");
    let e = evidence(repo.root());
    let smoke = badge(&e, "smoke");
    assert!(
        problems(smoke, "smoke.drill-docs-only").is_empty(),
        "a moved line is code: {}",
        describe(smoke)
    );
}

#[test]
fn migration_whose_contract_is_back_dated_before_its_parent_cannot_be_trusted() {
    // The contract commit claims a date before the commit it was made on: the overlap window
    // it measures is not the one that happened.
    let (_tmp, repo) = demo();
    write_expand(&repo, ADDITIVE_EXPAND);
    repo.commit("2026-11-02 10:00", "Expand: add users.preferred_name");
    repo.tag("v1.8.0", "2026-11-02 12:00");
    repo.write("app/receipts.py", "\"\"\"Receipts.\"\"\"\n");
    let parent = repo.commit("2026-11-20 10:00", "Add receipts");
    write_contract(&repo);
    let contract = repo.commit("2026-11-09 10:00", "Contract: drop users.display_name");
    write_migration_artifact(&repo);
    repo.commit("2026-11-21 10:00", "Write up the preferred_name migration");
    repo.tag("v1.9.0", "2026-11-21 12:00");

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem(b, "evidence.dates-backwards");
    assert!(
        p.message.contains(&short(contract)) && p.message.contains(&short(parent)),
        "{}",
        p.message
    );
    expect_others_verified(&e, "migration");
}

#[test]
fn honest_migration_with_half_an_hour_of_clock_skew_verifies() {
    // Two machines' clocks disagree by 30 minutes: within the hour the rule allows.
    let (_tmp, repo) = demo();
    write_expand(&repo, ADDITIVE_EXPAND);
    repo.commit("2026-11-02 10:00", "Expand: add users.preferred_name");
    repo.tag("v1.8.0", "2026-11-02 12:00");
    repo.write("app/receipts.py", "\"\"\"Receipts.\"\"\"\n");
    repo.commit("2026-11-09 10:30", "Add receipts");
    write_contract(&repo);
    repo.commit("2026-11-09 10:00", "Contract: drop users.display_name");
    write_migration_artifact(&repo);
    repo.commit("2026-11-10 10:00", "Write up the preferred_name migration");
    repo.tag("v1.9.0", "2026-11-10 12:00");
    expect_all_verified(&evidence(repo.root()));
}
