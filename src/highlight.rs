//! Code highlighting with syntect into CSS classes (`hl-` prefixed), plus the generated light
//! and dark stylesheets. The syntax set is loaded once per process and shared by all threads.

use std::sync::OnceLock;

use syntect::highlighting::ThemeSet;
use syntect::html::{css_for_theme_with_class_style, ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::{SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };
const LIGHT_THEME: &str = "InspiredGitHub";
const DARK_THEME: &str = "base16-ocean.dark";

fn syntax_set() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Languages that render as plain text on purpose, without a warning.
const PLAIN: &[&str] = &["", "text", "txt", "plain", "plaintext", "output", "console", "none"];

/// Names people write that syntect knows by another token.
fn alias(lang: &str) -> &str {
    match lang {
        "shell" | "sh" | "zsh" | "shell-session" => "bash",
        "yml" => "yaml",
        "psql" | "postgres" | "postgresql" | "pgsql" => "sql",
        "js" => "javascript",
        "rs" => "rust",
        "py" => "python",
        other => other,
    }
}

/// The outcome of highlighting one block.
pub struct Highlighted {
    pub html: String,
    /// False when the language was named but unknown: the block is plain text and the caller
    /// warns.
    pub known_language: bool,
}

/// Renders a code block as `<pre class="code" data-lang=..><code>..</code></pre>`.
pub fn highlight_block(code: &str, lang: &str) -> Highlighted {
    let lang = lang.trim().to_ascii_lowercase();
    let syntax = find_syntax(&lang);
    let body = match syntax {
        Some(syntax) => classed_html(code, syntax),
        None => escape(code),
    };
    let lang_attr = escape(&lang);
    Highlighted {
        html: format!("<pre class=\"code\" data-lang=\"{lang_attr}\"><code>{body}</code></pre>\n"),
        known_language: syntax.is_some() || PLAIN.contains(&lang.as_str()),
    }
}

fn find_syntax(lang: &str) -> Option<&'static SyntaxReference> {
    if PLAIN.contains(&lang) {
        return None;
    }
    let set = syntax_set();
    set.find_syntax_by_token(alias(lang))
}

fn classed_html(code: &str, syntax: &SyntaxReference) -> String {
    let mut generator =
        ClassedHTMLGenerator::new_with_class_style(syntax, syntax_set(), CLASS_STYLE);
    for line in LinesWithEndings::from(code) {
        if generator.parse_html_for_line_which_includes_newline(line).is_err() {
            // A grammar that fails mid-block: plain text is better than a broken page.
            return escape(code);
        }
    }
    generator.finalize()
}

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

/// The two generated stylesheets: (light, dark).
pub fn stylesheets() -> (String, String) {
    let themes = ThemeSet::load_defaults();
    let css = |name: &str| {
        css_for_theme_with_class_style(&themes.themes[name], CLASS_STYLE)
            .unwrap_or_default()
    };
    (css(LIGHT_THEME), css(DARK_THEME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_gets_classes() {
        let out = highlight_block("SELECT 1;\n", "sql");
        assert!(out.known_language);
        assert!(out.html.contains("class=\"hl-"), "{}", out.html);
        assert!(out.html.contains("data-lang=\"sql\""));
    }

    #[test]
    fn unknown_language_is_escaped_plain_text() {
        let out = highlight_block("<b>x</b>\n", "klingon");
        assert!(!out.known_language);
        assert!(out.html.contains("&lt;b&gt;x&lt;/b&gt;"));
    }

    #[test]
    fn plain_text_needs_no_warning() {
        assert!(highlight_block("x", "text").known_language);
        assert!(highlight_block("x", "").known_language);
    }

    #[test]
    fn aliases_resolve() {
        assert!(highlight_block("echo hi\n", "shell").html.contains("hl-"));
        assert!(highlight_block("a: 1\n", "yml").html.contains("hl-"));
    }

    #[test]
    fn stylesheets_differ_and_use_prefix() {
        let (light, dark) = stylesheets();
        assert!(light.contains(".hl-"));
        assert_ne!(light, dark);
    }
}
