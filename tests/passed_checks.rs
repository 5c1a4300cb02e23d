//! "Checks that passed": a record's page, its badge and `evidence.json` list the rules its judge
//! evaluated that held (from the rule catalogue the failures are named from), an incomplete
//! record never lists a failed rule (or one its judge did not get to) among them, and the
//! evidence checklist marks the checks already proven.

mod common;

use common::browser::{browser_available, Browser, StaticServer};
use common::git::RepoBuilder;
use common::{between, build_into, read_output};
use serde_json::{json, Value};

const REHEARSAL: &str = "library/raw/rollback-rehearsals/001.md";

/// The demo with a rehearsal whose restored release does not exist, built into `<tmp>/out`.
fn built_with_an_unknown_restored_release() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = RepoBuilder::demo(&tmp.path().join("demo"));
    repo.replace(
        REHEARSAL,
        "restored_release: v1.2.0",
        "restored_release: v9.9.9",
    );
    repo.commit(
        "2026-11-01 10:00",
        "Rehearsal: name a release that does not exist",
    );
    let out = tmp.path().join("out");
    build_into(repo.root(), &out, &[]).expect_code(0);
    (tmp, out)
}

/// The `passed` rule ids of the first item of `badge` in `evidence.json`.
fn passed_ids(evidence: &Value, badge: &str) -> Vec<String> {
    evidence["badges"][badge]["items"][0]["passed"]
        .as_array()
        .unwrap_or_else(|| panic!("{badge}: no passed list in {evidence:#}"))
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// The rule ids a page's `<ul class="passed-list">` shows.
fn listed_ids(html: &str) -> Vec<String> {
    between(html, "<ul class=\"passed-list\">", "</ul>")
        .split("<code class=\"rule-id\">")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_string())
        .collect()
}

#[test]
fn a_verified_demo_record_lists_the_checks_that_passed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = RepoBuilder::demo(&tmp.path().join("demo"));
    let out = tmp.path().join("out");
    build_into(repo.root(), &out, &[]).expect_code(0);
    let evidence: Value = serde_json::from_str(&read_output(&out, "evidence.json")).unwrap();

    let passed = passed_ids(&evidence, "rehearsal");
    for rule in [
        "rehearsal.trigger",
        "rehearsal.timeline",
        "rehearsal.release",
        "rehearsal.rollforward",
        "rehearsal.migration-down",
        "rehearsal.predates",
        "evidence.future",
    ] {
        assert!(
            passed.contains(&rule.to_string()),
            "{rule} not in {passed:?}"
        );
    }
    // Every kind lists checks, and a verified item has no failure.
    for badge in ["rehearsal", "migration", "smoke", "flag"] {
        let item = &evidence["badges"][badge]["items"][0];
        assert_eq!(item["state"], "verified", "{badge}");
        assert!(passed_ids(&evidence, badge).len() >= 10, "{badge}: {item}");
    }

    // The checklist lists each kind's whole catalogue: for a verified record, exactly the
    // checks that passed (a rule a judge evaluates but the checklist leaves out would show).
    let checklist = read_output(&out, "evidence-checklist/index.html");
    for badge in ["rehearsal", "migration", "smoke", "flag"] {
        let n = passed_ids(&evidence, badge).len();
        assert!(
            checklist.contains(&format!("{n} of {n} checks already proven")),
            "{badge}: {n} passed"
        );
    }

    // The record's page lists the same checks, in the same order.
    let page = read_output(&out, "portfolio/rehearsals/001/index.html");
    assert!(page.contains("<h2 id=\"passed-title\">Checks that passed</h2>"));
    assert_eq!(listed_ids(&page), passed);
    assert!(page.contains("the restored release is an older ancestor of the bad release"));

    // So does the badge on the portfolio, naming the record.
    let portfolio = read_output(&out, "portfolio/index.html");
    let card = between(
        &portfolio,
        "id=\"badge-rehearsal\"",
        "</li>\n      \n      <li",
    );
    assert!(
        card.contains("Checks that passed (13), on <span class=\"passed-record\">"),
        "{card}"
    );
    let list = between(card, "<ul class=\"passed-list\">", "</ul>");
    assert_eq!(list.matches("<li>").count(), passed.len(), "{list}");
    assert!(list.contains("the restored release is an older ancestor of the bad release"));
}

#[test]
fn an_incomplete_record_lists_its_failures_and_never_a_failed_check_as_passed() {
    let (_tmp, out) = built_with_an_unknown_restored_release();
    let evidence: Value = serde_json::from_str(&read_output(&out, "evidence.json")).unwrap();
    let item = &evidence["badges"]["rehearsal"]["items"][0];
    assert_eq!(item["state"], "incomplete");
    let failed: Vec<&str> = item["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rule"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["rehearsal.release"], "{item:#}");
    let passed = passed_ids(&evidence, "rehearsal");
    assert!(
        !passed.contains(&"rehearsal.release".to_string()),
        "{passed:?}"
    );
    // Needs both releases: never judged, so never listed as passed.
    assert!(
        !passed.contains(&"rehearsal.rollforward".to_string()),
        "{passed:?}"
    );
    assert!(
        passed.contains(&"rehearsal.trigger".to_string()),
        "{passed:?}"
    );
    assert!(
        passed.contains(&"rehearsal.timer".to_string()),
        "{passed:?}"
    );

    let page = read_output(&out, "portfolio/rehearsals/001/index.html");
    let problems = between(&page, "<section class=\"problems\"", "</section>");
    assert!(problems.contains("v9.9.9"), "{problems}");
    let listed = listed_ids(&page);
    assert_eq!(listed, passed);
    assert!(!listed.contains(&"rehearsal.release".to_string()));
    assert!(page.contains("A rule that depends on a failed one is checked once that one is fixed"));
}

#[test]
fn the_evidence_checklist_marks_the_checks_already_proven() {
    let (_tmp, out) = built_with_an_unknown_restored_release();
    let page = read_output(&out, "evidence-checklist/index.html");
    // A badge's checklist: from its entry to the end of its list of checks.
    let checks_of = |key: &str| -> &str {
        let start = page.find(&format!("#badge-{key}\">")).unwrap();
        let end = start + page[start..].find("<p class=\"evidence-items\"").unwrap();
        &page[start..end]
    };
    let rehearsal = checks_of("rehearsal");
    let row = |holds: &str| -> &str {
        let at = rehearsal
            .find(holds)
            .unwrap_or_else(|| panic!("{holds} is not listed:\n{rehearsal}"));
        let start = rehearsal[..at].rfind("<li class=\"").unwrap();
        &rehearsal[start..at]
    };
    assert!(row("names the signal acted on").contains("is-proven"));
    assert!(row("names the signal acted on").contains("✓ proven"));
    let release = row("the bad and the restored release resolve to commits");
    assert!(
        release.contains("not-proven") && release.contains("not yet"),
        "{release}"
    );
    assert!(row("is an older ancestor of the bad release").contains("not-proven"));
    assert!(
        rehearsal.contains("11 of 13 checks already proven, on Rollback of"),
        "{rehearsal}"
    );
    // A verified badge has every check of its catalogue proven.
    let migration = checks_of("migration");
    assert!(
        migration.contains("14 of 14 checks already proven"),
        "{migration}"
    );
    assert!(!migration.contains("not-proven"));
}

#[test]
fn a_drill_lists_the_gate_rules_only_when_they_held_at_the_break_commit_too() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = RepoBuilder::demo(&tmp.path().join("demo"));
    let drill = "library/raw/smoke-drills/001.md";
    let text = repo.read(drill);
    let line = text
        .lines()
        .find(|l| l.starts_with("break_commit:"))
        .unwrap();
    repo.write(drill, &text.replace(line, "break_commit: 0000000"));
    repo.commit(
        "2026-11-01 10:00",
        "Drill: a break commit that does not exist",
    );
    let out = tmp.path().join("out");
    build_into(repo.root(), &out, &[]).expect_code(0);
    let evidence: Value = serde_json::from_str(&read_output(&out, "evidence.json")).unwrap();
    let passed = passed_ids(&evidence, "smoke");
    // The gate held at HEAD, but the break commit was never judged.
    for rule in [
        "smoke.three-checks",
        "smoke.not-wired",
        "smoke.drill-commit",
    ] {
        assert!(!passed.contains(&rule.to_string()), "{rule} in {passed:?}");
    }
    assert!(
        passed.contains(&"smoke.drill-fields".to_string()),
        "{passed:?}"
    );
}

#[test]
fn chromium_shows_the_passed_checks_and_the_proven_marks() {
    if browser_available().is_none() {
        return;
    }
    let (tmp, out) = built_with_an_unknown_restored_release();
    let server = StaticServer::start(out);
    let mut browser = Browser::launch(&tmp.path().join("profile"), &tmp.path().join("log"));
    browser.viewport(1280, 900, false);
    let base = format!("http://127.0.0.1:{}/", server.port);

    // What a person sees: each passed check as a visible line with its tick.
    let visible = "(sel) => [...document.querySelectorAll(sel)].filter(e => e.checkVisibility() && e.getBoundingClientRect().height > 0)";
    browser.open(&format!("{base}portfolio/migrations/display-name/"));
    let shown = browser.eval(&format!(
        "({visible})('.passed-list > li').map(li => [li.textContent, getComputedStyle(li, '::before').content])"
    ));
    let shown = shown.as_array().unwrap();
    assert_eq!(shown.len(), 14, "{shown:?}");
    assert!(shown.iter().all(|li| li[1] == json!("\"✓ \"")), "{shown:?}");

    // The checklist: proven checks say so in words, and look different from the others.
    browser.open(&format!("{base}evidence-checklist/"));
    // Open where something is left to prove; a verified badge's list of ticks is folded.
    let open =
        browser.eval("[...document.querySelectorAll('details.evidence-proven')].map(d => d.open)");
    assert_eq!(open, json!([true, false, false, false]));
    browser
        .eval("document.querySelectorAll('details.evidence-proven').forEach(d => d.open = true)");
    let marks = browser.eval(&format!(
        "({visible})('.proven-list > li .proven-label').map(l => [l.closest('li').className, l.textContent, getComputedStyle(l).color])"
    ));
    let marks = marks.as_array().unwrap();
    let of = |class: &str| -> Vec<&Value> { marks.iter().filter(|m| m[0] == class).collect() };
    let (proven, not_yet) = (of("is-proven"), of("not-proven"));
    assert_eq!(proven.len() + not_yet.len(), marks.len());
    assert_eq!(
        not_yet.len(),
        2,
        "the release and its ancestry: {not_yet:?}"
    );
    assert!(proven.len() >= 50, "{proven:?}");
    assert!(proven.iter().all(|m| m[1] == "✓ proven"));
    assert!(not_yet.iter().all(|m| m[1] == "not yet"));
    assert_ne!(proven[0][2], not_yet[0][2], "proven and not yet look alike");
}
