//! Markdown to HTML with pulldown-cmark: heading ids with anchor links, a table of contents,
//! highlighted code blocks, and links checked and rewritten by the caller's resolver.

use std::collections::HashMap;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use crate::diagnostics::Diagnostic;
use crate::load::urls::slug;
use crate::render::html::escape;
use crate::render::{highlight, search};

/// What the caller decided about one link or image target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Link {
    /// External, in-page, or otherwise left as written.
    Keep,
    /// An internal target, rewritten to its URL.
    Rewrite(String),
    /// Points nowhere; the message says why.
    Broken(String),
}

/// One heading in the on-page table of contents (h2, with its h3 children).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TocEntry {
    pub level: u8,
    pub id: String,
    pub title: String,
    pub children: Vec<TocEntry>,
}

#[derive(Debug, Default)]
pub(crate) struct Rendered {
    pub html: String,
    pub toc: Vec<TocEntry>,
    /// Problems with file lines but no file name: the caller knows the file.
    pub diagnostics: Vec<Diagnostic>,
    /// The page's text for the search index, when it was asked for and the page holds no HTML
    /// of its own (see [`render_with_text`]).
    pub text: Option<String>,
}

fn parser_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
}

/// What the caller's resolver gets: a link's target as written, and the file line it is on (so
/// that a problem found later, such as an attachment missing on disk, can name it).
pub(crate) type Resolve<'r> = dyn Fn(&str, usize) -> Link + 'r;

/// Renders `body`, whose first line is line `first_line` of its file.
pub(crate) fn render(body: &str, first_line: usize, resolve: &Resolve<'_>) -> Rendered {
    render_page(body, first_line, resolve, None)
}

/// [`render`], with the page's text for the search index: the text [`search::text_of`] reads
/// from the HTML, gathered from the events instead, since highlighted code (a tag every few
/// characters) is most of a page's HTML. It is the text of the sanitised HTML too: ammonia keeps
/// every element Markdown writes, and html5ever changes none of its text but a NUL. A page
/// with HTML of its own or a NUL gets no text: only the sanitiser knows what is left of it, and
/// the caller reads the text from its HTML. A test holds the two texts equal on generated pages.
pub(crate) fn render_with_text(body: &str, first_line: usize, resolve: &Resolve<'_>) -> Rendered {
    render_page(body, first_line, resolve, Some(EventText::default()))
}

fn render_page(
    body: &str,
    first_line: usize,
    resolve: &Resolve<'_>,
    text: Option<EventText>,
) -> Rendered {
    let mut renderer = Renderer {
        lines: LineIndex::new(body, first_line),
        resolve,
        out: Rendered::default(),
        events: Vec::new(),
        // The layout's own ids: a `## Main` heading must not take the skip link's target.
        ids: RESERVED_IDS.iter().map(|id| (id.to_string(), 1)).collect(),
        headings: Vec::new(),
        block: Block::None,
        text,
    };
    for (event, range) in Parser::new_ext(body, parser_options()).into_offset_iter() {
        renderer.event(event, range.start);
    }
    renderer.finish()
}

/// Ids the theme's layout uses on every page (base.html): a heading with the same text gets `-1`.
const RESERVED_IDS: &[&str] = &["main"];

/// A construct whose events are gathered before they are turned into HTML.
enum Block<'a> {
    None,
    Heading {
        level: HeadingLevel,
        id: Option<String>,
        events: Vec<Event<'a>>,
        text: String,
    },
    Code {
        lang: String,
        line: usize,
        code: String,
    },
}

struct Renderer<'a, 'r> {
    lines: LineIndex,
    resolve: &'r Resolve<'r>,
    out: Rendered,
    events: Vec<Event<'a>>,
    ids: HashMap<String, usize>,
    headings: Vec<(u8, String, String)>,
    block: Block<'a>,
    text: Option<EventText>,
}

impl<'a> Renderer<'a, '_> {
    fn event(&mut self, event: Event<'a>, offset: usize) {
        let event = self.rewrite_links(event, offset);
        if let Some(text) = &mut self.text {
            let within = match self.block {
                Block::None => Within::Page,
                Block::Heading { .. } => Within::Heading,
                Block::Code { .. } => Within::Code,
            };
            text.event(&event, within);
        }
        match (&mut self.block, event) {
            (Block::None, Event::Start(Tag::Heading { level, id, .. })) => {
                self.block = Block::Heading {
                    level,
                    id: id.map(|id| id.to_string()),
                    events: Vec::new(),
                    text: String::new(),
                };
            }
            (Block::Heading { .. }, Event::End(TagEnd::Heading(_))) => self.finish_heading(),
            (Block::Heading { events, text, .. }, event) => {
                if let Event::Text(t) | Event::Code(t) = &event {
                    text.push_str(t);
                }
                events.push(event);
            }
            (Block::None, Event::Start(Tag::CodeBlock(kind))) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split([' ', ',', '{']).next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                self.block = Block::Code {
                    lang,
                    line: self.lines.line(offset),
                    code: String::new(),
                };
            }
            (Block::Code { code, .. }, Event::Text(t)) => code.push_str(&t),
            (Block::Code { .. }, Event::End(TagEnd::CodeBlock)) => self.finish_code(),
            // A task's checkbox is drawn, not used: it still needs a name for screen readers.
            (_, Event::TaskListMarker(done)) => self.events.push(Event::InlineHtml(
                format!(
                    "<input type=\"checkbox\" disabled=\"\"{} aria-label=\"{}\"> ",
                    if done { " checked=\"\"" } else { "" },
                    if done { "done" } else { "to do" }
                )
                .into(),
            )),
            (_, event) => self.events.push(event),
        }
    }

    fn rewrite_links(&mut self, event: Event<'a>, offset: usize) -> Event<'a> {
        match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest_url = self.check_target(dest_url, offset, "link");
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest_url = self.check_target(dest_url, offset, "image");
                Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
            other => other,
        }
    }

    fn check_target(&mut self, dest: CowStr<'a>, offset: usize, what: &str) -> CowStr<'a> {
        let line = self.lines.line(offset);
        match (self.resolve)(&dest, line) {
            Link::Keep => dest,
            Link::Rewrite(url) => url.into(),
            Link::Broken(why) => {
                self.out.diagnostics.push(
                    Diagnostic::warning(format!("{what} to `{dest}` points nowhere: {why}"))
                        .at_line(line)
                        .with_hint("link to an existing .md file, relative to this file"),
                );
                dest
            }
        }
    }

    fn finish_heading(&mut self) {
        let Block::Heading {
            level,
            id,
            events,
            text,
        } = std::mem::replace(&mut self.block, Block::None)
        else {
            return;
        };
        let id = self.unique_id(id.unwrap_or_else(|| slug(&text)));
        // An explicit `{#id}` is written by the author and may hold quotes: escape it.
        let attr = escape(&id);
        let mut inner = String::new();
        pulldown_cmark::html::push_html(&mut inner, events.into_iter());
        let n = level as u8;
        let title = text.trim().to_string();
        self.events.push(Event::Html(
            format!(
                "<h{n} id=\"{attr}\">{inner} <a class=\"anchor\" href=\"#{attr}\" aria-label=\"Link to this section\">#</a></h{n}>\n"
            )
            .into(),
        ));
        self.headings.push((n, id, title));
    }

    fn finish_code(&mut self) {
        let Block::Code { lang, line, code } = std::mem::replace(&mut self.block, Block::None)
        else {
            return;
        };
        let highlighted = match &mut self.text {
            Some(text) => {
                text.code_block(|text| highlight::highlight_block_with_text(&code, &lang, text))
            }
            None => highlight::highlight_block(&code, &lang),
        };
        if !highlighted.known_language {
            self.out.diagnostics.push(
                Diagnostic::warning(format!(
                    "unknown code language `{lang}`, shown as plain text"
                ))
                .at_line(line)
                .with_hint("use a known name such as sql, bash, yaml, json, diff or text"),
            );
        }
        self.events.push(Event::Html(highlighted.html.into()));
    }

    /// Ids must be unique on a page; a repeat gets `-1`, `-2`, ... like GitHub.
    fn unique_id(&mut self, base: String) -> String {
        let base = if base.is_empty() {
            "section".to_string()
        } else {
            base
        };
        let count = self.ids.entry(base.clone()).or_insert(0);
        let id = if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        };
        *count += 1;
        id
    }

    fn finish(mut self) -> Rendered {
        pulldown_cmark::html::push_html(&mut self.out.html, self.events.into_iter());
        self.out.toc = nest_toc(&self.headings);
        self.out.text = self.text.and_then(EventText::finish);
        self.out
    }
}

/// The page's text gathered from its events, as [`search::text_of`] would read it from the
/// HTML that pulldown-cmark's writer makes of them: every tag a word break, an image's text
/// left out (it is the `alt` attribute), a footnote's number written.
#[derive(Default)]
struct EventText {
    text: search::Collapsed,
    /// Inside an image, how deep.
    image: usize,
    /// Footnote numbers as the HTML writer gives them, in order of first use: one writer for
    /// the page, and one for each heading (rendered on its own).
    footnotes: HashMap<String, usize>,
    heading_footnotes: HashMap<String, usize>,
    /// The page holds what only its HTML tells: HTML of its own, or a NUL character (which the
    /// sanitiser drops and `unsafe_html: true` keeps).
    fall_back: bool,
}

/// Where an event is: a heading's and a code block's are rendered on their own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Within {
    Page,
    Heading,
    Code,
}

impl EventText {
    fn event(&mut self, event: &Event<'_>, within: Within) {
        if let Event::Text(text) | Event::Code(text) = event {
            self.fall_back |= memchr::memchr(0, text.as_bytes()).is_some();
        }
        let in_heading = match within {
            Within::Page => false,
            Within::Heading => true,
            // A code block's text is the highlighter's (see `code_block`).
            Within::Code => return,
        };
        if self.image > 0 {
            // The writer reads an image's events as its `alt` text, numbering its footnotes.
            match event {
                Event::Start(_) => self.image += 1,
                Event::End(_) => self.image -= 1,
                Event::FootnoteReference(name) => {
                    self.footnote(name, in_heading);
                }
                _ => {}
            }
            return;
        }
        match event {
            Event::Text(text) => self.text.push_text(text),
            Event::Code(code) => {
                self.text.break_word();
                self.text.push_text(code);
                self.text.break_word();
            }
            Event::Html(_) | Event::InlineHtml(_) => self.fall_back = true,
            Event::Start(Tag::HtmlBlock) | Event::End(TagEnd::HtmlBlock) => {}
            Event::Start(Tag::Heading { .. }) => {
                self.heading_footnotes.clear();
                self.text.break_word();
            }
            Event::Start(Tag::Image { .. }) => {
                self.image = 1;
                self.text.break_word();
            }
            Event::FootnoteReference(name) | Event::Start(Tag::FootnoteDefinition(name)) => {
                let number = self.footnote(name, in_heading);
                self.text.break_word();
                self.text.push_text(&number.to_string());
                self.text.break_word();
            }
            // Every other event is a tag (or a line break) in the HTML.
            _ => self.text.break_word(),
        }
    }

    /// A code block's text, written by `write` between the tags around it.
    fn code_block<R>(&mut self, write: impl FnOnce(&mut search::Collapsed) -> R) -> R {
        self.text.break_word();
        let written = write(&mut self.text);
        self.text.break_word();
        written
    }

    fn footnote(&mut self, name: &str, in_heading: bool) -> usize {
        let numbers = match in_heading {
            true => &mut self.heading_footnotes,
            false => &mut self.footnotes,
        };
        if let Some(&number) = numbers.get(name) {
            return number;
        }
        let number = numbers.len() + 1;
        numbers.insert(name.to_string(), number);
        number
    }

    fn finish(self) -> Option<String> {
        (!self.fall_back).then(|| self.text.into_string())
    }
}

/// h2 entries with the h3s that follow them as children; deeper levels stay out of the TOC.
fn nest_toc(headings: &[(u8, String, String)]) -> Vec<TocEntry> {
    let mut toc: Vec<TocEntry> = Vec::new();
    for (level, id, title) in headings {
        let entry = TocEntry {
            level: *level,
            id: id.clone(),
            title: title.clone(),
            children: Vec::new(),
        };
        match (level, toc.last_mut()) {
            (2, _) => toc.push(entry),
            (3, Some(parent)) if parent.level == 2 => parent.children.push(entry),
            (3, _) => toc.push(entry),
            _ => {}
        }
    }
    toc
}

/// Byte offset to 1-based file line.
struct LineIndex {
    starts: Vec<usize>,
    first_line: usize,
}

impl LineIndex {
    fn new(text: &str, first_line: usize) -> Self {
        let starts = std::iter::once(0)
            .chain(newline_offsets(text).map(|i| i + 1))
            .collect();
        LineIndex { starts, first_line }
    }

    fn line(&self, offset: usize) -> usize {
        let index = self.starts.partition_point(|&start| start <= offset);
        self.first_line + index.saturating_sub(1)
    }
}

fn newline_offsets(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(_: &str, _: usize) -> Link {
        Link::Keep
    }

    /// Markdown of every kind a page holds but raw HTML, with what makes text and tags meet
    /// without space: inline markup inside words, images, footnotes (in headings too, which are
    /// numbered on their own), references, non-breaking and Unicode spaces, code of several
    /// languages in lists.
    const PIECES: &[&str] = &[
        "# Title {#custom}\n",
        "## Heading `code` and *em*[^n] ![i *x*[^m]](i.png)\n",
        "Plain **bold**x, _em_y, ~~del~~z, \"quotes\" and it's smart -- yes...\n",
        "A [link *em*](https://x.y \"title\")next and <https://auto.link/a?b=c&d>.\n",
        "![alt *text* [^n]](img.png \"t\")after image\n",
        "Ref[^n] again[^n] other[^m] missing[^zz].\n",
        "[^n]: The note, with `code`.\n",
        "Only[^m] here.\n",
        "[^m]: Another\n    with a second line.\n",
        "- item one\n- [ ] task\n- [x] done\n",
        "1. first\n2. second\n   ```sql\n   SELECT 'a' || \"b\" FROM t; -- c\n   ```\n   after code\n",
        "- tight\n  ```bash\n  kubectl rollout undo deployment/checkout --to-revision=3\n  ```\n  more\n",
        "| a | b |\n|:--|--:|\n| `x` | y&amp;z |\n| | **w** |\n",
        "> quote\n> more `q`\n>\n> - in list\n",
        "```yaml\nkey: value # c\nlist:\n  - a\n```\n",
        "    indented code x<y & z > w\n",
        "```klingon\nqapla'\n```\n",
        "```\nplain & <plain>\n```\n",
        "Line one  \nhard break\\\nand backslash\\\n",
        "***\n",
        "Entities: &copy; &nbsp;x &#x41;&#66; &lt;tag&gt; a\u{a0}b c\u{2003}d e\u{85}f g\u{b}h\n",
        "Unicode: été naïve ünïcödé 日本語\n",
        "`` code with ` tick `` and `a`b`c`\n",
        "Setext heading\n---\n",
        "Term: x < y and a>b & c; \\<not html\\> 3<4\n",
        "[see[^n] ![img *i*](x.png)](u)x and ![outer ![inner](i.png) `c`](o.png)y\n",
        "![a <b>bold</b> c](x.png) HTML in an image is its alt text\n",
        "| a[^n] | `b` |\n|---|---|\n| c[^m] ![i](i.png) | d |\n",
        "[^q]: A note with code\n\n    ```bash\n    echo \"hi\" # c\n    ```\n\nRef[^q].\n",
        // The theme's attribute for what is not text, as text in attributes Markdown writes.
        "## How `data-search-skip` works\n",
        "![x](data-search-skip.png)after [a](data-search-skip \"data-search-skip\")b\n",
    ];

    /// Raw HTML, which only the sanitiser knows what is left of, and NUL.
    const RAW: &[&str] = &[
        "Term<sup>raw</sup>\n",
        "<div>\nblock *md*\n</div>\n",
        "<script>alert(1)</script>\n",
        "a <!-- comment --> b\n",
        // Not HTML, but the sanitiser drops it.
        "a\0b `c\0d`\n",
        "```sql\nx\0y\n```\n",
    ];

    #[test]
    fn a_page_s_text_from_its_events_is_the_text_of_its_html() {
        let mut seed = 11u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for round in 0..3_000 {
            let count = 1 + next(6);
            let mut body = String::new();
            let mut raw = false;
            for _ in 0..count {
                let piece = match round % 5 == 4 && next(3) == 0 {
                    true => {
                        raw = true;
                        RAW[next(RAW.len())]
                    }
                    false => PIECES[next(PIECES.len())],
                };
                body.push_str(piece);
                body.push_str(["\n", "", "\n\n"][next(3)]);
            }
            if round % 2 == 0 {
                // References live only where their notes are defined.
                body.push_str("\n[^n]: N.\n\n[^m]: M.\n");
            }
            let rendered = render_with_text(&body, 1, &keep);
            if raw {
                assert_eq!(rendered.text, None, "{body:?}");
                continue;
            }
            let text = rendered
                .text
                .unwrap_or_else(|| panic!("no text for {body:?}"));
            let sanitised = crate::render::html::sanitise_page(&rendered.html);
            assert_eq!(text, search::text_of(&sanitised), "{body:?}");
            assert_eq!(text, search::text_of(&rendered.html), "{body:?}");
            assert_eq!(rendered.html, render(&body, 1, &keep).html, "{body:?}");
        }
    }

    #[test]
    fn headings_get_ids_anchors_and_toc() {
        let out = render(
            "## Rollback rehearsal\n\n### Why?\n\n## Rollback rehearsal\n",
            1,
            &keep,
        );
        assert!(out.html.contains("<h2 id=\"rollback-rehearsal\">Rollback rehearsal <a class=\"anchor\" href=\"#rollback-rehearsal\""), "{}", out.html);
        assert!(out.html.contains("id=\"rollback-rehearsal-1\""));
        assert_eq!(out.toc.len(), 2);
        assert_eq!(out.toc[0].children[0].id, "why");
    }

    #[test]
    fn explicit_heading_id_wins() {
        let out = render("## Title {#custom}\n", 1, &keep);
        assert!(out.html.contains("id=\"custom\""), "{}", out.html);
    }

    #[test]
    fn an_explicit_heading_id_cannot_leave_its_attribute() {
        let out = render("## Title {#a\"onmouseover=\"x()}\n", 1, &keep);
        assert!(
            out.html.contains("id=\"a&quot;onmouseover=&quot;x()\""),
            "{}",
            out.html
        );
        assert_eq!(out.toc[0].id, "a\"onmouseover=\"x()");
    }

    #[test]
    fn gfm_extensions_render() {
        let out = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ \"quoted\"\n\n- [x] done\n\nNote[^1].\n\n[^1]: The note.\n",
            1,
            &keep,
        );
        for needle in [
            "<table>",
            "<del>old</del>",
            "\u{201c}quoted\u{201d}",
            "type=\"checkbox\"",
            "footnote-definition",
        ] {
            assert!(
                out.html.contains(needle),
                "missing {needle} in {}",
                out.html
            );
        }
    }

    #[test]
    fn links_are_rewritten_and_broken_ones_reported_with_file_line() {
        let resolve = |href: &str, _: usize| match href {
            "ok.md" => Link::Rewrite("/ok/".into()),
            "gone.md" => Link::Broken("no such file".into()),
            _ => Link::Keep,
        };
        let out = render("Intro\n\n[a](ok.md) and\n[b](gone.md)\n", 5, &resolve);
        assert!(out.html.contains("href=\"/ok/\""));
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].line, Some(8));
        assert!(out.diagnostics[0].message.contains("gone.md"));
    }

    #[test]
    fn code_is_highlighted_and_unknown_language_warns() {
        let out = render(
            "text\n\n```sql\nSELECT 1;\n```\n\n```klingon\nqapla'\n```\n",
            1,
            &keep,
        );
        assert!(out.html.contains("hl-"));
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].line, Some(7));
    }
}
