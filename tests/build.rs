//! `clinic build` and `clinic init` on fixture sites (tests/fixtures/): build with the real
//! binary, then check the named output files, the error text and the exit codes.

mod common;

use std::path::Path;

use common::{between, build, build_into, clinic, copy_fixture, list_files, read_output};

/// The titles of `good/`'s guide pages in weight order (alphabetical order is the reverse).
const GUIDE_ORDER: [&str; 3] = ["Zebra introduction", "Middle setup", "Advanced topics"];

/// `clinic build` of `good/` with a strict umask, so that world-readable output is the
/// generator's doing and not the environment's.
/// The site's address for the tests that read `sitemap.xml`: only a build that knows it writes one.
const BASE_URL: &str = "https://docs.example/site/";

fn build_good(extra: &[&str]) -> (common::Site, common::Run) {
    let site = copy_fixture("good");
    let mut command = common::clinic_command();
    command
        .arg("build")
        .arg("--root")
        .arg(&site.root)
        .args(extra);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask is async-signal-safe and touches only the child's own state.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0o077);
                Ok(())
            });
        }
    }
    let run = common::run(command);
    (site, run)
}

#[test]
fn good_site_builds_every_required_file() {
    let (site, run) = build_good(&["--base-url", BASE_URL]);
    run.expect_code(0);
    let out = site.public();
    for rel in [
        ".nojekyll",
        "404.html",
        "sitemap.xml",
        "index.html",
        "static/style.css",
        "static/syntax-light.css",
        "static/syntax-dark.css",
        "guide/index.html",
        "guide/intro/index.html",
        "guide/setup/index.html",
        "guide/advanced/index.html",
        "images/diagram.svg",
        "files/sample.txt",
        // the embedded handbook is still there beside the site's own pages
        "self-check/index.html",
    ] {
        assert!(
            out.join(rel).is_file(),
            "{rel} is missing; the output holds {:?}",
            list_files(&out)
        );
    }
    assert_eq!(
        std::fs::read(out.join("static/style.css")).unwrap(),
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("theme/static/style.css"))
            .unwrap(),
        "static/style.css is the default theme's stylesheet"
    );
    for css in ["static/syntax-light.css", "static/syntax-dark.css"] {
        let text = read_output(&out, css);
        assert!(text.contains(".hl-"), "{css} has no hl- classes:\n{text}");
    }
    assert_eq!(read_output(&out, "files/sample.txt"), "sample asset\n");
    assert!(read_output(&out, "images/diagram.svg").contains("<svg"));
    let not_found = read_output(&out, "404.html");
    assert!(not_found.contains("Page not found"), "{not_found}");
    let sitemap = read_output(&out, "sitemap.xml");
    assert!(sitemap.starts_with("<?xml"), "{sitemap}");
    assert!(
        sitemap.contains("<loc>https://docs.example/site/guide/intro/</loc>"),
        "{sitemap}"
    );
    assert!(
        !sitemap.contains("404"),
        "the 404 page is not in the sitemap:\n{sitemap}"
    );
}

#[test]
fn without_a_base_url_there_is_no_sitemap_and_the_build_says_why_once() {
    let (site, run) = build_good(&[]);
    run.expect_code(0);
    let out = site.public();
    assert!(out.join("index.html").is_file());
    assert!(
        !out.join("sitemap.xml").exists(),
        "a sitemap of relative addresses was written: {:?}",
        list_files(&out)
    );
    let notes: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("note: no sitemap.xml was written"))
        .collect();
    assert_eq!(notes.len(), 1, "{}", run.stderr);
    assert!(notes[0].contains("--base-url"), "{}", notes[0]);
    // For tools, the note is in the build report; it is not a diagnostic (--strict ignores it).
    let site = copy_fixture("good");
    let json = build(&site.root, &["--json"]);
    json.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        report["notes"][0]
            .as_str()
            .is_some_and(|n| n.starts_with("no sitemap.xml was written")),
        "{report}"
    );
    assert!(
        !report["diagnostics"].to_string().contains("sitemap"),
        "{report}"
    );
}

#[cfg(unix)]
#[test]
fn output_has_no_symlinks_and_everything_is_world_readable() {
    use std::os::unix::fs::PermissionsExt;
    let (site, run) = build_good(&[]);
    run.expect_code(0);
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(site.public()) {
        let entry = entry.unwrap();
        let meta = entry.path().symlink_metadata().unwrap();
        let mode = meta.permissions().mode();
        if meta.file_type().is_symlink() {
            problems.push(format!("{} is a symlink", entry.path().display()));
        } else if meta.is_dir() && mode & 0o005 != 0o005 {
            problems.push(format!(
                "{} is a folder with mode {mode:o}",
                entry.path().display()
            ));
        } else if meta.is_file() && mode & 0o004 == 0 {
            problems.push(format!("{} has mode {mode:o}", entry.path().display()));
        }
    }
    assert!(
        problems.is_empty(),
        "built with umask 077:\n{}",
        problems.join("\n")
    );
}

#[test]
fn relative_md_links_and_assets_are_rewritten() {
    let (site, run) = build_good(&[]);
    run.expect_code(0);
    let intro = read_output(&site.public(), "guide/intro/index.html");
    let content = between(&intro, "<div class=\"content\">", "</article>");
    for expected in [
        r#"<a href="/guide/setup/">setup page</a>"#,
        r#"<a href="/guide/setup/#install-the-tool">its install step</a>"#,
        r#"<a href="/">home page</a>"#,
        r#"<a href="/guide/advanced/#deep-dive">advanced topics</a>"#,
        r#"<img src="/images/diagram.svg" alt="A fixture diagram""#,
        r#"<a href="/files/sample.txt">the sample file</a>"#,
        r##"<a href="#a-query">a query</a>"##,
    ] {
        assert!(
            content.contains(expected),
            "missing {expected} in:\n{content}"
        );
    }
    let home = read_output(&site.public(), "index.html");
    assert!(
        home.contains(r#"<a href="/guide/intro/">introduction</a>"#),
        "{home}"
    );
    assert!(
        home.contains(r#"<a href="/guide/">guide section</a>"#),
        "{home}"
    );
    for file in list_files(&site.public())
        .iter()
        .filter(|f| f.ends_with(".html"))
    {
        let html = read_output(&site.public(), file);
        for (_, link) in common::links(&html) {
            assert!(!link.contains(".md"), "{file} still links to {link}");
        }
    }
}

#[test]
fn code_blocks_are_highlighted_and_an_unknown_language_is_plain_text_with_a_warning() {
    let (site, run) = build_good(&[]);
    run.expect_code(0);
    let intro = read_output(&site.public(), "guide/intro/index.html");
    let sql = between(
        &intro,
        "<pre class=\"code\" data-lang=\"sql\" tabindex=\"0\">",
        "</pre>",
    );
    assert!(
        sql.contains("<span class=\"hl-keyword"),
        "SQL is not highlighted:\n{sql}"
    );
    assert!(sql.contains("SELECT"), "{sql}");
    let klingon = between(
        &intro,
        "<pre class=\"code\" data-lang=\"klingon\" tabindex=\"0\">",
        "</pre>",
    );
    assert_eq!(
        klingon,
        "<pre class=\"code\" data-lang=\"klingon\" tabindex=\"0\"><code>nuqneH\n</code></pre>",
        "an unknown language is plain, unhighlighted text"
    );
    run.expect_stderr("warning: content/guide/intro.md:22: unknown code language `klingon`");
    assert!(!run.stderr.contains("error:"), "{}", run.stderr);
    assert_eq!(site_warnings(&run.stderr), 1, "{}", run.stderr);
}

/// Warnings about the site's own files (the history step may add others about the root).
fn site_warnings(stderr: &str) -> usize {
    [
        "warning: content/",
        "warning: theme/",
        "warning: clinic.yaml",
    ]
    .iter()
    .map(|prefix| stderr.matches(prefix).count())
    .sum()
}

/// Positions of `needles` in `haystack`, each required to be there.
fn positions(haystack: &str, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| {
            haystack
                .find(n)
                .unwrap_or_else(|| panic!("no {n:?} in:\n{haystack}"))
        })
        .collect()
}

#[test]
fn weight_orders_pages_in_the_section_listing_navigation_and_page_links() {
    let (site, run) = build_good(&[]);
    run.expect_code(0);
    let out = site.public();
    let section = read_output(&out, "guide/index.html");
    let listing = between(&section, "<section class=\"listing\">", "</section>");
    let at = positions(listing, &GUIDE_ORDER);
    assert!(
        at[0] < at[1] && at[1] < at[2],
        "listing not in weight order:\n{listing}"
    );

    let sidebar = between(&section, "<div class=\"nav-sidebar\">", "</div>");
    let at = positions(sidebar, &GUIDE_ORDER);
    assert!(
        at[0] < at[1] && at[1] < at[2],
        "navigation not in weight order:\n{sidebar}"
    );

    let setup = read_output(&out, "guide/setup/index.html");
    let page_nav = between(&setup, "<nav class=\"page-nav\"", "</nav>");
    assert!(
        page_nav.contains(r#"<a class="page-nav-prev" href="/guide/intro/" rel="prev">"#),
        "{page_nav}"
    );
    assert!(
        page_nav.contains(r#"<a class="page-nav-next" href="/guide/advanced/" rel="next">"#),
        "{page_nav}"
    );
}

#[test]
fn drafts_are_left_out_unless_asked_for() {
    let (site, run) = build_good(&["--base-url", BASE_URL]);
    run.expect_code(0);
    let out = site.public();
    assert!(
        !out.join("guide/wip").exists(),
        "the draft was published: {:?}",
        list_files(&out)
    );
    assert!(!read_output(&out, "sitemap.xml").contains("/guide/wip/"));
    assert!(!read_output(&out, "guide/index.html").contains("Work in progress"));

    let (site, run) = build_good(&["--drafts"]);
    run.expect_code(0);
    let out = site.public();
    let draft = read_output(&out, "guide/wip/index.html");
    assert!(draft.contains("<h1>Work in progress</h1>"), "{draft}");
    assert!(read_output(&out, "guide/index.html").contains("Work in progress"));
}

#[test]
fn a_footer_override_replaces_only_the_footer() {
    let (site, run) = build_good(&[]);
    run.expect_code(0);
    let out = site.public();
    for rel in [
        "index.html",
        "guide/intro/index.html",
        "guide/index.html",
        "404.html",
        "self-check/index.html",
    ] {
        let html = read_output(&out, rel);
        assert!(
            html.contains("<p>Fixture footer override for Fixture Clinic</p>"),
            "{rel} lacks the overriding footer:\n{html}"
        );
        assert!(
            !html.contains("Built with clinic"),
            "{rel} still has the default footer"
        );
        // The rest of the default theme still applies.
        for default in [
            "<a class=\"skip-link\" href=\"#main\">",
            "<header class=\"site-header\">",
            "<nav class=\"site-nav\" aria-label=\"Handbook\">",
            "<main id=\"main\" class=\"main\">",
            "<link rel=\"stylesheet\" href=\"/static/style.css\">",
            "<a class=\"site-title\" href=\"/\">Fixture Clinic</a>",
        ] {
            assert!(html.contains(default), "{rel} lacks {default}");
        }
    }
}

#[test]
fn bom_and_crlf_pages_equal_their_plain_twin() {
    let fixture = common::fixture_path("good/content");
    let raw = |name: &str| std::fs::read(fixture.join(name)).unwrap();
    // Guard the fixture itself: a checkout that normalised line ends would test nothing.
    assert!(raw("bom.md").starts_with(b"\xef\xbb\xbf---\n"));
    assert!(raw("crlf.md").starts_with(b"---\r\n") && !raw("crlf.md").starts_with(b"\xef"));
    assert!(raw("bom-crlf.md").starts_with(b"\xef\xbb\xbf---\r\n"));
    assert!(!raw("plain-twin.md").contains(&b'\r'));

    let (site, run) = build_good(&[]);
    run.expect_code(0);
    let out = site.public();
    let article =
        |rel: &str| between(&read_output(&out, rel), "<article", "</article>").to_string();
    let plain = article("plain-twin/index.html");
    assert!(plain.contains("<h1>Encoding twin</h1>"), "{plain}");
    assert!(plain.contains("<table>"), "{plain}");
    assert!(
        plain.contains("<a href=\"/guide/setup/\">link to setup</a>"),
        "{plain}"
    );
    for twin in ["bom/index.html", "crlf/index.html", "bom-crlf/index.html"] {
        assert_eq!(article(twin), plain, "{twin} differs from plain-twin");
        let html = read_output(&out, twin);
        assert!(
            html.contains("<title>Encoding twin · Fixture Clinic</title>"),
            "{twin}"
        );
        assert!(
            !html.contains('\u{feff}') && !html.contains('\r'),
            "{twin} kept a BOM or CR"
        );
    }
}

#[test]
fn an_empty_markdown_file_is_an_empty_page() {
    let fixture = common::fixture_path("good/content/empty.md");
    assert_eq!(std::fs::metadata(fixture).unwrap().len(), 0);
    let (site, run) = build_good(&[]);
    run.expect_code(0);
    let html = read_output(&site.public(), "empty/index.html");
    let article = between(&html, "<article", "</article>");
    assert!(article.contains("<h1>Empty</h1>"), "{article}");
    let body = between(article, "<div class=\"content\">", "</div>");
    assert_eq!(
        body.trim_start_matches("<div class=\"content\">")
            .trim_end_matches("</div>")
            .trim(),
        ""
    );
    assert!(!run.stderr.contains("empty.md"), "{}", run.stderr);
}

#[test]
fn json_report_lists_pages_and_diagnostics() {
    let (site, run) = build_good(&["--json"]);
    run.expect_code(0);
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let pages = report["pages"].as_u64().expect("pages is a number");
    // The same count as the summary for people, and at least the fixture's own pages.
    let human = build(&site.root, &[]);
    human.expect_stderr(&format!("Built {pages} pages"));
    let own = [
        "guide/",
        "guide/intro/",
        "guide/setup/",
        "guide/advanced/",
        "empty/",
        "bom/",
    ];
    assert!(pages as usize >= own.len(), "{report}");
    for page in own {
        assert!(
            site.public().join(page).join("index.html").is_file(),
            "{page}"
        );
    }
    let output = report["output"].as_str().expect("output is a string");
    assert_eq!(
        Path::new(output).canonicalize().unwrap(),
        site.public().canonicalize().unwrap()
    );
    let diagnostics: Vec<&serde_json::Value> = report["diagnostics"]
        .as_array()
        .expect("diagnostics is an array")
        .iter()
        .filter(|d| !d["file"].is_null())
        .collect();
    assert_eq!(
        diagnostics.len(),
        1,
        "one diagnostic about a file: {report}"
    );
    let d = &diagnostics[0];
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["file"], "content/guide/intro.md");
    assert_eq!(d["line"], 22);
    assert!(d["message"].as_str().unwrap().contains("klingon"), "{d}");
    assert!(d["hint"].is_string(), "{d}");

    let site = copy_fixture("bad-front-matter");
    let run = build(&site.root, &["--json"]);
    run.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let errors: Vec<_> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0]["file"], "content/broken.md");
    assert_eq!(errors[0]["line"], 5);
}

#[test]
fn json_reports_a_refused_output_too() {
    let site = copy_fixture("good");
    let run = build_into(&site.root, &site.root, &["--json"]);
    run.expect_code(2);
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let message = report["error"]["message"].as_str().expect("error.message");
    assert!(message.contains("refusing"), "{report}");
}

#[test]
fn help_explains_each_subcommand() {
    let run = clinic(["build", "--help"]);
    run.expect_code(0);
    for flag in [
        "--root",
        "--out",
        "--base-url",
        "--strict",
        "--drafts",
        "--json",
    ] {
        assert!(
            run.stdout.contains(flag),
            "build --help lacks {flag}:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains(".git and CNAME"), "{}", run.stdout);

    let run = clinic(["init", "--help"]);
    run.expect_code(0);
    assert!(run.stdout.contains("--root"), "{}", run.stdout);
    assert!(run.stdout.contains("pages.yml"), "{}", run.stdout);

    let run = clinic(["--help"]);
    run.expect_code(0);
    for word in ["build", "init", "Exit codes"] {
        assert!(
            run.stdout.contains(word),
            "--help lacks {word}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn bad_usage_exits_with_code_2() {
    let run = clinic(["build", "--no-such-flag"]);
    run.expect_code(2).expect_stderr("--no-such-flag");
    let run = clinic(["no-such-command"]);
    run.expect_code(2).expect_stderr("no-such-command");
    let site = common::empty_site();
    let missing = site.root.join("missing");
    let run = build(&missing, &[]);
    run.expect_code(2).expect_stderr("not a directory");
    assert!(!missing.exists(), "a missing root was created");
    let run = build(&site.root, &["--base-url", "not a url"]);
    run.expect_code(2).expect_stderr("--base-url");
}

#[test]
fn init_writes_the_pages_workflow_and_never_overwrites() {
    let site = common::empty_site();
    let root = site.root.as_os_str();
    let run = clinic([std::ffi::OsStr::new("init"), "--root".as_ref(), root]);
    run.expect_code(0);
    let workflow_path = site.root.join(".github/workflows/pages.yml");
    let workflow = std::fs::read_to_string(&workflow_path).expect("pages.yml written");
    for needle in [
        "actions/checkout@v6",
        "fetch-depth: 0",
        "clinic build",
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
        "pages: write",
        "id-token: write",
    ] {
        assert!(
            workflow.contains(needle),
            "pages.yml lacks {needle}:\n{workflow}"
        );
    }
    let gitignore = std::fs::read_to_string(site.root.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == "/public/"), "{gitignore}");

    std::fs::write(&workflow_path, "name: mine\n").unwrap();
    let run = clinic([std::ffi::OsStr::new("init"), "--root".as_ref(), root]);
    run.expect_code(0).expect_stderr("kept");
    assert_eq!(
        std::fs::read_to_string(&workflow_path).unwrap(),
        "name: mine\n"
    );
    let again = std::fs::read_to_string(site.root.join(".gitignore")).unwrap();
    assert_eq!(again, gitignore, ".gitignore lines are added once");
}

#[test]
fn a_front_matter_error_names_the_file_line_and_the_rest_still_builds() {
    let site = copy_fixture("bad-front-matter");
    let run = build(&site.root, &["--base-url", BASE_URL]);
    // line 5 of the file; line 4 of the YAML between the fences
    run.expect_code(1)
        .expect_stderr("error: content/broken.md:5: front matter:");
    let out = site.public();
    let fine = read_output(&out, "fine/index.html");
    assert!(fine.contains("<h1>Fine page</h1>"), "{fine}");
    assert!(out.join("index.html").is_file());
    assert!(
        !out.join("broken").exists(),
        "the broken page was published"
    );
    assert!(!read_output(&out, "sitemap.xml").contains("/broken/"));
}

#[test]
fn a_broken_link_warns_with_file_and_line_and_strict_makes_it_an_error() {
    let site = copy_fixture("broken-link");
    let run = build(&site.root, &[]);
    run.expect_code(0)
        .expect_stderr("warning: content/page.md:7: link to `missing.md` points nowhere");
    assert!(site.public().join("page/index.html").is_file());

    let run = build(&site.root, &["--strict"]);
    run.expect_code(1)
        .expect_stderr("error: content/page.md:7: link to `missing.md` points nowhere");
}

#[test]
fn a_template_syntax_error_names_the_template_and_line_and_publishes_nothing() {
    let site = copy_fixture("bad-template");
    let run = build(&site.root, &[]);
    run.expect_code(1)
        .expect_stderr("error: theme/templates/partials/footer.html:3: template error");
    assert!(
        !site.public().exists(),
        "a site was published with a broken theme"
    );
    assert_eq!(
        common::root_entries(&site.root),
        ["content", "theme"],
        "a staging directory was left behind"
    );
}

#[test]
fn an_unknown_key_warns_with_file_line_and_suggestion() {
    let site = copy_fixture("unknown-key");
    let run = build(&site.root, &[]);
    run.expect_code(0)
        .expect_stderr(
            "warning: content/page.md:3: unknown key `titel`\n  help: did you mean `title`?",
        )
        .expect_stderr(
            "warning: clinic.yaml:2: unknown key `titel`\n  help: did you mean `title`?",
        );
    // An unknown key is kept out of the page, and the page is still built.
    let page = read_output(&site.public(), "page/index.html");
    assert!(
        page.contains("<h1>Page</h1>"),
        "the title falls back to the file name:\n{page}"
    );
    let run = build(&site.root, &["--strict"]);
    run.expect_code(1)
        .expect_stderr("error: content/page.md:3: unknown key `titel`");
}

#[test]
fn oversized_front_matter_and_alias_bombs_are_refused_and_the_rest_builds() {
    let site = common::empty_site();
    let content = site.root.join("content");
    std::fs::create_dir(&content).unwrap();
    let big = format!(
        "---\ntitle: Big\ndescription: \"{}\"\n---\nbody\n",
        "x".repeat(70 * 1024)
    );
    std::fs::write(content.join("big.md"), big).unwrap();
    let mut bomb = String::from("---\ntitle: Bomb\na: &a [\"");
    bomb.push_str(&"y".repeat(1024));
    bomb.push_str("\"]\nb: [");
    bomb.push_str(&vec!["*a"; 2_000].join(", "));
    bomb.push_str("]\n---\nbody\n");
    std::fs::write(content.join("bomb.md"), bomb).unwrap();
    std::fs::write(content.join("fine.md"), "---\ntitle: Fine\n---\nfine\n").unwrap();

    let run = build(&site.root, &[]);
    run.expect_code(1)
        .expect_stderr("error: content/big.md")
        .expect_stderr("over the 64 KiB limit")
        .expect_stderr("error: content/bomb.md")
        .expect_stderr("aliases");
    assert!(site.public().join("fine/index.html").is_file());
    assert!(!site.public().join("big").exists() && !site.public().join("bomb").exists());
}

#[test]
fn a_slug_that_climbs_out_is_an_error_and_nothing_lands_outside_the_output() {
    let site = copy_fixture("slug-escape");
    let before_tmp = common::snapshot(site.tmp.path());
    let run = build(&site.root, &["--base-url", BASE_URL]);
    run.expect_code(1).expect_stderr(
        "error: content/page.md:3: slug \"../../x\" would leave the page's folder or the output",
    );
    let out = site.public();
    assert!(read_output(&out, "fine/index.html").contains("<h1>Fine page</h1>"));
    // Nothing but the new output appeared anywhere in the temporary directory.
    let after_tmp: Vec<_> = common::snapshot(site.tmp.path())
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("site/public/") && !rel.starts_with("site/.clinic/"))
        .collect();
    assert_eq!(after_tmp, before_tmp, "files changed outside the output");
    for file in list_files(&out) {
        assert!(
            !file.split('/').any(|part| part == "x"),
            "{file} was written"
        );
        assert!(!file.starts_with("page/"), "{file} was written");
    }
    assert!(!read_output(&out, "sitemap.xml").contains("/x/"));
}

#[test]
fn two_files_publishing_one_url_is_an_error_naming_both() {
    let site = copy_fixture("collision");
    let run = build(&site.root, &["--json"]);
    run.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let errors: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| format!("{}: {}", d["file"].as_str().unwrap_or(""), d["message"]))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("content/notes.md") && errors[0].contains("content/notes/_index.md"),
        "the error names both files: {errors:?}"
    );
    assert!(errors[0].contains("/notes/"), "{errors:?}");

    // The file in error is left out like any other: /notes/ is the other file's page, and
    // the report counts one page for one URL.
    let notes = read_output(&site.public(), "notes/index.html");
    let article = between(&notes, "<article", "</article>");
    assert!(
        article.contains("<h1>Notes as a page</h1>") && !article.contains("Notes as a section"),
        "/notes/ is not content/notes.md's page:\n{article}"
    );
    // The output is the one the site would have without the file in error.
    let without = copy_fixture("collision");
    std::fs::remove_file(without.root.join("content/notes/_index.md")).unwrap();
    let clean = build(&without.root, &["--json"]);
    clean.expect_code(0);
    let clean: serde_json::Value = serde_json::from_str(&clean.stdout).unwrap();
    assert_eq!(report["pages"], clean["pages"], "pages counted");
    assert_eq!(list_files(&site.public()), list_files(&without.public()));
}

#[test]
fn a_page_beside_a_folder_of_the_same_name_names_only_real_files() {
    // content/notes.md and content/notes/child.md, with no content/notes/_index.md.
    let site = common::empty_site();
    let notes = site.root.join("content/notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(
        site.root.join("content/notes.md"),
        "---\ntitle: My notes\n---\nmine\n",
    )
    .unwrap();
    std::fs::write(notes.join("child.md"), "---\ntitle: Child\n---\nchild\n").unwrap();
    let run = build(&site.root, &[]);
    assert!(
        !run.stderr.contains("content/notes/_index.md"),
        "a message names a file that does not exist:\n{}",
        run.stderr
    );
    // Whatever is reported, the user's page is what /notes/ shows, and the child is built.
    let html = read_output(&site.public(), "notes/index.html");
    assert!(html.contains("<h1>My notes</h1>"), "{html}");
    assert!(site.public().join("notes/child/index.html").is_file());
}
