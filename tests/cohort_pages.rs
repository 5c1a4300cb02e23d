//! What a person sees of a cohort in Chromium: the dashboard does not scroll sideways on a
//! 390-pixel phone (the visually hidden labels stay inside the table's scroll box), every
//! page of a student's site links back to the dashboard, and its search box finds students'
//! write-ups. `CLINIC_UPDATE_DOCS=1` rewrites
//! `docs/dashboard.png`.

mod common;

use std::path::Path;

use serde_json::json;

use common::browser::{browser_available, Browser, StaticServer};
use common::git::RepoBuilder;
use common::read_output;

#[test]
fn the_dashboard_fits_a_phone_and_student_pages_link_back_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cohort = tmp.path().join("cohort");
    RepoBuilder::demo(&cohort.join("students/ada"));
    // Incomplete badges: their cells have a "reasons" disclosure with visually hidden text.
    let lei = RepoBuilder::demo(&cohort.join("students/lei"));
    lei.replace(
        "library/raw/rollback-rehearsals/001.md",
        "restored_release: v1.2.0",
        "restored_release: v9.9.9",
    );
    // And one in the last badge column, off a phone's screen.
    lei.remove("library/raw/flags/new_checkout.md");
    lei.commit(
        "2026-11-01 10:00",
        "Rehearsal: a release that does not exist",
    );
    std::fs::write(
        cohort.join("roster.yaml"),
        "title: Release clinic, autumn 2026\nstudents:\n  - name: Ada Lovelace\n    repo: students/ada\n  \
         - name: 李雷\n    repo: students/lei\n  - name: Grace Hopper\n    repo: students/missing\n",
    )
    .unwrap();
    let served = tmp.path().join("served");
    let server = StaticServer::start(served.clone());
    let base = format!("http://127.0.0.1:{}/class/", server.port);
    let out = served.join("class");
    let mut command = common::clinic_command();
    command
        .arg("cohort")
        .arg(cohort.join("roster.yaml"))
        .arg("--out")
        .arg(&out)
        .args(["--base-url", &base]);
    let run = common::run(command);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);

    // Every student page links back to the dashboard; the slug of 李雷 is transliterated.
    for page in [
        "students/ada-lovelace/portfolio/timeline/index.html",
        "students/li-lei/portfolio/index.html",
        "handbook/exercises/smoke-gate/index.html",
    ] {
        let html = read_output(&out, page);
        assert!(
            html.contains("<a class=\"site-cohort-link\" href=\"/class/\">Cohort dashboard</a>"),
            "{page} has no link back to the dashboard"
        );
    }

    if browser_available().is_none() {
        return;
    }
    let mut browser = Browser::launch(
        &tmp.path().join("profile"),
        &tmp.path().join("chromium.log"),
    );
    browser.color_scheme("light");
    browser.viewport(390, 844, true);
    browser.open(&base);
    // Against the device's 390 px: a mobile browser widens its layout viewport (innerWidth) to
    // whatever overflows.
    let fits = browser.eval(
        "[document.documentElement.scrollWidth, window.innerWidth, \
          document.querySelector('#cohort-table').closest('.table-wrap').scrollWidth > 390]",
    );
    assert!(
        fits[0].as_f64().unwrap_or(9999.0) <= 390.0,
        "the dashboard scrolls sideways at 390 px: {fits}"
    );
    assert_eq!(
        fits[2],
        json!(true),
        "the table itself scrolls in its box: {fits}"
    );

    browser.viewport(1280, 900, false);
    browser.open(&base);
    let shot = tmp.path().join("dashboard.png");
    browser.screenshot(&shot);

    // The dashboard's search box finds students' write-ups under the subpath, past the
    // dashboard's Content-Security-Policy (which lets it fetch only this site's index).
    browser.wait_for(
        "document.querySelector('.site-search') && document.querySelector('.site-search').dataset.ready === 'true'",
        "the dashboard's search box never became ready",
    );
    browser.eval("document.querySelector('.site-search-input').focus()");
    browser.call("Input.insertText", json!({"text": "kubectl rollout undo"}));
    browser.wait_for(
        "document.querySelectorAll('.site-search-list li').length > 0",
        "no write-up matched `kubectl rollout undo` on the dashboard",
    );
    let links = browser.eval(
        "[...document.querySelectorAll('.site-search-list a')].map(a => [a.textContent, a.getAttribute('href')])",
    );
    let links = links.as_array().unwrap();
    assert!(
        links
            .iter()
            .any(|l| l[0].as_str().unwrap().starts_with("Ada Lovelace · ")
                && l[1] == "/class/students/ada-lovelace/portfolio/rehearsals/001/"),
        "Ada's rehearsal is a result, named after her: {links:?}"
    );
    assert!(
        links
            .iter()
            .all(|l| l[1].as_str().unwrap().starts_with("/class/students/")
                && !l[1].as_str().unwrap().contains("/print/")),
        "only students' pages, and not their print views: {links:?}"
    );
    // The search page, where Enter leads, has the same box and lists every result.
    browser.open(&format!("{base}search/?q=rollback"));
    browser.wait_for(
        "document.querySelectorAll('.search-page-list li').length >= 2",
        "the dashboard's search page lists no result for `rollback`",
    );
    drop(browser);
    if std::env::var("CLINIC_UPDATE_DOCS").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::copy(&shot, docs.join("dashboard.png")).unwrap();
    }
}
