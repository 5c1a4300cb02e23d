//! Code highlighting with syntect into CSS classes (`hl-` prefixed), plus the generated light
//! and dark stylesheets. The syntaxes are bat's (two-face), a superset of syntect's own with what
//! a deploy course writes: Dockerfile, TOML, HCL/Terraform, INI, nginx, TypeScript, Kotlin, Swift,
//! PowerShell, SCSS, GraphQL, protobuf. The set is loaded once per process and shared by all
//! threads.

use super::html::{escape, escape_into};
use super::search;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use syntect::highlighting::ThemeSet;
use syntect::html::{css_for_theme_with_class_style, ClassStyle};
use syntect::parsing::{
    BasicScopeStackOp, ParseState, Scope, ScopeStack, ScopeStackOp, SyntaxReference, SyntaxSet,
};
use syntect::util::LinesWithEndings;

const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };
const LIGHT_THEME: &str = "InspiredGitHub";
const DARK_THEME: &str = "base16-ocean.dark";

fn syntax_set() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(two_face::syntax::extra_newlines)
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
        "terraform" | "tf" | "tfvars" => "hcl",
        "protobuf" => "proto",
        "docker" => "dockerfile",
        "pwsh" => "powershell",
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
    highlight(code, lang, None)
}

/// [`highlight_block`], and the block's text appended to `text` as the search index reads it
/// from the HTML (each tag a word break), without reading the HTML again.
pub(crate) fn highlight_block_with_text(
    code: &str,
    lang: &str,
    text: &mut search::Collapsed,
) -> Highlighted {
    highlight(code, lang, Some(text))
}

fn highlight(code: &str, lang: &str, text: Option<&mut search::Collapsed>) -> Highlighted {
    let lang = lang.trim().to_ascii_lowercase();
    let syntax = find_syntax(&lang);
    let body = match syntax.and_then(|syntax| classed_html(code, syntax, text.is_some())) {
        Some((html, code_text)) => {
            if let (Some(text), Some(code_text)) = (text, code_text) {
                text.push_collapsed(&code_text);
            }
            html
        }
        None => {
            if let Some(text) = text {
                text.push_text(code);
            }
            escape(code)
        }
    };
    let lang_attr = escape(&lang);
    Highlighted {
        // Focusable, so that a keyboard can scroll a long line into view (WCAG 2.1.1).
        html: format!("<pre class=\"code\" data-lang=\"{lang_attr}\" tabindex=\"0\"><code>{body}</code></pre>\n"),
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

/// The block's HTML, as syntect's `line_tokens_to_classed_spans` writes it line by line, and its
/// text if `with_text`; `None` when the grammar fails mid-block (plain text is better than a
/// broken page).
fn classed_html(
    code: &str,
    syntax: &SyntaxReference,
    with_text: bool,
) -> Option<(String, Option<search::Collapsed>)> {
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let mut html = String::with_capacity(code.len() * 3);
    let mut text = with_text.then(search::Collapsed::default);
    let mut open_spans: isize = 0;
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        for line in LinesWithEndings::from(code) {
            let ops = memo.parse(&mut state, line)?;
            open_spans += classed_line(line, &ops, &mut stack, &mut html, text.as_mut()).ok()?;
        }
        Some(())
    })?;
    for _ in 0..open_spans {
        html.push_str("</span>");
    }
    Some((html, text))
}

/// Appends one line to `html` as syntect's `line_tokens_to_classed_spans` (`SpacedPrefixed`
/// with [`CLASS_STYLE`]'s prefix) writes it, byte for byte (a test holds it to that), and to
/// `text` (if any) its text, a word break wherever a tag is left between two tokens. Returns
/// the spans opened less those closed. Written here, not called, because syntect returns only
/// the HTML: reading the text back from it took the search index more time than the rest of
/// its page. And the classes of each scope are kept by the thread, where syntect locks its
/// global scope repository for every span.
fn classed_line(
    line: &str,
    ops: &[(usize, ScopeStackOp)],
    stack: &mut ScopeStack,
    html: &mut String,
    mut text: Option<&mut search::Collapsed>,
) -> Result<isize, syntect::parsing::ScopeError> {
    let mut at = 0;
    let mut delta = 0;
    // Whether no text was written since the last span opened (an empty span is taken back),
    // and where that span starts.
    let mut span_empty = false;
    let mut span_start = 0;
    // Where the HTML stood after the text before the current position's operations.
    let mut after_text = html.len();
    for (i, op) in ops {
        let i = *i;
        if i > at {
            if let Some(text) = text.as_deref_mut() {
                if html.len() > after_text {
                    text.break_word();
                }
                text.push_text(&line[at..i]);
            }
            span_empty = false;
            escape_into(html, &line[at..i]);
            after_text = html.len();
            at = i;
        }
        stack.apply_with_hook(op, |basic, _| match basic {
            BasicScopeStackOp::Push(scope) => {
                span_start = html.len();
                span_empty = true;
                html.push_str("<span class=\"");
                CLASSES.with(|classes| html.push_str(classes.borrow_mut().of(scope)));
                html.push_str("\">");
                delta += 1;
            }
            BasicScopeStackOp::Pop => {
                if span_empty {
                    html.truncate(span_start);
                } else {
                    html.push_str("</span>");
                }
                delta -= 1;
                span_empty = false;
            }
        })?;
    }
    if let Some(text) = text {
        if html.len() > after_text {
            text.break_word();
        }
        text.push_text(&line[at..]);
    }
    escape_into(html, &line[at..]);
    Ok(delta)
}

thread_local! {
    static CLASSES: RefCell<Classes> = RefCell::new(Classes::default());
}

/// The `class` attribute of each scope met by a thread: `source.sql` is `hl-source hl-sql`.
#[derive(Default)]
struct Classes {
    of: fnv::FnvHashMap<Scope, String>,
}

impl Classes {
    fn of(&mut self, scope: Scope) -> &str {
        self.of.entry(scope).or_insert_with(|| {
            let ClassStyle::SpacedPrefixed { prefix } = CLASS_STYLE else {
                unreachable!("the classes are prefixed")
            };
            let mut classes = String::new();
            // The empty scope has no atoms (and syntect writes no class for it).
            for atom in scope.build_string().split('.').filter(|a| !a.is_empty()) {
                if !classes.is_empty() {
                    classes.push(' ');
                }
                classes.push_str(prefix);
                classes.push_str(atom);
            }
            classes
        })
    }
}

/// The code background of style.css (`--code-bg`), light and dark: token colours are checked
/// against it.
const LIGHT_BACKGROUND: Rgb = (0xf6, 0xf8, 0xfa);
const DARK_BACKGROUND: Rgb = (0x15, 0x1b, 0x23);
/// WCAG 2.1 AA asks 4.5:1 for text; a little more so that rounding never lands under it.
const CONTRAST: f64 = 4.6;

type Rgb = (u8, u8, u8);

/// The two generated stylesheets: (light, dark). The themes' pale colours (InspiredGitHub's
/// comments are #969896, 2.7:1 on the page) are darkened, or lightened in dark mode, until they
/// reach [`CONTRAST`] against the code background; hues are kept.
pub(crate) fn stylesheets() -> (String, String) {
    let themes = ThemeSet::load_defaults();
    let css = |name: &str| {
        css_for_theme_with_class_style(&themes.themes[name], CLASS_STYLE).unwrap_or_default()
    };
    (
        readable(&css(LIGHT_THEME), LIGHT_BACKGROUND),
        readable(&css(DARK_THEME), DARK_BACKGROUND),
    )
}

/// Every `color: #rrggbb` of a stylesheet (not `background-color`) made readable on `background`.
fn readable(css: &str, background: Rgb) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(at) = rest.find("color: #") {
        let value = at + "color: #".len();
        out.push_str(&rest[..value]);
        let is_background = rest[..at].ends_with("background-");
        match rest.get(value..value + 6).and_then(parse_hex) {
            Some(colour) if !is_background => {
                let (r, g, b) = with_contrast(colour, background);
                out.push_str(&format!("{r:02x}{g:02x}{b:02x}"));
                rest = &rest[value + 6..];
            }
            _ => rest = &rest[value..],
        }
    }
    out.push_str(rest);
    out
}

fn parse_hex(hex: &str) -> Option<Rgb> {
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}

/// `colour` mixed towards black (on a light background) or white (on a dark one) in small steps
/// until its contrast with `background` reaches [`CONTRAST`].
fn with_contrast(colour: Rgb, background: Rgb) -> Rgb {
    let target = if luminance(background) > 0.5 {
        0.0
    } else {
        255.0
    };
    let mix = |c: u8, t: f64| -> u8 { (f64::from(c) + (t - f64::from(c)) * 0.05).round() as u8 };
    let mut c = colour;
    for _ in 0..100 {
        if contrast(c, background) >= CONTRAST {
            break;
        }
        c = (mix(c.0, target), mix(c.1, target), mix(c.2, target));
    }
    c
}

/// WCAG relative luminance.
fn luminance((r, g, b): Rgb) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Code in the languages a deploy course writes, with what makes a grammar push and pop
    /// many scopes at one place: embedded languages, strings, comments, quotes, blank and
    /// unterminated lines, carriage returns, markup characters.
    const SAMPLES: &[(&str, &str)] = &[
        ("sql", "ALTER TABLE orders ADD COLUMN note text; -- expand\nUPDATE orders SET note = 'it''s \"x\"' WHERE id < 3 AND a <> b;\n\n/* contract */ DROP TABLE old"),
        ("bash", "#!/usr/bin/env bash\nset -euo pipefail\nkubectl rollout undo deployment/checkout --to-revision=3 # back\necho \"$(date -u +%s) ${REV:-none}\" <in >out 2>&1 &&\r\ncurl -fsS \"$URL/healthz\" || exit 1\n"),
        ("yaml", "on:\n  push:\n    branches: [main]\njobs:\n  smoke:\n    steps:\n      - run: ./smoke.sh  # gate\n      - uses: actions/checkout@v4\n"),
        ("html", "<!doctype html>\n<p class=\"x\">a &amp; b</p>\n<script>if (a < b && c) { alert('x'); }</script>\n<style>p { color: #fff; }</style>\n"),
        ("rust", "fn main() {\n    let s = \"quote \\\" inside\"; // comment\n    println!(\"{s}\");\n}"),
        ("python", "def f(x):\n    '''doc'''\n    return f\"{x!r}\" if x else None\n"),
        ("dockerfile", "FROM rust:1 AS build\nRUN cargo build --release \\\n    && strip target/release/app\nCMD [\"/app\"]\n"),
        ("json", "{\"a\": [1, 2.5, true, null], \"b\": \"<tag>\"}\n"),
        ("hcl", "resource \"aws_instance\" \"web\" {\n  ami = \"${var.ami}\"\n}\n"),
        ("diff", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n"),
        ("markdown", "# T\n\n```sql\nSELECT 1;\n```\n*em* <b>raw</b>\n"),
    ];

    #[test]
    fn each_line_is_written_as_syntect_writes_it() {
        for (lang, code) in SAMPLES {
            let syntax = find_syntax(lang).expect("a known language");
            let mut state = ParseState::new(syntax);
            let (mut ours, mut theirs) = (ScopeStack::new(), ScopeStack::new());
            for line in LinesWithEndings::from(code) {
                let ops = state.parse_line(line, syntax_set()).expect("parsed");
                let (expected, expected_delta) = syntect::html::line_tokens_to_classed_spans(
                    line,
                    &ops,
                    CLASS_STYLE,
                    &mut theirs,
                )
                .expect("written");
                let mut html = String::new();
                let mut text = search::Collapsed::default();
                let delta = classed_line(line, &ops, &mut ours, &mut html, Some(&mut text))
                    .expect("written");
                assert_eq!(html, expected, "{lang}: {line:?}");
                assert_eq!(delta, expected_delta, "{lang}: {line:?}");
            }
        }
    }

    /// Operations no sample may make: every kind of them, at one place and at a line's ends,
    /// the empty scope, clearing and restoring, spans opened and closed with no text between.
    #[test]
    fn every_kind_of_operation_is_written_as_syntect_writes_it() {
        use syntect::parsing::ClearAmount;
        let scope = |s: &str| Scope::new(s).expect("a scope");
        let (a, b, empty) = (
            scope("source.sql"),
            scope("string.quoted.single"),
            scope(""),
        );
        let ops = vec![
            (0, ScopeStackOp::Push(a)),
            (0, ScopeStackOp::Push(empty)),
            (0, ScopeStackOp::Pop(1)),
            (2, ScopeStackOp::Push(b)),
            (2, ScopeStackOp::Clear(ClearAmount::TopN(1))),
            (3, ScopeStackOp::Restore),
            (3, ScopeStackOp::Noop),
            (4, ScopeStackOp::Pop(1)),
            (4, ScopeStackOp::Push(empty)),
            (6, ScopeStackOp::Clear(ClearAmount::All)),
            (6, ScopeStackOp::Restore),
            (9, ScopeStackOp::Pop(2)),
            (9, ScopeStackOp::Push(b)),
        ];
        let line = "ab c'd e f\n";
        let (expected, expected_delta) = syntect::html::line_tokens_to_classed_spans(
            line,
            &ops,
            CLASS_STYLE,
            &mut ScopeStack::new(),
        )
        .expect("written");
        let mut html = String::new();
        let mut text = search::Collapsed::default();
        let delta = classed_line(
            line,
            &ops,
            &mut ScopeStack::new(),
            &mut html,
            Some(&mut text),
        )
        .expect("written");
        assert_eq!(html, expected);
        assert_eq!(delta, expected_delta);
        assert_eq!(text.into_string(), search::text_of(&expected));
    }

    #[test]
    fn a_block_s_text_is_the_text_of_its_html() {
        for (lang, code) in SAMPLES {
            let mut text = search::Collapsed::default();
            let highlighted = highlight_block_with_text(code, lang, &mut text);
            assert!(highlighted.html.contains("<span class=\"hl-"), "{lang}");
            assert_eq!(
                text.into_string(),
                search::text_of(&highlighted.html),
                "{lang}: {code:?}"
            );
            assert_eq!(highlighted.html, highlight_block(code, lang).html);
        }
        let mut text = search::Collapsed::default();
        highlight_block_with_text("qapla' <b>", "klingon", &mut text);
        assert_eq!(text.into_string(), "qapla' <b>");
    }

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
    fn every_token_colour_reaches_aa_contrast_on_the_code_background() {
        let (light, dark) = stylesheets();
        for (css, background) in [(&light, LIGHT_BACKGROUND), (&dark, DARK_BACKGROUND)] {
            let mut checked = 0;
            for (at, _) in css.match_indices("color: #") {
                if css[..at].ends_with("background-") {
                    continue;
                }
                let colour = parse_hex(&css[at + 8..at + 14]).unwrap();
                let ratio = contrast(colour, background);
                assert!(ratio >= 4.5, "{:?} is {ratio:.2}:1", &css[at..at + 14]);
                checked += 1;
            }
            assert!(checked > 10, "{checked} colours");
        }
        // InspiredGitHub's comment grey was 2.7:1.
        assert!(!light.contains("#969896"));
    }

    #[test]
    fn a_deploy_course_s_languages_are_highlighted() {
        let samples = [
            ("dockerfile", "FROM rust:1.94\nRUN cargo build\n"),
            ("toml", "[package]\nname = \"x\"\n"),
            (
                "hcl",
                "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n}\n",
            ),
            (
                "terraform",
                "variable \"region\" {\n  default = \"eu\"\n}\n",
            ),
            ("ini", "[db]\nhost = localhost\n"),
            ("nginx", "server {\n  listen 80;\n}\n"),
            ("typescript", "const x: number = 1;\n"),
            ("ts", "let y: string = 'a';\n"),
            ("kotlin", "fun main() { println(1) }\n"),
            ("swift", "let x: Int = 1\n"),
            (
                "powershell",
                "Get-Process | Where-Object { $_.CPU -gt 1 }\n",
            ),
            ("scss", ".a { .b { color: red; } }\n"),
            ("graphql", "query { user(id: 1) { name } }\n"),
            (
                "protobuf",
                "syntax = \"proto3\";\nmessage A { int32 id = 1; }\n",
            ),
        ];
        for (lang, code) in samples {
            let out = highlight_block(code, lang);
            assert!(out.known_language, "{lang} is unknown");
            assert!(
                out.html.contains("<span class=\"hl-"),
                "{lang}: {}",
                out.html
            );
        }
    }

    #[test]
    fn stylesheets_differ_and_use_prefix() {
        let (light, dark) = stylesheets();
        assert!(light.contains(".hl-"));
        assert_ne!(light, dark);
    }
}
