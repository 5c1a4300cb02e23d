//! `clinic cohort ROSTER.yaml`: one site over a whole class. The dashboard at the root is a
//! matrix of students by the four badges (plus last commit and number of releases) with
//! summary counts, `cohort.csv` and `cohort.json`; each student with a repository gets their
//! own pages (portfolio, badges, `evidence.json`, with their own commit links) under
//! `students/<slug>/`, and the handbook exists once, under `handbook/`, for every student's
//! pages to link to: a demo student's folder is about 130 KB instead of 860 KB with a handbook
//! of its own, so a class of a thousand fits in GitHub Pages' 1 GB.
//!
//! The pipeline: [`roster`] reads the YAML; [`mirror`] brings the mirrors of `repo:` URLs up to
//! date (in parallel, before any build); every student is then built on its own, in parallel
//! (rayon, `--jobs`), into a buffer that is written to the output only when that student's site
//! is complete; [`dashboard`] renders the matrix from the rows; the output is swapped into
//! place atomically like a `clinic build`'s ([`crate::output::Output`]).
//!
//! **Isolation.** A student whose folder is missing, is not a repository, has no commits, is a
//! shallow clone, cannot be read, trips a safety check, or even makes the build panic, becomes
//! an error cell with the reason. It never stops the cohort and never touches another student's
//! folder: a student's files are written under their own slug only (slugs are `[a-z0-9-]`), and
//! only after their whole site rendered.
//!
//! **Untrusted content.** Student repositories are not trusted:
//! - Only the embedded theme and the embedded handbook are used. A student's `theme/` and
//!   `content/` overrides are *ignored* (not sanitised): their templates would run in the
//!   instructor's build, and their pages could impersonate the handbook. Student text therefore
//!   only ever reaches HTML as template values (escaped by Tera) or as artifact write-ups
//!   (rendered, bounded in size and nesting depth, then sanitised by ammonia).
//! - Every student page also carries a Content-Security-Policy that allows no script at all, and
//!   the dashboard's allows only its own `static/cohort.js`.
//! - Symbolic links are never followed out of a student's repository: before anything is read,
//!   the paths the evidence engine reads from the work tree (`clinic.yaml`, `library/raw/` and
//!   its folders, `.clinic/`) must not be links; the SQL files a migration record names are
//!   read through the engine's guard (a path outside the repository or through a link makes
//!   that record incomplete). Artifact files that are links are skipped by the engine itself.
//! - Sizes are bounded: the roster and front matter by [`crate::load::yaml`], `clinic.yaml` at
//!   1 MiB, artifact files at 4 MiB and 1,000 per folder, write-ups at 256 KiB and 100 levels of
//!   nesting (see [`crate::portfolio`]), fetched `evidence.json` at 4 MiB and `--fetch-timeout`.
//! - A repository's history cache is never read or written (it lives in `.git/clinic/`, where
//!   the student's own tools put it).
//!
//! **Trust and policy.** A `repo:` student's badges are recomputed
//! here (*re-checked*); an `evidence:` student's are what their own CI reported and are shown
//! and counted apart (see [`dashboard`]). A roster's `policy:` replaces each re-checked
//! student's `sprint_length_days` and `release_tag_pattern` (a key it leaves out is the default)
//! before their badges are computed
//! (their site shows the same values); a reported document was computed under the student's
//! own settings, which the dashboard says.
//!
//! **Determinism.** Rows keep roster order; student sites are the same bytes as a build; there
//! are no timestamps. Two builds of the same inputs are byte-identical.

pub(crate) mod dashboard;
pub(crate) mod fetch;
pub(crate) mod mirror;
pub(crate) mod roster;
mod search;
pub(crate) mod shard;

use std::panic::AssertUnwindSafe;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;

use crate::diagnostics::Diagnostic;
use crate::evidence::{Evidence, Kind};
use crate::load::content::Content;
use crate::load::urls::Urls;
use crate::output::Sink;
use crate::output::{Output, OutputError};
use crate::render::search::{Doc, Vocabulary};
use crate::render::templates::Theme;
use crate::render::RenderInput;
use crate::BuildError;
use dashboard::{BadgeCell, LastCommit, Row};
use roster::{Location, Policy, Roster, Source, Student};

/// Every student folder: `students/<slug>/`.
pub(crate) const STUDENTS: &str = "students/";
/// The one copy of the handbook (and the theme's static files) that every student's pages link
/// to: a student's folder holds only their own pages, so a class fits on GitHub Pages.
pub(crate) const HANDBOOK: &str = "handbook/";
/// The default time limit for one `evidence:` URL.
pub(crate) const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The time one student's whole build may take before it becomes an error cell; the
/// environment variable [`STUDENT_DEADLINE_ENV`] (milliseconds) overrides it, for tests.
pub(crate) const DEFAULT_STUDENT_DEADLINE: Duration = Duration::from_secs(60);
/// Hidden override of [`DEFAULT_STUDENT_DEADLINE`], in milliseconds.
pub(crate) const STUDENT_DEADLINE_ENV: &str = "CLINIC_STUDENT_DEADLINE_MS";
/// `clinic.yaml` larger than this is refused.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Artifact files larger than this are refused (the write-up itself is capped lower).
const MAX_ARTIFACT_BYTES: u64 = 4 * 1024 * 1024;
/// Artifact files per folder.
const MAX_ARTIFACTS: usize = 1000;
/// Student pages have no script; this policy makes sure none runs even if markup slipped
/// through. Images may come from https (write-ups link screenshots).
const STUDENT_CSP: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'self'; img-src 'self' https:; base-uri 'none'; form-action 'none'\">";

/// What `clinic cohort` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct CohortOptions {
    pub roster: PathBuf,
    /// Defaults to `<roster folder>/public`.
    pub out: Option<PathBuf>,
    /// Students built at once; defaults to the number of cores.
    pub jobs: Option<usize>,
    /// The absolute URL the dashboard is served from (for permalinks and the base path).
    pub base_url: Option<String>,
    pub fetch_timeout: Duration,
    /// Where the mirrors of `repo:` URLs are kept; defaults to `<roster folder>/.clinic/repos`.
    pub cache: Option<PathBuf>,
    /// The limit for one clone or fetch of a `repo:` URL.
    pub git_timeout: Duration,
    /// Build only this slice of the roster, for `clinic cohort merge` (see [`shard`]).
    pub shard: Option<shard::Shard>,
}

impl Default for CohortOptions {
    fn default() -> Self {
        CohortOptions {
            roster: PathBuf::from("roster.yaml"),
            out: None,
            jobs: None,
            base_url: None,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            cache: None,
            git_timeout: mirror::DEFAULT_GIT_TIMEOUT,
            shard: None,
        }
    }
}

/// What a finished cohort build produced.
#[derive(Debug)]
pub(crate) struct CohortReport {
    pub output: PathBuf,
    pub rows: Vec<Row>,
    /// Roster problems (errors: the roster is wrong) and one warning per student in error.
    pub diagnostics: Vec<Diagnostic>,
}

impl CohortReport {
    /// Errors in the roster itself.
    pub(crate) fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Students shown as an error cell.
    pub(crate) fn failed_count(&self) -> usize {
        self.rows.iter().filter(|r| r.error.is_some()).count()
    }
}

/// Builds the cohort. Student problems become error cells (and warnings); only a roster that
/// cannot be read or an output that cannot be written fails the build.
pub(crate) fn build(
    options: &CohortOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<CohortReport, BuildError> {
    if !options.roster.is_file() {
        return Err(BuildError::Usage(
            Diagnostic::error(format!(
                "the roster {} is not a file",
                options.roster.display()
            ))
            .with_hint("pass the roster YAML file: clinic cohort ROSTER.yaml"),
        ));
    }
    let roster = roster::load(&options.roster).map_err(BuildError::Fatal)?;
    let base_url = match &options.base_url {
        Some(url) => Some(crate::setup::checked_base_url(url)?),
        None => None,
    };
    let urls = Urls::new(base_url.as_deref());
    let target = options
        .out
        .clone()
        .unwrap_or_else(|| roster.dir.join("public"));
    let output = Output::prepare(&target, &roster.dir)?;
    refuse_output_over_students(&output, &roster)?;
    let jobs = options
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    // The students this run builds: all of them, or one shard's.
    let selected: Vec<(usize, &Student)> = roster
        .students
        .iter()
        .enumerate()
        .filter(|(position, _)| options.shard.is_none_or(|s| s.holds(*position)))
        .collect();
    let remotes = sync_remotes(options, &roster, &selected, &output, jobs)?;
    let (theme, content) = embedded_theme_and_handbook(&urls)?;
    let shared = Arc::new(Shared {
        content,
        theme,
        urls: urls.clone(),
        fetcher: fetch::Fetcher::new(options.fetch_timeout),
        policy: roster.policy.clone(),
        remotes,
        vocabulary: Vocabulary::default(),
    });
    let deadline = student_deadline();

    let total = selected.len();
    let done = AtomicUsize::new(0);
    let build_all = || {
        selected
            .par_iter()
            .map(|(_, student)| {
                let built = build_isolated(student, &shared, &output, deadline);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                built
            })
            .collect::<Result<Vec<(Row, Vec<Doc>)>, OutputError>>()
    };
    let (rows, docs): (Vec<Row>, Vec<Vec<Doc>>) =
        match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
            Ok(pool) => pool.install(build_all),
            Err(_) => build_all(),
        }?
        .into_iter()
        .unzip();

    match options.shard {
        None => {
            let docs: Vec<Doc> = docs.into_iter().flatten().collect();
            let search = (docs.as_slice(), &shared.vocabulary);
            write_dashboard(&roster, &rows, search, &urls, &shared.theme, &output)?;
            write_handbook(&shared.content, &shared.theme, &urls, &output)?;
        }
        Some(shard) => {
            let rows = selected
                .iter()
                .zip(&rows)
                .map(|((position, _), row)| shard::ShardRow::new(*position, row))
                .collect();
            let roster_record = (
                roster.file.as_path(),
                roster.dir.as_path(),
                roster.text.clone(),
            );
            let file = shard::ShardFile::new(shard, roster_record, base_url.clone(), rows);
            output.write(shard::SHARD_FILE, file.to_json().as_bytes())?;
        }
    }
    let (output, _, _) = output.commit()?;
    let students: Vec<&Student> = selected.iter().map(|(_, s)| *s).collect();
    Ok(report(&roster, &students, rows, output))
}

/// The report of a finished run: the roster's problems, and a warning per student in error.
fn report(roster: &Roster, students: &[&Student], rows: Vec<Row>, output: PathBuf) -> CohortReport {
    let mut diagnostics = roster.diagnostics.clone();
    for (row, student) in rows.iter().zip(students) {
        // An invalid entry already has its roster error.
        if let (Some(error), false) = (&row.error, matches!(student.source, Source::Invalid(_))) {
            diagnostics.push(
                Diagnostic::warning(format!("student {:?}: {error}", row.name))
                    .in_file(&roster.file)
                    .at_line(row.line),
            );
        }
    }
    diagnostics.sort_by(|a, b| (a.line, &a.message).cmp(&(b.line, &b.message)));
    CohortReport {
        output,
        rows,
        diagnostics,
    }
}

/// The embedded theme (compiled for the dashboard's base path) and handbook: layers are read
/// from an empty folder, so nothing of any repository can reach them.
fn embedded_theme_and_handbook(urls: &Urls) -> Result<(Theme, Content), BuildError> {
    let empty = tempfile::tempdir().map_err(|e| {
        BuildError::Fatal(Diagnostic::error(format!(
            "cannot create a temporary folder: {e}"
        )))
    })?;
    let (content, _) = crate::load::content::load(empty.path(), false);
    let (files, _) = crate::load::theme::read(empty.path()).map_err(BuildError::Fatal)?;
    let theme = Theme::compile(files, &urls.base_path).map_err(BuildError::Fatal)?;
    Ok((theme, content))
}

/// `clinic cohort merge PART...`: the dashboard of a single run, from the parts that
/// `--shard 1/N` ... `--shard N/N` wrote (see [`shard`]).
pub(crate) fn merge(parts: &[PathBuf], out: Option<&Path>) -> Result<CohortReport, BuildError> {
    let usage = |message: String, hint: &str| {
        BuildError::Usage(Diagnostic::error(message).with_hint(hint.to_string()))
    };
    let files = parts
        .iter()
        .map(|part| {
            shard::ShardFile::read(part).map_err(|e| {
                usage(
                    e,
                    "pass the folders that `clinic cohort ROSTER --shard K/N --out DIR` wrote",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let first = files.first().ok_or_else(|| {
        usage(
            "no parts to merge".into(),
            "pass every part: clinic cohort merge part-* --out DIR",
        )
    })?;
    for (file, part) in files.iter().zip(parts) {
        let same = file.of == first.of
            && file.roster_text == first.roster_text
            && file.roster_file == first.roster_file
            && file.base_url == first.base_url;
        if !same {
            return Err(usage(
                format!("{} was built from another roster, shard count or base URL than {}", part.display(), parts[0].display()),
                "build every shard from the same roster with the same --shard K/N count and --base-url",
            ));
        }
    }
    let mut seen = vec![false; first.of];
    for (file, part) in files.iter().zip(parts) {
        if std::mem::replace(&mut seen[file.shard - 1], true) {
            return Err(usage(
                format!(
                    "shard {}/{} is given twice ({})",
                    file.shard,
                    file.of,
                    part.display()
                ),
                "pass each part once",
            ));
        }
    }
    let missing: Vec<String> = (1..=first.of)
        .filter(|k| !seen[k - 1])
        .map(|k| format!("{k}/{}", first.of))
        .collect();
    if !missing.is_empty() {
        return Err(usage(
            format!(
                "shard {} missing: the dashboard would leave students out",
                missing.join(", ")
            ),
            "build and pass every part: clinic cohort merge part-* --out DIR",
        ));
    }
    let roster = roster::parse(&first.roster_text, &first.roster_file, &first.roster_dir)
        .map_err(BuildError::Fatal)?;
    let urls = Urls::new(first.base_url.as_deref());
    // The merge may run where the roster is not (a CI job with only the parts): the folder it
    // runs in and the parts are what the output must never swallow.
    let target = out.map_or_else(|| PathBuf::from("public"), Path::to_path_buf);
    let output = Output::prepare(&target, Path::new("."))?;
    for part in parts {
        let part = std::path::absolute(part).unwrap_or_else(|_| part.clone());
        if part.starts_with(output.target()) {
            return Err(usage(
                format!(
                    "refusing to write the dashboard to {}: it holds the part {}",
                    output.target().display(),
                    part.display()
                ),
                "choose an --out folder outside the parts",
            ));
        }
    }
    let (theme, content) = embedded_theme_and_handbook(&urls)?;

    let mut rows: Vec<Option<Row>> = vec![None; roster.students.len()];
    // By roster position, so that the index lists students as a single run does.
    let mut docs: Vec<Vec<Doc>> = vec![Vec::new(); roster.students.len()];
    let vocabulary = Vocabulary::default();
    for (file, part) in files.into_iter().zip(parts) {
        let shard = shard::Shard {
            index: file.shard,
            count: file.of,
        };
        for shard_row in file.rows {
            let position = shard_row.position;
            let belongs = shard.holds(position)
                && roster
                    .students
                    .get(position)
                    .is_some_and(|s| shard_row.matches(s));
            let slot = rows
                .get_mut(position)
                .filter(|slot| belongs && slot.is_none());
            let (Some(slot), Some(row)) = (slot, shard_row.into_row()) else {
                return Err(usage(
                    format!("{} holds a row clinic did not write", part.display()),
                    "build the part again",
                ));
            };
            docs[position] = copy_student_folder(part, &row, &vocabulary, &output)?;
            *slot = Some(row);
        }
    }
    let rows: Vec<Row> = rows.into_iter().collect::<Option<_>>().ok_or_else(|| {
        usage(
            "a part lacks some of its students' rows".into(),
            "build the parts again",
        )
    })?;
    let docs: Vec<Doc> = docs.into_iter().flatten().collect();
    write_dashboard(&roster, &rows, (&docs, &vocabulary), &urls, &theme, &output)?;
    write_handbook(&content, &theme, &urls, &output)?;
    let (output, _, _) = output.commit()?;
    let students: Vec<&Student> = roster.students.iter().collect();
    Ok(report(&roster, &students, rows, output))
}

/// Copies `<part>/students/<slug>/` into the output, file by file (a student in error has none),
/// and returns the search documents of the student's pages.
fn copy_student_folder(
    part: &Path,
    row: &Row,
    vocabulary: &Vocabulary,
    output: &Output,
) -> Result<Vec<Doc>, BuildError> {
    let slug = &row.slug;
    let folder = part.join(STUDENTS).join(slug);
    // A link anywhere on the way could bring in files from outside the part.
    for path in [part.join(STUDENTS), folder.clone()] {
        if path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(BuildError::Usage(
                Diagnostic::error(format!(
                    "{} is a symbolic link; a part clinic wrote has none",
                    path.display()
                ))
                .with_hint("build the part again"),
            ));
        }
    }
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut docs = Vec::new();
    for entry in walkdir::WalkDir::new(&folder).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            BuildError::Fatal(Diagnostic::error(format!(
                "cannot read {}: {e}",
                folder.display()
            )))
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(part).unwrap_or(entry.path());
        let rel = rel.to_string_lossy().replace('\\', "/");
        let bytes = std::fs::read(entry.path()).map_err(|e| {
            BuildError::Fatal(Diagnostic::error(format!(
                "cannot read {}: {e}",
                entry.path().display()
            )))
        })?;
        output.write(&rel, &bytes)?;
        let own = rel
            .strip_prefix(&format!("{STUDENTS}{slug}/"))
            .unwrap_or(&rel);
        docs.extend(search::write_up_docs(
            slug,
            &row.name,
            std::iter::once((own, bytes.as_slice())),
            vocabulary,
        ));
    }
    // In the order a single run gives them (its files are sorted by whole path; this walk sorts
    // one folder at a time, which differs for `001/` and `001-retry/`).
    search::in_index_order(&mut docs);
    Ok(docs)
}

/// Brings the mirror of every `repo:` URL up to date, `jobs` at a time, before any student is
/// built (a slow server then never counts against a student's build deadline).
fn sync_remotes(
    options: &CohortOptions,
    roster: &Roster,
    students: &[(usize, &Student)],
    output: &Output,
    jobs: usize,
) -> Result<Remotes, BuildError> {
    let urls: Vec<&str> = students
        .iter()
        .filter_map(|(_, s)| match &s.source {
            Source::Remote { url } => Some(url.as_str()),
            _ => None,
        })
        .collect();
    let cache = options
        .cache
        .clone()
        .unwrap_or_else(|| roster.dir.join(".clinic/repos"));
    let absolute = std::path::absolute(&cache).unwrap_or_else(|_| cache.clone());
    if absolute.starts_with(output.target()) {
        return Err(BuildError::Usage(
            Diagnostic::error(format!(
                "refusing to keep the repository cache {} inside the output {}",
                cache.display(),
                output.target().display()
            ))
            .with_hint("choose a --cache folder outside --out"),
        ));
    }
    let mirrors = mirror::Mirrors::new(absolute, options.git_timeout);
    let synced = if urls.is_empty() {
        Default::default()
    } else {
        mirrors.sync_all(&urls, jobs)
    };
    Ok(Remotes { mirrors, synced })
}

/// The mirrors of the roster's `repo:` URLs, synced for this run.
struct Remotes {
    mirrors: mirror::Mirrors,
    /// Per URL: the mirror, or why it could not be fetched.
    synced: std::collections::BTreeMap<String, Result<PathBuf, String>>,
}

/// Where the shared handbook is: `<base>handbook/`.
fn handbook_urls(cohort: &Urls) -> Urls {
    Urls {
        base_path: format!("{}{HANDBOOK}", cohort.base_path),
        base_url: cohort.base_url.as_ref().map(|b| format!("{b}{HANDBOOK}")),
        shared: None,
    }
}

/// A student folder's `index.html`: it sends the reader to the portfolio (a student's folder
/// has no handbook home of its own).
fn student_home(urls: &Urls) -> Vec<u8> {
    let portfolio = crate::render::html::escape(&urls.url(crate::portfolio::PORTFOLIO));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Portfolio</title>\n<meta http-equiv=\"refresh\" content=\"0; url={portfolio}\">\n</head>\n<body>\n<p><a href=\"{portfolio}\">Go to the portfolio</a>.</p>\n</body>\n</html>\n"
    )
    .into_bytes()
}

/// The handbook once, under [`HANDBOOK`], for every student's pages to link to. Its menu's first
/// entry leads back to the dashboard; it shows no student's badges.
fn write_handbook(
    content: &Content,
    theme: &Theme,
    cohort: &Urls,
    output: &Output,
) -> Result<(), BuildError> {
    let urls = handbook_urls(cohort);
    let theme = theme.rebased_to(&urls);
    // No script in a cohort but the dashboard's own: the shared handbook has no search box,
    // like the student pages that link to it.
    let config = crate::load::config::Config {
        search: false,
        ..Default::default()
    };
    let generated = crate::render::Generated {
        values: serde_json::json!({"badges": [], "url": "", "cohort_url": cohort.url("")}),
        pages: Vec::new(),
        files: Vec::new(),
        nav: ("../".to_string(), "Cohort dashboard".to_string()),
        attachments: Vec::new(),
        diagnostics: Vec::new(),
        searched: Default::default(),
    };
    let input = RenderInput {
        config: &config,
        urls: &urls,
        theme: &theme,
        generated: &generated,
        progress: &|_, _| {},
    };
    let buffer = Buffer::default();
    let nothing_cached = crate::render::RenderCache::default();
    let rendered =
        // A copy: the render takes the pages' bodies out (the handbook is small).
        crate::render::render_site(&mut content.clone(), &input, &buffer, &nothing_cached, &|_| {})
            .and_then(|_| crate::copy_assets(content, &theme, &buffer));
    if let Err(e) = rendered {
        return Err(BuildError::Fatal(Diagnostic::error(format!(
            "the handbook could not be rendered: {e}"
        ))));
    }
    let mut files = buffer.files.into_inner().unwrap_or_else(|p| p.into_inner());
    files.sort_by(|a, b| a.0.cmp(&b.0));
    for (rel, bytes) in files {
        output.write(&format!("{HANDBOOK}{rel}"), &bytes)?;
    }
    Ok(())
}

/// A cohort output must not hold a student's clone: the swap would delete it.
fn refuse_output_over_students(output: &Output, roster: &Roster) -> Result<(), BuildError> {
    for student in &roster.students {
        if let Source::Repo { path, written } = &student.source {
            let Ok(path) = path.canonicalize() else {
                continue;
            };
            if path.starts_with(output.target()) {
                return Err(BuildError::Usage(
                    Diagnostic::error(format!(
                        "refusing to build into {}: it holds the repository of {:?} ({written})",
                        output.target().display(),
                        student.name
                    ))
                    .in_file(&roster.file)
                    .at_line(student.line)
                    .with_hint("choose an --out folder outside the students' clones"),
                ));
            }
        }
    }
    Ok(())
}

/// What every student's build reads. Owned (behind an `Arc`) because a student is built on a
/// thread of its own that is abandoned, not waited for, when it passes its deadline.
struct Shared {
    content: Content,
    /// The embedded theme, parsed once; each student's site rebases it under its folder.
    theme: Theme,
    urls: Urls,
    fetcher: fetch::Fetcher,
    /// The roster's course policy, which replaces each student's own grading settings.
    policy: Option<Policy>,
    remotes: Remotes,
    /// Where the dashboard search's documents number their terms.
    vocabulary: Vocabulary,
}

/// A student's row and site files (`students/<slug>/`-relative), not yet written.
struct Built {
    row: Row,
    files: Vec<(String, Vec<u8>)>,
}

/// [`DEFAULT_STUDENT_DEADLINE`], or [`STUDENT_DEADLINE_ENV`] milliseconds when set.
fn student_deadline() -> Duration {
    std::env::var(STUDENT_DEADLINE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map_or(DEFAULT_STUDENT_DEADLINE, Duration::from_millis)
}

/// One student, whatever happens: a panic in their build is their error cell, and so is a
/// build that takes longer than `deadline` (a named pipe, a huge history): the student is built
/// on a thread of its own, which is abandoned at the deadline. Only a finished build's files are
/// written, here, so an abandoned thread never touches the output.
/// Builds one student, and returns the dashboard's row and the search documents of the pages
/// written.
fn build_isolated(
    student: &Student,
    shared: &Arc<Shared>,
    output: &Output,
    deadline: Duration,
) -> Result<(Row, Vec<Doc>), OutputError> {
    let failed = |error: String| {
        Row::failed(
            &student.name,
            &student.slug,
            student.line,
            student.source.describe(),
            error,
        )
    };
    let (send, receive) = mpsc::sync_channel(1);
    let job_student = student.clone();
    let job_shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name(format!("clinic-student-{}", student.slug))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                build_student(&job_student, &job_shared)
            }));
            // The receiver is gone when the deadline passed: nobody wants the result.
            let _ = send.send(outcome);
        });
    if let Err(e) = spawned {
        return Ok((
            failed(format!(
                "clinic could not start a thread for this student ({e})"
            )),
            Vec::new(),
        ));
    }
    let outcome = match receive.recv_timeout(deadline) {
        Ok(outcome) => outcome,
        Err(RecvTimeoutError::Timeout) => {
            return Ok((failed(format!(
                "the student's build took longer than {} s and was abandoned; the other students are not affected (a named pipe or another special file in the repository can cause this)",
                deadline.as_secs_f64()
            )), Vec::new()))
        }
        Err(RecvTimeoutError::Disconnected) => {
            return Ok((failed("clinic failed while building this student; the other students are not affected".to_string()), Vec::new()))
        }
    };
    match outcome {
        Ok(Ok(built)) => {
            for (rel, bytes) in &built.files {
                output.write(&format!("{STUDENTS}{}/{rel}", student.slug), bytes)?;
            }
            let files = built.files.iter().map(|(r, b)| (r.as_str(), b.as_slice()));
            let docs =
                search::write_up_docs(&student.slug, &student.name, files, &shared.vocabulary);
            Ok((built.row, docs))
        }
        Ok(Err(reason)) => Ok((failed(reason), Vec::new())),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".to_string());
            Ok((failed(format!("clinic failed while building this student ({message}); the other students are not affected")), Vec::new()))
        }
    }
}

/// `Ok(built)` built, `Err(reason)` an error cell.
fn build_student(student: &Student, shared: &Shared) -> Result<Built, String> {
    match &student.source {
        Source::Invalid(reason) => Err(format!("roster entry: {reason}")),
        Source::Evidence(location) => evidence_row(student, location, shared).map(|row| Built {
            row,
            files: Vec::new(),
        }),
        Source::Repo { written, path } => repo_row(student, written, path, shared),
        Source::Remote { url } => remote_row(student, url, shared),
    }
}

/// A `repo:` URL: built from a clone of its mirror's default branch, deleted afterwards.
fn remote_row(student: &Student, url: &str, shared: &Shared) -> Result<Built, String> {
    let remotes = &shared.remotes;
    let mirror = match remotes.synced.get(url) {
        Some(Ok(mirror)) => mirror,
        Some(Err(reason)) => return Err(reason.clone()),
        None => return Err(format!("{} was not fetched", mirror::redacted(url))),
    };
    let work = remotes.mirrors.work_tree(mirror, url)?;
    repo_row(
        student,
        &mirror::redacted(url),
        &work.path().join("repo"),
        shared,
    )
}

fn evidence_row(student: &Student, location: &Location, shared: &Shared) -> Result<Row, String> {
    let bytes = shared.fetcher.get(location)?;
    let fetched = fetch::parse(&bytes)?;
    let mut row = Row::failed(
        &student.name,
        &student.slug,
        student.line,
        student.source.describe(),
        String::new(),
    );
    row.error = fetched.shallow.then(|| "the evidence was computed from a shallow clone, so its badges cannot be verified; the student's CI should check out with `fetch-depth: 0`".to_string());
    row.badges = Some(fetched.badges);
    row.releases = fetched.releases;
    row.last_commit = fetched.last_commit;
    Ok(row)
}

fn repo_row(
    student: &Student,
    written: &str,
    root: &Path,
    shared: &Shared,
) -> Result<Built, String> {
    match std::fs::metadata(root) {
        Err(_) => return Err(format!("the repository folder `{written}` does not exist")),
        Ok(m) if !m.is_dir() => return Err(format!("`{written}` is not a folder")),
        Ok(_) => {}
    }
    preflight(root)?;
    let repo = match crate::history::repo::open(root) {
        Ok(repo) => repo,
        Err(e) => return Err(repo_error(&e, written)),
    };
    let shallow = repo.is_shallow();
    let (mut config, _) = crate::load::config::load(root);
    if let Some(policy) = &shared.policy {
        policy.apply(&mut config);
    }
    // Student pages allow no script (STUDENT_CSP), so a search box could not work there.
    config.search = false;
    let (evidence, _) = crate::gather_evidence(root, &config, true, true);
    if let Some(error) = &evidence.repository.error {
        return Err(format!(
            "cannot read the history of `{written}`: {}",
            fetch::clean(error)
        ));
    }
    let last_commit = last_commit(&repo, &evidence);
    drop(repo);

    // The student's site, rendered into a buffer and written only when complete.
    let slug = &student.slug;
    let urls = Urls {
        base_path: format!("{}{STUDENTS}{slug}/", shared.urls.base_path),
        base_url: shared
            .urls
            .base_url
            .as_ref()
            .map(|b| format!("{b}{STUDENTS}{slug}/")),
        shared: Some(Box::new(handbook_urls(&shared.urls))),
    };
    let theme = shared.theme.rebased_to(&urls);
    // No build time in the stamp: two builds of the same cohort are byte-identical.
    let mut generated =
        crate::portfolio::generate(&evidence, &urls, config.utc_offset_minutes, None);
    // Every page of the student's site links back to the dashboard (partials/header.html).
    generated.values["cohort_url"] = serde_json::Value::from(shared.urls.url(""));
    let buffer = Buffer::default();
    let input = RenderInput {
        config: &config,
        urls: &urls,
        theme: &theme,
        generated: &generated,
        progress: &|_, _| {},
    };
    // Only the student's own pages: the handbook and the static files are the cohort's shared
    // copy (see HANDBOOK); the folder's home leads to the portfolio. The student's attachments
    // are read with the same checks as a build's (inside the clone, a published type, a size
    // cap).
    let site = crate::render::render_generated(&shared.content, &input, &buffer)
        .and_then(|_| buffer.write("index.html", &student_home(&urls)))
        .and_then(|_| crate::load::attachments::copy(root, &generated.attachments, &buffer));
    if let Err(e) = site {
        return Err(format!("the student's site could not be rendered: {e}"));
    }
    let mut files = buffer.files.into_inner().unwrap_or_else(|p| p.into_inner());
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let files = files
        .into_iter()
        .map(|(rel, bytes)| {
            let bytes = if rel.ends_with(".html") {
                with_policy(bytes)
            } else {
                bytes
            };
            (rel, bytes)
        })
        .collect();

    let mut row = Row::failed(
        &student.name,
        slug,
        student.line,
        student.source.describe(),
        String::new(),
    );
    row.error = shallow.then(|| {
        format!("`{written}` is a shallow clone, so its history is cut off and the badges cannot be verified; run `git fetch --unshallow` in it")
    });
    row.badges = Some(cells(&evidence));
    row.releases = Some(evidence.repository.releases.len());
    row.last_commit = last_commit;
    row.portfolio = Some(format!("{STUDENTS}{slug}/{}", crate::portfolio::PORTFOLIO));
    Ok(Built { row, files })
}

fn repo_error(e: &crate::history::RepoError, written: &str) -> String {
    use crate::history::RepoError;
    match e {
        RepoError::NotARepository { .. } => {
            format!("`{written}` is not a git repository (there is no .git in it)")
        }
        RepoError::NoCommits => format!("the repository `{written}` has no commits yet"),
        RepoError::NotOwned { .. } => format!(
            "git refuses to read `{written}`: it is not owned by the user running clinic ({})",
            e.hint()
        ),
        RepoError::Other { message } => format!(
            "cannot read the git repository `{written}`: {}",
            fetch::clean(message)
        ),
    }
}

fn cells(evidence: &Evidence) -> Vec<BadgeCell> {
    evidence
        .badges
        .iter()
        .map(|(kind, badge)| BadgeCell {
            key: kind.key(),
            state: badge.state,
            reasons: badge
                .reasons
                .iter()
                .take(200)
                .map(|r| fetch::clean(r))
                .collect(),
            artifacts: badge
                .artifacts
                .iter()
                .take(200)
                .map(|a| fetch::clean(a))
                .collect(),
        })
        .collect()
}

fn last_commit(repo: &git2::Repository, evidence: &Evidence) -> Option<LastCommit> {
    let commit = repo.head().ok()?.peel_to_commit().ok()?;
    let time = commit.time();
    let id = commit.id().to_string();
    let web = evidence
        .repository
        .web_url
        .as_deref()
        .and_then(crate::history::forge::WebHost::parse);
    let summary = commit
        .summary_bytes()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_default();
    Some(LastCommit {
        short: id[..7].to_string(),
        url: web.map(|w| w.commit_url(&id)),
        summary: fetch::clean(&summary).chars().take(200).collect(),
        date: crate::time::date(time.seconds() + i64::from(time.offset_minutes()) * 60),
        time: Some(time.seconds()),
        id,
    })
}

/// Refuses a repository whose work tree would make the evidence engine read or write outside
/// it, or read without bound.
fn preflight(root: &Path) -> Result<(), String> {
    let link = |rel: &str| {
        root.join(rel)
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
    };
    let refuse_link = |rel: &str| {
        format!("`{rel}` is a symbolic link; clinic never follows links out of a student's repository (commit the files themselves)")
    };
    let mut fixed = vec![
        "clinic.yaml",
        ".clinic",
        ".clinic/cache",
        "library",
        "library/raw",
    ];
    fixed.extend(Kind::ALL.map(Kind::folder));
    for rel in fixed {
        if link(rel) {
            return Err(refuse_link(rel));
        }
    }
    if let Ok(m) = root.join("clinic.yaml").metadata() {
        if m.len() > MAX_CONFIG_BYTES {
            return Err(format!(
                "`clinic.yaml` is {} KiB, over the {} KiB limit",
                m.len() / 1024,
                MAX_CONFIG_BYTES / 1024
            ));
        }
    }
    for dir in Kind::ALL.map(Kind::folder) {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut count = 0;
        for entry in entries.flatten() {
            count += 1;
            if count > MAX_ARTIFACTS {
                return Err(format!("`{dir}` holds more than {MAX_ARTIFACTS} files"));
            }
            let Ok(m) = entry.metadata() else { continue };
            if m.is_file() && m.len() > MAX_ARTIFACT_BYTES {
                return Err(format!(
                    "`{dir}/{}` is {} KiB, over the {} KiB limit for an evidence record",
                    fetch::clean(&entry.file_name().to_string_lossy()),
                    m.len() / 1024,
                    MAX_ARTIFACT_BYTES / 1024
                ));
            }
        }
    }
    Ok(())
}

/// A student's site, held until it is complete.
#[derive(Default)]
struct Buffer {
    files: Mutex<Vec<(String, Vec<u8>)>>,
}

impl Sink for Buffer {
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let escapes = rel.is_empty()
            || rel.contains(['\\', '\0'])
            || !Path::new(rel)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if escapes {
            return Err(OutputError::Escapes {
                rel: rel.to_string(),
            });
        }
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((rel.to_string(), bytes.to_vec()));
        Ok(())
    }
}

/// Puts [`STUDENT_CSP`] first in the page's `<head>`.
fn with_policy(html: Vec<u8>) -> Vec<u8> {
    let Some(at) = memchr::memmem::find(&html, b"<head>") else {
        return html;
    };
    let at = at + b"<head>".len();
    let mut out = Vec::with_capacity(html.len() + STUDENT_CSP.len() + 3);
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(b"\n  ");
    out.extend_from_slice(STUDENT_CSP.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

fn write_dashboard(
    roster: &Roster,
    rows: &[Row],
    (docs, vocabulary): (&[Doc], &Vocabulary),
    urls: &Urls,
    theme: &Theme,
    output: &Output,
) -> Result<(), BuildError> {
    let policy = roster.policy.as_ref();
    // The dashboard is generated when it is written: by a single run, or by the merge of a
    // sharded one (the parts record no time, so a merge equals a single run at the same clock).
    let generated = dashboard::Generated::at(crate::time::build_clock());
    let searchable = !docs.is_empty();
    let html = dashboard::render_html(
        &roster.title,
        rows,
        policy,
        &generated,
        searchable,
        urls,
        theme,
    )
    .map_err(BuildError::Fatal)?;
    search::write(docs, vocabulary, &roster.title, urls, theme, output)?;
    output.write("index.html", html.as_bytes())?;
    output.write(dashboard::CSV_PATH, dashboard::csv(rows, urls).as_bytes())?;
    output.write(
        dashboard::JSON_PATH,
        dashboard::json(&roster.title, rows, policy, &generated, urls).as_bytes(),
    )?;
    output.write(dashboard::SCRIPT_PATH, dashboard::SCRIPT.as_bytes())?;
    output.write(".nojekyll", b"")?;
    let (light, dark) = crate::render::highlight::stylesheets();
    output.write("static/syntax-light.css", light.as_bytes())?;
    output.write("static/syntax-dark.css", dark.as_bytes())?;
    for file in &theme.static_files {
        let bytes = file.read().map_err(|e| {
            BuildError::Fatal(Diagnostic::error(format!(
                "cannot read the theme file {}: {e}",
                file.rel
            )))
        })?;
        output.write(&file.rel, &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_goes_first_in_head() {
        let html =
            with_policy(b"<!DOCTYPE html>\n<html><head><title>x</title></head></html>".to_vec());
        let text = String::from_utf8(html).unwrap();
        assert!(
            text.starts_with(
                "<!DOCTYPE html>\n<html><head>\n  <meta http-equiv=\"Content-Security-Policy\""
            ),
            "{text}"
        );
    }

    #[test]
    fn buffer_refuses_escaping_paths() {
        let buffer = Buffer::default();
        for rel in ["../x", "/etc/x", "a/../../x", "", "a\\b"] {
            assert!(buffer.write(rel, b"x").is_err(), "{rel}");
        }
        assert!(buffer.write("a/b.html", b"x").is_ok());
    }
}
