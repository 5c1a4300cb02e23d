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

use serde_json::Value;

use crate::load::urls::Urls;

/// The file the index is written to, at the site root (fetched relative to the base path).
pub(crate) const INDEX_FILE: &str = "search-index.json";
/// Characters of each page's text kept for its result's snippet: enough for two lines, and
/// small enough that the index of a 10,000-page site stays a few megabytes.
const SNIPPET_CHARS: usize = 240;
/// Elements whose text is not prose: drawings, code that runs, and templates.
const SKIPPED: &[&str] = &["svg", "script", "style", "template"];
/// The start of the `#` link the Markdown renderer puts in every heading.
const HEADING_ANCHOR: &str = "a class=\"anchor\"";

/// One page as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    /// The page's site path (`patterns/expand-contract/`).
    pub(crate) path: String,
    pub(crate) title: String,
    /// The page's text, tags stripped and whitespace collapsed.
    pub(crate) text: String,
}

impl Doc {
    /// A page whose body is the HTML fragment `html` (a content page's rendered Markdown).
    pub(crate) fn from_fragment(path: &str, title: &str, html: &str) -> Doc {
        Doc {
            path: path.to_string(),
            title: title.to_string(),
            text: text_of(html),
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

/// The index file: `{"version": 1, "index": <elasticlunr index>, "docs": [[title, url,
/// snippet], ...]}`, where a result's ref is its position in `docs`. Documents are not stored in
/// the elasticlunr index itself (it would keep every page's whole text); only the snippet is.
pub(crate) fn index_json(docs: &[Doc], urls: &Urls) -> String {
    let mut index = elasticlunr::IndexBuilder::new()
        .save_docs(false)
        .add_fields(&["title", "body"])
        .build();
    let mut shown = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        index.add_doc(&i.to_string(), [doc.title.as_str(), doc.text.as_str()]);
        shown.push(Value::from(vec![
            doc.title.clone(),
            urls.url(&doc.path),
            snippet(&doc.text),
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
        assert_eq!(doc.text, "Flag retired");
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
