//! The full-text search index: every handbook page and every portfolio page, as plain text, in
//! an [elasticlunr](https://github.com/weixsong/elasticlunr.js) index that the browser loads from
//! `search-index.json` (no server: the site stays static and works offline).
//!
//! Why elasticlunr-rs: it is what mdBook and Zola ship, its only dependencies (regex, serde) are
//! already in the tree, and it builds the index in-process from text the render already has.
//! Pagefind is the better-maintained engine, but its crate pulls in tokio, actix-web, lol_html and
//! thirty-odd other crates and re-parses every written page. The measured index size and build
//! cost are in `content/reference/search.md`.
//!
//! The index holds text only: tags are stripped here, and the browser inserts titles and snippets
//! with `textContent`, so nothing in a page (a student's write-up included) becomes markup there.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::Value;

use crate::load::urls::Urls;

/// The file the index is written to, at the site root (fetched relative to the base path).
pub(crate) const INDEX_FILE: &str = "search-index.json";
/// Characters of each page's text kept for its result's snippet: enough for two lines, and
/// small enough that the index of a 10,000-page site stays a few megabytes.
const SNIPPET_CHARS: usize = 240;
/// Elements whose text is not prose: drawings, code that runs, and templates.
const SKIPPED: &[&str] = &["svg", "script", "style", "template"];
/// The attribute that keeps an element (without the same element nested in it) out of the
/// index.
const SKIP_ATTRIBUTE: &str = "data-search-skip";
/// The start of the `#` link the Markdown renderer puts in every heading.
const HEADING_ANCHOR: &str = "a class=\"anchor\"";

/// One page as the index sees it: what a result shows, and its words, ready for the index.
#[derive(Debug, Clone, PartialEq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct Doc {
    /// The page's site path (`patterns/expand-contract/`).
    pub(crate) path: String,
    pub(crate) title: String,
    /// The start of the page's text, shown under its title in the results.
    pub(crate) snippet: String,
    /// The title's and the text's terms (stemmed, stop words and bare numbers left out),
    /// separated by spaces.
    title_terms: String,
    body_terms: String,
}

impl Doc {
    /// A page whose body is the HTML fragment `html` (a content page's rendered Markdown).
    /// Called from the parallel render: the costly part of indexing (stemming every word) runs
    /// here, on every core, and only the insertion into the index is left for one thread.
    pub(crate) fn from_fragment(path: &str, title: &str, html: &str) -> Doc {
        let text = text_of(html);
        Doc {
            path: path.to_string(),
            title: title.to_string(),
            snippet: snippet(&text),
            title_terms: terms(title),
            body_terms: terms(&text),
        }
    }

    /// A whole rendered page (a portfolio page): only what is inside `<main>` is indexed, so the
    /// navigation that every page repeats does not match every query.
    pub(crate) fn from_page(path: &str, title: &str, page: &str) -> Doc {
        let main = page
            .find("<main")
            .and_then(|start| {
                let end = page[start..].find("</main>")?;
                Some(&page[start..start + end])
            })
            .unwrap_or("");
        Doc::from_fragment(path, title, main)
    }
}

/// The words of `text` as elasticlunr.js will look them up: split at spaces and hyphens,
/// lower-cased, run through the English pipeline (trimmer, stop words, stemmer), as
/// elasticlunr-rs would in `add_doc`, but with each distinct word stemmed once per thread.
/// Bare numbers are left out: nobody searches for `00042`, and on a large site they are most of
/// the index's distinct terms.
fn terms(text: &str) -> String {
    thread_local! {
        static STEMS: RefCell<Stems> = RefCell::new(Stems::default());
    }
    STEMS.with(|stems| {
        let mut stems = stems.borrow_mut();
        let mut out = String::with_capacity(text.len());
        for word in text.split(|c: char| c.is_whitespace() || c == '-') {
            if word.is_empty() || word.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some(term) = stems.term(word) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(term);
            }
        }
        out
    })
}

/// The English pipeline with a cache of what it made of each word.
struct Stems {
    pipeline: elasticlunr::Pipeline,
    cache: HashMap<String, Option<String>>,
}

impl Default for Stems {
    fn default() -> Self {
        use elasticlunr::Language;
        Stems {
            pipeline: elasticlunr::lang::English::new().make_pipeline(),
            cache: HashMap::new(),
        }
    }
}

impl Stems {
    /// Entries kept at most; past it the cache starts again (a site of unusual words).
    const LIMIT: usize = 200_000;

    fn term(&mut self, word: &str) -> Option<&str> {
        if !self.cache.contains_key(word) {
            if self.cache.len() >= Self::LIMIT {
                self.cache.clear();
            }
            let term = self
                .pipeline
                .run(vec![word.to_lowercase()])
                .pop()
                .filter(|t| !t.is_empty() && !t.bytes().all(|b| b.is_ascii_digit()));
            self.cache.insert(word.to_string(), term);
        }
        self.cache.get(word).and_then(|t| t.as_deref())
    }
}

/// elasticlunr's English, for text that [`terms`] already prepared: split at spaces, and a
/// pipeline that changes nothing but keeps the English steps' names, which elasticlunr.js reads
/// from the index to prepare the query the same way.
struct Prepared;

impl elasticlunr::Language for Prepared {
    fn name(&self) -> String {
        "English".into()
    }

    fn code(&self) -> String {
        "en".into()
    }

    fn tokenize(&self, text: &str) -> Vec<String> {
        text.split(' ')
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect()
    }

    fn make_pipeline(&self) -> elasticlunr::Pipeline {
        fn same(token: String) -> Option<String> {
            Some(token)
        }
        let step = |name: &str| -> Box<dyn elasticlunr::pipeline::PipelineFn> {
            Box::new(elasticlunr::pipeline::FnWrapper(name.into(), same))
        };
        elasticlunr::Pipeline {
            queue: vec![step("trimmer"), step("stopWordFilter"), step("stemmer")],
        }
    }
}

/// The index file: `{"version": 1, "index": <elasticlunr index>, "docs": [[title, url,
/// snippet], ...]}`, where a result's ref is its position in `docs`. Documents are not stored in
/// the elasticlunr index itself (it would keep every page's whole text); only the snippet is.
pub(crate) fn index_json(docs: &[Doc], urls: &Urls) -> String {
    let mut index = elasticlunr::IndexBuilder::with_language(Box::new(Prepared))
        .save_docs(false)
        .add_fields(&["title", "body"])
        .build();
    let mut shown = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        index.add_doc(
            &i.to_string(),
            [doc.title_terms.as_str(), doc.body_terms.as_str()],
        );
        shown.push(Value::from(vec![
            doc.title.clone(),
            urls.url(&doc.path),
            doc.snippet.clone(),
        ]));
    }
    format!(
        "{{\"version\":1,\"index\":{},\"docs\":{}}}",
        index.to_json(),
        Value::Array(shown)
    )
}

/// The start of a page's text, cut at a word boundary.
fn snippet(text: &str) -> String {
    if text.chars().count() <= SNIPPET_CHARS {
        return text.to_string();
    }
    let cut = text
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..cut];
    let head = head.rfind(' ').map_or(head, |space| &head[..space]);
    format!("{head} …")
}

/// The text of an HTML fragment: tags dropped (each one a word break), the contents of
/// [`SKIPPED`] elements dropped, the common character references decoded, whitespace collapsed.
pub(crate) fn text_of(html: &str) -> String {
    let mut raw = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skipping: Option<&str> = None;
    while let Some(lt) = rest.find('<') {
        if skipping.is_none() {
            raw.push_str(&rest[..lt]);
        }
        let tag_end = rest[lt..].find('>').map_or(rest.len(), |e| lt + e + 1);
        let tag = &rest[lt + 1..tag_end.saturating_sub(1).max(lt + 1)];
        match skipping {
            Some(name) if closes(tag, name) => skipping = None,
            Some(_) => {}
            // A heading's `#` link to itself is not part of its text.
            None if tag.starts_with(HEADING_ANCHOR) => skipping = Some("a"),
            // Nor is what the theme marks as no text of the page (the portfolio's stamp, whose
            // build time would change the index on every build).
            None if tag.contains(SKIP_ATTRIBUTE) => {
                skipping = tag.split(|c: char| c.is_ascii_whitespace()).next()
            }
            None => skipping = SKIPPED.iter().copied().find(|name| opens(tag, name)),
        }
        raw.push(' ');
        rest = &rest[tag_end..];
    }
    if skipping.is_none() {
        raw.push_str(rest);
    }
    let decoded = decode_references(&raw);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn opens(tag: &str, name: &str) -> bool {
    has_name(tag, name) && !tag.ends_with('/')
}

fn closes(tag: &str, name: &str) -> bool {
    tag.strip_prefix('/').is_some_and(|t| has_name(t, name))
}

/// Whether a tag's text (between `<` and `>`) starts with the element name `name`.
fn has_name(tag: &str, name: &str) -> bool {
    tag.len() >= name.len()
        && tag[..name.len()].eq_ignore_ascii_case(name)
        && tag[name.len()..]
            .chars()
            .next()
            .is_none_or(|c| c.is_ascii_whitespace() || c == '/')
}

/// The references the Markdown renderer and the sanitiser write; any other is left as written.
fn decode_references(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let reference = after.find(';').filter(|&e| e <= 10).map(|e| &after[..=e]);
        match reference.and_then(decode_one) {
            Some(c) => {
                out.push(c);
                rest = &after[reference.map_or(1, str::len)..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_one(reference: &str) -> Option<char> {
    let name = &reference[1..reference.len() - 1];
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_drops_tags_drawings_and_decodes_references() {
        let html = "<h2 id=\"a\">Expand &amp; contract <a class=\"anchor\" href=\"#a\">#</a></h2><p>Add the <code>email</code>\ncolumn&#39;s twin.</p>\
                    <svg viewBox=\"0 0 1 1\"><text>axis label</text></svg><p>After&nbsp;it<br/>ends &copy; x</p>";
        assert_eq!(
            text_of(html),
            "Expand & contract Add the email column's twin. After it ends &copy; x"
        );
    }

    #[test]
    fn elements_the_theme_marks_are_not_text() {
        let html = "<p>Badges</p><p class=\"stamp\" data-search-skip>built <code>09:00</code> today</p><p>after</p>";
        assert_eq!(text_of(html), "Badges after");
    }

    #[test]
    fn escaped_markup_stays_text() {
        // What the sanitiser leaves of a student's `<script>` is text, and stays text here.
        assert_eq!(
            text_of("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
            "<script>alert(1)</script>"
        );
    }

    #[test]
    fn a_page_is_indexed_by_its_main_only() {
        let page = "<nav>Contents Portfolio</nav><main id=\"main\"><h1>Flag</h1><p>retired</p></main><footer>f</footer>";
        let doc = Doc::from_page("portfolio/", "Portfolio", page);
        assert_eq!(doc.snippet, "Flag retired");
        assert_eq!(doc.body_terms, "flag retir");
    }

    #[test]
    fn terms_are_what_the_english_pipeline_makes_without_bare_numbers() {
        // The same as elasticlunr-rs's own English (stems, stop words), numbers left out.
        assert_eq!(
            terms("The rollbacks were rehearsed in page-00042, v1.3.0 (twice)."),
            "rollback rehears page v1.3.0 twice"
        );
    }

    #[test]
    fn snippets_are_cut_at_a_word() {
        let long = "word ".repeat(100);
        let s = snippet(long.trim());
        assert!(s.ends_with("word …"), "{s}");
        assert!(s.chars().count() <= SNIPPET_CHARS + 2);
        assert_eq!(snippet("short"), "short");
    }

    #[test]
    fn the_index_names_each_page_and_its_url_under_the_base_path() {
        let urls = Urls {
            base_path: "/portfolio/".into(),
            base_url: None,
            shared: None,
        };
        let docs = [Doc::from_fragment(
            "a/",
            "Alpha",
            "<p>rollback rehearsal</p>",
        )];
        let json: Value = serde_json::from_str(&index_json(&docs, &urls)).unwrap();
        assert_eq!(json["docs"][0][0], "Alpha");
        assert_eq!(json["docs"][0][1], "/portfolio/a/");
        assert_eq!(json["index"]["version"], "0.9.5");
        assert!(json["index"]["index"]["body"]["root"]["r"].is_object());
    }
}
