//! The handbook's content: every `.md` under `content/` becomes a page, `_index.md` makes its
//! folder a section, and anything else is an asset copied as is. Loading reads front matter and
//! keeps the Markdown body for the render step; nothing is rendered here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde::Deserialize;

use crate::diagnostics::Diagnostic;
use crate::load::frontmatter;
use crate::load::layers::{self, Layer, LayerFile, Origin};
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
#[derive(Debug, Default, Clone)]
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
    diagnostics.extend(non_regular_files(root));
    let mut content = Content::default();
    let (pages, assets): (Vec<LayerFile>, Vec<LayerFile>) = files
        .into_values()
        .partition(|file| file.rel.ends_with(".md"));
    content.assets = assets;
    let asset_paths: HashSet<String> = content
        .assets
        .iter()
        .map(|a| a.rel.to_lowercase())
        .collect();
    for file in pages {
        match load_page(&file, &asset_paths) {
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

fn load_page(
    file: &LayerFile,
    asset_paths: &HashSet<String>,
) -> Result<(Page, Vec<Diagnostic>), Diagnostic> {
    let shown = file.display_path(Layer::Content);
    // A file swapped for a named pipe after the folder was listed must not block the build.
    let bytes = match &file.origin {
        Origin::Disk(path) => frontmatter::read_regular_file(path, u64::MAX)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| Diagnostic::error(format!("cannot read: {e}")).in_file(&shown))?,
        Origin::Embedded(_) => file
            .read()
            .map_err(|e| Diagnostic::error(format!("cannot read: {e}")).in_file(&shown))?,
    };
    let text = decode_utf8(&bytes).map_err(|d| d.in_file(&shown))?;
    let text = frontmatter::normalise(&text);
    let split = frontmatter::split(&text).map_err(|d| d.in_file(&shown))?;
    let fm: FrontMatter = frontmatter::parse(&split).map_err(|d| d.in_file(&shown))?;
    let warnings =
        frontmatter::unknown_key_warnings(split.yaml, split.yaml_first_line, &fm.extra, KNOWN_KEYS)
            .into_iter()
            .map(|d| d.in_file(&shown))
            .collect();
    let slug_line = || crate::load::yaml::top_level_key_line(split.yaml, "slug").map(|l| l + 1);
    let (path, is_section) = url_path(&file.rel, fm.slug.as_deref())
        .map_err(|d| d.in_file(&shown).at_line_opt(slug_line()))?;
    if let Some((segment, owner)) = claimed_by_generator(&path, asset_paths) {
        // The slug, when there is one, names the last segment: point at it if it is the culprit.
        let by_slug =
            fm.slug.is_some() && segment + 1 == path.trim_end_matches('/').split('/').count();
        return Err(Diagnostic::error(format!(
            "this page would publish to /{path}, which collides with {owner}"
        ))
        .in_file(&shown)
        .at_line_opt(if by_slug { slug_line() } else { None })
        .with_hint("give the page another `slug` (or rename the file): that name is taken by a file clinic writes"));
    }
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

/// Warnings for the named pipes, sockets and devices under `<root>/content/`: they are not
/// published (only regular files are), and the author should know why a page is missing.
fn non_regular_files(root: &std::path::Path) -> Vec<Diagnostic> {
    let dir = root.join(Layer::Content.dir_name());
    if !dir.is_dir() {
        return Vec::new();
    }
    walkdir::WalkDir::new(&dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            let t = e.file_type();
            !t.is_file() && !t.is_dir() && !t.is_symlink()
        })
        .filter_map(|e| {
            let rel = e.path().strip_prefix(&dir).ok()?;
            if layers::is_ignored_name(&rel.to_string_lossy()) {
                return None;
            }
            let kind = e
                .metadata()
                .ok()
                .and_then(|m| frontmatter::non_regular_kind(&m))
                .unwrap_or("a special file");
            Some(
                Diagnostic::warning(format!("is {kind}, not a regular file; skipped"))
                    .in_file(std::path::Path::new(Layer::Content.dir_name()).join(rel))
                    .with_hint("commit the page as a regular file"),
            )
        })
        .collect()
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

/// Top-level names the generator writes itself, with what writes them. A page there would fail
/// the write (a folder where a file is) or be silently replaced by the generated page.
const GENERATED: &[(&str, &str)] = &[
    ("404.html", "the not-found page clinic writes at /404.html"),
    ("sitemap.xml", "the sitemap clinic writes at /sitemap.xml"),
    ("robots.txt", "the robots.txt clinic writes at /robots.txt"),
    (
        "evidence.json",
        "the badges document clinic writes at /evidence.json",
    ),
    ("portfolio", "the portfolio, which owns /portfolio/"),
    ("badges", "the badge images, which own /badges/"),
    ("static", "the theme's static files, which own /static/"),
    ("search", "the search page, which owns /search/"),
    (
        "search-index.json",
        "the search index clinic writes at /search-index.json",
    ),
];

/// Whether a page at `path` (`a/b/`) would write where the generator or an asset writes: the
/// index of the offending segment and what owns it. Compared without case, as file systems
/// that ignore case would.
fn claimed_by_generator(path: &str, asset_paths: &HashSet<String>) -> Option<(usize, String)> {
    let lower = path.trim_end_matches('/').to_lowercase();
    if lower.is_empty() {
        return None;
    }
    let segments: Vec<&str> = lower.split('/').collect();
    if let Some(i) = segments.iter().position(|s| *s == "index.html") {
        let parent: String = segments[..i].iter().map(|s| format!("{s}/")).collect();
        return Some((i, format!("the index.html of /{parent}")));
    }
    if let Some((_, owner)) = GENERATED.iter().find(|(name, _)| *name == segments[0]) {
        return Some((0, owner.to_string()));
    }
    // An asset file where the page needs a folder, or the very file the page writes.
    for (i, _) in segments.iter().enumerate() {
        let prefix = segments[..=i].join("/");
        if asset_paths.contains(&prefix) {
            return Some((i, format!("the file content/{prefix}")));
        }
    }
    if asset_paths.contains(&format!("{lower}/index.html")) {
        return Some((
            segments.len() - 1,
            format!("the file content/{lower}/index.html"),
        ));
    }
    None
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
    fn generated_files_and_assets_are_claimed() {
        let assets: HashSet<String> = ["img/logo.png".to_string()].into();
        for (path, segment) in [
            ("index.html/", 0),
            ("a/Index.HTML/", 1),
            ("404.html/", 0),
            ("sitemap.xml/", 0),
            ("evidence.json/", 0),
            ("portfolio/", 0),
            ("Portfolio/x/", 0),
            ("badges/", 0),
            ("static/", 0),
            ("img/logo.png/", 1),
        ] {
            let claimed = claimed_by_generator(path, &assets);
            assert_eq!(claimed.map(|c| c.0), Some(segment), "{path}");
        }
        for path in [
            "",
            "a/",
            "a/portfolio/",
            "evidence-checklist/",
            "img/",
            "a/404.html/",
        ] {
            assert_eq!(claimed_by_generator(path, &assets), None, "{path}");
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
