//! Every internal link, asset and fragment of a site built for GitHub Pages under
//! `https://someone.github.io/portfolio/` must resolve inside the output.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{copy_fixture, empty_site, list_files, read_output, Site};

const BASE_URL: &str = "https://someone.github.io/portfolio/";
const BASE_PATH: &str = "/portfolio/";

fn build_for_pages(site: &Site) -> PathBuf {
    let out = site.tmp.path().join("out");
    common::build_into(&site.root, &out, &["--base-url", BASE_URL]).expect_code(0);
    out
}

/// The output file a site path (below `/portfolio/`, no query or fragment) is served from,
/// as GitHub Pages serves it: `x/` -> `x/index.html`, `x` -> `x` or `x/index.html`.
fn served_file(out: &Path, site_path: &str) -> Option<PathBuf> {
    let decoded = common::percent_decode(site_path);
    if decoded.split('/').any(|part| part == "..") {
        return None;
    }
    let path = out.join(&decoded);
    if decoded.is_empty() || decoded.ends_with('/') {
        let index = path.join("index.html");
        return index.is_file().then_some(index);
    }
    if path.is_file() {
        return Some(path);
    }
    let index = path.join("index.html");
    index.is_file().then_some(index)
}

/// `/portfolio/a/b/` + `../c/` -> `/portfolio/a/c/`.
fn resolve_relative(page_url_path: &str, href: &str) -> String {
    let dir = &page_url_path[..=page_url_path.rfind('/').unwrap()];
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in href.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut url = format!("/{}", parts.join("/"));
    if href.ends_with('/')
        || href.ends_with("/.")
        || href.ends_with("/..")
        || href == "."
        || href == ".."
    {
        url.push('/');
    }
    url
}

/// Follows every `href`/`src` of every HTML file in `out`; returns one line per broken link.
fn broken_links(out: &Path) -> (Vec<String>, usize) {
    let html_files: Vec<String> = list_files(out)
        .into_iter()
        .filter(|f| f.ends_with(".html"))
        .collect();
    assert!(html_files.len() > 5, "too few pages: {html_files:?}");
    let mut ids_of: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut ids = |file: &Path| -> BTreeSet<String> {
        ids_of
            .entry(file.to_path_buf())
            .or_insert_with(|| common::ids(&std::fs::read_to_string(file).unwrap()))
            .clone()
    };
    let mut broken = Vec::new();
    let mut followed = 0;
    for rel in &html_files {
        let file = out.join(rel);
        let html = std::fs::read_to_string(&file).unwrap();
        // The URL path this file is served at.
        let page_url = match rel.strip_suffix("index.html") {
            Some(dir) => format!("{BASE_PATH}{dir}"),
            None => format!("{BASE_PATH}{rel}"),
        };
        for (tag, link) in common::links(&html) {
            let report = |why: &str| format!("{rel}: <{tag}> {link:?}: {why}");
            let (without_fragment, fragment) = match link.split_once('#') {
                Some((before, fragment)) => (before, Some(fragment)),
                None => (link.as_str(), None),
            };
            let target_url = without_fragment.split('?').next().unwrap_or("");
            let target_path = if target_url.is_empty() {
                page_url.clone() // `#x` or `?q`: this page
            } else if let Some(rest) = target_url.strip_prefix(BASE_URL) {
                format!("{BASE_PATH}{rest}")
            } else if target_url.starts_with("//") || has_scheme(target_url) {
                if target_url.contains("someone.github.io") {
                    broken.push(report("an absolute link to the site outside /portfolio/"));
                }
                continue; // external
            } else if target_url.starts_with(BASE_PATH) {
                target_url.to_string()
            } else if target_url.starts_with('/') {
                broken.push(report(
                    "starts with / but not /portfolio/: broken on GitHub Pages",
                ));
                continue;
            } else if rel == "404.html" {
                // GitHub Pages serves 404.html at whatever path was asked for.
                broken.push(report(
                    "a relative link in 404.html breaks below the top level",
                ));
                continue;
            } else {
                resolve_relative(&page_url, target_url)
            };
            followed += 1;
            let Some(site_path) = target_path
                .strip_prefix(BASE_PATH)
                .or_else(|| (target_path == BASE_PATH.trim_end_matches('/')).then_some(""))
            else {
                broken.push(report(&format!(
                    "resolves to {target_path}, outside /portfolio/"
                )));
                continue;
            };
            let Some(target) = served_file(out, site_path) else {
                broken.push(report(&format!("no file in the output for {target_path}")));
                continue;
            };
            if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
                let fragment = common::percent_decode(fragment);
                if target.extension().is_some_and(|e| e == "html") {
                    if !ids(&target).contains(&fragment) {
                        broken.push(report(&format!(
                            "no id=\"{fragment}\" in {}",
                            target.strip_prefix(out).unwrap().display()
                        )));
                    }
                } else {
                    broken.push(report("a fragment into a file that is not HTML"));
                }
            }
        }
    }
    (broken, followed)
}

fn has_scheme(href: &str) -> bool {
    match href.find(':') {
        Some(i) => {
            let scheme = &href[..i];
            !scheme.is_empty()
                && !scheme.contains('/')
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

/// Canonical links and sitemap entries: absolute under the base URL, each naming a page that
/// exists, and each page's canonical URL its own.
fn permalink_problems(out: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for rel in list_files(out)
        .into_iter()
        .filter(|f| f.ends_with("index.html"))
    {
        let html = read_output(out, &rel);
        let canonical: Vec<String> = common::attributes(&html)
            .into_iter()
            .filter(|a| {
                a.tag == "link"
                    && a.name == "href"
                    && a.siblings
                        .iter()
                        .any(|(n, v)| n == "rel" && v == "canonical")
            })
            .map(|a| a.value)
            .collect();
        let expected = format!("{BASE_URL}{}", rel.trim_end_matches("index.html"));
        if canonical != [expected.clone()] {
            problems.push(format!(
                "{rel}: canonical {canonical:?}, expected [{expected:?}]"
            ));
        }
    }
    let sitemap = read_output(out, "sitemap.xml");
    let locs = common::sitemap_locs(&sitemap);
    if locs.len() < 2 {
        problems.push(format!(
            "sitemap.xml has {} entries:\n{sitemap}",
            locs.len()
        ));
    }
    for loc in locs {
        match loc.strip_prefix(BASE_URL) {
            Some(path) if served_file(out, path).is_some() => {}
            Some(_) => problems.push(format!("sitemap.xml: {loc} names no page in the output")),
            None => problems.push(format!("sitemap.xml: {loc} is not under {BASE_URL}")),
        }
    }
    problems
}

#[track_caller]
fn assert_site_links_work(out: &Path) {
    let (broken, followed) = broken_links(out);
    assert!(followed > 50, "only {followed} links followed");
    assert!(
        broken.is_empty(),
        "{} broken links:\n{}",
        broken.len(),
        broken.join("\n")
    );
    let problems = permalink_problems(out);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_handbook_works_under_a_project_pages_base_url() {
    let site = empty_site();
    let out = build_for_pages(&site);
    assert!(
        out.join("self-check/index.html").is_file(),
        "{:?}",
        list_files(&out)
    );
    assert_site_links_work(&out);
}

#[test]
fn the_good_fixture_works_under_a_project_pages_base_url() {
    let site = copy_fixture("good");
    let out = build_for_pages(&site);
    let intro = read_output(&out, "guide/intro/index.html");
    for expected in [
        "href=\"/portfolio/guide/setup/#install-the-tool\"",
        "src=\"/portfolio/images/diagram.svg\"",
        "href=\"/portfolio/files/sample.txt\"",
        "href=\"/portfolio/static/style.css\"",
    ] {
        assert!(intro.contains(expected), "missing {expected}");
    }
    assert_site_links_work(&out);
}

#[test]
fn the_checker_finds_broken_links() {
    // The checker itself can fail: a page with every kind of broken reference.
    let site = empty_site();
    let out = build_for_pages(&site);
    std::fs::write(
        out.join("bad.html"),
        r##"<a href="/elsewhere/">x</a><a href="/portfolio/nope/">x</a><a href="#nowhere">x</a>
<a href="/portfolio/self-check/#no-such-card">x</a><img src="static/missing.png">
<a href="../../outside/">x</a><a href="https://someone.github.io/other/">x</a>
<a href="https://example.org/">fine</a><a href="/portfolio/self-check/">fine</a><a href="self-check/">fine</a>"##,
    )
    .unwrap();
    let (broken, _) = broken_links(&out);
    let broken: Vec<_> = broken
        .into_iter()
        .filter(|b| b.starts_with("bad.html"))
        .collect();
    assert_eq!(broken.len(), 7, "{broken:#?}");
}

#[test]
fn the_html_scanner_reads_attributes_ids_and_entities() {
    let html = r##"<!DOCTYPE html><!-- <a href="/no"> --><p id="a">x &lt; y</p>
<a href="/p/x/?q=1&amp;r=2#f" class=c>t</a><img src='i.png' alt="a > b"><link rel=canonical href=https://e/>"##;
    assert_eq!(
        common::links(html),
        [
            ("a".to_string(), "/p/x/?q=1&r=2#f".to_string()),
            ("img".to_string(), "i.png".to_string()),
            ("link".to_string(), "https://e/".to_string()),
        ]
    );
    assert_eq!(common::ids(html).into_iter().collect::<Vec<_>>(), ["a"]);
    assert_eq!(common::percent_decode("a%20b%2"), "a b%2");
    assert_eq!(
        resolve_relative("/portfolio/a/b/", "../c/"),
        "/portfolio/a/c/"
    );
    assert_eq!(
        resolve_relative("/portfolio/404.html", "x.css"),
        "/portfolio/x.css"
    );
    assert_eq!(resolve_relative("/portfolio/a/", "."), "/portfolio/a/");
}
