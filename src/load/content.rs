//! The handbook's content: every `.md` under `content/` becomes a page, `_index.md` makes its
//! folder a section, and anything else is an asset copied as is. Loading reads front matter and
//! keeps the Markdown body for the render step; nothing is rendered here.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Deserialize;

use crate::diagnostics::Diagnostic;
use crate::load::frontmatter;
use crate::load::layers::{self, Layer, LayerFile};
use crate::load::urls;

/// One page or section index, ready to render.
#[derive(Debug, Clone)]
pub struct Page {
    /// Path inside `content/`, e.g. `patterns/expand-contract.md`.
    pub source: String,
    /// Path for messages, e.g. `content/patterns/expand-contract.md`.
    pub shown_path: PathBuf,
    /// Site-relative URL path with a trailing slash (`patterns/expand-contract/`); "" is home.
    pub path: String,
    pub title: String,
    pub description: String,
    pub weight: i64,
    pub draft: bool,
    pub is_section: bool,
    /// Front-matter keys the generator does not use, for templates.
    pub extra: BTreeMap<String, serde_json::Value>,
    pub body: String,
    pub body_first_line: usize,
}

impl Page {
    /// The folder this page belongs to (its section's path): `patterns/` for
    /// `patterns/expand-contract/`; a section's parent for a section; "" for top level.
    pub fn parent_path(&self) -> String {
        parent_of(&self.path)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FrontMatter {
    title: Option<String>,
    description: Option<String>,
    weight: Option<i64>,
    draft: bool,
    slug: Option<String>,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

/// Keys the generator or the default theme reads. `badge` (one of the four badge keys) and
/// `evidence_checklist` stay in `extra` for the theme: they show the student's live evidence.
const KNOWN_KEYS: &[&str] = &[
    "title",
    "description",
    "weight",
    "draft",
    "slug",
    "badge",
    "evidence_checklist",
];

/// Everything under `content/`.
#[derive(Debug, Default)]
pub struct Content {
    /// Pages and section indexes, drafts already removed unless asked for.
    pub pages: Vec<Page>,
    /// Non-Markdown files, published at their own path.
    pub assets: Vec<LayerFile>,
}

/// Loads the merged content layer. A page that cannot be read is reported and left out; the
/// rest still load.
pub(crate) fn load(root: &std::path::Path, include_drafts: bool) -> (Content, Vec<Diagnostic>) {
    let (files, mut diagnostics) = layers::files(root, Layer::Content);
    let mut content = Content::default();
    for file in files.into_values() {
        if !file.rel.ends_with(".md") {
            content.assets.push(file);
            continue;
        }
        match load_page(&file) {
            Ok((page, warnings)) => {
                diagnostics.extend(warnings);
                if include_drafts || !page.draft {
                    content.pages.push(page);
                }
            }
            Err(d) => diagnostics.push(d),
        }
    }
    add_missing_sections(&mut content.pages);
    diagnostics.extend(find_collisions(&content.pages));
    // The file in error is left out, so the first to claim a URL keeps it (no racing writes).
    let mut claimed = std::collections::HashSet::new();
    content
        .pages
        .retain(|page| claimed.insert(page.path.to_lowercase()));
    (content, diagnostics)
}

fn load_page(file: &LayerFile) -> Result<(Page, Vec<Diagnostic>), Diagnostic> {
    let shown = file.display_path(Layer::Content);
    let bytes = file
        .read()
        .map_err(|e| Diagnostic::error(format!("cannot read: {e}")).in_file(&shown))?;
    let text = decode_utf8(&bytes).map_err(|d| d.in_file(&shown))?;
    let text = frontmatter::normalise(&text);
    let split = frontmatter::split(&text).map_err(|d| d.in_file(&shown))?;
    let fm: FrontMatter = frontmatter::parse(&split).map_err(|d| d.in_file(&shown))?;
    let warnings =
        frontmatter::unknown_key_warnings(split.yaml, split.yaml_first_line, &fm.extra, KNOWN_KEYS)
            .into_iter()
            .map(|d| d.in_file(&shown))
            .collect();
    let (path, is_section) = url_path(&file.rel, fm.slug.as_deref()).map_err(|d| {
        d.in_file(&shown)
            .at_line_opt(crate::load::yaml::top_level_key_line(split.yaml, "slug").map(|l| l + 1))
    })?;
    let page = Page {
        title: fm.title.unwrap_or_else(|| title_from_path(&file.rel)),
        description: fm.description.unwrap_or_default(),
        weight: fm.weight.unwrap_or(0),
        draft: fm.draft,
        is_section,
        extra: fm.extra,
        body: split.body.to_string(),
        body_first_line: split.body_first_line,
        source: file.rel.clone(),
        shown_path: shown,
        path,
    };
    Ok((page, warnings))
}

/// Invalid UTF-8 is an error at the line of the first bad byte.
fn decode_utf8(bytes: &[u8]) -> Result<String, Diagnostic> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let line = crate::diagnostics::utf8_error_line(bytes, &e);
            Err(
                Diagnostic::error(format!("not valid UTF-8 (byte offset {})", e.valid_up_to()))
                    .at_line(line)
                    .with_hint("save the file as UTF-8"),
            )
        }
    }
}

/// `patterns/expand-contract.md` -> `patterns/expand-contract/`; `patterns/_index.md` ->
/// `patterns/`; `_index.md` -> "". Every segment is slugified, and a front-matter `slug`
/// replaces the last one; nothing can climb out of the output.
fn url_path(rel: &str, slug: Option<&str>) -> Result<(String, bool), Diagnostic> {
    let without_ext = rel.trim_end_matches(".md");
    let mut segments: Vec<&str> = without_ext.split('/').collect();
    let is_section = matches!(segments.last(), Some(&"_index") | Some(&"index"));
    if is_section {
        segments.pop();
    }
    let mut parts: Vec<String> = segments.iter().map(|s| urls::slug(s)).collect();
    if let Some(slug) = slug {
        if !is_safe_slug(slug) {
            return Err(Diagnostic::error(format!(
                "slug {slug:?} would leave the page's folder or the output"
            ))
            .with_hint("a slug is one path segment of letters, digits, `-` and `_`"));
        }
        match parts.last_mut() {
            Some(last) => *last = slug.to_string(),
            None => {
                return Err(Diagnostic::error("the home page cannot have a slug")
                    .with_hint("remove `slug` from content/_index.md"))
            }
        }
    }
    if parts.iter().any(String::is_empty) {
        return Err(
            Diagnostic::error("the file name gives an empty URL segment")
                .with_hint("name files and folders with letters or digits"),
        );
    }
    let mut path = parts.join("/");
    if !path.is_empty() {
        path.push('/');
    }
    Ok((path, is_section))
}

fn is_safe_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug != "."
        && slug != ".."
        && slug
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !slug.starts_with('.')
}

/// `a/b/c/` -> `a/b/`; `a/` -> ""; "" -> "".
pub(crate) fn parent_of(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(i) => trimmed[..=i].to_string(),
        None => String::new(),
    }
}

fn title_from_path(rel: &str) -> String {
    let stem = rel
        .trim_end_matches(".md")
        .rsplit('/')
        .next()
        .unwrap_or(rel);
    let words = stem.replace(['-', '_'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Home".to_string(),
    }
}

/// Every folder that holds pages is a section, with or without an `_index.md`, and so is home.
/// A page of the folder's own name (`notes.md` beside `notes/`) becomes its index.
fn add_missing_sections(pages: &mut Vec<Page>) {
    let existing: std::collections::HashSet<String> = pages
        .iter()
        .filter(|p| p.is_section)
        .map(|p| p.path.clone())
        .collect();
    let mut needed: Vec<String> = Vec::new();
    for page in pages.iter() {
        let mut parent = page.parent_path();
        loop {
            if !existing.contains(&parent) && !needed.contains(&parent) {
                needed.push(parent.clone());
            }
            if parent.is_empty() {
                break;
            }
            parent = parent_of(&parent);
        }
    }
    if pages.is_empty() && !existing.contains("") {
        needed.push(String::new());
    }
    for path in needed {
        // `notes.md` beside a `notes/` folder without `_index.md` is that folder's index.
        if let Some(page) = pages.iter_mut().find(|p| p.path == path) {
            page.is_section = true;
            continue;
        }
        let rel = format!("{path}_index.md");
        pages.push(Page {
            title: if path.is_empty() {
                "Home".to_string()
            } else {
                title_from_path(path.trim_end_matches('/'))
            },
            description: String::new(),
            weight: 0,
            draft: false,
            is_section: true,
            extra: BTreeMap::new(),
            body: String::new(),
            body_first_line: 1,
            shown_path: PathBuf::from("content").join(&rel),
            source: rel,
            path,
        });
    }
}

/// Two sources that would write the same URL: an error naming both.
fn find_collisions(pages: &[Page]) -> Vec<Diagnostic> {
    let mut seen: HashMap<String, &Page> = HashMap::new();
    let mut diagnostics = Vec::new();
    for page in pages {
        let key = page.path.to_lowercase(); // case-only differences collide on many file systems
        if let Some(first) = seen.get(&key) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "this page and {} both publish to /{}",
                    first.shown_path.display(),
                    page.path
                ))
                .in_file(&page.shown_path)
                .with_hint("rename one of the files or give it a different `slug`"),
            );
        } else {
            seen.insert(key, page);
        }
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths() {
        assert_eq!(url_path("_index.md", None).unwrap(), (String::new(), true));
        assert_eq!(
            url_path("patterns/_index.md", None).unwrap(),
            ("patterns/".into(), true)
        );
        assert_eq!(
            url_path("patterns/Expand Contract.md", None).unwrap(),
            ("patterns/expand-contract/".into(), false)
        );
        assert_eq!(
            url_path("a/b.md", Some("c")).unwrap(),
            ("a/c/".into(), false)
        );
    }

    #[test]
    fn traversal_slugs_are_refused() {
        for slug in [
            "../../.github/workflows/x",
            "/etc/x",
            "%2e%2e%2fx",
            "..",
            "a/b",
            "",
        ] {
            assert!(url_path("a/b.md", Some(slug)).is_err(), "{slug}");
        }
    }

    #[test]
    fn sections_are_added_for_folders() {
        let page = Page {
            source: "a/b/c.md".into(),
            shown_path: "content/a/b/c.md".into(),
            path: "a/b/c/".into(),
            title: "C".into(),
            description: String::new(),
            weight: 0,
            draft: false,
            is_section: false,
            extra: BTreeMap::new(),
            body: String::new(),
            body_first_line: 1,
        };
        let mut pages = vec![page];
        add_missing_sections(&mut pages);
        let mut paths: Vec<_> = pages.iter().map(|p| p.path.as_str()).collect();
        paths.sort();
        assert_eq!(paths, vec!["", "a/", "a/b/", "a/b/c/"]);
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = decode_utf8(b"ok\nstill ok\n\xff").unwrap_err();
        assert_eq!(err.line, Some(3));
    }
}
