//! The print view an instructor grades from (`portfolio/print/`): every portfolio page once, in
//! order, with unique ids; the stamp (commit, its date, build time, clinic version) on it and on
//! every portfolio page; and in headless Chromium, printed to PDF on A4 and Letter from a reader
//! in dark mode: no navigation, light colours, a new sheet per record, links written out.
//! `CLINIC_UPDATE_DOCS=1` rewrites `docs/print.png`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use common::browser::{base64_decode, browser_available, Browser, StaticServer};
use common::git::RepoBuilder;
use common::{attributes, read_output};

/// 2026-11-02 10:00:00 UTC, as `SOURCE_DATE_EPOCH`.
const BUILT: &str = "1793613600";

/// Builds the demo repository into `out` with a fixed build time and the given base URL.
fn build_demo(tmp: &Path, out: &Path, base_url: &str) -> RepoBuilder {
    let repo = RepoBuilder::demo(&tmp.join("demo"));
    let mut command = common::clinic_command();
    command
        .env("SOURCE_DATE_EPOCH", BUILT)
        .args(["build", "--root"])
        .arg(repo.root())
        .arg("--out")
        .arg(out)
        .args(["--base-url", base_url]);
    common::run(command).expect_code(0);
    repo
}

/// The record pages of the portfolio, from `evidence.json`.
fn record_count(out: &Path) -> usize {
    let evidence: Value = serde_json::from_str(&read_output(out, "evidence.json")).unwrap();
    evidence["badges"]
        .as_object()
        .unwrap()
        .values()
        .map(|b| b["items"].as_array().map_or(0, Vec::len))
        .sum()
}

#[test]
fn the_print_view_holds_every_portfolio_page_once_with_unique_ids_and_the_stamp() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    build_demo(
        tmp.path(),
        &out,
        "https://ada-example.github.io/orders-api/",
    );
    let print = read_output(&out, "portfolio/print/index.html");

    // The portfolio page, one section per record, the timeline.
    let records = record_count(&out);
    assert!(records >= 4, "the demo has a record per skill");
    let sections: Vec<&str> = print
        .split("<section class=\"print-section\"")
        .skip(1)
        .collect();
    assert_eq!(sections.len(), records + 2, "{print}");
    assert!(sections[0].starts_with(" id=\"portfolio\""));
    assert!(sections[records + 1].starts_with(" id=\"portfolio-timeline\""));
    for needle in [
        "id=\"portfolio-rehearsals-",
        "id=\"portfolio-migrations-",
        "id=\"portfolio-smoke-drills-001\"",
        "id=\"portfolio-flags-",
        // The SQL, the smoke script and its wiring, the timelines.
        "portfolio-smoke-drills-001-script-title",
        "portfolio-smoke-drills-001-wiring-title",
        "<svg",
    ] {
        assert!(print.contains(needle), "{needle} is not in the print view");
    }

    // Unique ids, and every label and in-page link points at one.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for a in attributes(&print) {
        if a.name == "id" {
            *seen.entry(a.value).or_default() += 1;
        }
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicates.is_empty(), "duplicate ids: {duplicates:?}");
    for a in attributes(&print) {
        let targets: Vec<String> = match a.name.as_str() {
            "aria-labelledby" => a.value.split(' ').map(String::from).collect(),
            "href" if a.value.starts_with('#') && a.value.len() > 1 => {
                vec![a.value[1..].to_string()]
            }
            _ => continue,
        };
        for target in targets {
            assert!(
                seen.contains_key(&target),
                "{} names no id: {target}",
                a.name
            );
        }
    }

    // The stamp: on the print view and on every portfolio page.
    let evidence: Value = serde_json::from_str(&read_output(&out, "evidence.json")).unwrap();
    let head = evidence["repository"]["head"].as_str().unwrap();
    assert!(
        evidence["repository"]["head_date"].is_string(),
        "{evidence}"
    );
    assert!(evidence["repository"]["head_time"].is_i64());
    let expected = format!("<code title=\"{head}\">{}</code>", &head[..12]);
    let pages = [
        "portfolio/print/",
        "portfolio/",
        "portfolio/timeline/",
        "portfolio/smoke-drills/001/",
    ];
    for page in pages {
        let html = read_output(&out, &format!("{page}index.html"));
        let stamp = common::between(&html, "<p class=\"stamp\" data-search-skip>", "</p>");
        assert!(stamp.contains(&expected), "{page}: {stamp}");
        assert!(
            stamp.contains("built 2026-11-02 11:00 +01:00"),
            "{page}: {stamp}"
        );
        assert!(stamp.contains(&format!("clinic {}", env!("CARGO_PKG_VERSION"))));
    }
    // The portfolio links the print view.
    let portfolio = read_output(&out, "portfolio/index.html");
    assert!(portfolio.contains("href=\"/orders-api/portfolio/print/\""));
}

/// `{pages, bytes}` of a PDF printed by Chromium on a sheet of `width` x `height` inches.
fn print_pdf(browser: &mut Browser, width: f64, height: f64) -> (usize, Vec<u8>) {
    let pdf = browser.call(
        "Page.printToPDF",
        json!({"paperWidth": width, "paperHeight": height, "printBackground": true}),
    );
    let bytes = base64_decode(pdf["data"].as_str().expect("PDF data"));
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    // Page objects: `/Type /Page` but not `/Type /Pages`.
    let text = String::from_utf8_lossy(&bytes);
    let pages = text
        .match_indices("/Type /Page")
        .filter(|(i, m)| !text[i + m.len()..].starts_with('s'))
        .count();
    (pages, bytes)
}

#[test]
fn the_print_view_prints_a_sheet_per_record_in_light_colours_from_dark_mode() {
    if browser_available().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    let server = StaticServer::start(served.clone());
    let base = format!("http://127.0.0.1:{}/orders-api/", server.port);
    build_demo(tmp.path(), &served.join("orders-api"), &base);
    let records = record_count(&served.join("orders-api"));

    let mut browser = Browser::launch(
        &tmp.path().join("profile"),
        &tmp.path().join("chromium.log"),
    );
    browser.viewport(900, 1200, false);
    browser.color_scheme("dark");
    browser.open(&format!("{base}portfolio/print/"));
    let screen = browser.eval("getComputedStyle(document.body).backgroundColor");
    assert_eq!(screen, "rgb(13, 17, 23)", "on screen, dark mode is dark");

    // Print media, with the reader still in dark mode.
    browser.call(
        "Emulation.setEmulatedMedia",
        json!({"media": "print", "features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    let printed = browser.eval(
        "(() => {
            const style = (e) => getComputedStyle(e);
            const shown = (sel) => [...document.querySelectorAll(sel)].filter(e => e.checkVisibility()).length;
            const link = document.querySelector('.print-section .artifact-list a');
            const code = document.querySelector('.print-section pre');
            return {
                background: style(document.body).backgroundColor,
                color: style(document.body).color,
                codeBackground: code ? style(code).backgroundColor : null,
                header: shown('.site-header'), nav: shown('.site-nav'), footer: shown('.site-footer'),
                search: shown('.site-search'), breadcrumbs: shown('.breadcrumb'),
                sections: [...document.querySelectorAll('.print-section')].map(s => style(s).breakBefore),
                linkAfter: link ? getComputedStyle(link, '::after').content : null,
                linkHref: link ? link.getAttribute('href') : null,
                stamp: document.querySelector('.print-view > .stamp').textContent,
            };
        })()",
    );
    assert_eq!(printed["background"], "rgb(255, 255, 255)", "{printed}");
    assert_eq!(printed["color"], "rgb(0, 0, 0)", "{printed}");
    for hidden in ["header", "nav", "footer", "search", "breadcrumbs"] {
        assert_eq!(printed[hidden], 0, "{hidden} is printed: {printed}");
    }
    let breaks = printed["sections"].as_array().unwrap();
    assert_eq!(breaks.len(), records + 2, "{printed}");
    assert!(breaks.iter().all(|b| b == "page"), "{printed}");
    let href = printed["linkHref"].as_str().expect("a link in a section");
    assert!(
        href.starts_with(&format!("{base}portfolio/")),
        "absolute: {href}"
    );
    assert_eq!(
        printed["linkAfter"],
        json!(format!("\" <{href}>\"")),
        "links are written out: {printed}"
    );
    assert!(
        printed["stamp"]
            .as_str()
            .unwrap()
            .contains("built 2026-11-02"),
        "{printed}"
    );
    let code_background = printed["codeBackground"].as_str().unwrap_or("");
    assert_ne!(
        code_background, "rgb(21, 27, 35)",
        "code stays light: {printed}"
    );

    let shot = tmp.path().join("print.png");
    browser.screenshot(&shot);

    // A PDF on A4 and on Letter: at least a sheet per section, each section starting a sheet.
    for (paper, width, height) in [("A4", 8.27, 11.69), ("Letter", 8.5, 11.0)] {
        let (pages, bytes) = print_pdf(&mut browser, width, height);
        assert!(
            pages > records + 1,
            "{paper}: {pages} pages for {} sections",
            records + 2
        );
        std::fs::write(tmp.path().join(format!("print-{paper}.pdf")), bytes).unwrap();
    }

    drop(browser);
    if std::env::var("CLINIC_UPDATE_DOCS").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::copy(&shot, docs.join("print.png")).unwrap();
    }
    let misses = server.misses.lock().unwrap().clone();
    let misses: Vec<&String> = misses.iter().filter(|p| *p != "/favicon.ico").collect();
    assert!(misses.is_empty(), "missing files: {misses:?}");
}
