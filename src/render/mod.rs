//! Renders the loaded site through the theme into the output: every page in parallel, each
//! written and dropped at once (the whole site's HTML is never held in memory), then the
//! section-independent files: `404.html`, `sitemap.xml`, the syntax stylesheets, `.nojekyll`, and
//! the search page and index ([`search`]).
//! It reads no file: the theme's static files and the content's assets are copied by the write
//! step ([`crate::output::copy_files`]).

pub(crate) mod cache;
pub(crate) mod highlight;
pub mod html;
pub(crate) mod markdown;
pub(crate) mod print;
pub(crate) mod search;
pub(crate) mod svg;
pub(crate) mod templates;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde_json::{json, Value};
use tera::Context;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::load::config::Config;
use crate::load::content::{parent_of, Content, Page};

use crate::output::{OutputError, Sink};
use markdown::Link;

use crate::load::urls::Urls;
use crate::render::templates::Theme;
pub(crate) use cache::{RenderCache, StoredDocs};

/// Sections with more pages than this are not expanded in the navigation (a 10,000-page
/// section would otherwise put 10,000 links on every page).
const NAV_CHILDREN_LIMIT: usize = 50;
/// The search page: where the header's search form goes without JavaScript, and a page of
/// results with it.
pub(crate) const SEARCH_PAGE: &str = "search/";

/// The site's structure, computed once before the parallel render.
struct Structure<'a> {
    pages: &'a [Page],
    /// For each section path, the indexes of its direct children in display order.
    children: HashMap<&'a str, Vec<usize>>,
    by_source: HashMap<&'a str, usize>,
    assets: HashSet<&'a str>,
}

impl<'a> Structure<'a> {
    fn new(content: &'a Content) -> Structure<'a> {
        let pages = content.pages.as_slice();
        let sections: HashSet<&str> = pages
            .iter()
            .filter(|p| p.is_section)
            .map(|p| p.path.as_str())
            .collect();
        let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, page) in pages.iter().enumerate() {
            if !page.path.is_empty() {
                // content::load adds a section for every folder, so the parent is always there.
                let parent = sections
                    .get(parent_of(&page.path).as_str())
                    .copied()
                    .unwrap_or("");
                children.entry(parent).or_default().push(i);
            }
        }
        for list in children.values_mut() {
            list.sort_by(|&a, &b| {
                let (a, b) = (&pages[a], &pages[b]);
                (a.weight, &a.title, &a.path).cmp(&(b.weight, &b.title, &b.path))
            });
        }
        Structure {
            pages,
            children,
            by_source: pages
                .iter()
                .enumerate()
                .map(|(i, p)| (p.source.as_str(), i))
                .collect(),
            assets: content.assets.iter().map(|a| a.rel.as_str()).collect(),
        }
    }

    fn children_of(&self, section: &str) -> &[usize] {
        self.children.get(section).map_or(&[], Vec::as_slice)
    }

    /// The sibling before and after `index` in its section's order.
    fn neighbours(&self, index: usize) -> (Option<usize>, Option<usize>) {
        let page = &self.pages[index];
        if page.path.is_empty() {
            return (None, None);
        }
        let siblings = self.children_of(self.parent_section(index));
        let Some(at) = siblings.iter().position(|&i| i == index) else {
            return (None, None);
        };
        (
            at.checked_sub(1).map(|p| siblings[p]),
            siblings.get(at + 1).copied(),
        )
    }

    fn parent_section(&self, index: usize) -> &str {
        let parent = parent_of(&self.pages[index].path);
        self.children
            .get_key_value(parent.as_str())
            .map_or("", |(key, _)| *key)
    }

    /// Resolves a link written in `from` (a path inside `content/`).
    fn resolve(&self, urls: &Urls, from: &str, href: &str) -> Link {
        if href.is_empty() || href.starts_with('#') || href.starts_with("//") || has_scheme(href) {
            return Link::Keep;
        }
        let split_at = href.find(['#', '?']).unwrap_or(href.len());
        let (target, suffix) = href.split_at(split_at);
        if let Some(site_path) = target.strip_prefix('/') {
            return Link::Rewrite(format!("{}{suffix}", urls.url(site_path)));
        }
        let Some(resolved) = join_relative(&parent_of_file(from), target) else {
            return Link::Broken("it climbs out of content/".to_string());
        };
        if let Some(&i) = self.by_source.get(resolved.as_str()) {
            return Link::Rewrite(format!("{}{suffix}", urls.url(&self.pages[i].path)));
        }
        if self.assets.contains(resolved.as_str()) {
            return Link::Rewrite(format!("{}{suffix}", urls.url(&resolved)));
        }
        let as_section = format!("{}/_index.md", resolved.trim_end_matches('/'));
        if let Some(&i) = self.by_source.get(as_section.as_str()) {
            return Link::Rewrite(format!("{}{suffix}", urls.url(&self.pages[i].path)));
        }
        let folder = format!("{}/", resolved.trim_end_matches('/'));
        if self.children.contains_key(folder.as_str()) {
            return Link::Rewrite(format!("{}{suffix}", urls.url(&folder)));
        }
        Link::Broken(format!("there is no content/{resolved}"))
    }
}

pub(crate) fn has_scheme(href: &str) -> bool {
    match href.find(':') {
        Some(i) => {
            let scheme = &href[..i];
            !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

fn parent_of_file(source: &str) -> String {
    match source.rfind('/') {
        Some(i) => source[..=i].to_string(),
        None => String::new(),
    }
}

/// `patterns/` + `../mistakes/x.md` -> `mistakes/x.md`; `None` when it climbs above the root.
pub(crate) fn join_relative(dir: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Everything the render needs besides the content.
pub struct RenderInput<'a> {
    pub config: &'a Config,
    pub urls: &'a Urls,
    pub theme: &'a Theme,
    /// Pages and files made from data rather than Markdown (the portfolio).
    pub generated: &'a Generated,
    pub progress: &'a (dyn Fn(usize, usize) + Sync),
}

/// Pages and files made from data rather than from `content/`: the render shows them as given.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// The `portfolio` value every template gets.
    pub values: Value,
    pub pages: Vec<VirtualPage>,
    /// Files written as they are: (site path, contents).
    pub files: Vec<(String, String)>,
    /// The navigation entry for the generated pages: (path, title).
    pub nav: (String, String),
    /// Repository files the write-ups link to, each with the record that links it: published
    /// under `portfolio/files/` by the write step (which checks each one).
    pub(crate) attachments: Vec<crate::portfolio::links::Attachment>,
    /// Broken links in the write-ups, at their file and line.
    pub diagnostics: Vec<Diagnostic>,
    /// What the last whole render put in the search index, so that a preview's partial
    /// re-render ([`render_pages`]) writes the same index as a whole build would.
    pub(crate) searched: Arc<Mutex<Searched>>,
}

impl Generated {
    /// The search documents of the last whole render.
    pub(crate) fn searched(&self) -> std::sync::MutexGuard<'_, Searched> {
        lock(&self.searched)
    }
}

/// The search index's documents: each content page's (by index; `None` when it failed) and the
/// generated pages', with the vocabulary their terms are numbered in.
#[derive(Debug, Default)]
pub(crate) struct Searched {
    vocabulary: Arc<search::Vocabulary>,
    content: Vec<Option<search::Doc>>,
    generated: Vec<search::Doc>,
}

impl Searched {
    fn docs(&self) -> Vec<&search::Doc> {
        self.content
            .iter()
            .flatten()
            .chain(&self.generated)
            .collect()
    }

    /// Writes the content pages' documents as the build cache keeps them
    /// ([`search::write_store`]).
    pub(crate) fn write_store(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        search::write_store(self.content.iter().flatten(), &self.vocabulary, out)
    }

    fn index_json(&self, urls: &Urls) -> String {
        search::index_json(&self.docs(), &self.vocabulary, urls)
    }
}

/// A page with no Markdown source: rendered with `template` and the given context values.
#[derive(Debug, Clone)]
pub struct VirtualPage {
    pub path: String,
    pub title: String,
    pub template: &'static str,
    pub values: serde_json::Map<String, Value>,
}

/// The values every template gets, computed once.
struct Shared {
    site: Value,
    nav: Value,
    portfolio: Value,
    /// The portfolio as content pages see it: without the build time (`stamp.built`), which
    /// would make every page differ from one build to the next (see [`cache`]).
    content_portfolio: Value,
    /// Where the search documents' terms are numbered: a new one for a whole render, the last
    /// whole render's for a partial one (whose documents join that render's).
    vocabulary: Arc<search::Vocabulary>,
}

impl Shared {
    fn new(
        structure: &Structure<'_>,
        input: &RenderInput<'_>,
        vocabulary: Arc<search::Vocabulary>,
    ) -> Shared {
        let portfolio = input.generated.values.clone();
        let mut content_portfolio = portfolio.clone();
        if let Some(stamp) = content_portfolio
            .get_mut("stamp")
            .and_then(Value::as_object_mut)
        {
            stamp.remove("built");
        }
        Shared {
            site: site_value(input),
            nav: nav_value(structure, input.urls, &input.generated.nav),
            portfolio,
            content_portfolio,
            vocabulary,
        }
    }

    /// The context of a generated page, or a site file (404, search).
    fn context(&self, current_path: &str) -> Context {
        self.context_with(current_path, &self.portfolio)
    }

    /// The context of a content page.
    fn content_context(&self, current_path: &str) -> Context {
        self.context_with(current_path, &self.content_portfolio)
    }

    fn context_with(&self, current_path: &str, portfolio: &Value) -> Context {
        let mut context = Context::new();
        context.insert("site", &self.site);
        context.insert("nav", &self.nav);
        context.insert("portfolio", portfolio);
        context.insert("current_path", current_path);
        context
    }
}

/// Renders and writes the whole site. Problems are collected; a page that fails is reported
/// and skipped, the rest are still written. A content page that `previous` rendered from the
/// same inputs, and whose file the output still holds as written, is kept as it is (see
/// [`cache`]); the search documents of kept pages are read with `stored_docs`, and only when
/// the index must be written again. Returns what this render is, for the next (the content
/// pages' problems are there: [`RenderCache::into_diagnostics`]), and the other problems.
pub(crate) fn render_site(
    content: &mut Content,
    input: &RenderInput<'_>,
    output: &dyn Sink,
    previous: &RenderCache,
    stored_docs: &StoredDocs<'_>,
) -> Result<(Vec<Diagnostic>, RenderCache), OutputError> {
    // The bodies are taken out of the pages, so that each one is freed once its page is
    // written (they are most of a large site's memory); the pages are left without them.
    let bodies: Vec<String> = content
        .pages
        .iter_mut()
        .map(|page| std::mem::take(&mut page.body))
        .collect();
    let content: &Content = content;
    let structure = Structure::new(content);
    let shared = Shared::new(&structure, input, Arc::default());
    let keys = cache::page_keys(content, &bodies, &shared, input);
    let diagnostics = Diagnostics::default();
    let done = AtomicUsize::new(0);
    let total = content.pages.len();
    // Each rendered page's search document at its index, so that two builds of the same site
    // write the same index (and no second list of them is made).
    let searched: Mutex<Vec<Option<search::Doc>>> = Mutex::new(if input.config.search {
        (0..total).map(|_| None).collect()
    } else {
        Vec::new()
    });
    // Each page's output file and cache entry, by index.
    let rendered: Mutex<Vec<Option<(String, cache::CachedPage)>>> = Mutex::new(vec![None; total]);
    // The bodies of the pages kept as they were, in case their search document is needed.
    let kept_bodies: Mutex<Vec<Option<String>>> = Mutex::new(vec![None; total]);
    bodies
        .into_par_iter()
        .enumerate()
        .try_for_each(|(index, body)| {
            let rel = format!("{}index.html", content.pages[index].path);
            let page = match previous.hit(&rel, keys[index]) {
                Some(cached) if output.keep(&rel) => {
                    lock(&kept_bodies)[index] = Some(body);
                    cached.clone()
                }
                _ => {
                    let page = render_page(&structure, index, &body, input, &shared);
                    drop(body);
                    if let Some(html) = &page.html {
                        output.write(&rel, html.as_bytes())?;
                    }
                    let search = page.search.as_ref().map(search::Doc::key);
                    if let Some(doc) = page.search {
                        lock(&searched)[index] = Some(doc);
                    }
                    cache::CachedPage {
                        key: keys[index],
                        diagnostics: page.diagnostics,
                        search,
                    }
                }
            };
            let kept_a_document = page.search.is_some();
            lock(&rendered)[index] = Some((rel, page));
            let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
            if kept_a_document && finished.is_multiple_of(search::TRIM_EVERY) {
                search::return_freed_memory();
            }
            (input.progress)(finished, total);
            Ok::<(), OutputError>(())
        })?;
    let mut next = RenderCache::default();
    let rendered = rendered.into_inner().unwrap_or_else(|p| p.into_inner());
    // In page order: the search index's key.
    let page_docs: Vec<Option<u128>> = rendered
        .iter()
        .map(|entry| entry.as_ref().and_then(|(_, page)| page.search))
        .collect();
    next.pages = rendered.into_iter().flatten().collect();
    let mut content_docs = searched.into_inner().unwrap_or_else(|p| p.into_inner());
    let virtual_pages = &input.generated.pages;
    let docs = render_virtual_pages(input, &shared, output, &diagnostics)?;
    if input.config.search {
        let key = cache::search_key(&page_docs, &docs, input.urls);
        next.search_index = Some(key);
        let unchanged = previous.search_index == Some(key) && output.keep(search::INDEX_FILE);
        if !unchanged {
            let kept_bodies = kept_bodies.into_inner().unwrap_or_else(|p| p.into_inner());
            let kept = Kept {
                expected: &page_docs,
                bodies: &kept_bodies,
            };
            fill_kept_docs(
                &structure,
                input,
                &shared,
                kept,
                &mut content_docs,
                stored_docs,
            );
            next.docs_changed = true;
        }
        let mut searched = lock(&input.generated.searched);
        *searched = Searched {
            vocabulary: shared.vocabulary.clone(),
            content: content_docs,
            generated: docs,
        };
        if !unchanged {
            search::return_freed_memory();
            output.write_with(search::INDEX_FILE, &mut |out| {
                search::write_index(&searched.docs(), &searched.vocabulary, input.urls, out)
            })?;
        }
    }
    for (path, text) in &input.generated.files {
        output.write(path, text.as_bytes())?;
    }
    write_site_files(content, virtual_pages, input, output, &shared, &diagnostics)?;
    Ok((diagnostics.into_sorted(), next))
}

/// What [`fill_kept_docs`] needs of the pages this render kept: each page's document key
/// (`None`: no document), and the bodies of the kept pages.
struct Kept<'a> {
    expected: &'a [Option<u128>],
    bodies: &'a [Option<String>],
}

/// The search documents of the pages this render kept (`None` in `docs`, a document key in
/// `expected`), from the build cache's store; a page whose stored document is missing or not
/// the one its key names is rendered again (not written: its file is already right) for it.
fn fill_kept_docs(
    structure: &Structure<'_>,
    input: &RenderInput<'_>,
    shared: &Shared,
    Kept { expected, bodies }: Kept<'_>,
    docs: &mut [Option<search::Doc>],
    stored_docs: &StoredDocs<'_>,
) {
    let kept: Vec<usize> = (0..docs.len())
        .filter(|&i| docs[i].is_none() && expected[i].is_some())
        .collect();
    if kept.is_empty() {
        return;
    }
    // Read one stored document at a time, each numbered into this build's vocabulary at once
    // (the whole store as text would be several times the documents' size).
    let wanted: HashMap<&str, usize> = kept
        .iter()
        .map(|&i| (structure.pages[i].path.as_str(), i))
        .collect();
    let mut renumbering = search::Renumbering::default();
    stored_docs(&mut |terms, doc| {
        if let Some(&i) = wanted.get(doc.path.as_str()) {
            if Some(doc.key) == expected[i] {
                docs[i] =
                    search::Doc::from_stored(doc, terms, &mut renumbering, &shared.vocabulary);
            }
        }
    });
    let missing: Vec<usize> = kept.into_iter().filter(|&i| docs[i].is_none()).collect();
    let again: Vec<(usize, Option<search::Doc>)> = missing
        .par_iter()
        .map(|&i| {
            let body = bodies[i].as_deref().unwrap_or_default();
            (i, render_page(structure, i, body, input, shared).search)
        })
        .collect();
    for (i, doc) in again {
        docs[i] = doc;
    }
}

/// Renders and writes only the generated pages and files (the portfolio, the badges,
/// `evidence.json`), with the navigation of `content`: a cohort student's folder, whose
/// handbook is the cohort's shared copy.
pub fn render_generated(
    content: &Content,
    input: &RenderInput<'_>,
    output: &dyn Sink,
) -> Result<Vec<Diagnostic>, OutputError> {
    let structure = Structure::new(content);
    let shared = Shared::new(&structure, input, Arc::default());
    let diagnostics = Diagnostics::default();
    render_virtual_pages(input, &shared, output, &diagnostics)?;
    for (path, text) in &input.generated.files {
        output.write(path, text.as_bytes())?;
    }
    Ok(diagnostics.into_sorted())
}

/// Writes the generated pages, the print view last (each portfolio page is also one of its
/// sections), and returns their search documents (none when the site has no search).
fn render_virtual_pages(
    input: &RenderInput<'_>,
    shared: &Shared,
    output: &dyn Sink,
    diagnostics: &Diagnostics,
) -> Result<Vec<search::Doc>, OutputError> {
    let mut docs: Vec<search::Doc> = Vec::new();
    let mut sections = Vec::new();
    for page in &input.generated.pages {
        let rendered = if page.template == print::TEMPLATE {
            let mut page = page.clone();
            page.values.insert(
                "sections".into(),
                Value::Array(std::mem::take(&mut sections)),
            );
            render_virtual(&page, input, shared)
        } else {
            render_virtual(page, input, shared)
        };
        match rendered {
            Ok(html) => {
                if page.template != print::TEMPLATE {
                    if input.config.search {
                        docs.push(search::Doc::from_page(
                            &page.path,
                            &page.title,
                            &html,
                            &shared.vocabulary,
                        ));
                    }
                    sections.extend(print::section(&page.path, &page.title, &html, input.urls));
                }
                output.write(&format!("{}index.html", page.path), html.as_bytes())?
            }
            Err(e) => diagnostics.push(e),
        }
    }
    Ok(docs)
}

/// Renders only the pages at `indexes` (into `content.pages`) and returns each one's output
/// path and HTML without writing anything. `clinic serve` uses it after an edit that changed
/// only what a page shows itself (its body), not what other pages show of it (title, order,
/// URL): the HTML is then the same as a whole build's. A page that fails is reported and left
/// out of the result.
pub fn render_pages(
    content: &Content,
    input: &RenderInput<'_>,
    indexes: &[usize],
) -> (Vec<(String, String)>, Vec<Diagnostic>) {
    let structure = Structure::new(content);
    let vocabulary = lock(&input.generated.searched).vocabulary.clone();
    let shared = Shared::new(&structure, input, vocabulary);
    let diagnostics = Diagnostics::default();
    let rendered: Vec<(usize, RenderedPage)> = indexes
        .par_iter()
        .map(|&index| {
            let body = &content.pages[index].body;
            (index, render_page(&structure, index, body, input, &shared))
        })
        .collect();
    let mut files = Vec::new();
    let mut searched = lock(&input.generated.searched);
    // The index changes with the pages' text: rewritten from the last whole render's documents
    // with these pages' new ones (only when that render made one).
    let reindex = input.config.search && searched.content.len() == content.pages.len();
    for (index, page) in rendered {
        diagnostics.extend(page.diagnostics);
        if reindex {
            searched.content[index] = page.search;
        }
        if let Some(html) = page.html {
            files.push((format!("{}index.html", content.pages[index].path), html));
        }
    }
    if reindex {
        files.push((
            search::INDEX_FILE.to_string(),
            searched.index_json(input.urls),
        ));
    }
    (files, diagnostics.into_sorted())
}

fn render_virtual(
    page: &VirtualPage,
    input: &RenderInput<'_>,
    shared: &Shared,
) -> Result<String, Diagnostic> {
    let mut context = shared.context(&page.path);
    context.insert(
        "page",
        &json!({
            "title": page.title, "description": "", "path": page.path,
            "url": input.urls.url(&page.path), "permalink": input.urls.permalink(&page.path),
            "content": "", "toc": [], "extra": {}, "is_section": false,
            "pages": [], "subsections": [], "prev": null, "next": null,
        }),
    );
    for (key, value) in &page.values {
        context.insert(key.as_str(), value);
    }
    input.theme.render(page.template, &context)
}

struct RenderedPage {
    html: Option<String>,
    diagnostics: Vec<Diagnostic>,
    /// The page's text for the search index, when the site has one.
    search: Option<search::Doc>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn render_page(
    structure: &Structure<'_>,
    index: usize,
    body: &str,
    input: &RenderInput<'_>,
    shared: &Shared,
) -> RenderedPage {
    let page = &structure.pages[index];
    let resolve = |href: &str, _: usize| structure.resolve(input.urls, &page.source, href);
    let markdown = match input.config.search {
        true => markdown::render_with_text(body, page.body_first_line, &resolve),
        false => markdown::render(body, page.body_first_line, &resolve),
    };
    let mut diagnostics: Vec<Diagnostic> = markdown
        .diagnostics
        .into_iter()
        .map(|d| d.in_file(&page.shown_path))
        .collect();
    let (content, toc, text) = match page_body(markdown.html, input.config.unsafe_html) {
        Ok(content) => (content, markdown.toc, markdown.text),
        Err((notice, problem)) => {
            diagnostics.push(problem.in_file(&page.shown_path));
            (notice, Vec::new(), None)
        }
    };
    let vocabulary = &shared.vocabulary;
    let search = input.config.search.then(|| match &text {
        Some(text) => search::Doc::from_text(&page.path, &page.title, text, vocabulary),
        None => search::Doc::from_fragment(&page.path, &page.title, &content, vocabulary),
    });
    let summary = |i: usize| {
        let p = &structure.pages[i];
        json!({"title": p.title, "description": p.description, "url": input.urls.url(&p.path)})
    };
    let (prev, next) = structure.neighbours(index);
    let children = if page.is_section {
        structure.children_of(&page.path)
    } else {
        &[]
    };
    let (sections, pages): (Vec<usize>, Vec<usize>) = children
        .iter()
        .partition(|&&i| structure.pages[i].is_section);
    let page_value = json!({
        "title": page.title,
        "description": page.description,
        "path": page.path,
        "url": input.urls.url(&page.path),
        "permalink": input.urls.permalink(&page.path),
        "content": content,
        "toc": toc,
        "source": page.shown_path.to_string_lossy(),
        "is_section": page.is_section,
        "pages": pages.into_iter().map(summary).collect::<Vec<_>>(),
        "subsections": sections.into_iter().map(summary).collect::<Vec<_>>(),
        "prev": prev.map(summary),
        "next": next.map(summary),
        "extra": page.extra,
    });
    let mut context = shared.content_context(&page.path);
    context.insert("page", &page_value);
    let template = match (page.path.is_empty(), page.is_section) {
        (true, _) => "index.html",
        (false, true) => "section.html",
        (false, false) => "page.html",
    };
    match input.theme.render(template, &context) {
        Ok(html) => RenderedPage {
            html: Some(html),
            diagnostics,
            search,
        },
        Err(e) => {
            diagnostics.push(Diagnostic {
                message: format!(
                    "{} (while rendering {})",
                    e.message,
                    page.shown_path.display()
                ),
                ..e
            });
            RenderedPage {
                html: None,
                diagnostics,
                search: None,
            }
        }
    }
}

/// A content page's HTML as published: refused (a short notice and an error) when it nests
/// deeper than [`html::MAX_PAGE_DEPTH`], which bounds both its size and the sanitiser's time;
/// otherwise sanitised like a write-up, unless the site set `unsafe_html: true`.
fn page_body(html: String, unsafe_html: bool) -> Result<String, (String, Diagnostic)> {
    if html::html_depth(&html) > html::MAX_PAGE_DEPTH {
        let why = format!(
            "this page nests elements more than {} levels deep, so its body is not published",
            html::MAX_PAGE_DEPTH
        );
        let notice = format!(
            "<p class=\"muted body-refused\">{}</p>\n",
            html::escape(&format!("{why}. Flatten its quotes, lists or HTML."))
        );
        let problem = Diagnostic::error(why)
            .with_hint("flatten its nested quotes, lists or HTML (browsers stop at 512 levels)");
        return Err((notice, problem));
    }
    Ok(if unsafe_html {
        html
    } else {
        html::sanitise_page(&html)
    })
}

fn site_value(input: &RenderInput<'_>) -> Value {
    json!({
        "title": input.config.title,
        "description": "Handbook and evidence portfolio of the Release and Rollback Clinic",
        "base_url": input.urls.permalink(""),
        "base_path": input.urls.base_path,
        "language": "en",
        "search": input.config.search,
    })
}

/// Top-level pages and sections, each section with its pages (one level, bounded).
fn nav_value(structure: &Structure<'_>, urls: &Urls, generated: &(String, String)) -> Value {
    let item = |i: usize, children: Vec<Value>| {
        let p = &structure.pages[i];
        json!({"title": p.title, "url": urls.url(&p.path), "path": p.path, "children": children})
    };
    let items: Vec<Value> = structure
        .children_of("")
        .iter()
        .map(|&i| {
            let kids = structure.children_of(&structure.pages[i].path);
            let children = if structure.pages[i].is_section && kids.len() <= NAV_CHILDREN_LIMIT {
                kids.iter().map(|&k| item(k, Vec::new())).collect()
            } else {
                Vec::new()
            };
            item(i, children)
        })
        .collect();
    let (path, title) = generated;
    let generated = json!({"title": title, "url": urls.url(path), "path": path, "children": []});
    Value::Array(std::iter::once(generated).chain(items).collect())
}

fn write_site_files(
    content: &Content,
    virtual_pages: &[VirtualPage],
    input: &RenderInput<'_>,
    output: &dyn Sink,
    shared: &Shared,
    diagnostics: &Diagnostics,
) -> Result<(), OutputError> {
    match input.theme.render("404.html", &shared.context("")) {
        Ok(html) => output.write("404.html", html.as_bytes())?,
        Err(e) => diagnostics.push(e),
    }
    if input.config.search {
        let page = VirtualPage {
            path: SEARCH_PAGE.to_string(),
            title: "Search".to_string(),
            template: "search.html",
            values: serde_json::Map::new(),
        };
        match render_virtual(&page, input, shared) {
            Ok(html) => output.write(&format!("{SEARCH_PAGE}index.html"), html.as_bytes())?,
            Err(e) => diagnostics.push(e),
        }
    }
    let paths = content
        .pages
        .iter()
        .map(|p| p.path.as_str())
        .chain(virtual_pages.iter().map(|p| p.path.as_str()));
    // A sitemap lists absolute URLs only (sitemaps.org): without the site's address there is
    // none to write, and the build says so once (see `sitemap_note`).
    if has_sitemap(input.urls) {
        output.write(SITEMAP, sitemap(paths, input.urls).as_bytes())?;
    }
    output.write("robots.txt", robots(input.urls).as_bytes())?;
    output.write(".nojekyll", b"")?;
    let (light, dark) = highlight::stylesheets();
    output.write("static/syntax-light.css", light.as_bytes())?;
    output.write("static/syntax-dark.css", dark.as_bytes())?;
    Ok(())
}

const SITEMAP: &str = "sitemap.xml";

/// Whether the site gets a `sitemap.xml`: its entries must be absolute URLs, and only a base
/// URL says what they are. The sitemap, `robots.txt`'s `Sitemap:` line and the build's note all
/// ask this.
fn has_sitemap(urls: &Urls) -> bool {
    urls.base_url.is_some()
}

/// Why a build wrote no `sitemap.xml`, for the build's output; `None` when it wrote one.
pub fn sitemap_note(urls: &Urls) -> Option<String> {
    (!has_sitemap(urls)).then(|| {
        format!("no {SITEMAP} was written: its addresses must be absolute, and the site's address is unknown; set `base_url` in clinic.yaml or build with --base-url https://you.github.io/repository/")
    })
}

/// Every crawler may read every page; the sitemap is named when its absolute address is known
/// (a `Sitemap:` line must be an absolute URL).
fn robots(urls: &Urls) -> String {
    let mut text = String::from("User-agent: *\nAllow: /\n");
    if has_sitemap(urls) {
        text.push_str(&format!("Sitemap: {}\n", urls.permalink(SITEMAP)));
    }
    text
}

/// A site path as a sitemap wants it (RFC 3986): bytes other than letters, digits, `-._~` and
/// `/` percent-encoded, so that a page slugged from a title in another script is a valid URL.
fn percent_encoded(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn sitemap<'a>(paths: impl Iterator<Item = &'a str>, urls: &Urls) -> String {
    let mut locs: BTreeMap<&str, String> = BTreeMap::new();
    for path in paths {
        locs.insert(path, html::escape(&urls.permalink(&percent_encoded(path))));
    }
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for loc in locs.values() {
        xml.push_str(&format!("  <url><loc>{loc}</loc></url>\n"));
    }
    xml.push_str("</urlset>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_paths_are_percent_encoded() {
        let urls = Urls {
            base_path: "/p/".into(),
            base_url: Some("https://a.github.io/p/".into()),
            shared: None,
        };
        let xml = sitemap(["notes/café au lait/", "a/"].into_iter(), &urls);
        assert!(
            xml.contains("<loc>https://a.github.io/p/notes/caf%C3%A9%20au%20lait/</loc>"),
            "{xml}"
        );
        assert!(xml.contains("<loc>https://a.github.io/p/a/</loc>"));
    }

    #[test]
    fn relative_joins() {
        assert_eq!(
            join_relative("patterns/", "../mistakes/x.md").as_deref(),
            Some("mistakes/x.md")
        );
        assert_eq!(join_relative("", "./a.md").as_deref(), Some("a.md"));
        assert_eq!(join_relative("", "../a.md"), None);
    }

    #[test]
    fn page_bodies_are_sanitised_unless_the_site_opts_out() {
        let html = "<p>a<script>x()</script></p>".to_string();
        assert_eq!(page_body(html.clone(), false).unwrap(), "<p>a</p>");
        assert_eq!(page_body(html.clone(), true).unwrap(), html);
    }

    #[test]
    fn deep_page_bodies_are_a_short_notice_and_an_error() {
        for unsafe_html in [false, true] {
            let deep = "<blockquote>\n".repeat(html::MAX_PAGE_DEPTH + 1);
            let (notice, problem) = page_body(deep, unsafe_html).unwrap_err();
            assert!(problem.is_error());
            assert!(notice.len() < 200, "{notice}");
            let at_limit = "<blockquote>".repeat(html::MAX_PAGE_DEPTH);
            assert!(page_body(at_limit, unsafe_html).is_ok());
        }
    }

    /// The demo's index, as a build writes it, is what elasticlunr-rs makes of the same pages.
    #[test]
    fn the_demo_index_is_what_elasticlunr_rs_makes_of_it() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("demo");
        crate::commands::demo::write(&root).unwrap();
        let out = tmp.path().join("out");
        let options = crate::BuildOptions {
            root,
            out: Some(out.clone()),
            base_url: Some("https://ada-example.github.io/orders-api/".into()),
            strict: false,
            include_drafts: false,
            no_cache: true,
            ..crate::BuildOptions::default()
        };
        let report = crate::build(&options, &|_, _| {}).unwrap();
        let written = std::fs::read_to_string(out.join(search::INDEX_FILE)).unwrap();
        let searched = lock(&report.generated.searched);
        let docs = searched.docs();
        assert!(docs.len() > 20, "{} pages", docs.len());
        let oracle = search::tests::oracle_of(&docs, &searched.vocabulary, &report.setup.urls);
        search::tests::assert_same_index(&written, &oracle);
    }

    #[test]
    fn schemes() {
        assert!(has_scheme("https://x"));
        assert!(has_scheme("mailto:a@b"));
        assert!(!has_scheme("a.md"));
        assert!(!has_scheme("dir/a:b.md"));
    }
}
