//! Code highlighting with syntect into CSS classes (`hl-` prefixed), plus the generated light
//! and dark stylesheets. The syntax set is loaded once per process and shared by all threads.

use super::html::escape;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use syntect::highlighting::ThemeSet;
use syntect::html::{css_for_theme_with_class_style, line_tokens_to_classed_spans, ClassStyle};
use syntect::parsing::{ParseState, ScopeStack, ScopeStackOp, SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };
const LIGHT_THEME: &str = "InspiredGitHub";
const DARK_THEME: &str = "base16-ocean.dark";

fn syntax_set() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Languages that render as plain text on purpose, without a warning.
const PLAIN: &[&str] = &[
    "",
    "text",
    "txt",
    "plain",
    "plaintext",
    "output",
    "console",
    "none",
];

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
pub(crate) struct Highlighted {
    pub html: String,
    /// False when the language was named but unknown: the block is plain text and the caller
    /// warns.
    pub known_language: bool,
}

/// Renders a code block as `<pre class="code" data-lang=..><code>..</code></pre>`.
pub(crate) fn highlight_block(code: &str, lang: &str) -> Highlighted {
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

type Ops = Vec<(usize, ScopeStackOp)>;

/// Per-thread memo of syntect's line parse: (state before, line) -> (ops, state after). It is
/// exact (the parse of a line depends only on the state and the text) and bounded: each
/// thread's memo is cleared when it holds its share of `MEMO_BUDGET` entries (about 0.9 KiB
/// each), so the total stays near 4 MiB whatever the number of threads. Measured on the
/// 10,000-page corpus (`benches/site-build.sh`): 64 Ki entries held 55 MiB more at the peak
/// (179 against 92 MiB) for no less CPU time; the lines worth remembering recur within a
/// block or a page, and a small memo keeps them.
#[derive(Default)]
struct LineMemo {
    lines: HashMap<String, Vec<(ParseState, Ops, ParseState)>>,
    entries: usize,
}

const MEMO_BUDGET: usize = 4 * 1024;

fn memo_limit() -> usize {
    MEMO_BUDGET / rayon::current_num_threads().max(1)
}

thread_local! {
    static MEMO: RefCell<LineMemo> = RefCell::new(LineMemo::default());
}

impl LineMemo {
    fn parse(&mut self, state: &mut ParseState, line: &str) -> Option<Ops> {
        if let Some(bucket) = self.lines.get(line) {
            if let Some((_, ops, after)) = bucket.iter().find(|(before, _, _)| before == state) {
                *state = after.clone();
                return Some(ops.clone());
            }
        }
        let before = state.clone();
        let ops = state.parse_line(line, syntax_set()).ok()?;
        if self.entries >= memo_limit() {
            self.lines.clear();
            self.entries = 0;
        }
        self.entries += 1;
        self.lines
            .entry(line.to_string())
            .or_default()
            .push((before, ops.clone(), state.clone()));
        Some(ops)
    }
}

fn classed_html(code: &str, syntax: &SyntaxReference) -> String {
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let mut html = String::with_capacity(code.len() * 3);
    let mut open_spans: isize = 0;
    let ok = MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        for line in LinesWithEndings::from(code) {
            let Some(ops) = memo.parse(&mut state, line) else {
                return false;
            };
            let Ok((formatted, delta)) =
                line_tokens_to_classed_spans(line, &ops, CLASS_STYLE, &mut stack)
            else {
                return false;
            };
            open_spans += delta;
            html.push_str(&formatted);
        }
        true
    });
    if !ok {
        // A grammar that fails mid-block: plain text is better than a broken page.
        return escape(code);
    }
    for _ in 0..open_spans {
        html.push_str("</span>");
    }
    html
}

/// The two generated stylesheets: (light, dark).
pub(crate) fn stylesheets() -> (String, String) {
    let themes = ThemeSet::load_defaults();
    let css = |name: &str| {
        css_for_theme_with_class_style(&themes.themes[name], CLASS_STYLE).unwrap_or_default()
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
