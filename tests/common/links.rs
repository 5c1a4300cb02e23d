//! A checker for a built site's internal links: every `href` and `src` of every HTML file that
//! stays on the site must name a file of the output, as a static host (GitHub Pages) serves it
//! below the site's base URL, and every `#fragment` into a page must name an `id` in it.
//!
//! Used by `tests/links.rs` (the handbook under a project-pages base URL) and
//! `tests/portfolio.rs` (the portfolio pages, at `/` and below a base path).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{ids, links, list_files, percent_decode};

/// The output file a site path (below the base path, no query or fragment) is served from, as
/// GitHub Pages serves it: `x/` -> `x/index.html`, `x` -> `x` or `x/index.html`.
pub fn served_file(out: &Path, site_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(site_path);
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
pub fn resolve_relative(page_url_path: &str, href: &str) -> String {
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

pub fn has_scheme(href: &str) -> bool {
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

/// `https://someone.github.io/portfolio/` -> (`https://someone.github.io`, `/portfolio/`).
fn split_base(base_url: &str) -> (&str, &str) {
    let after_scheme = base_url.find("://").map_or(0, |i| i + 3);
    match base_url[after_scheme..].find('/') {
        Some(i) => base_url.split_at(after_scheme + i),
        None => (base_url, "/"),
    }
}

/// Follows every `href`/`src` of every HTML file in `out`, a site built for `base_url` (e.g.
/// `https://someone.github.io/portfolio/`, or any `https://host/` for a site built without
/// one); returns one line per broken link, and how many links were followed.
pub fn broken_links(out: &Path, base_url: &str) -> (Vec<String>, usize) {
    let (origin, base_path) = split_base(base_url);
    let html_files: Vec<String> = list_files(out)
        .into_iter()
        .filter(|f| f.ends_with(".html"))
        .collect();
    assert!(html_files.len() > 5, "too few pages: {html_files:?}");
    let mut ids_of: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut ids_in = |file: &Path| -> BTreeSet<String> {
        ids_of
            .entry(file.to_path_buf())
            .or_insert_with(|| ids(&std::fs::read_to_string(file).unwrap()))
            .clone()
    };
    let mut broken = Vec::new();
    let mut followed = 0;
    for rel in &html_files {
        let file = out.join(rel);
        let html = std::fs::read_to_string(&file).unwrap();
        // The URL path this file is served at.
        let page_url = match rel.strip_suffix("index.html") {
            Some(dir) => format!("{base_path}{dir}"),
            None => format!("{base_path}{rel}"),
        };
        for (tag, link) in links(&html) {
            let report = |why: &str| format!("{rel}: <{tag}> {link:?}: {why}");
            let (without_fragment, fragment) = match link.split_once('#') {
                Some((before, fragment)) => (before, Some(fragment)),
                None => (link.as_str(), None),
            };
            let target_url = without_fragment.split('?').next().unwrap_or("");
            let target_path = if target_url.is_empty() {
                page_url.clone() // `#x` or `?q`: this page
            } else if let Some(rest) = target_url.strip_prefix(base_url) {
                format!("{base_path}{rest}")
            } else if target_url.starts_with("//") || has_scheme(target_url) {
                if target_url.starts_with(&format!("{origin}/")) || target_url == origin {
                    broken.push(report(&format!(
                        "an absolute link to the site outside {base_path}"
                    )));
                }
                continue; // external
            } else if target_url.starts_with(base_path) {
                target_url.to_string()
            } else if target_url.starts_with('/') {
                broken.push(report(&format!(
                    "starts with / but not {base_path}: broken on GitHub Pages"
                )));
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
                .strip_prefix(base_path)
                .or_else(|| (target_path == base_path.trim_end_matches('/')).then_some(""))
            else {
                broken.push(report(&format!(
                    "resolves to {target_path}, outside {base_path}"
                )));
                continue;
            };
            let Some(target) = served_file(out, site_path) else {
                broken.push(report(&format!("no file in the output for {target_path}")));
                continue;
            };
            if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
                let fragment = percent_decode(fragment);
                if target.extension().is_some_and(|e| e == "html") {
                    if !ids_in(&target).contains(&fragment) {
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
