//! WCAG 2.1 AA: axe-core (npm, pinned in `tests/axe/package.json`; `.ci/run` installs it with
//! `npm ci --prefix tests/axe`) run in headless Chromium over every page of the demo site, of
//! the `good` fixture site and of a cohort (the dashboard and a student's site), in light and in
//! dark mode. Every violation is listed with its page, rule and elements.
//!
//! `CLINIC_SKIP_BROWSER=1` skips the test (loudly) when Chromium or axe-core is missing;
//! otherwise a missing one fails it.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::browser::{browser_available, Browser, StaticServer};
use common::git::RepoBuilder;
use common::{build_into, list_files};

/// axe-core's browser bundle, or `None` (with a note) when skipping is allowed.
fn axe_source() -> Option<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/axe");
    let path = dir.join("node_modules/axe-core/axe.min.js");
    if !path.is_file() && std::env::var("CLINIC_SKIP_BROWSER").as_deref() != Ok("1") {
        // Installed on first use, as `.ci/run` does, so that `cargo test` alone runs it.
        let _ = std::process::Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .status();
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) if std::env::var("CLINIC_SKIP_BROWSER").as_deref() == Ok("1") => {
            eprintln!(
                "note: {} is missing and CLINIC_SKIP_BROWSER=1: accessibility test skipped",
                path.display()
            );
            None
        }
        Err(e) => panic!(
            "{} is missing ({e}): run `npm ci --prefix tests/axe` (.ci/run does), or set \
             CLINIC_SKIP_BROWSER=1 to skip this test",
            path.display()
        ),
    }
}

/// Every page of a built site, as URL paths below the site's root (`` for the home page). A
/// page that only sends the reader on (a cohort student's folder home, `http-equiv="refresh"`)
/// is audited where it leads: opened itself, it navigates away under the audit.
fn pages(out: &Path) -> Vec<String> {
    list_files(out)
        .into_iter()
        .filter(|f| f.ends_with(".html"))
        .filter(|f| {
            !std::fs::read_to_string(out.join(f))
                .is_ok_and(|html| html.contains("http-equiv=\"refresh\""))
        })
        .map(|f| f.trim_end_matches("index.html").to_string())
        .collect()
}

/// Runs axe on the open page: `["page rule (impact): target ...", ...]`.
fn violations(browser: &mut Browser, axe: &str, page: &str, scheme: &str) -> Vec<String> {
    if browser.eval("typeof window.axe") != json!("object") {
        browser.eval(axe);
    }
    let result = browser.eval(
        "axe.run(document, {
                            resultTypes: ['violations']})
            .then(r => r.violations.map(v => ({id: v.id, impact: v.impact,
                 nodes: v.nodes.map(n => n.target.join(' ') + (n.any[0] ? ' [' + n.any[0].message + ']' : ''))})))",
    );
    result
        .as_array()
        .expect("axe results")
        .iter()
        .map(|v: &Value| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .take(4)
                .map(|n| n.as_str().unwrap_or("").to_string())
                .collect();
            format!(
                "{page} ({scheme}): {} ({}), {} element(s): {}",
                v["id"].as_str().unwrap_or(""),
                v["impact"].as_str().unwrap_or(""),
                v["nodes"].as_array().map_or(0, Vec::len),
                nodes.join(" | ")
            )
        })
        .collect()
}

/// Every page under `base` (served from `out`), light and dark.
fn audit(browser: &mut Browser, axe: &str, base: &str, out: &Path) -> (usize, Vec<String>) {
    let mut found = Vec::new();
    let pages = pages(out);
    for scheme in ["light", "dark"] {
        browser.color_scheme(scheme);
        for page in &pages {
            browser.open(&format!("{base}{page}"));
            found.extend(violations(browser, axe, page, scheme));
        }
    }
    (pages.len(), found)
}

fn serve(tmp: &Path, folder: &str) -> (StaticServer, String, PathBuf) {
    let served = tmp.join("served");
    let server = StaticServer::start(served.clone());
    let base = format!("http://127.0.0.1:{}/{folder}/", server.port);
    (server, base, served.join(folder))
}

#[test]
fn axe_finds_no_violation_on_any_page_in_light_and_dark() {
    if browser_available().is_none() {
        return;
    }
    let Some(axe) = axe_source() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut browser = Browser::launch(
        &tmp.path().join("profile"),
        &tmp.path().join("chromium.log"),
    );
    browser.viewport(1280, 900, false);
    let mut all = Vec::new();
    let mut audited = 0;

    // The demo: the handbook and a whole portfolio, under a subpath as on Pages.
    let demo = RepoBuilder::demo(&tmp.path().join("demo"));
    let (server, base, out) = serve(tmp.path(), "orders-api");
    build_into(demo.root(), &out, &["--base-url", &base]).expect_code(0);
    let (n, found) = audit(&mut browser, &axe, &base, &out);
    audited += n;
    all.extend(found);
    drop(server);

    // The `good` fixture site: the author's own content pages.
    let site = common::copy_fixture("good");
    let (server, base, out) = serve(site.tmp.path(), "good");
    build_into(&site.root, &out, &["--base-url", &base]).expect_code(0);
    let (n, found) = audit(&mut browser, &axe, &base, &out);
    audited += n;
    all.extend(found);
    drop(server);

    // A cohort: the dashboard and a student's site.
    let cohort = tmp.path().join("cohort");
    RepoBuilder::demo(&cohort.join("students/ada"));
    std::fs::write(
        cohort.join("roster.yaml"),
        "title: Accessibility cohort\nstudents:\n  - name: Ada Lovelace\n    repo: students/ada\n  - name: Nobody\n    repo: students/missing\n",
    )
    .unwrap();
    let (server, base, out) = serve(&cohort, "cohort");
    let mut command = common::clinic_command();
    command
        .arg("cohort")
        .arg(cohort.join("roster.yaml"))
        .arg("--out")
        .arg(&out)
        .args(["--base-url", &base]);
    let run = common::run(command);
    assert!(run.code == 0 || run.code == 1, "cohort: {}", run.stderr);
    let (n, found) = audit(&mut browser, &axe, &base, &out);
    audited += n;
    all.extend(found);
    drop(server);

    assert!(audited > 60, "only {audited} pages audited");
    assert!(
        all.is_empty(),
        "{} axe violations over {audited} pages (light and dark):\n{}",
        all.len(),
        all.join("\n")
    );
}
