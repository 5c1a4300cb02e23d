//! `clinic` turns a service repository into the Release and Rollback Clinic's website: the
//! handbook, and the student's portfolio with evidence badges
//! computed from the git history.
//!
//! The pipeline, one folder per step ([`build`] runs them in this order):
//! 1. **load**: [`load`] reads `clinic.yaml`, the handbook's pages and the theme, merged from the
//!    embedded defaults and the root's own files ([`setup`] gathers what every command shares);
//! 2. **history**: [`history`] indexes the git history in one walk (cached);
//! 3. **evidence**: [`evidence`] reads the student's records once, judges them against the
//!    history with the models of [`evidence::readers`], and computes the four badges; every item
//!    carries the facts and the exact text it was judged on;
//! 4. **portfolio**: [`portfolio`] turns the evidence into pages and files, without reading the
//!    repository;
//! 5. **render**: [`render`] turns pages into HTML with the Tera theme, in parallel;
//! 6. **write**: [`output`] stages the site beside its target and swaps it in atomically.
//!
//! [`commands`] holds the command line and the commands built on the pipeline (`serve`
//! rebuilds with it, `cohort` runs it per student).

#![warn(unreachable_pub)]

mod build_cache;
pub mod commands;
pub mod diagnostics;
pub mod evidence;
pub mod history;
pub mod load;
pub mod output;
pub(crate) mod portfolio;
pub mod render;
pub(crate) mod setup;
pub(crate) mod time;

use std::path::{Path, PathBuf};

use build_cache::BuildCache;
use diagnostics::{Diagnostic, Severity};
use evidence::Evidence;
use history::{History, HistoryOptions, RepoError};
use load::config::{self, Config};
use output::{Output, OutputError};
use render::RenderInput;
use setup::Setup;

/// What `clinic build` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub root: PathBuf,
    /// Defaults to `<root>/public`.
    pub out: Option<PathBuf>,
    /// Overrides `base_url` from `clinic.yaml`.
    pub base_url: Option<String>,
    /// Turns every warning into an error.
    pub strict: bool,
    pub include_drafts: bool,
    /// Ignore the history cache (and rewrite it).
    pub no_cache: bool,
    /// Keep a build cache for the output ([`build_cache`]): the next build then updates it in
    /// place, rendering and writing only what changed. `false` (a preview's builds into new
    /// folders) stages the whole site and swaps it in, and keeps no cache.
    pub incremental: bool,
    /// With `incremental`, ignore the cache this once: the whole site is staged and swapped in,
    /// and the cache rewritten.
    pub clean: bool,
}

/// What a finished build produced.
#[derive(serde::Serialize)]
pub struct BuildReport {
    pub output: PathBuf,
    pub pages: usize,
    /// How the output was written: whole, or updated in place (and how many files changed).
    pub update: output::Update,
    pub diagnostics: Vec<Diagnostic>,
    /// Things the user should know that are not problems (no sitemap without a base URL), each
    /// one sentence; printed once after the summary.
    pub notes: Vec<String>,
    #[serde(skip)]
    pub evidence: Evidence,
    /// The settings the build used, for a preview's partial re-renders.
    #[serde(skip)]
    pub setup: Setup,
    #[serde(skip)]
    pub generated: render::Generated,
}

impl BuildReport {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

/// A build that could not produce a site at all.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The request itself is wrong (missing root, refused output): exit code 2.
    #[error("{0}")]
    Usage(Diagnostic),
    /// Something the user wrote stops the whole build (a broken template): exit code 1.
    #[error("{0}")]
    Fatal(Diagnostic),
}

impl BuildError {
    /// What went wrong, with its file, line and hint.
    pub fn diagnostic(&self) -> &Diagnostic {
        match self {
            BuildError::Usage(d) | BuildError::Fatal(d) => d,
        }
    }

    /// The exit code of every command that stops with this error: 2 for bad usage, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            BuildError::Usage(_) => 2,
            BuildError::Fatal(_) => 1,
        }
    }
}

impl From<OutputError> for BuildError {
    fn from(e: OutputError) -> Self {
        let mut d = Diagnostic::error(e.to_string());
        if let Some(hint) = e.hint() {
            d = d.with_hint(hint);
        }
        match e {
            OutputError::Refused { .. } => BuildError::Usage(d),
            _ => BuildError::Fatal(d),
        }
    }
}

/// Builds the site. Content problems are collected in the report (the rest of the site is
/// still written); only problems that leave nothing to publish are errors.
pub fn build(
    options: &BuildOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<BuildReport, BuildError> {
    let root = options.root.as_path();
    if !root.is_dir() {
        return Err(BuildError::Usage(
            Diagnostic::error(format!(
                "the site root {} is not a directory",
                root.display()
            ))
            .with_hint("pass the repository to build with --root DIR"),
        ));
    }
    let target = options.out.clone().unwrap_or_else(|| root.join("public"));
    let target = output::absolute(&target).map_err(|source| OutputError::Io {
        path: target.clone(),
        source,
    })?;
    // Refused outputs are refused before the cache is made beside the sources.
    Output::check(&target, root)?;
    // Held (locked) until the output is complete.
    let mut cache = options
        .incremental
        .then(|| BuildCache::open(root, &target, options.clean || options.no_cache));
    let previous_files = cache.as_mut().and_then(BuildCache::previous_files);
    let output = Output::prepare_with(&target, root, previous_files)?;

    // 1. load
    let (setup, mut diagnostics) = Setup::load(root, options.base_url.as_deref())?;
    let (mut content, content_diagnostics) = load::content::load(root, options.include_drafts);
    diagnostics.extend(content_diagnostics);

    // 2. history and 3. evidence
    let (evidence, evidence_diagnostics) =
        gather_evidence(root, &setup.config, options.no_cache, false);
    diagnostics.extend(evidence_diagnostics);

    // 4. portfolio
    let generated = portfolio::generate(
        &evidence,
        &setup.urls,
        setup.config.utc_offset_minutes,
        Some(time::build_clock()),
    );

    // 5. render, and 6. write (the staged site is swapped in at the end)
    let input = RenderInput {
        config: &setup.config,
        urls: &setup.urls,
        theme: &setup.theme,
        generated: &generated,
        progress,
    };
    let previous_render = cache
        .as_mut()
        .map(BuildCache::previous_render)
        .unwrap_or_default();
    let stored_docs = |visit: &mut dyn FnMut(&[String], _)| {
        if let Some(cache) = &cache {
            cache.stored_docs(visit);
        }
    };
    let (rendered, render_cache) = render::render_site(
        &mut content,
        &input,
        &output,
        &previous_render,
        &stored_docs,
    )?;
    drop(previous_render);
    diagnostics.extend(rendered);
    diagnostics.extend(copy_assets(&content, &setup.theme, &output)?);
    diagnostics.extend(generated.diagnostics.iter().cloned());
    diagnostics.extend(load::attachments::copy(
        root,
        &generated.attachments,
        &output,
    )?);
    let (output, files, update) = output.commit()?;
    if let Some(cache) = cache {
        cache.store(&files, &render_cache, &generated.searched());
    }
    diagnostics.extend(render_cache.into_diagnostics());

    if options.strict {
        for d in &mut diagnostics {
            d.severity = Severity::Error;
        }
    }
    diagnostics.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(BuildReport {
        output,
        pages: content.pages.len(),
        update,
        diagnostics,
        notes: render::sitemap_note(&setup.urls).into_iter().collect(),
        evidence,
        setup,
        generated,
    })
}

/// Part of step 6: the theme's static files and the content's assets, copied as they are.
pub(crate) fn copy_assets(
    content: &load::content::Content,
    theme: &render::templates::Theme,
    sink: &dyn output::Sink,
) -> Result<Vec<Diagnostic>, OutputError> {
    let files = theme
        .static_files
        .iter()
        .map(|f| (f, "theme"))
        .chain(content.assets.iter().map(|f| (f, "content")));
    output::copy_files(files, sink)
}

/// Steps 2 and 3: the history (when there is one) and the badges. Never fails: a missing or
/// shallow history becomes reasons on the badges and a warning here.
pub fn gather_evidence(
    root: &Path,
    config: &Config,
    no_cache: bool,
    read_only: bool,
) -> (Evidence, Vec<Diagnostic>) {
    let (records, mut diagnostics) = evidence::records::load_all(root);
    let options = HistoryOptions {
        release_tag_pattern: config.release_tag_pattern.clone(),
        flag_keys: records.flag_keys(),
        use_cache: !no_cache,
        write_cache: !read_only,
    };
    let mut history = History::load(root, &options);
    if let (Ok(h), Some(url)) = (&mut history, &config.repository_url) {
        h.web = history::forge::WebHost::parse(url);
    }
    let mut history_diagnostics = Vec::new();
    match &history {
        Err(e) => history_diagnostics.push(Diagnostic::warning(format!("history: {e}")).with_hint(e.hint())),
        Ok(h) if h.shallow => history_diagnostics.push(
            Diagnostic::warning("history: this is a shallow clone, so the evidence badges cannot be verified")
                .with_hint("fetch the whole history with `git fetch --unshallow`, or set `fetch-depth: 0` on actions/checkout"),
        ),
        Ok(_) => {}
    }
    let evidence = evidence::compute(
        &records,
        config,
        history.as_ref().map_err(|e: &RepoError| e),
        diagnostics.clone(),
    );
    diagnostics.extend(history_diagnostics);
    (evidence, diagnostics)
}

/// `clinic check`: the badges without building a site.
pub fn check(root: &Path, no_cache: bool) -> Result<(Evidence, Vec<Diagnostic>), BuildError> {
    if !root.is_dir() {
        return Err(BuildError::Usage(
            Diagnostic::error(format!(
                "the repository {} is not a directory",
                root.display()
            ))
            .with_hint("pass the repository to check with --root DIR"),
        ));
    }
    let (config, mut diagnostics) = config::load(root);
    let (evidence, more) = gather_evidence(root, &config, no_cache, false);
    diagnostics.extend(more);
    Ok((evidence, diagnostics))
}

/// The directory a user means by `--root`, for messages.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Thin entry points over the parsers, for the fuzz targets in `fuzz/` and the robustness tests.
/// Not an API: each takes raw text or bytes, runs one parser the way the pipeline does, and
/// returns a rough size of what it produced (to bound output in tests).
#[doc(hidden)]
pub mod fuzzing {
    use std::collections::BTreeMap;
    use std::path::Path;

    use crate::commands::cohort::roster;
    use crate::evidence::readers::{shell, sql, workflow};
    use crate::evidence::{records, Kind};
    use crate::load::{frontmatter, yaml};
    use crate::render::{html, markdown};

    /// The shape of a content page's front matter (as `load::content` reads it).
    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default)]
    #[allow(dead_code)]
    struct PageFrontMatter {
        title: Option<String>,
        description: Option<String>,
        weight: Option<i64>,
        draft: bool,
        slug: Option<String>,
        #[serde(flatten)]
        extra: BTreeMap<String, serde_json::Value>,
    }

    /// Front matter split and parse, and the YAML loader (`from_str`, `value_with_merges`).
    pub fn front_matter(text: &str) -> usize {
        let text = frontmatter::normalise(text);
        let mut size = 0;
        if let Ok(split) = frontmatter::split(&text) {
            size += split.body.len();
            if let Ok(fm) = frontmatter::parse::<PageFrontMatter>(&split) {
                let warnings = frontmatter::unknown_key_warnings(
                    split.yaml,
                    split.yaml_first_line,
                    &fm.extra,
                    &["title", "description", "weight", "draft", "slug"],
                );
                size += warnings.len();
            }
            if let Ok(v) = yaml::value_with_merges(split.yaml) {
                size += value_size(&v);
            }
        }
        if let Ok(v) = yaml::from_str::<serde_json::Value>(&text) {
            size += v.to_string().len();
        }
        if let Ok(v) = yaml::value_with_merges(&text) {
            size += value_size(&v);
        }
        size
    }

    fn value_size(v: &yaml::Value) -> usize {
        serde_yaml::to_string(v).map_or(0, |s| s.len())
    }

    /// Markdown to HTML, then the sanitiser, with the write-up guards of the portfolio.
    pub fn markdown(body: &str) -> usize {
        let resolve = |target: &str, _: usize| match target.len() % 3 {
            0 => markdown::Link::Keep,
            1 => markdown::Link::Rewrite(format!("/x/{}", target.len())),
            _ => markdown::Link::Broken("nowhere".into()),
        };
        let rendered = markdown::render(body, 1, &resolve);
        if rendered.html.len() > 2 * 1024 * 1024 || html::html_depth(&rendered.html) > 100 {
            return rendered.html.len();
        }
        let clean = html::sanitise(&rendered.html);
        let page = html::sanitise_page(&rendered.html);
        clean.len() + page.len() + rendered.toc.len()
    }

    /// One artifact file of every record type.
    pub fn artifact(bytes: &[u8]) -> usize {
        fn one<T: serde::de::DeserializeOwned>(bytes: &[u8], kind: Kind) -> usize {
            let path = format!("{}/fuzz.md", kind.folder());
            let mut warnings = Vec::new();
            match records::parse::<T>(&path, bytes, kind.known_keys(), &mut warnings) {
                Ok(a) => {
                    let _ = a.has_paragraph();
                    let _ = a.line_of("title");
                    let _ = a.line_containing("up");
                    a.body.len() + warnings.len()
                }
                Err(p) => p.sentence().len() + warnings.len(),
            }
        }
        one::<records::Rehearsal>(bytes, Kind::Rehearsal)
            + one::<records::Migration>(bytes, Kind::Migration)
            + one::<records::Drill>(bytes, Kind::Smoke)
            + one::<records::Flag>(bytes, Kind::Flag)
    }

    /// The cohort roster.
    pub fn roster(text: &str) -> usize {
        let text = frontmatter::normalise(text);
        match roster::parse(
            &text,
            Path::new("roster.yaml"),
            Path::new("/nonexistent-dir"),
        ) {
            Ok(r) => format!("{r:?}").len(),
            Err(d) => d.message.len(),
        }
    }

    /// The migration classifier: the columns a file adds, then its statements judged with them.
    pub fn sql(text: &str) -> usize {
        let added = sql::added_columns(text);
        let statements = sql::classify_with(text, &added);
        let _ = sql::is_additive(&statements);
        format!("{added:?}").len()
            + statements
                .iter()
                .map(|s| s.text.len() + s.reason.len())
                .sum::<usize>()
    }

    /// The bash reader on `scripts/smoke.sh`.
    pub fn shell_smoke(text: &str) -> usize {
        let smoke = shell::analyse_smoke_script(text);
        let requests: usize = smoke.checks.iter().map(|c| format!("{c:?}").len()).sum();
        requests + smoke.unseen.len() + smoke.propagation.len()
    }

    /// The bash reader on a workflow step's `run:` (the first byte picks the shell options and
    /// the working directory).
    pub fn shell_step(data: &[u8]) -> usize {
        let (flags, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
        let text = String::from_utf8_lossy(rest);
        let options = shell::ShellOptions {
            errexit: flags & 1 != 0,
            pipefail: flags & 2 != 0,
        };
        let wd = match flags & 12 {
            0 => None,
            4 => Some("scripts"),
            8 => Some(".."),
            _ => Some("./app/../"),
        };
        let step = shell::step_runs_script(&text, &options, wd, workflow::SCRIPT);
        format!("{step:?}").len()
    }

    /// The workflow reader: one file loaded, then judged with the real bash reader.
    pub fn workflow(text: &str) -> usize {
        let path = ".github/workflows/ci.yml".to_string();
        let loaded = workflow::load(&path, text).map_or(0, |w| w.jobs.len());
        let step_runs = |run: &str, options: &shell::ShellOptions, wd: Option<&str>| {
            shell::step_runs_script(run, options, wd, workflow::SCRIPT)
        };
        let wiring = workflow::judge(&[(path, text.to_string())], &step_runs);
        loaded + wiring.smoke_steps.len() + wiring.promotions.len() + wiring.problems.len()
    }
}
