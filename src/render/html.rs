//! HTML text helpers shared by every page writer: escaping, the sanitiser for untrusted
//! Markdown (students' write-ups), and a bounded nesting check that keeps the sanitiser fast.

/// Minimal HTML escaping for text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    escape_into(&mut out, text);
    out
}

/// [`escape`], appended to `out`: the same five characters syntect's highlighter escapes, with
/// the same references.
pub fn escape_into(out: &mut String, text: &str) {
    let mut run = 0;
    for (i, b) in text.bytes().enumerate() {
        let reference = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[run..i]);
        out.push_str(reference);
        run = i + 1;
    }
    out.push_str(&text[run..]);
}

/// Removes scripts, event handlers, `javascript:` and `data:` URLs, forms, frames and styles,
/// keeping the markup prose needs (and the highlighter's classes).
pub fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .add_generic_attributes(["class", "id", "data-lang", "aria-label"])
        .add_tag_attributes("pre", ["tabindex"])
        .attribute_filter(keep_attribute)
        .clean(html)
        .to_string()
}

/// A code block may be focusable (`tabindex="0"`, so that keyboard users can scroll it) and
/// nothing else may change the tab order.
fn keep_attribute<'v>(
    element: &str,
    attribute: &str,
    value: &'v str,
) -> Option<std::borrow::Cow<'v, str>> {
    match (element, attribute) {
        ("pre", "tabindex") => (value == "0").then_some(value.into()),
        // Only the column alignment pulldown-cmark writes for tables.
        ("th" | "td", "style") => matches!(
            value,
            "text-align: left" | "text-align: center" | "text-align: right"
        )
        .then_some(value.into()),
        _ => Some(value.into()),
    }
}

/// The deepest element nesting a content page may have, as for a student's write-up: html5ever
/// (inside ammonia) is quadratic in nesting depth, and 100 KB of nested `>` is 2.7 MB of HTML.
pub const MAX_PAGE_DEPTH: usize = 100;

/// Sanitises a rendered `content/` page: the same removals as [`sanitise`] (scripts, event
/// handlers, `javascript:` and `data:` URLs, forms, frames, `<base>`, styles), with an allow-list
/// that keeps everything the handbook's Markdown produces as written: heading ids and anchors,
/// the highlighter's classes, tables with their column alignment, task-list checkboxes (always
/// disabled checkboxes), footnotes and `<details>` cards. Links get no `rel` added, so a page
/// without raw HTML renders exactly as before.
pub fn sanitise_page(html: &str) -> String {
    page_sanitiser().clean(html).to_string()
}

fn page_sanitiser() -> &'static ammonia::Builder<'static> {
    static BUILDER: std::sync::OnceLock<ammonia::Builder<'static>> = std::sync::OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .add_generic_attributes(["class", "id", "data-lang", "aria-label"])
            .add_tags(["input"])
            .add_tag_attributes("input", ["type", "checked", "disabled", "aria-label"])
            .set_tag_attribute_value("input", "type", "checkbox")
            .set_tag_attribute_value("input", "disabled", "")
            .add_tag_attributes("details", ["open"])
            .add_tag_attributes("th", ["style"])
            .add_tag_attributes("td", ["style"])
            .add_tag_attributes("pre", ["tabindex"])
            .attribute_filter(keep_attribute)
            .link_rel(None);
        builder
    })
}

/// The deepest element nesting of an HTML fragment, counted in one pass without building a tree.
/// It over-counts rather than under-counts: end tags that HTML lets authors omit (`p`, `li`, ...)
/// and void elements are not counted, and anything unclosed stays open.
pub fn html_depth(html: &str) -> usize {
    const VOID: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    ];
    const OPTIONAL_END: &[&str] = &[
        "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rp", "thead",
        "tbody", "tfoot", "colgroup", "caption",
    ];
    let bytes = html.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while let Some(offset) = memchr::memchr(b'<', &bytes[i..]) {
        i += offset + 1;
        let closing = bytes.get(i) == Some(&b'/');
        let name_start = if closing { i + 1 } else { i };
        let mut j = name_start;
        while j < bytes.len() && bytes[j].is_ascii_alphanumeric() {
            j += 1;
        }
        if j == name_start {
            if bytes.get(i) == Some(&b'!') {
                // A comment or declaration: skip it whole.
                let end = if html[i..].starts_with("!--") {
                    html[i..].find("-->").map(|e| e + 3)
                } else {
                    html[i..].find('>').map(|e| e + 1)
                };
                i = end.map_or(bytes.len(), |e| i + e);
            }
            continue;
        }
        let name = html[name_start..j].to_ascii_lowercase();
        // Find the tag's end, honouring quoted attribute values.
        let mut quote = None;
        let mut k = j;
        while k < bytes.len() {
            match (quote, bytes[k]) {
                (None, b'"' | b'\'') => quote = Some(bytes[k]),
                (Some(q), c) if c == q => quote = None,
                (None, b'>') => break,
                _ => {}
            }
            k += 1;
        }
        let self_closing = k > j && bytes[k - 1] == b'/';
        i = (k + 1).min(bytes.len());
        if closing {
            if !OPTIONAL_END.contains(&name.as_str()) {
                depth = depth.saturating_sub(1);
            }
        } else if !self_closing
            && !VOID.contains(&name.as_str())
            && !OPTIONAL_END.contains(&name.as_str())
        {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitise_removes_active_content_and_keeps_prose() {
        let dirty = r#"<p onclick="x()">Hi <a href="javascript:alert(1)">a</a><script>alert(1)</script><img src="data:text/html,x" onerror="y()"><iframe src="https://e"></iframe><form></form><b style="color:red">b</b></p>"#;
        let clean = sanitise(dirty);
        for bad in [
            "onclick",
            "javascript:",
            "<script",
            "onerror",
            "data:",
            "<iframe",
            "<form",
            "style=",
        ] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
        assert!(clean.contains("<b>b</b>"));
    }

    #[test]
    fn page_sanitiser_removes_active_content() {
        let dirty = r#"<p onclick="x()">Hi <a href="javascript:alert(1)">a</a><script>alert(1)</script><img src="data:text/html,x" onerror="y()"><iframe src="https://e"></iframe><form action="https://e"><input type="password" name="pw"></form><base href="https://e/"><b style="color:red">b</b><td style="background:url(https://e)">c</td></p>"#;
        let clean = sanitise_page(dirty);
        for bad in [
            "onclick",
            "javascript:",
            "<script",
            "onerror",
            "data:",
            "<iframe",
            "<form",
            "<base",
            "style=",
            "password",
            "https://e",
        ] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
        assert!(clean.contains("<b>b</b>"));
        // An input is only ever a disabled checkbox.
        assert!(
            clean.contains(r#"<input type="checkbox" disabled="">"#),
            "{clean}"
        );
    }

    #[test]
    fn page_sanitiser_keeps_what_markdown_writes() {
        let markdown = concat!(
            "<h2 id=\"why\">Why? <a class=\"anchor\" href=\"#why\" aria-label=\"Link to this section\">#</a></h2>\n",
            "<table><thead><tr><th style=\"text-align: right\">n</th></tr></thead><tbody><tr><td style=\"text-align: center\">1</td></tr></tbody></table>\n",
            "<ul>\n<li><input disabled=\"\" type=\"checkbox\" checked=\"\">\ndone</li>\n</ul>\n",
            "<p>Note<sup class=\"footnote-reference\"><a href=\"#n\">1</a></sup>.</p>\n",
            "<div class=\"footnote-definition\" id=\"n\"><sup class=\"footnote-definition-label\">1</sup>\n<p>The note.</p>\n</div>\n",
            "<details class=\"card\" open=\"\">\n<summary>Q <code>x</code>?</summary>\n<p>A.</p>\n</details>\n",
            "<pre class=\"code\" data-lang=\"sql\"><code><span class=\"hl-source hl-sql\">SELECT</span></code></pre>\n",
            "<p><a href=\"https://example.org/\" title=\"t\">out</a> <img src=\"/a.png\" alt=\"a\"></p>\n",
        );
        assert_eq!(sanitise_page(markdown), markdown);
    }
}
