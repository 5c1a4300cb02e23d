//! What `clinic serve` adds to every HTML page it sends: the live-reload script and, while the
//! last build failed, the error overlay. Both are added when a page is *served*, never written
//! into the build, so the build directory stays byte-for-byte a clean `clinic build`.
//!
//! The script knows the generation the page was served at. It listens to the server's event
//! stream (`<base_path>__clinic/events`), whose every event carries the current generation as
//! its id: `hello` on connect, `reload` when a new build is in place, `build-error` when the
//! overlay changed (the name is not `error`, which EventSource fires itself when a connection
//! drops). The page reloads as soon as the generation differs from its own, so a page that
//! loaded just before a rebuild and connected just after still reloads, and the reload fetches
//! the overlay too.
//!
//! Browsers allow six connections per host, and an event stream holds one for as long as the
//! page is open: with one stream per tab, the seventh tab could not even load its page. So the
//! script goes through a `SharedWorker` ([`WORKER`], served at
//! `<base_path>__clinic/reload-worker.js`) that holds one stream for every tab of the site and
//! passes the generation on; where there is no SharedWorker, the page opens its own stream.

use crate::diagnostics::Diagnostic;

/// Marks the injected block, so tests (and curious users) can find and strip it.
pub(super) const BEGIN: &str = "<!-- clinic serve -->";
pub(super) const END: &str = "<!-- /clinic serve -->";

pub(super) use crate::render::html::escape;

/// The overlay's text: one diagnostic per paragraph, as the terminal shows them, with the site
/// root's absolute path shortened so that no absolute path reaches a page.
pub(super) fn overlay_text(errors: &[Diagnostic], root: &str) -> String {
    let mut text = String::new();
    for d in errors {
        let line = d.to_string();
        let line = if root.is_empty() {
            line
        } else {
            line.replace(root, "<root>")
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// Adds the script (and the overlay, when `overlay` holds the text of the errors) before the
/// last `</body>`, or at the end of a page that has none.
pub(super) fn inject(
    html: &str,
    base_path: &str,
    generation: u64,
    overlay: Option<&str>,
) -> String {
    let block = block(base_path, generation, overlay);
    let at = rfind_ascii_case_insensitive(html, "</body>").unwrap_or(html.len());
    let mut out = String::with_capacity(html.len() + block.len());
    out.push_str(&html[..at]);
    out.push_str(&block);
    out.push_str(&html[at..]);
    out
}

/// The page served when there is no build at all yet (the first one failed).
pub(super) fn error_page(base_path: &str, generation: u64, overlay: &str) -> String {
    let page = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>clinic serve: build failed</title></head>\n<body>\n<p>No build succeeded yet. Fix the error and save: this page reloads by itself.</p>\n</body></html>\n";
    inject(page, base_path, generation, Some(overlay))
}

/// The shared worker: one event stream for every open page of the site, passing each event's
/// generation to all of them (and the latest to a page that connects later).
pub(super) const WORKER: &str = r#"// clinic serve: one event stream shared by every open page of the site.
var ports = [], last = "";
var source = new EventSource("events");
["hello", "reload", "build-error"].forEach(function (name) {
  source.addEventListener(name, function (e) {
    last = e.lastEventId;
    ports.forEach(function (port) { port.postMessage(last); });
  });
});
onconnect = function (e) {
  var port = e.ports[0];
  ports.push(port);
  if (last) port.postMessage(last);
};
"#;

/// The page's script; `GENERATION` and `BASE` are filled in.
const SCRIPT: &str = r#"<script>(function () {
  var mine = "GENERATION", base = BASE;
  function direct() {
    if (!window.EventSource) return;
    var source = new EventSource(base + "__clinic/events");
    ["hello", "reload", "build-error"].forEach(function (name) {
      source.addEventListener(name, function (e) {
        if (e.lastEventId !== mine) { source.close(); location.reload(); }
      });
    });
  }
  if (!window.SharedWorker) return direct();
  try {
    var worker = new SharedWorker(base + "__clinic/reload-worker.js", { name: "clinic-serve" });
    worker.onerror = direct;
    worker.port.onmessage = function (e) { if (e.data && e.data !== mine) location.reload(); };
    worker.port.start();
  } catch (e) { direct(); }
})();</script>"#;

fn block(base_path: &str, generation: u64, overlay: Option<&str>) -> String {
    // The base path goes into a JS string inside HTML: JSON-quote it and keep `</` out of it.
    let base = serde_json::to_string(base_path)
        .unwrap_or_default()
        .replace("</", "<\\/");
    let mut block = String::from(BEGIN);
    if let Some(text) = overlay {
        block.push_str(&overlay_html(text));
    }
    block.push_str(
        &SCRIPT
            .replace("GENERATION", &generation.to_string())
            .replace("BASE", &base),
    );
    block.push_str(END);
    block
}

fn overlay_html(text: &str) -> String {
    format!(
        "<div id=\"clinic-serve-overlay\" role=\"alert\" style=\"position:fixed;left:0;right:0;top:0;z-index:2147483647;max-height:70vh;overflow:auto;margin:0;padding:1rem 1.25rem;background:#2b0b0b;color:#ffe9e9;font:14px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace;border-bottom:4px solid #e5484d;box-shadow:0 4px 18px rgba(0,0,0,.45)\">\
<button type=\"button\" onclick=\"this.parentNode.remove()\" style=\"float:right;font:inherit;background:none;color:inherit;border:1px solid currentColor;border-radius:4px;cursor:pointer\">dismiss</button>\
<strong>clinic serve: the last build failed. This is the last good build; fix the error and save.</strong>\
<pre style=\"white-space:pre-wrap;margin:.6rem 0 0;padding:0;border:0;font:inherit;background:transparent;color:inherit\">{}</pre></div>",
        escape(text)
    )
}

fn rfind_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    (0..=h.len().checked_sub(n.len())?)
        .rev()
        .find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_goes_before_the_last_body_close() {
        let html = inject("<html><body><p>x</p></BODY></html>", "/portfolio/", 7, None);
        let script = html.find("<script>").unwrap();
        assert!(script < html.find("</BODY>").unwrap());
        assert!(
            html.contains("var mine = \"7\", base = \"/portfolio/\";"),
            "{html}"
        );
        assert!(html.contains("new SharedWorker(base + \"__clinic/reload-worker.js\""));
        assert!(
            html.contains("new EventSource(base + \"__clinic/events\")"),
            "the fallback"
        );
        assert!(!html.contains("clinic-serve-overlay"));
        assert!(inject("no body", "/", 1, None).starts_with("no body<!-- clinic serve -->"));
    }

    #[test]
    fn the_overlay_escapes_what_the_student_wrote() {
        let d = Diagnostic::error("bad value <img src=x onerror=alert(1)>")
            .in_file("content/<b>.md")
            .at_line(3);
        let text = overlay_text(&[d], "/home/ada/repo");
        let html = inject("<body></body>", "/", 2, Some(&text));
        assert!(html.contains("clinic-serve-overlay"));
        // The site's own `pre` style (a light background) must not show through: the errors
        // were light pink on light grey in the light theme.
        assert!(html.contains("background:transparent;color:inherit\">"));
        assert!(
            html.contains("content/&lt;b&gt;.md:3: bad value &lt;img src=x onerror=alert(1)&gt;")
        );
        assert!(!html.contains("<img"));
    }

    #[test]
    fn the_root_path_is_shortened() {
        let d = Diagnostic::error("cannot write /home/ada/repo/.clinic/serve/1/b2: disk full");
        assert_eq!(
            overlay_text(&[d], "/home/ada/repo"),
            "error: cannot write <root>/.clinic/serve/1/b2: disk full\n"
        );
    }
}
