//! The evidence engine against real git histories .
//!
//! Every test builds a real repository in a temporary directory with git2
//! (`common::git::RepoBuilder`), usually the `clinic demo` repository, where all four badges
//! verify, with commits on top that break exactly one rule. Each test asserts the badge's state
//! and the reason: the `Problem.rule` id of the failed rule and the words a student reads in
//! `badge.reasons`. The other three badges are asserted still verified, so a test also fails
//! when a break leaks into a badge it should not touch.
//!
//! Dates: the demo ends on 2026-10-22 (release v1.7.0); tests add commits from November on, all
//! at +01:00, the demo's `time_zone`.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use clinic::evidence::{Evidence, Problem, State};
use clinic::history::{CacheUse, History, HistoryOptions};
use common::badges::*;
use common::fixtures::*;
use common::git::{git_cli, seconds, temp_dir, RepoBuilder};
use common::{copy_dir, read_output, Run};
use serde_json::Value;
use tempfile::TempDir;

// ---- Helpers --------------------------------------------------------------------------------

/// `clinic <command> --root <root> [extra...]` with the real binary.
fn clinic_at(command: &str, root: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<&OsStr> = vec![OsStr::new(command), OsStr::new("--root"), root.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    common::clinic(args)
}

/// `clinic check --root <root> --json [extra...]`, parsed.
fn check_json(root: &Path, extra: &[&str], code: i32) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let run = clinic_at("check", root, &args);
    run.expect_code(code);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "`clinic check --json` printed no JSON ({e}):\n{}",
            run.stdout
        )
    })
}

// ---- Fixtures on top of the demo ------------------------------------------------------------

/// Expand, release, contract, release: the pattern done right, with `expand_up` as the
/// expand's SQL.
fn migration_in_two_releases(repo: &RepoBuilder, expand_up: &str) {
    write_expand(repo, expand_up);
    repo.commit("2026-11-02 10:00", "Expand: add users.preferred_name");
    repo.tag("v1.8.0", "2026-11-02 12:00");
    write_contract(repo);
    repo.commit("2026-11-09 10:00", "Contract: drop users.display_name");
    write_migration_artifact(repo);
    repo.commit("2026-11-10 10:00", "Write up the preferred_name migration");
    repo.tag("v1.9.0", "2026-11-10 12:00");
}

const REHEARSAL: &str = "library/raw/rollback-rehearsals/001.md";
const SCRIPT: &str = "scripts/smoke.sh";
const WORKFLOW: &str = ".github/workflows/deploy.yml";
const DRILL: &str = "library/raw/smoke-drills/001.md";

// ---- The demo -------------------------------------------------------------------------------

#[test]
fn demo_verifies_all_four_badges_and_check_exits_zero() {
    let (_tmp, repo) = demo();
    let e = evidence(repo.root());
    for name in BADGES {
        let b = expect_state(&e, name, State::Verified);
        assert!(b.reasons.is_empty(), "{name}: {:?}", b.reasons);
        assert!(!b.artifacts.is_empty(), "{name} lists no artifacts");
    }
    assert_eq!(
        e.repository.head.as_deref(),
        Some(repo.head().to_string().as_str())
    );
    assert!(!e.repository.shallow);

    let run = clinic_at("check", repo.root(), &[]);
    run.expect_code(0);
    for name in BADGES {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.contains(name) && l.contains("verified")),
            "`clinic check` does not show {name} verified:\n{}",
            run.stdout
        );
    }
    let json = check_json(repo.root(), &[], 0);
    for name in BADGES {
        assert_eq!(
            json["badges"][name]["state"], "verified",
            "{name}: {}",
            json["badges"][name]
        );
        assert_eq!(
            json["badges"][name]["reasons"],
            serde_json::json!([]),
            "{name}"
        );
    }
    assert_eq!(
        json["badges"]["rehearsal"]["artifacts"],
        serde_json::json!([REHEARSAL]),
        "evidence.json's stable core lists artifact paths"
    );
}

#[test]
fn build_writes_evidence_json_equal_to_check_json() {
    let (_tmp, repo) = demo();
    let checked = check_json(repo.root(), &[], 0);
    clinic_at("build", repo.root(), &[]).expect_code(0);
    let text = read_output(&repo.root().join("public"), "evidence.json");
    let built: Value = serde_json::from_str(&text).expect("public/evidence.json is JSON");
    assert_eq!(built["badges"]["smoke"]["state"], "verified");
    assert_eq!(
        built, checked,
        "evidence.json and `clinic check --json` differ"
    );
}

// ---- Expand-contract migrations -------------------------------------------------------------

#[test]
fn control_a_second_migration_in_two_releases_verifies() {
    let (_tmp, repo) = demo();
    migration_in_two_releases(&repo, ADDITIVE_EXPAND);
    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Verified);
    assert_eq!(b.artifacts, vec![MIGRATION.to_string()]);
    assert_eq!(facts_json(&b.items[0])["release_between"]["name"], "v1.8.0");
    expect_others_verified(&e, "migration");
}

#[test]
fn expand_and_contract_in_one_commit_is_the_named_mistake() {
    let (_tmp, repo) = demo();
    write_expand(&repo, ADDITIVE_EXPAND);
    write_contract(&repo);
    write_migration_artifact(&repo);
    repo.commit(
        "2026-11-02 10:00",
        "Rename users.display_name to preferred_name",
    );
    repo.tag("v1.8.0", "2026-11-02 12:00");

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem(b, "migration.same-commit");
    assert!(p.mistake.is_some(), "{p:?}");
    assert_eq!(p.file.as_deref(), Some(MIGRATION));
    expect_reason(b, &[MIGRATION, "common mistake", "same commit"]);
    expect_others_verified(&e, "migration");
}

#[test]
fn expand_and_contract_in_one_merged_pull_request_is_the_named_mistake() {
    let (_tmp, repo) = demo();
    repo.branch("preferred-name");
    write_expand(&repo, ADDITIVE_EXPAND);
    repo.commit("2026-11-02 10:00", "Expand: add users.preferred_name");
    write_contract(&repo);
    repo.commit("2026-11-02 11:00", "Contract: drop users.display_name");
    repo.switch("main");
    let merge = repo.merge(
        "preferred-name",
        "2026-11-03 09:00",
        "Merge pull request #14 from grace/preferred-name",
    );
    write_migration_artifact(&repo);
    repo.commit("2026-11-03 10:00", "Write up the preferred_name migration");
    repo.tag("v1.8.0", "2026-11-03 12:00");
    assert_eq!(repo.repo().find_commit(merge).unwrap().parent_count(), 2);

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem(b, "migration.same-change");
    assert!(p.mistake.is_some(), "{p:?}");
    let short = merge.to_string()[..7].to_string();
    assert!(
        p.message.contains(&short),
        "the reason names the merge {short}: {}",
        p.message
    );
    assert!(
        b.items[0]
            .problems
            .iter()
            .all(|p| p.rule != "migration.same-commit"),
        "two commits are not one commit: {}",
        describe(b)
    );
    expect_reason(b, &["common mistake", "same merge"]);
    expect_others_verified(&e, "migration");
}

#[test]
fn no_release_between_expand_and_contract() {
    let (_tmp, repo) = demo();
    write_expand(&repo, ADDITIVE_EXPAND);
    repo.commit("2026-11-02 10:00", "Expand: add users.preferred_name");
    write_contract(&repo);
    repo.commit("2026-11-09 10:00", "Contract: drop users.display_name");
    write_migration_artifact(&repo);
    repo.commit("2026-11-10 10:00", "Write up the preferred_name migration");
    repo.tag("v1.8.0", "2026-11-10 12:00");

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem(b, "migration.no-release");
    assert!(
        p.message.contains("v*"),
        "the reason names the tag pattern: {}",
        p.message
    );
    expect_reason(b, &[MIGRATION, "no release tag"]);
    expect_others_verified(&e, "migration");
}

#[test]
fn a_non_additive_expand_fails() {
    let (_tmp, repo) = demo();
    let expand = format!("{ADDITIVE_EXPAND}ALTER TABLE users DROP COLUMN nickname_draft;\n");
    migration_in_two_releases(&repo, &expand);

    let e = evidence(repo.root());
    let b = expect_state(&e, "migration", State::Incomplete);
    let p = expect_problem(b, "migration.expand-not-additive");
    assert_eq!(
        p.file.as_deref(),
        Some(EXPAND_UP),
        "the reason points at the SQL file"
    );
    assert!(p.line.is_some(), "{p:?}");
    expect_reason(b, &[EXPAND_UP, "not additive"]);
    // Only the DROP COLUMN fails: the ADD COLUMN before it is additive.
    let failed: Vec<&Problem> = b.items[0]
        .problems
        .iter()
        .filter(|p| p.rule == "migration.expand-not-additive")
        .collect();
    assert_eq!(failed.len(), 1, "{}", describe(b));
    expect_others_verified(&e, "migration");
}

// ---- Feature flags --------------------------------------------------------------------------

#[test]
fn control_a_second_flag_retired_in_one_commit_verifies() {
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-09 10:00");
    remove_flag_config(&repo);
    remove_toggle_point(&repo);
    let retired = repo.commit("2026-11-16 10:00", "Retire one_click_pay");

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Verified);
    assert_eq!(b.artifacts, vec![FLAG.to_string()]);
    assert_eq!(
        facts_json(&b.items[0])["retired"]["id"],
        retired.to_string()
    );
    assert_eq!(facts_json(&b.items[0])["lifetime_days"], 14.0);
    expect_others_verified(&e, "flag");
}

#[test]
fn a_flag_introduced_on_fails() {
    let (_tmp, repo) = demo();
    let introduced = repo.head();
    introduce_flag(&repo, "true", "2026-11-02 10:00");
    assert_ne!(repo.head(), introduced);

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "flag.introduced-on");
    assert!(
        p.message.contains(&repo.head().to_string()[..7]),
        "names the commit: {}",
        p.message
    );
    assert_eq!(p.file.as_deref(), Some(FLAG));
    expect_reason(b, &[FLAG, "set it on"]);
    expect_others_verified(&e, "flag");
}

#[test]
fn a_flag_removed_over_two_separate_changes_fails() {
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-09 10:00");
    remove_toggle_point(&repo);
    repo.commit("2026-11-12 10:00", "Remove the one_click_pay toggle point");
    remove_flag_config(&repo);
    repo.commit(
        "2026-11-13 10:00",
        "Remove one_click_pay from the configuration",
    );

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "flag.split-removal");
    assert!(p.mistake.is_some(), "{p:?}");
    assert!(p.message.contains("2 separate changes"), "{}", p.message);
    expect_reason(b, &[FLAG, "common mistake", "separate changes"]);
    expect_others_verified(&e, "flag");
}

#[test]
fn a_flag_retired_after_three_sprints_fails() {
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-09 10:00");
    remove_flag_config(&repo);
    remove_toggle_point(&repo);
    repo.commit("2026-12-14 10:00", "Retire one_click_pay");

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "flag.retired-late");
    assert!(p.mistake.is_some(), "{p:?}");
    assert!(
        p.message.contains("42 days") && p.message.contains("28 days"),
        "{}",
        p.message
    );
    assert_eq!(facts_json(&b.items[0])["lifetime_days"], 42.0);
    expect_reason(b, &[FLAG, "common mistake", "42 days"]);
    expect_others_verified(&e, "flag");
}

#[test]
fn a_release_flag_never_retired_is_stale_with_its_age() {
    let (_tmp, repo) = demo();
    introduce_flag(&repo, "false", "2026-11-02 10:00");
    flip_flag(&repo, "2026-11-04 10:00");
    repo.write("README.md", "# orders-api\n\nNow with one-click payment.\n");
    repo.commit(
        "2026-12-12 10:00",
        "Mention one-click payment in the README",
    );

    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    expect_problem(b, "flag.not-retired");
    let p = expect_problem(b, "flag.stale");
    assert!(
        p.message.contains("stale") && p.message.contains("40 days old"),
        "{}",
        p.message
    );
    let facts = &facts_json(&b.items[0]);
    assert_eq!(facts["age_days"], 40.0, "{facts}");
    assert_eq!(facts["stale"], true, "{facts}");
    expect_reason(b, &[FLAG, "stale", "40 days"]);
    expect_others_verified(&e, "flag");
}

/// A file version larger than most (a generated bundle, a data dump): 20 MiB of filler before
/// its lines. clinic once left such files unread and failed the flag closed.
fn large(lines: &str) -> String {
    format!("{}\n{lines}", "x".repeat(20 << 20))
}

/// A large generated file is read like any other: the flag's evidence is what it would be if
/// the same line were in a small file.
#[test]
fn a_flag_referenced_in_a_large_generated_file_is_judged_as_in_a_small_one() {
    let judge = |contents: &dyn Fn(&str) -> String| {
        let (_tmp, repo) = demo();
        introduce_flag(&repo, "false", "2026-11-02 10:00");
        repo.write(
            "app/generated/pay.json",
            &contents("\"one_click_pay\": true\n"),
        );
        repo.commit("2026-11-03 10:00", "Generate the payment fixtures");
        flip_flag(&repo, "2026-11-09 10:00");
        let e = evidence(repo.root());
        let b = badge(&e, "flag");
        let rules: Vec<String> = b.items[0]
            .problems
            .iter()
            .map(|p| p.rule.to_string())
            .collect();
        (b.state, rules)
    };
    let small = judge(&|line| line.to_string());
    assert_eq!(judge(&|line| large(line)), small);
}

/// Honest work: a large generated file that does not name the flag, names only a longer
/// identifier that contains the key, or names the key only in a comment, leaves the flag's
/// whole lifecycle verified.
#[test]
fn a_large_file_that_does_not_refer_to_the_flag_changes_nothing() {
    for (what, text) in [
        ("no mention", "\"other_setting\": true\n"),
        ("a longer identifier", "\"new_checkout_v2\": true\n"),
        ("a comment", "// new_checkout was retired in 2.0\n"),
    ] {
        let (_tmp, repo) = demo();
        repo.write("app/generated/fixtures.js", &large(text));
        repo.commit("2026-11-02 10:00", "Generate the fixtures");
        let e = evidence(repo.root());
        let b = badge(&e, "flag");
        assert_eq!(b.state, State::Verified, "{what}: {}", describe(b));
    }
}

/// The demo's whole flag lifecycle, then `contents` committed at `path` at HEAD: the flag must
/// not count as retired, and the reason names the file.
fn expect_still_referenced_in(path: &str, contents: &str) {
    let (_tmp, repo) = demo();
    repo.write(path, contents);
    repo.commit("2026-11-20 10:00", "Ship the storefront's bundle");
    let e = evidence(repo.root());
    let b = expect_state(&e, "flag", State::Incomplete);
    let p = expect_problem(b, "flag.not-retired");
    assert!(
        p.message.contains(&format!("`{path}`")),
        "names {path}: {}",
        p.message
    );
    expect_others_verified(&e, "flag");
}

/// Gaming with size: a generated bundle too large to read by eye still toggles on the flag.
#[test]
fn a_whole_lifecycle_does_not_verify_while_a_large_bundle_still_toggles_on_the_flag() {
    expect_still_referenced_in(
        "app/generated/bundle.js",
        &large("if (flags.new_checkout) { oldCheckout(); }\n"),
    );
}

/// Gaming with a minified bundle: one line that opens with a licence comment and toggles on the
/// flag after it is code, not a comment.
#[test]
fn a_minified_bundle_behind_a_licence_comment_still_refers_to_the_flag() {
    expect_still_referenced_in(
        "app/static/app.min.js",
        "/*! storefront v2 | MIT */ !function(){if(flags.new_checkout){oldCheckout()}}();\n",
    );
}

/// Honest work: a large data import that names the flag, tried on a branch that never reached
/// the main line, is not part of the flag's history.
#[test]
fn a_large_file_on_a_branch_never_merged_changes_nothing() {
    let (_tmp, repo) = demo();
    let main = repo.current_branch().unwrap();
    repo.branch("data-import");
    repo.write(
        "app/generated/import.json",
        &large("\"new_checkout\": true\n"),
    );
    repo.commit("2026-11-20 10:00", "Try importing the old orders");
    repo.switch(&main);
    let e = evidence(repo.root());
    let b = badge(&e, "flag");
    assert_eq!(b.state, State::Verified, "{}", describe(b));
}

// ---- Rollback rehearsals --------------------------------------------------------------------

/// Edits the demo's rehearsal write-up and commits the edit.
fn edit_rehearsal(from: &str, to: &str) -> (TempDir, RepoBuilder, Evidence) {
    let (tmp, repo) = demo();
    repo.replace(REHEARSAL, from, to);
    repo.commit("2026-11-02 10:00", "Edit rollback rehearsal 001");
    let e = evidence(repo.root());
    (tmp, repo, e)
}

#[test]
fn a_rehearsal_whose_times_go_backwards_fails() {
    // `decided` at 14:05 comes after `detected` at 14:06 in the list.
    let (_tmp, _repo, e) = edit_rehearsal("2026-10-02 14:08", "2026-10-02 14:05");
    let b = expect_state(&e, "rehearsal", State::Incomplete);
    let p = expect_problem(b, "rehearsal.order");
    assert_eq!(
        p.line,
        Some(15),
        "the file line of the `decided` entry: {p:?}"
    );
    expect_reason(b, &[&format!("{REHEARSAL}:15"), "goes backwards"]);
    expect_others_verified(&e, "rehearsal");
}

#[test]
fn a_write_up_committed_before_its_restore_time_fails() {
    // The demo's write-up was first committed on 2026-10-03 09:30; now the event is dated later.
    let (_tmp, _repo, e) = edit_rehearsal("2026-10-02 14:", "2026-10-04 14:");
    let b = expect_state(&e, "rehearsal", State::Incomplete);
    let p = expect_problem(b, "rehearsal.predates");
    assert!(
        p.message.contains("2026-10-03 09:30"),
        "names the first commit's time: {}",
        p.message
    );
    // The line of the timeline's `restored` entry (`at:` on 18, `mark:` on 19), not the
    // `restored_release:` key on line 5.
    assert!(
        matches!(p.line, Some(18 | 19)),
        "the reason points at the `restored` entry: {p:?}"
    );
    expect_reason(b, &[REHEARSAL, "cannot predate"]);
    assert_eq!(b.items[0].problems.len(), 1, "{}", describe(b));
    expect_others_verified(&e, "rehearsal");
}

#[test]
fn a_deploy_before_the_bad_release_was_committed_fails() {
    // v1.3.0 was committed at 2026-10-02 12:50; the timeline now says it was deployed at 12:03.
    let (_tmp, _repo, e) = edit_rehearsal("at: 2026-10-02 14:03", "at: 2026-10-02 12:03");
    let b = expect_state(&e, "rehearsal", State::Incomplete);
    let p = expect_problem(b, "rehearsal.deployed-before-commit");
    assert!(
        p.message.contains("2026-10-02 12:50"),
        "names the commit time: {}",
        p.message
    );
    assert!(
        matches!(p.line, Some(9 | 10)),
        "the reason points at the `deployed` entry: {p:?}"
    );
    expect_reason(b, &[REHEARSAL, "before the bad release's commit"]);
    expect_others_verified(&e, "rehearsal");
}

#[test]
fn a_restored_release_newer_than_the_bad_one_is_a_roll_forward() {
    let (_tmp, _repo, e) = edit_rehearsal("restored_release: v1.2.0", "restored_release: v1.4.0");
    let b = expect_state(&e, "rehearsal", State::Incomplete);
    let p = expect_problem(b, "rehearsal.rollforward");
    assert_eq!(p.line, Some(5), "the line of `restored_release`: {p:?}");
    expect_reason(b, &[&format!("{REHEARSAL}:5"), "roll-forward"]);
    assert_eq!(b.items[0].problems.len(), 1, "{}", describe(b));
    expect_others_verified(&e, "rehearsal");
}

#[test]
fn a_migration_down_step_as_the_restore_command_is_the_named_mistake() {
    let (_tmp, _repo, e) = edit_rehearsal(
        "restore_command: kubectl rollout undo deployment/orders-api -n staging",
        "restore_command: bin/rails db:rollback",
    );
    let b = expect_state(&e, "rehearsal", State::Incomplete);
    let p = expect_problem(b, "rehearsal.migration-down");
    assert!(p.mistake.is_some(), "{p:?}");
    assert_eq!(p.line, Some(7), "the line of `restore_command`: {p:?}");
    expect_reason(b, &[REHEARSAL, "common mistake", "db:rollback"]);
    expect_others_verified(&e, "rehearsal");
}

// ---- The smoke gate -------------------------------------------------------------------------

const HEALTH_ONLY: &str = "#!/usr/bin/env bash\nset -euo pipefail\n\ncheck_health() {\n  curl --fail --silent \"$BASE_URL/healthz\"\n}\n\ncheck_ping() {\n  curl --fail --silent \"$BASE_URL/ping\"\n}\n\ncheck_live() {\n  curl --fail --silent \"$BASE_URL/livez\"\n}\n\ncheck_health\ncheck_ping\ncheck_live\n";

/// Edits the demo's deploy workflow and commits the edit.
fn edit_workflow(from: &str, to: &str) -> (TempDir, RepoBuilder, Evidence) {
    let (tmp, repo) = demo();
    repo.replace(WORKFLOW, from, to);
    repo.commit("2026-11-02 10:00", "Change the deploy workflow");
    let e = evidence(repo.root());
    (tmp, repo, e)
}

#[test]
fn a_health_only_smoke_suite_is_the_named_mistake() {
    let (_tmp, repo) = demo();
    repo.write(SCRIPT, HEALTH_ONLY);
    repo.commit("2026-11-02 10:00", "Simplify the smoke suite");

    let e = evidence(repo.root());
    let b = expect_state(&e, "smoke", State::Incomplete);
    let p = expect_problem(b, "smoke.health-only");
    assert!(p.mistake.is_some(), "{p:?}");
    assert_eq!(p.file.as_deref(), Some(SCRIPT));
    expect_reason(b, &[SCRIPT, "common mistake", "health endpoint"]);
    expect_others_verified(&e, "smoke");
}

#[test]
fn a_health_only_suite_of_one_line_functions_is_the_named_mistake() {
    // The same mistake in the common one-line style: `check_x() { curl ... "$URL/healthz"; }`.
    let (_tmp, repo) = demo();
    repo.write(
        SCRIPT,
        "#!/usr/bin/env bash\nset -euo pipefail\ncheck_health() { curl --fail -s \"$BASE_URL/healthz\"; }\ncheck_ping() { curl --fail -s \"$BASE_URL/ping\"; }\ncheck_live() { curl --fail -s $BASE_URL/livez; }\ncheck_health\ncheck_ping\ncheck_live\n",
    );
    repo.commit("2026-11-02 10:00", "Simplify the smoke suite");

    let e = evidence(repo.root());
    let b = expect_state(&e, "smoke", State::Incomplete);
    let p = expect_problem(b, "smoke.health-only");
    assert!(p.mistake.is_some(), "{p:?}");
    expect_reason(b, &[SCRIPT, "common mistake", "health endpoint"]);
    expect_others_verified(&e, "smoke");
}

#[test]
fn a_smoke_script_never_run_by_the_workflow_fails() {
    let (_tmp, _repo, e) = edit_workflow("run: scripts/smoke.sh", "run: make integration-test");
    let b = expect_state(&e, "smoke", State::Incomplete);
    let p = expect_problem(b, "smoke.not-wired");
    assert!(p.message.contains(SCRIPT), "{}", p.message);
    expect_reason(b, &["no workflow", SCRIPT]);
    expect_others_verified(&e, "smoke");
}

#[test]
fn a_gate_cancelled_by_or_true_fails_and_check_exits_one() {
    let (_tmp, repo, e) = edit_workflow("run: scripts/smoke.sh", "run: scripts/smoke.sh || true");
    let b = expect_state(&e, "smoke", State::Incomplete);
    let p = expect_problem(b, "smoke.gate-cancelled");
    assert_eq!(p.file.as_deref(), Some(WORKFLOW));
    assert!(p.message.contains("|| true"), "{}", p.message);
    expect_reason(b, &[WORKFLOW, "does not fail", "|| true"]);
    expect_others_verified(&e, "smoke");

    let run = clinic_at("check", repo.root(), &[]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("|| true"),
        "the terminal summary gives the reason:\n{}",
        run.stdout
    );
    let json = check_json(repo.root(), &[], 1);
    assert_eq!(json["badges"]["smoke"]["state"], "incomplete");
    assert_eq!(json["badges"]["flag"]["state"], "verified");
}

#[test]
fn a_gate_cancelled_by_continue_on_error_fails() {
    let (_tmp, _repo, e) = edit_workflow(
        "        run: scripts/smoke.sh\n",
        "        run: scripts/smoke.sh\n        continue-on-error: true\n",
    );
    let b = expect_state(&e, "smoke", State::Incomplete);
    let p = expect_problem(b, "smoke.gate-cancelled");
    assert!(p.message.contains("continue-on-error"), "{}", p.message);
    assert!(p.line.is_some(), "{p:?}");
    expect_reason(b, &[WORKFLOW, "continue-on-error"]);
    expect_others_verified(&e, "smoke");
}

#[test]
fn a_smoke_script_committed_without_its_executable_bit_fails() {
    let (_tmp, repo) = demo();
    repo.set_executable(SCRIPT, false);
    let commit = repo.commit("2026-11-02 10:00", "Touch the smoke script");
    let tree = repo.repo().find_commit(commit).unwrap().tree().unwrap();
    let mode = tree.get_path(Path::new(SCRIPT)).unwrap().filemode();
    assert_eq!(mode, 0o100644, "the fixture must commit the script as 0644");

    let e = evidence(repo.root());
    let b = expect_state(&e, "smoke", State::Incomplete);
    let p = expect_problem(b, "smoke.executable");
    assert_eq!(p.file.as_deref(), Some(SCRIPT));
    assert!(p.fix.contains("--chmod=+x"), "{}", p.fix);
    expect_reason(b, &[SCRIPT, "executable bit"]);
    expect_others_verified(&e, "smoke");
}

#[test]
fn a_smoke_script_without_a_drill_is_incomplete_not_missing() {
    let (_tmp, repo) = demo();
    repo.remove(DRILL);
    repo.commit("2026-11-02 10:00", "Remove the drill record");

    let e = evidence(repo.root());
    let b = expect_state(&e, "smoke", State::Incomplete);
    assert!(b.items.is_empty(), "{}", describe(b));
    expect_reason(b, &["no drill record"]);
    expect_others_verified(&e, "smoke");
}

#[test]
fn no_smoke_script_and_no_drill_is_missing() {
    let (_tmp, repo) = demo();
    repo.remove(SCRIPT).remove(DRILL);
    repo.commit("2026-11-02 10:00", "Remove the smoke suite");

    let e = evidence(repo.root());
    let b = expect_state(&e, "smoke", State::Missing);
    assert!(b.artifacts.is_empty(), "{:?}", b.artifacts);
    assert_eq!(b.reasons.len(), 1, "{}", describe(b));
    expect_reason(b, &["no smoke suite yet", SCRIPT]);
    expect_others_verified(&e, "smoke");
}

// ---- Reading artifacts ----------------------------------------------------------------------

#[test]
fn malformed_yaml_in_one_artifact_leaves_the_other_badges_verified() {
    let (_tmp, repo) = demo();
    // File line 6 (`trigger:`); a second `: ` in a plain value is not YAML.
    repo.replace(
        REHEARSAL,
        "trigger: checkout error rate above 2%",
        "trigger: checkout error rate: above 2%",
    );
    repo.commit("2026-11-02 10:00", "Reword the trigger");

    let e = evidence(repo.root());
    let b = expect_state(&e, "rehearsal", State::Incomplete);
    let p = expect_problem(b, "artifact.front-matter");
    assert_eq!(p.file.as_deref(), Some(REHEARSAL));
    assert_eq!(
        p.line,
        Some(6),
        "the line in the file, not in the YAML block: {p:?}"
    );
    expect_reason(b, &[&format!("{REHEARSAL}:6:")]);
    expect_others_verified(&e, "rehearsal");
}

#[test]
fn an_unknown_key_is_a_warning_and_the_badge_still_verifies() {
    let (_tmp, repo) = demo();
    repo.replace(
        FLAG_DEMO,
        "kind: release\n",
        "kind: release\nowner: grace\n",
    );
    repo.commit("2026-11-02 10:00", "Name the flag's owner");

    let (e, diagnostics) = clinic::check(repo.root(), true).unwrap();
    expect_state(&e, "flag", State::Verified);
    expect_others_verified(&e, "flag");
    let warning = e
        .warnings
        .iter()
        .find(|w| {
            w.sentence().contains(&format!("{FLAG_DEMO}:4")) && w.sentence().contains("owner")
        })
        .unwrap_or_else(|| {
            panic!(
                "no warning naming {FLAG_DEMO}:4 and `owner`: {:?}",
                e.warnings
            )
        });
    assert!(
        diagnostics
            .iter()
            .any(|d| !d.is_error() && d.to_string().contains("owner")),
        "check reports the warning {warning:?} as a diagnostic: {diagnostics:?}"
    );
    clinic_at("check", repo.root(), &[]).expect_code(0);
}

// ---- Hard repositories ----------------------------------------------------------------------

#[test]
fn a_shallow_clone_fails_history_rules_with_fetch_depth_advice_and_still_builds() {
    let (tmp, repo) = demo();
    let url = format!("file://{}", repo.root().display());
    let shallow = tmp.path().join("shallow");
    git_cli(
        tmp.path(),
        &[
            "clone",
            "--quiet",
            "--depth",
            "1",
            &url,
            shallow.to_str().unwrap(),
        ],
    );
    assert!(
        shallow.join(".git/shallow").is_file(),
        "the fixture must be a shallow clone"
    );

    let e = evidence(&shallow);
    assert!(e.repository.shallow);
    for name in BADGES {
        let b = badge(&e, name);
        assert_ne!(b.state, State::Verified, "{name}:\n{}", describe(b));
        let p = expect_problem(b, "history.shallow");
        assert!(p.fix.contains("fetch-depth: 0"), "{name}: {}", p.fix);
        expect_reason(b, &["shallow", "fetch-depth: 0"]);
    }
    clinic_at("check", &shallow, &[]).expect_code(1);

    let run = clinic_at("build", &shallow, &[]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("shallow"),
        "the build explains the shallow clone:\n{}",
        run.stderr
    );
    assert!(shallow.join("public/index.html").is_file());
    let json: Value =
        serde_json::from_str(&read_output(&shallow.join("public"), "evidence.json")).unwrap();
    assert_eq!(json["repository"]["shallow"], true);
}

#[test]
fn a_directory_that_is_not_a_repository_is_explained_and_still_builds() {
    let (tmp, repo) = demo();
    let plain = tmp.path().join("plain");
    copy_dir(&repo.root().join("library"), &plain.join("library"));

    let e = evidence(&plain);
    for name in BADGES {
        let b = badge(&e, name);
        assert_ne!(b.state, State::Verified, "{name}:\n{}", describe(b));
        expect_problem(b, "history.unavailable");
        expect_reason(b, &["not a git repository"]);
    }
    let run = clinic_at("build", &plain, &[]);
    run.expect_code(0);
    assert!(plain.join("public/index.html").is_file());
}

#[test]
fn an_empty_repository_says_there_are_no_commits() {
    let tmp = temp_dir();
    let root = tmp.path().join("repo");
    let _repo = RepoBuilder::init(&root);
    let (demo_tmp, demo_repo) = demo();
    copy_dir(&demo_repo.root().join("library"), &root.join("library"));
    drop(demo_tmp);

    let e = evidence(&root);
    assert!(
        e.repository
            .error
            .as_deref()
            .is_some_and(|m| m.contains("no commits")),
        "{:?}",
        e.repository
    );
    for name in BADGES {
        let b = badge(&e, name);
        assert_ne!(b.state, State::Verified, "{name}:\n{}", describe(b));
        let p = expect_problem(b, "history.unavailable");
        assert!(p.message.contains("no commits"), "{name}: {}", p.message);
    }
}

#[test]
fn a_detached_head_at_the_demo_still_verifies() {
    let (_tmp, repo) = demo();
    let head = repo.head();
    repo.detach();
    assert!(repo.repo().head_detached().unwrap());
    assert_eq!(repo.current_branch(), None);

    let e = evidence(repo.root());
    for name in BADGES {
        expect_state(&e, name, State::Verified);
    }
    assert_eq!(e.repository.head, Some(head.to_string()));
    clinic_at("check", repo.root(), &[]).expect_code(0);
}

// ---- The history cache ----------------------------------------------------------------------

fn load_history(root: &Path) -> History {
    let options = HistoryOptions {
        release_tag_pattern: "v*".into(),
        flag_keys: clinic::evidence::records::load_all(root).0.flag_keys(),
        use_cache: true,
        write_cache: true,
    };
    History::load(root, &options).unwrap_or_else(|e| panic!("History::load: {e}"))
}

fn as_json(e: &Evidence) -> Value {
    serde_json::to_value(e).unwrap()
}

#[test]
fn the_history_cache_is_reused_follows_new_commits_and_matches_no_cache() {
    let (_tmp, repo) = demo();
    let root = repo.root();
    let cache = root.join(".git/clinic/history.bin");

    let (first, _) = clinic::check(root, false).unwrap();
    assert!(first.badges.all_verified());
    assert!(
        cache.is_file(),
        "the first check writes {}",
        cache.display()
    );
    assert_eq!(
        load_history(root).cache_use,
        CacheUse::Hit,
        "an unchanged repository is not walked again"
    );

    // A new flag whose key appears only in the new commit.
    const QUICK: &str = "library/raw/flags/quick_reorder.md";
    repo.write(QUICK, "---\nflag: quick_reorder\nkind: ops\n---\nLets support staff reorder a past order in one click.\n")
        .replace(FLAGS_YAML, "verbose_logging: false\n", "verbose_logging: false\nquick_reorder: false\n");
    let introduced = repo.commit("2026-11-02 10:00", "Add the quick_reorder flag, off");

    let (cached, _) = clinic::check(root, false).unwrap();
    assert_eq!(cached.repository.head, Some(introduced.to_string()));
    assert_eq!(cached.repository.commits, first.repository.commits + 1);
    let item = cached
        .badges
        .flag
        .items
        .iter()
        .find(|i| i.artifact == QUICK)
        .expect("the new flag is checked");
    assert_eq!(
        facts_json(item)["introduced"]["id"],
        introduced.to_string(),
        "{}",
        facts_json(item)
    );
    assert!(
        item.problems.iter().any(|p| p.rule == "flag.never-flipped"),
        "{:?}",
        item.problems
    );
    expect_state(&cached, "flag", State::Verified); // new_checkout still verifies the badge

    let (uncached, _) = clinic::check(root, true).unwrap();
    assert_eq!(
        as_json(&cached),
        as_json(&uncached),
        "the cached and uncached evidence differ"
    );

    // One more commit: the cache walks only it.
    repo.replace(FLAGS_YAML, "quick_reorder: false", "quick_reorder: true");
    let flipped = repo.commit("2026-11-03 10:00", "Flip quick_reorder on");
    assert_eq!(
        load_history(root).cache_use,
        CacheUse::Incremental { new_commits: 1 }
    );
    let (cached, _) = clinic::check(root, false).unwrap();
    let item = cached
        .badges
        .flag
        .items
        .iter()
        .find(|i| i.artifact == QUICK)
        .unwrap();
    assert_eq!(
        facts_json(item)["flipped"]["id"],
        flipped.to_string(),
        "{}",
        facts_json(item)
    );
    let (uncached, _) = clinic::check(root, true).unwrap();
    assert_eq!(
        as_json(&cached),
        as_json(&uncached),
        "the cached and uncached evidence differ"
    );

    // The binary agrees, with and without --no-cache.
    let with_cache = check_json(root, &[], 0);
    let without_cache = check_json(root, &["--no-cache"], 0);
    assert_eq!(with_cache, without_cache);
    assert_eq!(with_cache, as_json(&cached));
}

#[test]
fn the_history_cache_keeps_following_a_flag_whose_artifact_was_away() {
    let (_tmp, repo) = demo();
    let root = repo.root();
    const QUICK: &str = "library/raw/flags/quick_reorder.md";
    const QUICK_TEXT: &str = "---\nflag: quick_reorder\nkind: ops\n---\nLets support staff reorder a past order in one click.\n";
    repo.write(QUICK, QUICK_TEXT).replace(
        FLAGS_YAML,
        "verbose_logging: false\n",
        "verbose_logging: false\nquick_reorder: false\n",
    );
    repo.commit("2026-11-02 10:00", "Add the quick_reorder flag, off");
    clinic::check(root, false).unwrap(); // the cache now holds the key quick_reorder

    // The write-up is away (renamed, being rewritten) while the flag is flipped...
    repo.remove(QUICK)
        .replace(FLAGS_YAML, "quick_reorder: false", "quick_reorder: true");
    let flipped = repo.commit("2026-11-03 10:00", "Flip quick_reorder on");
    clinic::check(root, false).unwrap();
    // ...and back.
    repo.write(QUICK, QUICK_TEXT);

    let (cached, _) = clinic::check(root, false).unwrap();
    let (uncached, _) = clinic::check(root, true).unwrap();
    let facts = |e: &Evidence| {
        e.badges
            .flag
            .items
            .iter()
            .find(|i| i.artifact == QUICK)
            .map(facts_json)
            .unwrap()
    };
    assert_eq!(
        facts(&uncached)["flipped"]["id"],
        flipped.to_string(),
        "{}",
        facts(&uncached)
    );
    assert_eq!(
        facts(&cached)["flipped"]["id"],
        flipped.to_string(),
        "the cached index lost the flip, walked while no artifact named the key: {}",
        facts(&cached)
    );
    assert_eq!(as_json(&cached), as_json(&uncached));
}

#[test]
fn a_linked_worktree_of_the_demo_verifies() {
    let (tmp, repo) = demo();
    let linked = tmp.path().join("linked");
    repo.repo()
        .worktree("linked", &linked, None)
        .expect("git worktree add");
    assert!(
        linked.join(".git").is_file(),
        "a linked worktree has a .git file"
    );

    let e = evidence(&linked);
    for name in BADGES {
        expect_state(&e, name, State::Verified);
    }
    assert_eq!(e.repository.head, Some(repo.head().to_string()));
}

#[test]
fn fixture_clock_is_the_demo_clock() {
    // 2026-10-02 14:03 UTC is 1_790_949_780 (the crate's own time tests agree).
    assert_eq!(seconds("2026-10-02 15:03"), 1_790_949_780);
    assert_eq!(seconds("1970-01-01 01:00"), 0);
}

/// libgit2 refuses a repository owned by another user (CVE-2022-24765); the reason must give
/// the exact `safe.directory` command with the absolute path. Needs root to chown.
#[cfg(unix)]
#[test]
fn a_repository_owned_by_another_user_names_the_safe_directory_command() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: chown needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("owned");
    clinic::commands::demo::write(&root).unwrap();
    let status = std::process::Command::new("chown")
        .args(["-R", "12345:12345"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(status.success());
    let (evidence, _) = clinic::check(&root, true).unwrap();
    let absolute = root.canonicalize().unwrap();
    let expected = format!(
        "git config --global --add safe.directory {}",
        absolute.display()
    );
    for (name, badge) in evidence.badges.iter() {
        assert_ne!(badge.state, clinic::evidence::State::Verified, "{name}");
        assert!(
            badge.reasons.iter().any(|r| r.contains(&expected)),
            "{name}: {:?}",
            badge.reasons
        );
    }
}

/// A migration record naming a file outside the repository must not pull it into the
/// evidence (and so into evidence.json and the pages).
#[test]
fn a_migration_path_outside_the_repository_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    clinic::commands::demo::write(&root).unwrap();
    std::fs::write(
        dir.path().join("secret.sql"),
        "-- TOP SECRET OUTSIDE\nDROP TABLE x;\n",
    )
    .unwrap();
    let record = "---\nchange: escape\nexpand:\n  up: ../secret.sql\n  down: ../secret.sql\ncontract:\n  up: ../secret.sql\n---\nA paragraph that is long enough to count as prose here.\n";
    std::fs::write(root.join("library/raw/migrations/escape.md"), record).unwrap();
    let (evidence, _) = clinic::check(&root, true).unwrap();
    let json = serde_json::to_string(&evidence).unwrap();
    assert!(
        !json.contains("TOP SECRET"),
        "outside file leaked into evidence"
    );
    // The good migration still verifies the badge.
    assert_eq!(
        evidence.badges.migration.state,
        clinic::evidence::State::Verified
    );
}

/// A plain build never follows a symbolic link out of the repository: not a linked artifact
/// folder, not a linked clinic.yaml.
#[cfg(unix)]
#[test]
fn linked_artifact_folders_and_config_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    clinic::commands::demo::write(&root).unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join("999.md"),
        "---\nflag: planted_flag_key\nkind: release\n---\nPlanted from outside.\n",
    )
    .unwrap();
    std::fs::rename(root.join("library/raw/flags"), dir.path().join("moved")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("library/raw/flags")).unwrap();
    std::fs::write(outside.join("clinic.yaml"), "title: PLANTED TITLE\n").unwrap();
    std::fs::remove_file(root.join("clinic.yaml")).unwrap();
    std::os::unix::fs::symlink(outside.join("clinic.yaml"), root.join("clinic.yaml")).unwrap();
    let (evidence, diagnostics) = clinic::check(&root, true).unwrap();
    let json = serde_json::to_string(&evidence).unwrap();
    assert!(
        !json.contains("planted_flag_key"),
        "a linked folder was followed"
    );
    assert_eq!(evidence.badges.flag.state, State::Missing);
    let text: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        text.iter()
            .any(|d| d.contains("clinic.yaml") && d.contains("symbolic link")),
        "{text:?}"
    );
    let (config, _) = clinic::load::config::load(&root);
    assert_ne!(config.title, "PLANTED TITLE");
}

/// Every key path of a JSON value (`badges.smoke.items[].facts.gate.checks[].name`).
fn key_paths(value: &Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
    if !path.is_empty() {
        out.insert(path.to_string());
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let joined = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                key_paths(child, &joined, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                key_paths(item, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn evidence_json_keeps_its_field_names() {
    let (_tmp, repo) = demo();
    let json = check_json(repo.root(), &[], 0);
    let mut found = std::collections::BTreeSet::new();
    key_paths(&json, "", &mut found);
    let expected: std::collections::BTreeSet<String> =
        std::fs::read_to_string(common::fixture_path("evidence-keys.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string)
            .collect();
    let gone: Vec<_> = expected.difference(&found).collect();
    let new: Vec<_> = found.difference(&expected).collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "evidence.json's field names changed (tools read them):\n  gone: {gone:?}\n  new: {new:?}\n(add a new field to tests/fixtures/evidence-keys.txt; never rename one)"
    );
}
