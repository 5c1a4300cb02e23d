//! HTML text helpers shared by every page writer: escaping, the sanitiser for untrusted
//! Markdown (students' write-ups), and a bounded nesting check that keeps the sanitiser fast.

/// Minimal HTML escaping for text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Removes scripts, event handlers, `javascript:` and `data:` URLs, forms, frames and styles,
/// keeping the markup prose needs (and the highlighter's classes).
pub fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .add_generic_attributes(["class", "id", "data-lang", "aria-label"])
        .clean(html)
        .to_string()
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
}
