//! Full-text search: the index a build writes (`search-index.json`: every handbook and portfolio
//! page, URLs under the base path, text only), the switch that leaves it out, and the box in
//! headless Chromium on a site served under a subpath, as on GitHub Pages: typed queries find
//! pages, the keyboard reaches the results, Enter opens the search page, and with JavaScript off
//! the header links to a page that says search needs it. `CLINIC_UPDATE_DOCS=1` rewrites
//! `docs/search.png`.

mod common;

use std::path::Path;

use serde_json::{json, Value};

use common::browser::{browser_available, Browser, StaticServer};
use common::git::RepoBuilder;
use common::{build_into, list_files, read_output};

/// The demo repository (all four records), written into `<tmp>/demo`.
fn demo(tmp: &Path) -> RepoBuilder {
    RepoBuilder::demo(&tmp.join("demo"))
}

fn index(out: &Path) -> Value {
    serde_json::from_str(&read_output(out, "search-index.json")).expect("the index is JSON")
}

/// The (title, url) of every document in the index.
fn titles_and_urls(index: &Value) -> Vec<(String, String)> {
    index["docs"]
        .as_array()
        .expect("docs")
        .iter()
        .map(|d| (d[0].as_str().unwrap().into(), d[1].as_str().unwrap().into()))
        .collect()
}

#[test]
fn the_index_holds_every_handbook_and_portfolio_page_under_the_base_path() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = demo(tmp.path());
    let out = tmp.path().join("out");
    build_into(
        repo.root(),
        &out,
        &["--base-url", "https://ada-example.github.io/orders-api/"],
    )
    .expect_code(0);
    let index = index(&out);
    assert_eq!(index["version"], 1);
    assert_eq!(
        index["index"]["version"], "0.9.5",
        "elasticlunr.js's format"
    );
    let docs = titles_and_urls(&index);
    // Every page of the site is a document, once, but the not-found page, the search page and
    // the print view (every portfolio page again).
    let pages: Vec<String> = list_files(&out)
        .into_iter()
        .filter(|f| {
            f.ends_with("index.html")
                && f != "search/index.html"
                && f != "portfolio/print/index.html"
        })
        .map(|f| format!("/orders-api/{}", f.trim_end_matches("index.html")))
        .collect();
    let mut urls: Vec<String> = docs.iter().map(|(_, u)| u.clone()).collect();
    urls.sort();
    let mut expected = pages.clone();
    expected.sort();
    assert_eq!(urls, expected);
    for wanted in [
        ("Portfolio", "/orders-api/portfolio/"),
        ("Smoke drill 001", "/orders-api/portfolio/smoke-drills/001/"),
        (
            "The expand-contract pattern",
            "/orders-api/patterns/expand-contract/",
        ),
    ] {
        assert!(
            docs.iter().any(|(t, u)| t == wanted.0 && u == wanted.1),
            "{wanted:?} is not in {docs:?}"
        );
    }
    // Snippets are text: no tag of the page is left in them.
    for doc in index["docs"].as_array().unwrap() {
        let snippet = doc[2].as_str().unwrap();
        assert!(
            !snippet.contains("<span") && !snippet.contains("<p>"),
            "{snippet}"
        );
        assert!(snippet.chars().count() <= 242, "{snippet}");
    }
    // Every page links the search page and names the index under the base path.
    let page = read_output(&out, "patterns/expand-contract/index.html");
    for needle in [
        "data-index=\"/orders-api/search-index.json\"",
        "data-engine=\"/orders-api/static/elasticlunr.min.js\"",
        "href=\"/orders-api/search/\"",
        "<script src=\"/orders-api/static/search.js\" defer></script>",
    ] {
        assert!(page.contains(needle), "{needle} is not in the page");
    }
    let search_page = read_output(&out, "search/index.html");
    assert!(search_page.contains("<noscript>"), "{search_page}");
    assert!(search_page.contains("noindex"));
    for file in [
        "static/search.js",
        "static/elasticlunr.min.js",
        "static/elasticlunr.LICENSE.txt",
    ] {
        assert!(out.join(file).is_file(), "{file} was not copied");
    }

    // A second build writes the same index, byte for byte.
    let again = tmp.path().join("again");
    build_into(
        repo.root(),
        &again,
        &["--base-url", "https://ada-example.github.io/orders-api/"],
    )
    .expect_code(0);
    assert_eq!(
        read_output(&out, "search-index.json"),
        read_output(&again, "search-index.json")
    );
}

#[test]
fn search_false_leaves_out_the_box_the_page_and_the_index() {
    let site = common::empty_site();
    std::fs::write(site.root.join("clinic.yaml"), "search: false\n").unwrap();
    let out = site.tmp.path().join("out");
    let run = build_into(&site.root, &out, &[]);
    run.expect_code(0);
    assert!(!out.join("search-index.json").exists());
    assert!(!out.join("search").exists());
    let home = read_output(&out, "index.html");
    assert!(!home.contains("site-search"), "the box is still there");
    assert!(!home.contains("<script"), "{home}");
}

#[test]
fn a_content_page_cannot_take_the_search_page_address() {
    let site = common::empty_site();
    std::fs::create_dir_all(site.root.join("content")).unwrap();
    std::fs::write(
        site.root.join("content/search.md"),
        "---\ntitle: Mine\n---\nmine\n",
    )
    .unwrap();
    let out = site.tmp.path().join("out");
    build_into(&site.root, &out, &["--strict"])
        .expect_code(1)
        .expect_stderr("the search page, which owns /search/");
}

// ---- In Chromium --------------------------------------------------------------------------------

/// Types text into the focused element, as a keyboard would (fires `input` events).
fn type_text(browser: &mut Browser, text: &str) {
    browser.call("Input.insertText", json!({ "text": text }));
}

/// Presses and releases one key (`ArrowDown`, `Enter`, `Escape`) on the focused element.
fn press(browser: &mut Browser, key: &str, code: u32) {
    for kind in ["rawKeyDown", "keyUp"] {
        let mut event =
            json!({"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code});
        if key == "Enter" && kind == "rawKeyDown" {
            event["type"] = json!("keyDown");
            event["text"] = json!("\r");
        }
        browser.call("Input.dispatchKeyEvent", event);
    }
}

#[test]
fn typing_in_the_box_finds_pages_under_a_subpath_and_the_keyboard_reaches_them() {
    if browser_available().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = demo(tmp.path());
    let served = tmp.path().join("served");
    let server = StaticServer::start(served.clone());
    let base = format!("http://127.0.0.1:{}/orders-api/", server.port);
    build_into(
        repo.root(),
        &served.join("orders-api"),
        &["--base-url", &base],
    )
    .expect_code(0);
    let mut browser = Browser::launch(
        &tmp.path().join("profile"),
        &tmp.path().join("chromium.log"),
    );
    browser.viewport(1280, 900, false);
    browser.color_scheme("light");

    browser.open(&format!("{base}patterns/"));
    browser.wait_for(
        "document.querySelector('.site-search').dataset.ready === 'true'",
        "the search box never became ready",
    );
    let visible = browser.eval(
        "[document.querySelector('.site-search-input').checkVisibility(), \
          document.querySelector('.site-search-link').checkVisibility()]",
    );
    assert_eq!(
        visible,
        json!([true, false]),
        "with JavaScript, the box shows"
    );
    // Nothing is fetched until the box is used.
    assert!(!server
        .served
        .lock()
        .unwrap()
        .contains("/orders-api/search-index.json"));

    browser.eval("document.querySelector('.site-search-input').focus()");
    type_text(&mut browser, "rollback rehearsal");
    browser.wait_for(
        "!document.querySelector('.site-search-results').hidden && \
         document.querySelectorAll('.site-search-list li').length > 0",
        "no results appeared for `rollback rehearsal`",
    );
    let results = browser.eval(
        "({status: document.querySelector('.site-search-status').textContent,
           links: [...document.querySelectorAll('.site-search-list a')].map(a => [a.textContent, a.getAttribute('href')]),
           marks: [...document.querySelectorAll('.site-search-list mark')].map(m => m.textContent.toLowerCase()),
           panelVisible: document.querySelector('.site-search-results').checkVisibility()})",
    );
    let links = results["links"].as_array().unwrap();
    assert!(
        links.len() >= 2 && links.len() <= 8,
        "at most 8 results under the box: {results}"
    );
    assert!(
        links
            .iter()
            .all(|l| l[1].as_str().unwrap().starts_with("/orders-api/")),
        "a result outside the base path: {results}"
    );
    assert!(
        links.iter().any(|l| l[0] == "Exercise: rollback rehearsal"),
        "{results}"
    );
    assert!(
        links
            .iter()
            .any(|l| l[1].as_str().unwrap().starts_with("/orders-api/portfolio/")),
        "the portfolio's rehearsal record is a result: {results}"
    );
    assert!(
        results["marks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "rollback"),
        "the query's words are marked in the snippets: {results}"
    );
    assert_eq!(results["panelVisible"], true);
    assert!(
        results["status"].as_str().unwrap().contains("match"),
        "{results}"
    );
    let shot = tmp.path().join("search.png");
    browser.screenshot(&shot);

    // The keyboard: down into the results, up back to the box, Escape closes.
    press(&mut browser, "ArrowDown", 40);
    let focused = browser.eval("document.activeElement.className");
    assert_eq!(
        focused, "search-title",
        "ArrowDown focuses the first result"
    );
    press(&mut browser, "ArrowDown", 40);
    press(&mut browser, "ArrowUp", 38);
    press(&mut browser, "ArrowUp", 38);
    assert_eq!(
        browser.eval("document.activeElement.id"),
        "site-search-input"
    );
    press(&mut browser, "Escape", 27);
    assert_eq!(
        browser.eval("document.querySelector('.site-search-results').hidden"),
        true
    );

    // Enter opens the search page with every result.
    browser.eval("document.querySelector('.site-search-input').value = ''");
    type_text(&mut browser, "smoke");
    press(&mut browser, "Enter", 13);
    browser.wait_for(
        "location.pathname === '/orders-api/search/' && \
         document.querySelectorAll('.search-page-list li').length > 8",
        "Enter did not open the search page with every result for `smoke`",
    );
    let page = browser.eval(
        "[location.search, document.querySelector('.site-search-input').value, \
          document.querySelector('.search-page-status').textContent]",
    );
    assert_eq!(page[0], "?q=smoke", "{page}");
    assert_eq!(page[1], "smoke", "the box shows the query: {page}");
    assert!(
        page[2].as_str().unwrap().ends_with("pages match."),
        "{page}"
    );

    // A query with no match says so.
    browser.open(&format!("{base}search/?q=zzzzqqq"));
    browser.wait_for(
        "document.querySelector('.search-page-status').textContent === 'No page matches.'",
        "no answer for a query without results",
    );

    // Without JavaScript: the header links to the search page, which says why it is empty.
    browser.call(
        "Emulation.setScriptExecutionDisabled",
        json!({"value": true}),
    );
    browser.open(&format!("{base}patterns/"));
    let without = browser.eval(
        "[document.querySelector('.site-search-input').checkVisibility(), \
          document.querySelector('.site-search-link').checkVisibility(), \
          document.querySelector('.site-search-link').href]",
    );
    assert_eq!(
        without,
        json!([false, true, format!("{base}search/")]),
        "without JavaScript the link shows"
    );
    browser.open(&format!("{base}search/"));
    let text = browser.eval("document.querySelector('main').innerText");
    assert!(
        text.as_str().unwrap().contains("needs JavaScript"),
        "{text}"
    );

    drop(browser);
    // CLINIC_UPDATE_DOCS=1 rewrites the README's picture, as tests/portfolio.rs does.
    if std::env::var("CLINIC_UPDATE_DOCS").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::copy(&shot, docs.join("search.png")).unwrap();
    }
    let misses = server.misses.lock().unwrap().clone();
    let misses: Vec<&String> = misses.iter().filter(|p| *p != "/favicon.ico").collect();
    assert!(
        misses.is_empty(),
        "the browser asked for missing files: {misses:?}"
    );
}
