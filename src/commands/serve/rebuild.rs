//! Rebuilds: a whole build into a new directory, or, when only page bodies changed, the changed
//! pages re-rendered into the current one.
//!
//! **Full builds** use [`crate::build`] unchanged, into `<work>/b<N>`: it renders into a
//! temporary sibling and renames it into place, so the directory is complete before the server
//! is pointed at it. The history index is read through its on-disk cache, keyed by the commits
//! it was walked from: unless refs changed, that costs a cache read, not a walk.
//!
//! **Partial re-renders.** A full build of a 1,000-page site takes over a second; one page takes
//! milliseconds. When a batch touched only `content/**/*.md`, the content is loaded again and
//! compared with the content of the build being served (the *snapshot*). If the set of pages
//! and assets and everything other pages show of a page (source, URL, title, description,
//! weight, draft, section) are unchanged, only the pages whose body or extra front matter
//! changed are rendered ([`crate::render::render_pages`], the same code as a build), and each
//! file is replaced atomically (temp file + rename in the same folder; the temp name starts
//! with `.`, which the server never serves). Anything else, or more than [`PARTIAL_LIMIT`]
//! pages, is a full build. Comparing with the snapshot rather than trusting event paths makes
//! the result equal a clean build even when events were coalesced or an attempt failed.
//!
//! The configuration and theme are loaded once per full build and kept with the snapshot: a
//! change to either is a full build, and parsing the templates again would cost a sixth of a
//! partial re-render.
//!
//! The snapshot's content is loaded *before* the full build it describes: a file edited during
//! the build is then older in the snapshot than in the output, and the next comparison
//! re-renders it. The other order could leave a stale page that no comparison would find.
//!
//! **Failures.** A build that returns an error, or whose report has errors, keeps the last good
//! build (nothing is written into it) and reports the errors for the overlay; it is deleted. Until
//! a good build exists, a build with errors is still served (it is better than nothing). After
//! a failed full build, the next rebuild is full too, since the snapshot no longer says what
//! changed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::state::SiteDir;
use crate::diagnostics::Diagnostic;
use crate::load::content::{self, Content, Page};
use crate::render::{self, Generated, RenderInput};
use crate::setup::Setup;
use crate::{BuildError, BuildOptions};

/// Above this many changed pages, a full build (an atomic swap of the whole site) is better
/// than replacing files one by one.
pub(super) const PARTIAL_LIMIT: usize = 20;

/// What a rebuild did.
#[derive(Debug)]
pub(super) enum Outcome {
    /// A new build is in place (or pages were replaced in the current one).
    Published {
        site: Arc<SiteDir>,
        kind: Kind,
        /// Everything the rebuild reported, for the terminal.
        diagnostics: Vec<Diagnostic>,
        millis: u128,
    },
    /// The sources are back to what is served (an edit undone, a save without changes).
    Unchanged,
    /// Nothing was published; the last good build stays.
    Failed {
        diagnostics: Vec<Diagnostic>,
        millis: u128,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    Full { pages: usize },
    Partial { pages: Vec<String> },
}

/// The build being served, and what produced it.
struct Snapshot {
    content: Content,
    /// The portfolio's pages and values, made from the build's evidence.
    generated: Generated,
    diagnostics: Vec<Diagnostic>,
    site: Arc<SiteDir>,
    /// The build's configuration and theme, kept for partial re-renders: any change to either
    /// is a full build, so they stay valid as long as the snapshot does.
    setup: Setup,
}

impl Snapshot {
    fn good(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

pub(super) struct Builder {
    options: BuildOptions,
    work: PathBuf,
    next_id: u64,
    snapshot: Option<Snapshot>,
    needs_full: bool,
}

impl Builder {
    /// `options.out` is ignored: every build goes to a new folder under `work`.
    pub(super) fn new(options: BuildOptions, work: PathBuf) -> Builder {
        Builder {
            options,
            work,
            next_id: 1,
            snapshot: None,
            needs_full: true,
        }
    }

    /// The errors of the build being served, if it has any (shown until fixed).
    pub(super) fn served_errors(&self) -> Vec<Diagnostic> {
        self.snapshot
            .as_ref()
            .map(|s| {
                s.diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Rebuilds after `pages_only` changes (only Markdown under `content/`) or anything else.
    pub(super) fn rebuild(&mut self, pages_only: bool) -> Outcome {
        let partial_possible =
            pages_only && !self.needs_full && self.snapshot.as_ref().is_some_and(Snapshot::good);
        if partial_possible {
            if let Some(outcome) = self.partial() {
                return outcome;
            }
        }
        self.full()
    }

    /// A whole build into a new directory.
    pub(super) fn full(&mut self) -> Outcome {
        let started = Instant::now();
        // Loaded before the build, for the reason in the module comment.
        let (content, _) = content::load(&self.options.root, self.options.include_drafts);
        let out = self.work.join(format!("b{}", self.next_id));
        self.next_id += 1;
        let options = BuildOptions {
            out: Some(out.clone()),
            ..self.options.clone()
        };
        let result = crate::build(&options, &|_, _| {});
        let millis = started.elapsed().as_millis();
        let report = match result {
            Ok(report) => report,
            Err(BuildError::Usage(d) | BuildError::Fatal(d)) => {
                return self.failed_full(&out, vec![d], millis)
            }
        };
        let has_errors = report.error_count() > 0;
        if has_errors && self.snapshot.as_ref().is_some_and(Snapshot::good) {
            return self.failed_full(&out, report.diagnostics, millis);
        }
        let site = match SiteDir::new(out.clone()) {
            Ok(site) => Arc::new(site),
            Err(e) => {
                let d = Diagnostic::error(format!("the build directory is unreadable: {e}"));
                return self.failed_full(&out, vec![d], millis);
            }
        };
        self.needs_full = false;
        let pages = report.pages;
        let fresh = self.not_reported_yet(&report.diagnostics);
        self.snapshot = Some(Snapshot {
            content,
            generated: report.generated,
            diagnostics: report.diagnostics,
            site: Arc::clone(&site),
            setup: report.setup,
        });
        Outcome::Published {
            site,
            kind: Kind::Full { pages },
            diagnostics: fresh,
            millis,
        }
    }

    /// The diagnostics the served build did not have: a rebuild of a 1,000-page site with a
    /// warning on every page would otherwise repeat them all on every save.
    fn not_reported_yet(&self, diagnostics: &[Diagnostic]) -> Vec<Diagnostic> {
        let Some(snapshot) = &self.snapshot else {
            return diagnostics.to_vec();
        };
        let known: std::collections::HashSet<String> = snapshot
            .diagnostics
            .iter()
            .map(Diagnostic::to_string)
            .collect();
        diagnostics
            .iter()
            .filter(|d| !known.contains(&d.to_string()))
            .cloned()
            .collect()
    }

    fn failed_full(&mut self, out: &Path, diagnostics: Vec<Diagnostic>, millis: u128) -> Outcome {
        let _ = std::fs::remove_dir_all(out);
        self.needs_full = true;
        Outcome::Failed {
            diagnostics,
            millis,
        }
    }

    /// Re-renders the pages whose bodies changed, or `None` when a full build is needed.
    fn partial(&mut self) -> Option<Outcome> {
        let started = Instant::now();
        let (content, load_diagnostics) =
            content::load(&self.options.root, self.options.include_drafts);
        let snapshot = self.snapshot.as_ref()?;
        let load_errors: Vec<Diagnostic> = load_diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        if !load_errors.is_empty() {
            // A page that does not load is left out of `content`, which would look like a
            // structural change; the build would fail anyway, so say so without building.
            return failed(load_errors, started);
        }
        let changed = changed_pages(&snapshot.content, &content)?;
        if changed.is_empty() {
            return Some(Outcome::Unchanged);
        }
        if changed.len() > PARTIAL_LIMIT {
            return None;
        }
        let (files, render_diagnostics) = render_changed(snapshot, &content, &changed);
        if render_diagnostics.iter().any(Diagnostic::is_error) {
            return failed(render_diagnostics, started);
        }
        for (rel, html) in &files {
            if let Err(e) = replace_file(snapshot.site.path(), rel, html.as_bytes()) {
                // Some pages may already be replaced: only a full build is sure to be whole.
                self.needs_full = true;
                return failed(
                    vec![Diagnostic::error(format!("cannot write {rel}: {e}"))],
                    started,
                );
            }
        }
        let changed_files: Vec<PathBuf> = changed
            .iter()
            .map(|&i| content.pages[i].shown_path.clone())
            .collect();
        let about_changed =
            |d: &Diagnostic| d.file.as_ref().is_some_and(|f| changed_files.contains(f));
        let new: Vec<Diagnostic> = load_diagnostics
            .into_iter()
            .filter(about_changed)
            .chain(render_diagnostics)
            .collect();
        let fresh = self.not_reported_yet(&new);
        let site = self.adopt(content, new, &about_changed)?;
        let pages = changed_files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        Some(Outcome::Published {
            site,
            kind: Kind::Partial { pages },
            diagnostics: fresh,
            millis: started.elapsed().as_millis(),
        })
    }

    /// Makes re-rendered `content` the snapshot: the diagnostics `about_changed` pages are
    /// replaced by `new`. Returns the (same) site.
    fn adopt(
        &mut self,
        content: Content,
        new: Vec<Diagnostic>,
        about_changed: &dyn Fn(&Diagnostic) -> bool,
    ) -> Option<Arc<SiteDir>> {
        let old = self.snapshot.take()?;
        let mut diagnostics: Vec<Diagnostic> = old
            .diagnostics
            .into_iter()
            .filter(|d| !about_changed(d))
            .chain(new)
            .collect();
        diagnostics.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        let site = Arc::clone(&old.site);
        self.snapshot = Some(Snapshot {
            content,
            generated: old.generated,
            diagnostics,
            site: old.site,
            setup: old.setup,
        });
        Some(site)
    }
}

/// Re-rendered pages (output path, HTML) and what rendering them reported.
type Rendered = (Vec<(String, String)>, Vec<Diagnostic>);

fn failed(diagnostics: Vec<Diagnostic>, started: Instant) -> Option<Outcome> {
    Some(Outcome::Failed {
        diagnostics,
        millis: started.elapsed().as_millis(),
    })
}

/// Renders the `changed` pages of `content` with the snapshot's portfolio, configuration and
/// theme: those of the build being served.
fn render_changed(snapshot: &Snapshot, content: &Content, changed: &[usize]) -> Rendered {
    let setup = &snapshot.setup;
    let progress = |_: usize, _: usize| {};
    let input = RenderInput {
        config: &setup.config,
        urls: &setup.urls,
        theme: &setup.theme,
        generated: &snapshot.generated,
        progress: &progress,
    };
    render::render_pages(content, &input, changed)
}

/// The indexes of the pages whose own output changed, or `None` when something other pages
/// show changed too (then everything must be rendered).
fn changed_pages(old: &Content, new: &Content) -> Option<Vec<usize>> {
    if old.pages.len() != new.pages.len() || old.assets != new.assets {
        return None;
    }
    let mut changed = Vec::new();
    for (i, (a, b)) in old.pages.iter().zip(&new.pages).enumerate() {
        if !same_outline(a, b) {
            return None;
        }
        if a.body != b.body || a.body_first_line != b.body_first_line || a.extra != b.extra {
            changed.push(i);
        }
    }
    Some(changed)
}

/// What other pages show of a page (navigation, listings, previous/next, links) and where it is.
fn same_outline(a: &Page, b: &Page) -> bool {
    a.source == b.source
        && a.shown_path == b.shown_path
        && a.path == b.path
        && a.title == b.title
        && a.description == b.description
        && a.weight == b.weight
        && a.draft == b.draft
        && a.is_section == b.is_section
}

/// Replaces `<dir>/<rel>` atomically: a reader gets the old file or the new one, whole. The
/// temp file is world-readable like a build's files, and dot-named so it is never served.
fn replace_file(dir: &Path, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
    let relative = Path::new(rel);
    let plain = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if rel.is_empty() || !plain {
        return Err(std::io::Error::other("the path would leave the output"));
    }
    let path = dir.join(relative);
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".clinic-serve-")
        .tempfile_in(parent)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    temp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let path = dir.path().join("content").join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn only_body_edits_are_partial() {
        let dir = site(&[
            ("a.md", "---\ntitle: A\n---\nbody"),
            ("b.md", "---\ntitle: B\n---\nbody"),
        ]);
        let (old, _) = content::load(dir.path(), false);
        std::fs::write(
            dir.path().join("content/a.md"),
            "---\ntitle: A\n---\nnew body",
        )
        .unwrap();
        let (new, _) = content::load(dir.path(), false);
        let changed = changed_pages(&old, &new).unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(new.pages[changed[0]].source, "a.md");

        std::fs::write(
            dir.path().join("content/a.md"),
            "---\ntitle: A2\n---\nnew body",
        )
        .unwrap();
        let (retitled, _) = content::load(dir.path(), false);
        assert!(changed_pages(&new, &retitled).is_none());

        std::fs::write(dir.path().join("content/c.md"), "c").unwrap();
        let (added, _) = content::load(dir.path(), false);
        assert!(changed_pages(&retitled, &added).is_none());
        assert_eq!(changed_pages(&added, &added).unwrap().len(), 0);
    }

    #[test]
    fn replaced_files_are_whole_and_readable_and_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        replace_file(dir.path(), "a/index.html", b"one").unwrap();
        replace_file(dir.path(), "a/index.html", b"two").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a/index.html")).unwrap(),
            "two"
        );
        assert_eq!(std::fs::read_dir(dir.path().join("a")).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("a/index.html"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        for rel in ["../x", "/etc/x", "", "a/../../x"] {
            assert!(replace_file(dir.path(), rel, b"x").is_err(), "{rel}");
        }
    }
}
