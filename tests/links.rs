//! Every internal link, asset and fragment of a site built for GitHub Pages under
//! `https://someone.github.io/portfolio/` must resolve inside the output.

mod common;

use std::path::{Path, PathBuf};

use common::links::{broken_links, resolve_relative, served_file};
use common::{copy_fixture, empty_site, list_files, read_output, Site};

const BASE_URL: &str = "https://someone.github.io/portfolio/";

fn build_for_pages(site: &Site) -> PathBuf {
    let out = site.tmp.path().join("out");
    common::build_into(&site.root, &out, &["--base-url", BASE_URL]).expect_code(0);
    out
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
    let (broken, followed) = broken_links(out, BASE_URL);
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
    let (broken, _) = broken_links(&out, BASE_URL);
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
