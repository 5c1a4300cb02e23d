//! The built handbook in a real browser: Debian's headless `chromium`, driven over the Chrome
//! DevTools Protocol, with the site served from the output by a small static server (both in
//! `common::browser`). It checks computed styles (the stylesheet applied, light and dark, wide
//! and narrow), that a self-check card opens on a real mouse click without JavaScript, and takes
//! screenshots into the test's temp dir.

mod common;

use std::path::Path;

use serde_json::json;

use common::browser::{base64_decode, browser_available, png_size, Browser, StaticServer};

#[test]
fn the_handbook_is_styled_and_a_self_check_card_opens_in_chromium() {
    if browser_available().is_none() {
        return;
    }
    let site = common::empty_site();
    let out = site.tmp.path().join("out");
    let server = StaticServer::start(out.clone());
    let base = format!("http://127.0.0.1:{}/", server.port);
    common::build_into(&site.root, &out, &["--base-url", &base]).expect_code(0);
    let page = format!("{base}self-check/");

    let mut browser = Browser::launch(
        &site.tmp.path().join("profile"),
        &site.tmp.path().join("chromium.log"),
    );
    browser.viewport(1280, 900, false);
    browser.color_scheme("light");
    browser.open(&page);

    // The only scripts are the search's (tests/search.rs) and the copy buttons'; nothing else
    // on the page needs one.
    assert_eq!(
        browser.eval("[...document.scripts].map(s => s.src)"),
        json!([
            format!("{base}static/search.js"),
            format!("{base}static/copy.js")
        ])
    );
    // The stylesheet was fetched and parsed...
    let rules = browser.eval(
        "[...document.styleSheets].filter(s => s.href && s.href.endsWith('/static/style.css'))\
         .map(s => s.cssRules.length)[0] || 0",
    );
    assert!(
        rules.as_u64().unwrap_or(0) > 50,
        "style.css has {rules} rules in the page"
    );
    // ...and applied: computed styles, not the file's presence.
    let styles = browser.eval(
        "(() => {
            const style = (selector) => getComputedStyle(document.querySelector(selector));
            return {
                font: style('body').fontFamily,
                background: style('body').backgroundColor,
                layout: style('.layout').display,
                mainMaxWidth: style('main.main').maxWidth,
                menu: style('.nav-menu').display,
                sidebar: style('.nav-sidebar').display,
                cardBorder: style('details.card').borderLeftWidth,
                skipLink: style('.skip-link').position,
            };
        })()",
    );
    assert!(
        styles["font"].as_str().unwrap_or("").contains("system-ui"),
        "{styles}"
    );
    assert_eq!(styles["background"], "rgb(255, 255, 255)", "{styles}");
    assert_eq!(styles["layout"], "grid", "{styles}");
    assert!(
        styles["mainMaxWidth"]
            .as_str()
            .unwrap_or("")
            .ends_with("px"),
        "{styles}"
    );
    assert_eq!(
        styles["menu"], "none",
        "wide screens show the sidebar, not the menu: {styles}"
    );
    assert_eq!(styles["sidebar"], "block", "{styles}");
    assert_eq!(styles["cardBorder"], "4px", "{styles}");
    assert_eq!(styles["skipLink"], "absolute", "{styles}");

    // A self-check card opens on a real click, with no script in the page.
    let card = browser.eval(
        "(() => {
            const card = document.querySelector('details.card');
            card.scrollIntoView({block: 'center'});
            const box = card.querySelector('summary').getBoundingClientRect();
            const answer = card.querySelector(':scope > :not(summary)');
            return {
                count: document.querySelectorAll('details.card').length,
                open: card.open,
                answerVisible: answer.checkVisibility(),
                x: box.left + box.width / 2,
                y: box.top + box.height / 2,
            };
        })()",
    );
    assert!(card["count"].as_u64().unwrap_or(0) >= 5, "{card}");
    assert_eq!(card["open"], false, "the card starts closed: {card}");
    assert_eq!(
        card["answerVisible"], false,
        "a closed card hides its answer: {card}"
    );
    let closed = browser.screenshot(&site.tmp.path().join("self-check-closed.png"));
    browser.click(card["x"].as_f64().unwrap(), card["y"].as_f64().unwrap());
    browser.wait_for(
        "document.querySelector('details.card').open === true",
        "the card did not open",
    );
    let answer = browser.eval(
        "(() => {
            const answer = document.querySelector('details.card > :not(summary)');
            return [answer.checkVisibility(), answer.getBoundingClientRect().height];
        })()",
    );
    assert_eq!(answer[0], true, "the answer is not shown: {answer}");
    assert!(
        answer[1].as_f64().unwrap_or(0.0) > 10.0,
        "the answer is not shown: {answer}"
    );

    // A question with inline code reads as one sentence: the code follows its text on the
    // line, not in a column of its own.
    let flow = browser.eval(
        "(() => {
            const summary = [...document.querySelectorAll('details.card > summary')]
                .find(s => s.querySelector('code'));
            const code = summary.querySelector('code');
            const range = document.createRange();
            range.selectNodeContents(summary.firstChild);
            const text = [...range.getClientRects()].pop();
            const box = code.getClientRects()[0];
            return {gap: box.left - text.right, sameLine: Math.abs(box.top - text.top) < 8,
                    text: summary.textContent};
        })()",
    );
    assert!(
        flow["gap"].as_f64().unwrap_or(99.0).abs() < 8.0 && flow["sameLine"] == true,
        "the question breaks around its code: {flow}"
    );

    let shot_path = site.tmp.path().join("self-check.png");
    let open = browser.screenshot(&shot_path);
    assert_eq!(png_size(&open), (1280, 900));
    assert!(
        std::fs::metadata(&shot_path).unwrap().len() > 10_000,
        "a trivial screenshot"
    );
    assert_ne!(open, closed, "opening the card changed nothing on screen");

    // Dark mode follows prefers-color-scheme.
    browser.color_scheme("dark");
    let dark = browser.eval("getComputedStyle(document.body).backgroundColor");
    assert_eq!(dark, "rgb(13, 17, 23)");
    let dark_shot = browser.screenshot(&site.tmp.path().join("self-check-dark.png"));
    assert_ne!(dark_shot, open);

    // Narrow screens get the "Menu" disclosure instead of the sidebar.
    browser.color_scheme("light");
    browser.viewport(390, 844, true);
    let narrow = browser.eval(
        "[getComputedStyle(document.querySelector('.nav-menu')).display, \
          getComputedStyle(document.querySelector('.nav-sidebar')).display, \
          document.documentElement.scrollWidth <= window.innerWidth]",
    );
    assert_eq!(narrow, json!(["block", "none", true]), "at 390px wide");

    // A code block's Copy button puts its text, not its markup, on the clipboard.
    browser.viewport(1280, 900, false);
    browser.open(&format!("{base}patterns/expand-contract/"));
    browser.call_browser(
        "Browser.grantPermissions",
        json!({"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}),
    );
    let button = browser.eval(
        "(() => {
            const wrap = document.querySelector('.code-block');
            if (!wrap) return null;
            const button = wrap.querySelector('button.copy-button');
            wrap.scrollIntoView({block: 'center'});
            const box = button.getBoundingClientRect();
            return {x: box.left + box.width / 2, y: box.top + box.height / 2,
                    label: button.textContent, code: wrap.querySelector('pre code').textContent};
        })()",
    );
    assert_eq!(
        button["label"], "Copy",
        "no Copy button on a code block: {button}"
    );
    browser.click(button["x"].as_f64().unwrap(), button["y"].as_f64().unwrap());
    browser.wait_for(
        "document.querySelector('.copy-button').textContent === 'Copied'",
        "the Copy button never said Copied",
    );
    assert_eq!(
        browser.eval("navigator.clipboard.readText()"),
        button["code"],
        "the clipboard holds the code's text"
    );

    drop(browser);
    // CLINIC_SCREENSHOT_DIR=DIR keeps the screenshots for a person to look at.
    if let Some(keep) = std::env::var_os("CLINIC_SCREENSHOT_DIR") {
        std::fs::create_dir_all(&keep).unwrap();
        for name in [
            "self-check-closed.png",
            "self-check.png",
            "self-check-dark.png",
        ] {
            std::fs::copy(site.tmp.path().join(name), Path::new(&keep).join(name)).unwrap();
        }
    }
    let misses: Vec<String> = server
        .misses
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.as_str() != "/favicon.ico")
        .cloned()
        .collect();
    assert!(
        misses.is_empty(),
        "the browser asked for missing files: {misses:?}"
    );
    let served = server.served.lock().unwrap().clone();
    for needed in [
        "/self-check/",
        "/static/style.css",
        "/static/syntax-light.css",
    ] {
        assert!(
            served.contains(needed),
            "{needed} was never served: {served:?}"
        );
    }
}

#[test]
fn base64_and_png_helpers() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGk="), b"hi");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
