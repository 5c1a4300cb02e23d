//! The render's half of the build cache: for each content page, the key of everything its HTML
//! was made from, what rendering it reported, and its search document. A page whose key is the
//! same as in the previous build, and whose file that build wrote is untouched, is neither
//! rendered nor written again; its warnings and its search text come from here.
//!
//! A page's key has two parts:
//! - the **site key**: clinic's own settings and what every page shows of the others (the
//!   configuration, the URLs, the theme's templates, the portfolio, the navigation, and the
//!   outline of every page: source, URL, title, description, weight, section, draft; plus the
//!   assets, which links resolve to). Any change there renders every page again;
//! - the page's own **body** and what only it shows (its extra front matter, its file name).
//!
//! The generated pages (the portfolio) are always rendered: they are few, and they carry the
//! build time. Content pages do not get the build time (`portfolio.stamp.built`) for the same
//! reason: it would change every page on every build.
//! The `Page` and `Content` fields are listed without `..`, so that a field added to either one
//! does not compile until it is given to one of the two keys.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::search;
use super::Shared;
use crate::diagnostics::Diagnostic;
use crate::load::content::{Content, Page};
use crate::output::manifest::Fingerprint;

/// What the previous build rendered (empty for a first build or a clean one).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct RenderCache {
    /// Each content page rendered, by its output file (`patterns/x/index.html`).
    pub(super) pages: HashMap<String, CachedPage>,
    /// The digest of the search documents the written index was made from.
    pub(super) search_index: Option<u128>,
    /// Whether this render wrote the index again: the content pages' documents must then be
    /// stored again too ([`StoredDocs`]).
    #[serde(skip)]
    pub(crate) docs_changed: bool,
}

/// The content pages' search documents kept beside the cache, each handed to the visitor as it
/// is read (read only when the index must be written again, so a build with nothing changed
/// does not load them).
pub(crate) type StoredDocs<'a> = dyn Fn(&mut dyn FnMut(&[String], search::StoredDoc)) + 'a;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CachedPage {
    pub(super) key: u128,
    pub(super) diagnostics: Vec<Diagnostic>,
    /// The [`search::Doc::key`] of the page's search document.
    pub(super) search: Option<u128>,
}

impl RenderCache {
    /// The content pages' problems, which the render left here rather than copy (a site with
    /// a warning on each of 10,000 pages holds megabytes of them).
    pub(crate) fn into_diagnostics(self) -> impl Iterator<Item = Diagnostic> {
        self.pages.into_values().flat_map(|page| page.diagnostics)
    }

    /// The previous render of the page at `rel`, if it was made from `key`.
    pub(super) fn hit(&self, rel: &str, key: u128) -> Option<&CachedPage> {
        self.pages.get(rel).filter(|page| page.key == key)
    }
}

/// Bump when what a key covers changes.
const KEY_VERSION: u32 = 1;

/// Each content page's key, by index into `content.pages`.
/// `bodies`: each page's body, taken out of the page (see [`super::render_site`]).
pub(super) fn page_keys(
    content: &Content,
    bodies: &[String],
    shared: &Shared,
    input: &super::RenderInput,
) -> Vec<u128> {
    use rayon::prelude::*;
    let site = site_key(content, shared, input);
    content
        .pages
        .par_iter()
        .zip(bodies)
        .map(|(page, body)| page_key(site, page, body))
        .collect()
}

fn site_key(content: &Content, shared: &Shared, input: &super::RenderInput) -> u128 {
    let Content { pages, assets } = content;
    let mut key = Fingerprint::default();
    key.add(KEY_VERSION)
        .add(input.config)
        .add(input.urls)
        .add(input.theme.fingerprint)
        .add(shared.site.to_string())
        .add(shared.nav.to_string())
        .add(shared.content_portfolio.to_string())
        .add(pages.len());
    for page in pages {
        outline(page, &mut key);
    }
    for asset in assets {
        key.add(&asset.rel);
    }
    key.finish()
}

/// What other pages show of a page (their navigation, prev/next, section lists, links).
fn outline(page: &Page, key: &mut Fingerprint) {
    let Page {
        source,
        shown_path: _,
        path,
        title,
        description,
        weight,
        draft,
        is_section,
        extra: _,
        body: _,
        body_first_line: _,
    } = page;
    key.add(source)
        .add(path)
        .add(title)
        .add(description)
        .add(weight)
        .add(draft)
        .add(is_section);
}

/// What only the page itself shows (its body given apart: the render takes it out of the page).
fn page_key(site: u128, page: &Page, body: &str) -> u128 {
    let Page {
        source: _,
        shown_path,
        path: _,
        title: _,
        description: _,
        weight: _,
        draft: _,
        is_section: _,
        extra,
        body: _,
        body_first_line,
    } = page;
    let extra = serde_json::to_string(extra).unwrap_or_default();
    Fingerprint::default()
        .add(site)
        .add(shown_path)
        .add(extra)
        .add(body)
        .add(body_first_line)
        .finish()
}

/// The digest of the documents a search index is made from: the content pages' (by their
/// [`search::Doc::key`], in page order) and the generated pages', and the URLs the index gives them.
pub(super) fn search_key(
    pages: &[Option<u128>],
    generated: &[search::Doc],
    urls: &crate::load::urls::Urls,
) -> u128 {
    let mut key = Fingerprint::default();
    // The index holds each page's URL.
    key.add(KEY_VERSION).add(urls).add(pages);
    for doc in generated {
        key.add(doc.key());
    }
    key.finish()
}
