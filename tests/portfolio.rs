//! The portfolio as a reader meets it: the demo repository's site (every artifact page, every
//! commit link with a full id that exists, every internal link under `/` and under a project
//! pages base path, every SVG well-formed XML), the handbook pages that show the student's live
//! evidence, the badges and timelines as rendered by headless Chromium (with the screenshots in
//! `docs/`, rewritten when `CLINIC_UPDATE_DOCS=1`), and a repository whose every field carries an
//! HTML or script payload, which must come out as visible text with nothing executed.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};

use common::browser::{browser_available, png_size, Browser, StaticServer};
use common::git::{temp_dir, RepoBuilder};
use common::links::broken_links;
use common::{attributes, between, build_into, decode_entities, list_files, read_output};

/// The web host of the demo's `origin` (https://github.com/ada-example/orders-api.git).
const DEMO_WEB: &str = "https://github.com/ada-example/orders-api";
/// A GitHub Pages project site, as `clinic init`'s workflow builds for.
const PAGES_BASE: &str = "https://someone.github.io/portfolio/";
/// The base URL of a build without `--base-url`: links start at `/`, and nothing points here.
const NO_BASE: &str = "https://clinic.invalid/";

/// The demo's artifact pages, as `portfolio::item_path` names them (the file stem, slugified).
const DEMO_ARTIFACTS: [(&str, &str); 4] = [
    ("rehearsal", "portfolio/rehearsals/001/"),
    ("migration", "portfolio/migrations/display-name/"),
    ("smoke", "portfolio/smoke-drills/001/"),
    ("flag", "portfolio/flags/new_checkout/"),
];
const BADGES: [&str; 4] = ["rehearsal", "migration", "smoke", "flag"];
/// The handbook's exercise for each badge.
const EXERCISES: [(&str, &str); 4] = [
    ("rehearsal", "exercises/rollback-rehearsal/"),
    ("migration", "exercises/expand-contract-migration/"),
    ("smoke", "exercises/smoke-gate/"),
    ("flag", "exercises/feature-flag-lifecycle/"),
];

// ---- Helpers ------------------------------------------------------------------------------------

/// The demo repository, written into `<tmp>/demo`.
fn demo(tmp: &Path) -> RepoBuilder {
    RepoBuilder::demo(&tmp.join("demo"))
}

/// `clinic build --root root --out out [--base-url base]`, which must succeed.
fn build(root: &Path, out: &Path, base_url: Option<&str>) {
    let extra: Vec<&str> = base_url.map(|b| vec!["--base-url", b]).unwrap_or_default();
    build_into(root, out, &extra).expect_code(0);
}

/// Every HTML file of the output: (relative path, text).
fn html_files(out: &Path) -> Vec<(String, String)> {
    list_files(out)
        .into_iter()
        .filter(|f| f.ends_with(".html"))
        .map(|f| {
            let text = read_output(out, &f);
            (f, text)
        })
        .collect()
}

/// The `<svg>...</svg>` elements written inline in an HTML page.
fn inline_svgs(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let len = rest[start..]
            .find("</svg>")
            .unwrap_or_else(|| panic!("an <svg> is never closed:\n{}", &rest[start..]));
        found.push(&rest[start..start + len + "</svg>".len()]);
        rest = &rest[start + len..];
    }
    found
}

/// Parses an SVG as XML and checks that it is one: an `<svg>` root in the SVG namespace, with an
/// accessible `<title>`. Returns all of its text, for checks on what it says.
#[track_caller]
fn parse_svg(svg: &str, origin: &str) -> String {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("{origin}: an SVG that is not well-formed XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(
        root.tag_name().name(),
        "svg",
        "{origin}: the root is not <svg>"
    );
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg"),
        "{origin}: the <svg> is not in the SVG namespace"
    );
    assert!(
        root.children().any(|n| n.has_tag_name("title")),
        "{origin}: an SVG without a <title>:\n{svg}"
    );
    doc.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every SVG of the output (files and inline drawings) parsed; returns (files, inline) counts.
#[track_caller]
fn assert_every_svg_parses(out: &Path) -> (usize, usize) {
    let files: Vec<String> = list_files(out)
        .into_iter()
        .filter(|f| f.ends_with(".svg"))
        .collect();
    for file in &files {
        parse_svg(&read_output(out, file), file);
    }
    let mut inline = 0;
    for (rel, html) in html_files(out) {
        for svg in inline_svgs(&html) {
            parse_svg(svg, &rel);
            inline += 1;
        }
    }
    (files.len(), inline)
}

/// What a reader sees of an HTML document: the text without its tags (attribute values
/// included, quoted `>` and all), character references decoded. The output escapes every `<` in
/// text, so every `<` opens a tag.
fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut quote = None;
    for c in html.chars() {
        match (in_tag, quote, c) {
            (false, _, '<') => in_tag = true,
            (false, _, c) => text.push(c),
            (true, None, '"' | '\'') => quote = Some(c),
            (true, Some(q), c) if c == q => quote = None,
            (true, None, '>') => in_tag = false,
            (true, _, _) => {}
        }
    }
    decode_entities(&text)
}

/// Text with every run of white space made one space.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `href`s on `<a>` elements of a page, with the element's other attributes.
fn anchors(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    attributes(html)
        .into_iter()
        .filter(|a| a.tag == "a" && a.name == "href")
        .map(|a| (a.value, a.siblings))
        .collect()
}

/// The `src` of every `<img>` of a page.
fn image_sources(html: &str) -> BTreeSet<String> {
    attributes(html)
        .into_iter()
        .filter(|a| a.tag == "img" && a.name == "src")
        .map(|a| a.value)
        .collect()
}

fn attribute<'a>(siblings: &'a [(String, String)], name: &str) -> Option<&'a str> {
    siblings
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The badge states in `evidence.json`, in the order of [`BADGES`].
fn evidence_states(out: &Path) -> Vec<String> {
    let evidence: Value = serde_json::from_str(&read_output(out, "evidence.json")).unwrap();
    BADGES
        .iter()
        .map(|b| evidence["badges"][b]["state"].as_str().unwrap().to_string())
        .collect()
}

/// The state pills in the evidence checklist's "Your badges right now" box, in page order.
fn checklist_states(out: &Path) -> Vec<String> {
    let html = read_output(out, "evidence-checklist/index.html");
    let aside = between(
        &html,
        "<aside class=\"evidence-box evidence-checklist\"",
        "</aside>",
    );
    aside
        .split("<p class=\"evidence-box-state\">")
        .skip(1)
        .map(|card| {
            let pill = between(card, "<span class=\"badge badge-", "</span>");
            visible_text(pill).trim().to_string()
        })
        .collect()
}

// ---- 1. The demo repository's site --------------------------------------------------------------

#[test]
fn the_demo_site_has_every_artifact_page_badge_and_timeline() {
    let tmp = temp_dir();
    let repo = demo(tmp.path());
    let out = tmp.path().join("out");
    build(repo.root(), &out, None);

    let index = read_output(&out, "portfolio/index.html");
    let index_links: BTreeSet<String> = anchors(&index).into_iter().map(|(h, _)| h).collect();
    for (badge, page) in DEMO_ARTIFACTS {
        let html = read_output(&out, &format!("{page}index.html"));
        assert!(
            html.contains(&format!("class=\"artifact artifact-{badge}\"")),
            "{page} is not the {badge} artifact page"
        );
        assert!(
            index_links.contains(&format!("/{page}")),
            "the portfolio index does not link {page}: {index_links:?}"
        );
    }
    // The index: four badge cards, each with its state, and the badge files embedded.
    for badge in BADGES {
        assert!(
            index.contains(&format!("id=\"badge-{badge}\"")),
            "no card for {badge}"
        );
        assert!(
            image_sources(&index).contains(&format!("/badges/{badge}.svg")),
            "the index does not show badges/{badge}.svg"
        );
        let svg = read_output(&out, &format!("badges/{badge}.svg"));
        let text = parse_svg(&svg, badge);
        assert!(text.contains(&format!("{badge}: verified")), "{text}");
        assert!(
            svg.len() < 2_000,
            "badges/{badge}.svg is {} bytes",
            svg.len()
        );
    }
    assert!(visible_text(&index)
        .contains("[![Rollback rehearsal](/badges/rehearsal.svg)](/portfolio/)"));
    // The semester timeline: a drawing with every release, and the same events as a table.
    let timeline = read_output(&out, "portfolio/timeline/index.html");
    let drawings = inline_svgs(&timeline);
    assert_eq!(drawings.len(), 1, "the timeline page has no drawing");
    let drawn = parse_svg(drawings[0], "portfolio/timeline/");
    for release in [
        "v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0", "v1.6.0", "v1.7.0",
    ] {
        assert!(drawn.contains(release), "{release} is not drawn:\n{drawn}");
    }
    let rows = between(&timeline, "<tbody>", "</tbody>")
        .matches("<tr>")
        .count();
    assert_eq!(
        rows,
        drawings[0].matches("<g class=\"event").count(),
        "the table does not list every event drawn"
    );
    assert!(rows >= 8 + 9, "only {rows} events");
    // Every page drawn with a timeline a record's page carries.
    for page in [
        "portfolio/rehearsals/001/",
        "portfolio/migrations/display-name/",
        "portfolio/flags/new_checkout/",
    ] {
        let html = read_output(&out, &format!("{page}index.html"));
        assert_eq!(
            inline_svgs(&html).len(),
            1,
            "{page} has no timeline drawing"
        );
    }
    let rehearsal = squash(&visible_text(&read_output(
        &out,
        "portfolio/rehearsals/001/index.html",
    )));
    for shown in [
        "8 minutes from deployed to restored",
        "Time to detect 3 min",
        "Time to restore 5 min",
        "kubectl rollout undo deployment/orders-api -n staging",
    ] {
        assert!(
            rehearsal.contains(shown),
            "{shown:?} is not shown:\n{rehearsal}"
        );
    }

    let (files, inline) = assert_every_svg_parses(&out);
    assert!(files >= 4, "only {files} SVG files");
    assert!(inline >= 4, "only {inline} inline SVGs");
}

/// What each page must show from HEAD and must not show from the working tree.
fn assert_pages_show_committed_text(page: &dyn Fn(&str) -> String) {
    let smoke = page("portfolio/smoke-drills/001/");
    assert!(smoke.contains("check_orders"), "the script is shown");
    assert!(
        smoke.contains("Smoke suite against staging"),
        "the workflow is shown"
    );
    let migration = page("portfolio/migrations/display-name/");
    assert!(
        migration.contains("display_name"),
        "the expand SQL is shown"
    );
    for (name, html) in [("smoke", &smoke), ("migration", &migration)] {
        for marker in [
            "WORKTREE_ONLY_SMOKE",
            "WORKTREE_ONLY_WORKFLOW",
            "WORKTREE_ONLY_SQL",
        ] {
            assert!(
                !html.contains(marker),
                "the {name} page shows uncommitted text ({marker})"
            );
        }
    }
}

#[test]
fn pages_show_the_committed_text_their_badges_judged() {
    let tmp = temp_dir();
    let repo = demo(tmp.path());
    for (path, from, to) in common::WORKTREE_EDITS {
        repo.replace(path, from, to);
    }
    let out = tmp.path().join("out");
    build(repo.root(), &out, None);
    let evidence: Value = serde_json::from_str(&read_output(&out, "evidence.json")).unwrap();
    for badge in BADGES {
        assert_eq!(evidence["badges"][badge]["state"], "verified", "{badge}");
    }
    assert_pages_show_committed_text(&|path| read_output(&out, &format!("{path}index.html")));
}

#[test]
fn every_commit_link_carries_a_full_id_that_exists_with_its_summary_on_hover() {
    let tmp = temp_dir();
    let repo = demo(tmp.path());
    let out = tmp.path().join("out");
    build(repo.root(), &out, None);
    let git = repo.repo();

    let commit_prefix = format!("{DEMO_WEB}/commit/");
    let release_prefix = format!("{DEMO_WEB}/releases/tag/");
    let mut commits = 0;
    let mut releases = 0;
    let mut pages_with_commits = BTreeSet::new();
    let mut problems = Vec::new();
    for (rel, html) in html_files(&out) {
        for (href, siblings) in anchors(&html) {
            if let Some(id) = href.strip_prefix(&commit_prefix) {
                commits += 1;
                pages_with_commits.insert(rel.clone());
                if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    problems.push(format!("{rel}: {href} is not a full commit id"));
                    continue;
                }
                let Ok(commit) = git.find_commit(git2::Oid::from_str(id).unwrap()) else {
                    problems.push(format!("{rel}: {href} names no commit of the repository"));
                    continue;
                };
                let summary = commit.summary().unwrap().to_string();
                match attribute(&siblings, "title") {
                    Some(title) if title.contains(id) && title.contains(&summary) => {}
                    title => problems.push(format!(
                        "{rel}: {href} has title {title:?}, not the full id and {summary:?}"
                    )),
                }
            } else if let Some(tag) = href.strip_prefix(&release_prefix) {
                releases += 1;
                if git.find_reference(&format!("refs/tags/{tag}")).is_err() {
                    problems.push(format!("{rel}: {href} names no tag of the repository"));
                }
            } else if href.starts_with(DEMO_WEB) && !href.contains("/actions/runs/") {
                problems.push(format!("{rel}: {href} is neither a commit nor a release"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(commits >= 15, "only {commits} commit links");
    assert!(releases >= 8, "only {releases} release links");
    for (_, page) in DEMO_ARTIFACTS {
        assert!(
            pages_with_commits.contains(&format!("{page}index.html")),
            "{page} links no commit: {pages_with_commits:?}"
        );
    }
    // The smoke drill names its commits by 7-character ids; the page links the full ones.
    let drill = read_output(&out, "portfolio/smoke-drills/001/index.html");
    for short in ["3da2e8c", "ad44b83"] {
        let full = git.revparse_single(short).unwrap().id().to_string();
        assert!(
            anchors(&drill)
                .iter()
                .any(|(href, _)| *href == format!("{DEMO_WEB}/commit/{full}")),
            "{short} is not linked as {full}"
        );
        assert!(drill.contains(&format!("<code>{short}</code>")));
    }
}

#[test]
fn every_internal_link_and_asset_resolves_at_the_root_and_under_a_base_path() {
    let tmp = temp_dir();
    let repo = demo(tmp.path());
    for (name, base) in [("root", None), ("pages", Some(PAGES_BASE))] {
        let out = tmp.path().join(name);
        build(repo.root(), &out, base);
        let (broken, followed) = broken_links(&out, base.unwrap_or(NO_BASE));
        assert!(
            broken.is_empty(),
            "{name}: {} broken links:\n{}",
            broken.len(),
            broken.join("\n")
        );
        assert!(followed > 200, "{name}: only {followed} links followed");
        // The portfolio pages are reached, not only present.
        let prefix = if base.is_some() { "/portfolio/" } else { "/" };
        let index = read_output(&out, "portfolio/index.html");
        let hrefs: BTreeSet<String> = anchors(&index).into_iter().map(|(h, _)| h).collect();
        for (_, page) in DEMO_ARTIFACTS {
            assert!(hrefs.contains(&format!("{prefix}{page}")), "{name}: {page}");
        }
        assert!(hrefs.contains(&format!("{prefix}portfolio/timeline/")));
        let images = image_sources(&index);
        for badge in BADGES {
            let src = format!("{prefix}badges/{badge}.svg");
            assert!(images.contains(&src), "{name}: no <img src={src:?}>");
        }
        let (files, _) = assert_every_svg_parses(&out);
        assert!(files >= 4);
    }
    // The embed snippet names the badges by their permanent, absolute address.
    let index = visible_text(&read_output(
        &tmp.path().join("pages"),
        "portfolio/index.html",
    ));
    assert!(
        index.contains(&format!(
            "[![Smoke gate]({PAGES_BASE}badges/smoke.svg)]({PAGES_BASE}portfolio/)"
        )),
        "{index}"
    );
}

// ---- 2. The handbook knows the student ----------------------------------------------------------

#[test]
fn the_handbook_shows_the_live_states_and_links_the_students_artifacts() {
    let tmp = temp_dir();
    let repo = demo(tmp.path());
    let out = tmp.path().join("out");
    build(repo.root(), &out, None);

    assert_eq!(checklist_states(&out), ["verified"; 4]);
    assert_eq!(evidence_states(&out), ["verified"; 4]);
    let checklist = read_output(&out, "evidence-checklist/index.html");
    let hrefs: BTreeSet<String> = anchors(&checklist).into_iter().map(|(h, _)| h).collect();
    for (badge, page) in DEMO_ARTIFACTS {
        assert!(hrefs.contains(&format!("/{page}")), "checklist: {page}");
        assert!(hrefs.contains(&format!("/portfolio/#badge-{badge}")));
    }
    for ((badge, exercise), (_, page)) in EXERCISES.iter().zip(DEMO_ARTIFACTS) {
        let html = read_output(&out, &format!("{exercise}index.html"));
        let hrefs: BTreeSet<String> = anchors(&html).into_iter().map(|(h, _)| h).collect();
        assert!(
            hrefs.contains(&format!("/{page}")),
            "{exercise} does not link the student's {page}: {hrefs:?}"
        );
        let evidence = between(&html, "<aside class=\"evidence-box", "</aside>");
        assert!(
            evidence.contains("badge badge-verified"),
            "{exercise}: {evidence}"
        );
        assert!(
            anchors(evidence)
                .iter()
                .any(|(href, _)| *href == format!("/portfolio/#badge-{badge}")),
            "{exercise}: no link to the portfolio's {badge} badge"
        );
    }
}

#[test]
fn an_empty_portfolio_says_what_to_write_first() {
    let site = common::empty_site();
    let out = site.tmp.path().join("out");
    build(&site.root, &out, None);
    let index = read_output(&out, "portfolio/index.html");
    let text = visible_text(&index);
    assert!(text.contains("Nothing recorded yet"), "{text}");
    let hrefs: BTreeSet<String> = anchors(&index).into_iter().map(|(h, _)| h).collect();
    assert!(hrefs.contains("/exercises/smoke-gate/"), "{hrefs:?}");
    assert_eq!(checklist_states(&out), ["missing"; 4]);
    for badge in BADGES {
        let text = parse_svg(&read_output(&out, &format!("badges/{badge}.svg")), badge);
        assert!(text.contains(&format!("{badge}: missing")), "{text}");
    }
}

// ---- 3. In a real browser -----------------------------------------------------------------------

/// Builds `root` for a GitHub Pages project site below `/<path>/` and serves it from a local
/// server at that path, as Pages would: returns the server and the site's local URL.
fn serve_below(root: &Path, tmp: &Path, path: &str) -> (StaticServer, String) {
    let served = tmp.join("served");
    let out = served.join(path);
    let server = StaticServer::start(served);
    build(
        root,
        &out,
        Some(&format!("https://ada-example.github.io/{path}/")),
    );
    let base = format!("http://127.0.0.1:{}/{path}/", server.port);
    (server, base)
}

fn launch(tmp: &Path) -> Browser {
    let mut browser = Browser::launch(&tmp.join("profile"), &tmp.join("chromium.log"));
    browser.viewport(1280, 900, false);
    browser.color_scheme("light");
    browser
}

/// The rendered box of every element matching `selector`: [{w, h, visible, natural, complete}].
fn boxes(browser: &mut Browser, selector: &str) -> Vec<Value> {
    let script = format!(
        "[...document.querySelectorAll({selector:?})].map(e => {{
            e.scrollIntoView({{block: 'center'}});
            const r = e.getBoundingClientRect();
            return {{w: r.width, h: r.height, visible: e.checkVisibility({{visibilityProperty: true, opacityProperty: true}}),
                     natural: e.naturalWidth === undefined ? null : e.naturalWidth,
                     complete: e.complete === undefined ? null : e.complete}};
        }})"
    );
    let found = browser.eval(&script);
    found.as_array().cloned().unwrap_or_default()
}

#[track_caller]
fn assert_visible(found: &[Value], count: usize, what: &str) {
    assert_eq!(found.len(), count, "{what}: {found:?}");
    for b in found {
        assert!(
            b["w"].as_f64().unwrap_or(0.0) > 0.0 && b["h"].as_f64().unwrap_or(0.0) > 0.0,
            "{what} has no rendered size: {found:?}"
        );
        assert_eq!(b["visible"], json!(true), "{what} is hidden: {found:?}");
        if !b["natural"].is_null() {
            assert_eq!(b["complete"], json!(true), "{what} did not load: {found:?}");
            assert!(
                b["natural"].as_f64().unwrap_or(0.0) > 0.0,
                "{what} is a broken image: {found:?}"
            );
        }
    }
}

/// The requests the browser made that the server could not answer (a favicon aside).
fn misses(server: &StaticServer) -> Vec<String> {
    server
        .misses
        .lock()
        .unwrap()
        .iter()
        .filter(|p| !p.ends_with("/favicon.ico"))
        .cloned()
        .collect()
}

/// Screenshots saved into the temp dir, and into `docs/` when `CLINIC_UPDATE_DOCS=1`.
const SHOT_WIDTH: u32 = 1280;
const SHOT_HEIGHT: u32 = 1500;

fn screenshot(browser: &mut Browser, tmp: &Path, name: &str) {
    // A viewport as tall as the picture, so that the sticky navigation is drawn whole.
    browser.viewport(SHOT_WIDTH, SHOT_HEIGHT, false);
    browser.eval("window.scrollTo(0, 0)");
    let path = tmp.join(name);
    let png = browser.screenshot_top(&path, SHOT_WIDTH, SHOT_HEIGHT);
    browser.viewport(1280, 900, false);
    let (width, height) = png_size(&png);
    assert_eq!(width, SHOT_WIDTH);
    assert!(height > 600, "{name} is {width}x{height}");
    assert!(png.len() > 20_000, "{name} is a trivial screenshot");
    if std::env::var("CLINIC_UPDATE_DOCS").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(name), &png).unwrap();
    }
}

#[test]
fn the_badges_and_timelines_are_visible_in_chromium() {
    if browser_available().is_none() {
        return;
    }
    let tmp = temp_dir();
    let repo = demo(tmp.path());
    let (server, base) = serve_below(repo.root(), tmp.path(), "orders-api");
    let mut browser = launch(tmp.path());

    browser.open(&format!("{base}portfolio/"));
    browser.wait_for(
        "[...document.images].every(i => i.complete)",
        "the badge images did not load",
    );
    // No script but the search box's and the copy buttons'.
    assert_eq!(
        browser.eval(
            "[...document.scripts].filter(s => !/\\/static\\/(search|copy)\\.js$/.test(s.src)).length"
        ),
        json!(0)
    );
    // The four badge cards, their state pills and the four badge images.
    assert_visible(&boxes(&mut browser, ".badge-card"), 4, "badge cards");
    assert_visible(
        &boxes(&mut browser, ".badge-card-state .badge"),
        4,
        "state pills",
    );
    assert_visible(&boxes(&mut browser, ".badge-images img"), 4, "badge images");
    let pills = browser.eval(
        "[...document.querySelectorAll('.badge-card-state .badge')].map(p => [p.textContent.trim(), getComputedStyle(p).backgroundColor])",
    );
    for pill in pills.as_array().unwrap() {
        assert_eq!(pill[0], "verified", "{pills}");
        assert_ne!(
            pill[1], "rgba(0, 0, 0, 0)",
            "a pill without colour: {pills}"
        );
    }
    screenshot(&mut browser, tmp.path(), "portfolio.png");

    // An artifact page: its timeline drawn, with a marker per entry, and its state pill.
    browser.open(&format!("{base}portfolio/rehearsals/001/"));
    assert_visible(&boxes(&mut browser, "svg.timeline"), 1, "the timeline");
    assert_visible(
        &boxes(&mut browser, "svg.timeline .event circle"),
        4,
        "timeline markers",
    );
    let timeline = &boxes(&mut browser, "svg.timeline")[0];
    assert!(
        timeline["w"].as_f64().unwrap() > 400.0,
        "the timeline is drawn too small: {timeline}"
    );
    assert_visible(
        &boxes(&mut browser, ".artifact-meta .badge"),
        1,
        "the state pill",
    );
    screenshot(&mut browser, tmp.path(), "artifact.png");

    // The other drawings: migration, flag and the semester timeline.
    for page in [
        "portfolio/migrations/display-name/",
        "portfolio/flags/new_checkout/",
        "portfolio/timeline/",
    ] {
        browser.open(&format!("{base}{page}"));
        assert_visible(&boxes(&mut browser, "svg.timeline"), 1, page);
    }
    drop(browser);
    assert!(
        misses(&server).is_empty(),
        "the browser asked for missing files: {:?}",
        misses(&server)
    );
    let served = server.served.lock().unwrap().clone();
    for badge in BADGES {
        let path = format!("/orders-api/badges/{badge}.svg");
        assert!(served.contains(&path), "{path} was never served");
    }
}

#[test]
fn the_timelines_scale_to_a_phone_screen() {
    if browser_available().is_none() {
        return;
    }
    let tmp = temp_dir();
    let repo = demo(tmp.path());
    let (_server, base) = serve_below(repo.root(), tmp.path(), "orders-api");
    let mut browser = launch(tmp.path());
    browser.viewport(390, 844, true);
    for page in [
        "portfolio/rehearsals/001/",
        "portfolio/migrations/display-name/",
        "portfolio/flags/new_checkout/",
        "portfolio/timeline/",
    ] {
        browser.open(&format!("{base}{page}"));
        let found = browser.eval(
            "(() => { const s = document.querySelector('svg.timeline'), f = s.closest('figure');
                const r = s.getBoundingClientRect(), fr = f.getBoundingClientRect();
                return {left: r.left, right: r.right, width: r.width,
                        figureRight: fr.right, figureScrolls: f.scrollWidth > f.clientWidth,
                        viewport: document.documentElement.clientWidth,
                        pageScrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth}; })()",
        );
        let number = |key: &str| found[key].as_f64().unwrap();
        assert_eq!(number("viewport"), 390.0, "{page}: {found}");
        assert!(
            number("left") >= 0.0 && number("right") <= number("viewport"),
            "{page}: the drawing runs off the screen: {found}"
        );
        assert!(
            number("right") <= number("figureRight") + 0.5,
            "{page}: {found}"
        );
        assert!(
            number("width") > 250.0,
            "{page}: the drawing is not scaled to the column: {found}"
        );
        assert_eq!(found["figureScrolls"], json!(false), "{page}: {found}");
        assert_eq!(found["pageScrolls"], json!(false), "{page}: {found}");
    }
}

// ---- 4. Untrusted text stays text ---------------------------------------------------------------

/// Sets `document.title` when it runs, in each way a payload can run.
const SCRIPT: &str = "<script>document.title='pwned'</script>";
const IMG: &str = "<img src=x onerror=\"document.title='pwned'\">";
const IMG_BARE: &str = "<img src=x onerror=alert(1)>";
const SVG_ONLOAD: &str = "<svg onload=\"document.title='pwned'\">";
const IFRAME: &str = "<iframe src=\"javascript:document.title='pwned'\"></iframe>";
const JS_URL: &str = "javascript:document.title='pwned'";
/// In prose, where images are allowed: the sanitiser keeps the image and drops the handler, so
/// the browser asks for `prose.png` (and only a payload let through as markup would ask for `x`).
const PROSE_IMG: &str = "<img src=prose.png onerror=\"document.title='pwned'\">";

/// Every field of each record, and each commit message, with a payload.
const REHEARSAL_TITLE: &str = "Rehearsal <script>document.title='pwned'</script>";
const CHANGE: &str = "rename <script>document.title='pwned'</script> & co";
const DRILL_TITLE: &str = "Drill <img src=x onerror=\"document.title='pwned'\">";
const FLAG_FILE: &str = "library/raw/flags/beta<b>banner.md";
const EXPAND_UP: &str = "db/migrations/0010_<svg onload=alert(1)>.up.sql";
const EXPAND_DOWN: &str = "db/migrations/0010_<img src=x onerror=alert(1)>.down.sql";
const CONTRACT_UP: &str = "db/migrations/0011_<b>contract.up.sql";
const CONTRACT_DOWN: &str = "db/migrations/0011_\"><script>alert(1).down.sql";
const SQL_COLUMN: &str = "\"<script>document.title='pwned'</script>\"";
const RELEASE_PAYLOAD: &str = "v1.9.0<svg/onload=document.title='pwned'>";
const MSG_EXPAND: &str = "Expand <script>document.title='pwned'</script>";
const MSG_BREAK: &str = "Break <img src=x onerror=\"document.title='pwned'\"> on purpose";
const MSG_FIX: &str = "Fix <iframe src=\"javascript:document.title='pwned'\"></iframe>";
const MSG_FLAG_ON: &str = "Add beta_banner <svg onload=\"document.title='pwned'\"> off";
const MSG_FLIP: &str = "Flip beta_banner on <b onmouseover=\"document.title='pwned'\">now</b>";
const MSG_RETIRE: &str = "Retire beta_banner \"><script>document.title='pwned'</script>";

/// A YAML scalar for any text (a JSON string is a YAML double-quoted scalar).
fn yaml(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Markdown prose with raw HTML and links that would run if they were let through.
fn hostile_body(name: &str) -> String {
    format!(
        "The {name} record, told in prose that must stay visible.\n\n\
         {SCRIPT}\n\n\
         {IFRAME}\n\n\
         Inline {PROSE_IMG} and <a href=\"{JS_URL}\" onclick=\"document.title='pwned'\">a raw link</a>.\n\n\
         <div onmouseover=\"document.title='pwned'\">hover me</div>\n\n\
         [a Markdown link]({JS_URL}) and ![an image](javascript:alert(1)) and \
         [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)\n\n\
         <svg><script>document.title='pwned'</script></svg>\n\n\
         <object data=\"{JS_URL}\"></object><embed src=\"{JS_URL}\">\n\n\
         <form action=\"{JS_URL}\"><button formaction=\"{JS_URL}\">go</button></form>\n\n\
         <style>body {{ display: none }}</style>\n\n\
         <math><mi xlink:href=\"{JS_URL}\">x</mi></math>\n\n\
         ```html\n{SCRIPT}\n```\n"
    )
}

/// The demo repository, then commits whose messages, file names, tag names and records carry
/// payloads in every field the portfolio shows.
fn hostile_repo(tmp: &Path) -> RepoBuilder {
    let repo = demo(tmp);
    // The expand half, released, then a smoke drill, then a flag's life, then the contract half.
    repo.write(
        EXPAND_UP,
        &format!("ALTER TABLE users ADD COLUMN {SQL_COLUMN} text;\n"),
    );
    repo.write(
        EXPAND_DOWN,
        &format!("ALTER TABLE users DROP COLUMN {SQL_COLUMN};\n"),
    );
    repo.commit("2026-10-23 10:00", MSG_EXPAND);
    repo.tag("v1.8.0", "2026-10-23 11:00");
    let server = repo.read("app/server.py");
    repo.write(
        "app/server.py",
        &format!("{server}\n# {SCRIPT}\nBROKEN = True\n"),
    );
    let break_commit = repo.commit("2026-10-24 10:00", MSG_BREAK);
    repo.write("app/server.py", &server);
    let fix_commit = repo.commit("2026-10-24 10:30", &format!("{MSG_FIX}\n\n{SCRIPT}"));
    let flags = repo.read("config/flags.yaml");
    repo.write("config/flags.yaml", &format!("{flags}beta_banner: false\n"));
    repo.write(
        "app/banner.py",
        "from app import flags\n\n\ndef banner():\n    if flags.enabled(\"beta_banner\"):\n        return \"beta\"\n    return \"\"\n",
    );
    repo.commit("2026-10-25 09:00", MSG_FLAG_ON);
    repo.tag(RELEASE_PAYLOAD, "2026-10-25 12:00");
    repo.write("config/flags.yaml", &format!("{flags}beta_banner: true\n"));
    repo.commit("2026-10-26 09:00", MSG_FLIP);
    repo.write(
        CONTRACT_UP,
        &format!("ALTER TABLE users DROP COLUMN {SQL_COLUMN};\n"),
    );
    repo.commit("2026-10-27 09:00", &format!("Contract {IMG}"));
    repo.write("config/flags.yaml", &flags);
    repo.write("app/banner.py", "def banner():\n    return \"beta\"\n");
    repo.commit("2026-10-28 09:00", MSG_RETIRE);

    // The records, every field a payload.
    repo.write(
        "library/raw/rollback-rehearsals/001.md",
        &format!(
            "---\ntitle: {}\nenvironment: {}\nbad_release: {}\nrestored_release: v1.2.0\n\
             trigger: {}\nrestore_command: {}\ntimeline:\n\
             \x20 - at: 2026-10-02 14:03\n    mark: deployed\n    note: {}\n\
             \x20 - at: 2026-10-02 14:06\n    mark: {}\n    note: {}\n\
             \x20 - at: 2026-10-02 14:11\n    mark: restored\n    note: {}\n---\n{}",
            yaml(REHEARSAL_TITLE),
            yaml(IMG),
            yaml(&format!("v1.3.0{IMG}")),
            yaml(SVG_ONLOAD),
            yaml(&format!("kubectl rollout undo {SCRIPT}")),
            yaml(SCRIPT),
            yaml(IMG_BARE),
            yaml(IFRAME),
            yaml(SVG_ONLOAD),
            hostile_body("rehearsal"),
        ),
    );
    repo.write(
        "library/raw/migrations/display-name.md",
        &format!(
            "---\nchange: {}\nexpand:\n  up: {}\n  down: {}\ncontract:\n  up: {}\n  down: {}\n---\n{}",
            yaml(CHANGE),
            yaml(EXPAND_UP),
            yaml(EXPAND_DOWN),
            yaml(CONTRACT_UP),
            yaml(CONTRACT_DOWN),
            hostile_body("migration"),
        ),
    );
    repo.write(
        "library/raw/smoke-drills/001.md",
        &format!(
            "---\ntitle: {}\nbreak_commit: {break_commit}\nfix_commit: {fix_commit}\nci_run: {}\nobserved: {}\n---\n{}",
            yaml(DRILL_TITLE),
            yaml(JS_URL),
            yaml(&format!("check_orders failed {SCRIPT}")),
            hostile_body("drill"),
        ),
    );
    repo.write(
        "library/raw/smoke-drills/002.md",
        &format!(
            "---\nbreak_commit: {}\nfix_commit: {}\nci_run: {}\nobserved: {}\n---\n{}",
            yaml(IMG_BARE),
            yaml(SCRIPT),
            yaml("https://example.org/\" onmouseover=\"document.title='pwned'"),
            yaml(IFRAME),
            hostile_body("second drill"),
        ),
    );
    repo.write(
        FLAG_FILE,
        &format!(
            "---\nflag: {}\nkind: {}\n---\n{}",
            yaml(IMG_BARE),
            yaml(SCRIPT),
            hostile_body("flag"),
        ),
    );
    repo.write(
        "library/raw/flags/beta_banner.md",
        &format!(
            "---\nflag: beta_banner\nkind: release\ntitle: {}\n---\n{}",
            yaml(IFRAME),
            hostile_body("beta flag")
        ),
    );
    repo.commit(
        "2026-10-29 09:00",
        &format!("Write up <b>everything</b> {SCRIPT}"),
    );
    repo
}

/// Text that would run if it reached a browser as markup: a payload leaking into the output.
fn active_content(rel: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = text.to_ascii_lowercase();
    // The site's own scripts (the search box and the copy buttons, built at the root here) are
    // the only ones allowed.
    let lower = lower
        .replace("<script src=\"/static/search.js\" defer></script>", "")
        .replace("<script src=\"/static/copy.js\" defer></script>", "");
    for tag in ["<script", "<iframe", "<object", "<embed", "<form", "<style"] {
        if lower.contains(tag) && !(tag == "<style" && rel.ends_with(".svg")) {
            found.push(format!("{rel}: {tag}"));
        }
    }
    for a in attributes(text) {
        if a.name.len() > 2 && a.name.starts_with("on") {
            found.push(format!("{rel}: <{} {}={:?}>", a.tag, a.name, a.value));
        }
        let value: String = a
            .value
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect::<String>()
            .to_ascii_lowercase();
        let url_attribute = matches!(
            a.name.as_str(),
            "href" | "src" | "action" | "formaction" | "xlink:href" | "data" | "srcset"
        );
        if url_attribute
            && (value.starts_with("javascript:")
                || value.starts_with("vbscript:")
                || value.starts_with("data:"))
        {
            found.push(format!("{rel}: <{} {}={:?}>", a.tag, a.name, a.value));
        }
    }
    if lower.contains("href=\"javascript:") {
        found.push(format!("{rel}: href=\"javascript:"));
    }
    found
}

/// [`active_content`] in every text file of the output; every JSON file must parse as JSON.
fn active_content_in(out: &Path) -> Vec<String> {
    let mut leaks = Vec::new();
    for rel in list_files(out) {
        let path = out.join(&rel);
        if rel.ends_with(".json") {
            let text = std::fs::read_to_string(&path).unwrap();
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"));
        } else if [".html", ".svg", ".xml", ".css", ".txt"]
            .iter()
            .any(|e| rel.ends_with(e))
        {
            let text = std::fs::read_to_string(&path).unwrap();
            leaks.extend(active_content(&rel, &text));
        }
    }
    leaks
}

#[test]
fn the_checks_catch_a_theme_that_lets_a_commit_message_through() {
    // The checks themselves can fail: a student's theme override that marks the commit
    // summary safe puts the payload commit messages into the pages as markup.
    let tmp = temp_dir();
    let repo = hostile_repo(tmp.path());
    let commit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("theme/templates/partials/commit.html"),
    )
    .unwrap();
    assert!(commit.contains("{{ commit.summary }}"), "{commit}");
    repo.write(
        "theme/templates/partials/commit.html",
        &commit.replace("{{ commit.summary }}", "{{ commit.summary | safe }}"),
    );
    let out = tmp.path().join("out");
    build(repo.root(), &out, None);
    let leaks = active_content_in(&out).join("\n");
    for expected in [
        "portfolio/flags/beta_banner/index.html: <script",
        "portfolio/smoke-drills/001/index.html: <iframe",
    ] {
        assert!(
            leaks.contains(expected),
            "{expected} not found in:\n{leaks}"
        );
    }
}

#[test]
fn untrusted_text_in_every_field_stays_visible_text() {
    let tmp = temp_dir();
    let repo = hostile_repo(tmp.path());
    let out = tmp.path().join("out");
    build(repo.root(), &out, None);

    // Nothing of any page, drawing or feed can run: no script, handler or script URL.
    let leaks = active_content_in(&out);
    assert!(leaks.is_empty(), "active content:\n{}", leaks.join("\n"));
    let (files, inline) = assert_every_svg_parses(&out);
    assert!(
        files >= 4 && inline >= 3,
        "{files} SVG files, {inline} inline"
    );

    // Each record has its page, and the page names what the record says, as text.
    let evidence: Value = serde_json::from_str(&read_output(&out, "evidence.json")).unwrap();
    let mut pages = Vec::new();
    for badge in BADGES {
        for item in evidence["badges"][badge]["items"].as_array().unwrap() {
            pages.push((
                item["artifact"].as_str().unwrap().to_string(),
                item["title"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert_eq!(pages.len(), 7, "{pages:?}");
    let index = read_output(&out, "portfolio/index.html");
    let index_text = visible_text(&index);
    for (source, title) in &pages {
        assert!(index_text.contains(title.as_str()), "index lacks {title:?}");
        assert!(
            index_text.contains(source.as_str()),
            "index lacks {source:?}"
        );
    }
    assert!(index.contains("beta&lt;b&gt;banner.md"), "the file name");

    let page_text = |page: &str| -> (String, String) {
        let html = read_output(&out, &format!("portfolio/{page}index.html"));
        let text = visible_text(&html);
        (html, text)
    };
    let shows = |page: &str, payloads: &[&str]| {
        let (html, text) = page_text(page);
        for payload in payloads {
            assert!(
                text.contains(payload),
                "{page} does not show {payload:?} as text:\n{text}"
            );
            if payload.contains('<') {
                assert!(!html.contains(payload), "{page} has {payload:?} as markup");
            }
        }
        html
    };
    let rehearsal = shows(
        "rehearsals/001/",
        &[
            REHEARSAL_TITLE,
            IMG,
            &format!("v1.3.0{IMG}"),
            SVG_ONLOAD,
            &format!("kubectl rollout undo {SCRIPT}"),
            IMG_BARE,
            "The rehearsal record, told in prose that must stay visible.",
        ],
    );
    assert!(rehearsal.contains("&lt;script&gt;document.title="));
    // The mark is drawn on the timeline, as SVG text.
    let drawing = parse_svg(inline_svgs(&rehearsal)[0], "rehearsal timeline");
    assert!(drawing.contains(IMG_BARE), "{drawing}");

    shows(
        "migrations/display-name/",
        &[
            CHANGE,
            EXPAND_UP,
            EXPAND_DOWN,
            CONTRACT_UP,
            CONTRACT_DOWN,
            SQL_COLUMN,
            "The migration record",
        ],
    );
    let drill = shows(
        "smoke-drills/001/",
        &[
            DRILL_TITLE,
            JS_URL,
            &format!("check_orders failed {SCRIPT}"),
        ],
    );
    // Commit summaries are on hover: in title attributes, as text.
    let titles: Vec<String> = attributes(&drill)
        .into_iter()
        .filter(|a| a.name == "title")
        .map(|a| a.value)
        .collect();
    for message in [MSG_BREAK, MSG_FIX] {
        assert!(
            titles.iter().any(|t| t.contains(message)),
            "no hover shows {message:?}: {titles:?}"
        );
    }
    shows(
        "smoke-drills/002/",
        &[
            IFRAME,
            "https://example.org/\" onmouseover=\"document.title='pwned'",
        ],
    );
    shows("flags/betabbanner/", &[IMG_BARE, SCRIPT, FLAG_FILE]);
    let flag = read_output(&out, "portfolio/flags/beta_banner/index.html");
    let titles: Vec<String> = attributes(&flag)
        .into_iter()
        .filter(|a| a.name == "title")
        .map(|a| a.value)
        .collect();
    for message in [MSG_FLAG_ON, MSG_FLIP, MSG_RETIRE] {
        assert!(
            titles.iter().any(|t| t.contains(message)),
            "no hover shows {message:?}: {titles:?}"
        );
    }
    // The release named with a payload is drawn and listed on the semester timeline.
    let timeline = read_output(&out, "portfolio/timeline/index.html");
    assert!(visible_text(&timeline).contains(RELEASE_PAYLOAD));
    assert!(parse_svg(inline_svgs(&timeline)[0], "semester").contains(RELEASE_PAYLOAD));

    // The handbook's live states follow the evidence, payloads and all.
    assert_eq!(checklist_states(&out), evidence_states(&out));
}

#[test]
fn untrusted_text_runs_nothing_in_chromium() {
    if browser_available().is_none() {
        return;
    }
    let tmp = temp_dir();
    let repo = hostile_repo(tmp.path());
    let (server, base) = serve_below(repo.root(), tmp.path(), "portfolio");
    let out = tmp.path().join("served/portfolio");
    let mut browser = launch(tmp.path());

    browser.open(&format!("{base}portfolio/"));
    let artifacts = browser.eval(
        "[...document.querySelectorAll('.artifact-list a')].map(a => a.getAttribute('href'))",
    );
    let artifacts: Vec<String> = artifacts
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            h.as_str()
                .unwrap()
                .trim_start_matches("/portfolio/")
                .to_string()
        })
        .collect();
    assert_eq!(artifacts.len(), 7, "{artifacts:?}");
    let mut pages = vec!["portfolio/".to_string(), "portfolio/timeline/".to_string()];
    pages.extend(artifacts.iter().cloned());
    pages.push("evidence-checklist/".to_string());
    pages.extend(EXERCISES.iter().map(|(_, e)| e.to_string()));

    let mut headings = BTreeSet::new();
    for page in &pages {
        browser.open(&format!("{base}{page}"));
        let html = read_output(&out, &format!("{page}index.html"));
        let title = between(&html, "<title>", "</title>");
        let expected = squash(&decode_entities(
            &title["<title>".len()..title.len() - "</title>".len()],
        ));
        let seen = browser.eval(
            "({
                title: document.title,
                scripts: [...document.scripts].filter(s => !/\\/static\\/(search|copy)\\.js$/.test(s.src)).length,
                frames: document.querySelectorAll('iframe, object, embed, frame').length,
                handlers: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
                    .filter(a => a.name.startsWith('on')).map(a => e.localName + ' ' + a.name)),
                scriptUrls: [...document.querySelectorAll('[href], [src], [action]')]
                    .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))
                    .filter(u => /^\\s*(javascript|data|vbscript):/i.test(u)),
                h1: (document.querySelector('h1') || {}).textContent,
            })",
        );
        assert_eq!(seen["title"], json!(expected), "{page}: {seen}");
        assert_ne!(seen["title"], "pwned", "{page}");
        assert_eq!(seen["scripts"], 0, "{page}: {seen}");
        assert_eq!(seen["frames"], 0, "{page}: {seen}");
        assert_eq!(seen["handlers"], json!([]), "{page}: {seen}");
        assert_eq!(seen["scriptUrls"], json!([]), "{page}: {seen}");
        if artifacts.contains(page) {
            // An artifact page: its heading is the record's title, as text.
            headings.insert(seen["h1"].as_str().unwrap_or("").trim().to_string());
        }
    }
    let evidence: Value = serde_json::from_str(&read_output(&out, "evidence.json")).unwrap();
    let titles: BTreeSet<String> = BADGES
        .iter()
        .flat_map(|b| evidence["badges"][b]["items"].as_array().unwrap().clone())
        .map(|item| item["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(headings, titles);
    assert!(titles.contains(REHEARSAL_TITLE) && titles.contains(IMG_BARE));
    drop(browser);
    // A field's `<img src=x>` let through as markup would have asked the server for `x`.
    let misses: Vec<String> = misses(&server)
        .into_iter()
        .filter(|m| !m.ends_with("/prose.png"))
        .collect();
    assert!(
        misses.is_empty(),
        "the browser asked for missing files: {misses:?}"
    );
}
