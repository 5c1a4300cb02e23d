//! The command line: argument parsing, output for people and for tools, and exit codes.
//!
//! Exit codes: 0 success, 1 the content has errors (or a build could not be made), 2 bad usage
//! (clap's own code for argument errors, and a refused output directory).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::{github, init, root};
use crate::diagnostics::Diagnostic;
use crate::evidence::{Evidence, State};
use crate::{build, BuildError, BuildOptions, BuildReport};

pub const EXIT_OK: i32 = 0;
pub const EXIT_CONTENT_ERRORS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// How a command that ran to its end went.
enum Ran {
    Clean,
    /// The content has errors (for `check`: a badge is not verified).
    WithErrors,
}

impl Ran {
    fn from_errors(any: bool) -> Ran {
        if any {
            Ran::WithErrors
        } else {
            Ran::Clean
        }
    }
}

/// The one place a command's result becomes an exit code: 0 clean, 1 content errors (or a
/// command that could not finish), 2 bad usage. Errors are printed here.
fn exit_code(result: Result<Ran, BuildError>) -> i32 {
    match result {
        Ok(Ran::Clean) => EXIT_OK,
        Ok(Ran::WithErrors) => EXIT_CONTENT_ERRORS,
        Err(e) => {
            eprintln!("{}", e.diagnostic());
            e.exit_code()
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "clinic",
    version,
    about = "Build the Release and Rollback Clinic's website from a service repository",
    long_about = "Build the Release and Rollback Clinic's website from a service repository.\n\n\
clinic renders the clinic handbook (Markdown in content/) with a Tera theme (theme/). Both are \
built into the binary; a file at the same path in your repository overrides that one file.\n\n\
Exit codes: 0 success, 1 the content has errors, 2 bad usage.",
    after_help = "Start with `clinic build`, then open public/index.html through a web server."
)]
pub struct Cli {
    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the site into an output directory (default <root>/public).
    #[command(
        long_about = "Build the site into an output directory (default <root>/public).\n\n\
The site is rendered into a temporary directory beside the output and swapped into place, so \
nobody ever sees a half-written site. clinic refuses an output directory that is /, your home, \
the root or one of its parents, or a non-empty directory that no earlier build made. Inside an \
earlier output, .git and CNAME are kept.\n\n\
A file with errors is reported and left out; the rest of the site is still written, and the \
exit code is 1."
    )]
    Build(BuildArgs),
    /// Print the four evidence badges and their reasons; exit 0 only when all four are
    /// verified, so CI can gate on it.
    #[command(
        long_about = "Print the four evidence badges (rehearsal, migration, smoke, flag) and \
the reasons each is not verified, checked against the repository's git history.\n\n\
Exit codes: 0 all four verified, 1 at least one is not, 2 bad usage. With --json, prints the same \
document as the site's evidence.json."
    )]
    Check(CheckArgs),
    /// Write an example student repository in which all four badges verify, and build its site.
    #[command(
        long_about = "Write an example student repository (a small orders-api service with a \
semester of dated commits and releases, in which all four evidence badges verify) into DIR, then \
build its site into DIR/public.\n\nDIR must be new or empty; nothing is ever overwritten."
    )]
    Demo(DemoArgs),
    /// Prepare a repository for GitHub Pages: write .github/workflows/pages.yml and .gitignore
    /// entries (never overwrites a file).
    Init(InitArgs),
    /// Build the site, serve it on 127.0.0.1, and rebuild and reload the browser on every save
    /// and every commit.
    #[command(
        long_about = "Build the site, serve it on http://127.0.0.1:PORT/ (under the base \
path of --base-url or clinic.yaml), and rebuild on every change: content/, theme/, library/, \
clinic.yaml, scripts/, .github/workflows/, the migration folders, and the repository's refs (a \
commit, a checkout or a new tag updates the badges). Open pages reload by themselves once the new \
build is in place.\n\n\
Builds go to <root>/.clinic/serve/ (disposable, never watched). A build with errors keeps the last \
good site and shows the errors over every page until they are fixed. Editing only the text of a \
page re-renders just that page.\n\n\
The preview answers only this machine (GET and HEAD, Host checked). The URL is printed on standard \
output; --quiet silences everything else except errors. Ctrl-C stops it (exit code 0).\n\n\
If file changes are not seen (WSL, Docker, network file systems), use --poll."
    )]
    Serve(ServeArgs),
    /// Build a cohort dashboard over many student repositories (or their published
    /// evidence.json): a badge matrix, CSV and JSON exports, and each student's portfolio.
    // In the roster example, `\x20` starts each line: a string continuation drops the leading
    // spaces that follow it, and the example must paste as valid YAML.
    #[command(
        long_about = "Build a cohort dashboard from a roster: one site with a matrix of \
students by the four evidence badges (plus last commit and number of releases), summary counts, \
cohort.csv and cohort.json, each student's portfolio under students/<slug>/, and the handbook once \
under handbook/.\n\n\
The roster is YAML:\n\n\
\x20 title: Release clinic, autumn 2026\n\
\x20 students:\n\
\x20   - name: Ada Lovelace\n\
\x20     repo: students/ada            # a local clone, relative to the roster or absolute\n\
\x20   - name: Alan Turing\n\
\x20     repo: https://github.com/alan/orders-api   # or git@host:path, ssh://, git://, file://\n\
\x20   - name: Grace Hopper\n\
\x20     evidence: https://grace.github.io/orders-api/evidence.json   # or a file path\n\n\
A student may also have `slug:` (the folder name, a-z 0-9 -); otherwise it comes from the name, \
transliterated to Latin letters (Li Lei for 李雷), and names that collide get -2, -3, ... in \
roster order.\n\n\
Student repositories are untrusted: only the built-in theme and handbook are used (a student's \
theme/ and content/ are ignored), write-ups are sanitised, symbolic links are never followed out \
of a repository, oversized input is refused, and pages carry a policy that runs no script. A \
student whose repository is missing, empty, shallow, broken or refused, or whose evidence URL \
fails, becomes an error cell with the reason; the other students are built anyway. evidence: \
URLs are fetched with --fetch-timeout and a 4 MiB cap.\n\n\
A repo: that is a git URL is mirrored (bare) into --cache and fetched again on every run, in \
parallel (--jobs), by the system git, which never prompts for credentials (use a credential \
helper or SSH keys for private repositories) and is stopped after --git-timeout; the badges come \
from the default branch.\n\n\
The output (default <roster folder>/public) is written atomically, with the same refusals as \
`clinic build`.\n\n\
Exit codes: 0 the dashboard was built (students in error are reported as warnings), 1 the roster \
has errors (the rest is still built) or --strict and a student is in error, 2 bad usage."
    )]
    Cohort(CohortArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CohortArgs {
    #[command(subcommand)]
    pub command: Option<CohortCommand>,
    /// The roster YAML file.
    #[arg(value_name = "ROSTER.yaml", required = true)]
    pub roster: Option<PathBuf>,
    /// Where to write the dashboard [default: <roster folder>/public].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How many students to build at once [default: the number of cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// The absolute URL the dashboard is published at, e.g. https://course.github.io/cohort/
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Give up on an evidence: URL after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub fetch_timeout: u64,
    /// Where to keep the mirrors of repo: URLs [default: <roster folder>/.clinic/repos].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Give up on cloning or fetching one repo: URL after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub git_timeout: u64,
    /// Build only slice K of N of the roster (students K, K+N, K+2N, ... in roster order) into
    /// --out, for `clinic cohort merge`: each slice can run on its own machine.
    #[arg(long, value_name = "K/N")]
    pub(crate) shard: Option<crate::commands::cohort::shard::Shard>,
    /// Exit with code 1 when any student is an error cell.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Subcommand)]
pub enum CohortCommand {
    /// Join the parts written by `clinic cohort ROSTER --shard K/N` (every K from 1 to N) into
    /// the dashboard a single run would have written, byte for byte.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The parts: the --out folders of every shard.
    #[arg(value_name = "PART", required = true)]
    pub parts: Vec<PathBuf>,
    /// Where to write the dashboard [default: public].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit with code 1 when any student is an error cell.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The repository (site root) to build [default: the git work tree holding the current
    /// folder, else the current folder].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Where to write the site [default: <root>/public].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The absolute URL the site is served from, e.g. https://someone.github.io/portfolio/
    /// (overrides base_url in clinic.yaml).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Treat every warning (broken link, unknown key, unknown code language) as an error.
    #[arg(long)]
    pub strict: bool,
    /// Also build pages marked `draft: true`.
    #[arg(long)]
    pub drafts: bool,
    /// Print the result as JSON on standard output (diagnostics included).
    #[arg(long)]
    pub json: bool,
    /// Ignore the caches (in the git directory, .git/clinic/) and rewrite them: the history is
    /// walked again and every page rendered again.
    #[arg(long)]
    pub no_cache: bool,
    /// Replace the whole output instead of updating it in place. By default, a build into an
    /// output that the previous build wrote renders and writes only what changed (the result is
    /// the same as a clean build's).
    #[arg(long)]
    pub clean: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The repository to check [default: the git work tree holding the current folder, else
    /// the current folder].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print evidence.json on standard output instead of the summary (same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How to print the result: `human` (the summary), `json` (evidence.json) or `github`
    /// (an annotation per failed rule at its file and line, and a table of the badges appended
    /// to $GITHUB_STEP_SUMMARY when it is set).
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Ignore the history cache (in the git directory, .git/clinic/) and rewrite it.
    #[arg(long)]
    pub no_cache: bool,
}

/// `clinic check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Human,
    Json,
    Github,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the example repository.
    #[arg(value_name = "DIR", default_value = "clinic-demo")]
    pub dir: PathBuf,
    /// Only write the repository; do not build its site.
    #[arg(long)]
    pub no_build: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository to prepare [default: the git work tree holding the current folder, else
    /// the current folder].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Rewrite a workflow that an earlier clinic wrote, unedited, for this version (the diff is
    /// shown); a workflow edited by hand is never overwritten.
    #[arg(long)]
    pub upgrade: bool,
    /// For instructors: write .github/workflows/cohort.yml instead, which builds the dashboard of
    /// the roster in parallel shards (a GitHub Actions matrix), merges them and publishes the
    /// result on Pages, daily and on every push.
    #[arg(long)]
    pub cohort: bool,
    /// With --cohort: the roster, relative to the repository root.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "roster.yaml",
        requires = "cohort"
    )]
    pub roster: String,
    /// With --cohort: how many shards (parallel jobs) build the dashboard.
    #[arg(long, value_name = "N", default_value_t = 4, requires = "cohort", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub shards: u16,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The repository (site root) to preview [default: the git work tree holding the current
    /// folder, else the current folder].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The port to listen on; 0 picks a free one (the URL printed says which).
    #[arg(long, value_name = "N", default_value_t = 8000)]
    pub port: u16,
    /// The address to listen on. Anything but a loopback address (127.0.0.1, ::1) makes the
    /// preview reachable from other machines, and prints a warning.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// The absolute URL the site is published at, e.g. https://someone.github.io/portfolio/
    /// (overrides base_url in clinic.yaml): the preview serves it under the same path.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Look for changes by polling instead of file-system events (for WSL, Docker and network
    /// file systems, or when the inotify watch limit is reached).
    #[arg(long)]
    pub poll: bool,
    /// Wait this long after a change for more changes before rebuilding.
    #[arg(long, value_name = "MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub debounce: u64,
    /// Also build pages marked `draft: true`.
    #[arg(long)]
    pub drafts: bool,
}

/// Parses the arguments, runs the command, and returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() && wants_json(std::env::args_os().skip(1)) => {
            print_json(&serde_json::json!({ "error": usage_diagnostic(&e) }));
            return EXIT_USAGE;
        }
        Err(e) => e.exit(),
    };
    exit_code(match cli.command {
        Command::Build(args) => run_build(&args, cli.quiet),
        Command::Init(args) => run_init(&args, cli.quiet),
        Command::Check(args) => run_check(&args, cli.quiet),
        Command::Demo(args) => run_demo(&args, cli.quiet),
        Command::Serve(args) => run_serve(&args, cli.quiet),
        Command::Cohort(args) => run_cohort(&args, cli.quiet),
    })
}

/// Whether the command line asks for JSON (`--json` or `--format json`, before a `--`), so that
/// even a usage error is answered as JSON.
fn wants_json(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<_> = args.take_while(|a| a != "--").collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--json"
            || a == "--format=json"
            || (a == "--format" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

/// clap's error as a diagnostic: its first line is the message, the rest (usage) the hint.
fn usage_diagnostic(e: &clap::Error) -> Diagnostic {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let message = lines.next().unwrap_or("bad usage");
    let hint: Vec<&str> = lines.collect();
    Diagnostic::error(message.trim_start_matches("error: ")).with_hint(hint.join(" "))
}

fn run_build(args: &BuildArgs, quiet: bool) -> Result<Ran, BuildError> {
    let root = root::resolve(args.root.as_deref(), quiet || args.json);
    let options = BuildOptions {
        root: root.clone(),
        out: args.out.clone(),
        base_url: args.base_url.clone(),
        strict: args.strict,
        include_drafts: args.drafts,
        no_cache: args.no_cache,
        incremental: true,
        clean: args.clean,
    };
    let started = Instant::now();
    let show_progress = !quiet && !args.json && std::io::stderr().is_terminal();
    let progress = move |done: usize, total: usize| {
        if show_progress && (done.is_multiple_of(250) || done == total) {
            eprint!("\rRendering pages: {done}/{total}");
            if done == total {
                eprint!("\r\x1b[K");
            }
        }
    };
    match build(&options, &progress) {
        Ok(report) => {
            print_diagnostics(&report.diagnostics, quiet);
            if args.json {
                print_json(&report);
            } else if !quiet {
                let seconds = started.elapsed().as_secs_f64();
                eprintln!(
                    "{}",
                    summary(&report, seconds, &root, args.base_url.as_deref())
                );
            }
            Ok(Ran::from_errors(report.error_count() > 0))
        }
        Err(e) => {
            if args.json {
                print_json(&serde_json::json!({"error": e.diagnostic()}));
            }
            Err(e)
        }
    }
}

fn run_check(args: &CheckArgs, quiet: bool) -> Result<Ran, BuildError> {
    let format = if args.json {
        CheckFormat::Json
    } else {
        args.format
    };
    let root = root::resolve(args.root.as_deref(), quiet || format == CheckFormat::Json);
    let (evidence, diagnostics) = match crate::check(&root, args.no_cache) {
        Ok(checked) => checked,
        Err(e) => {
            if format == CheckFormat::Json {
                print_json(&serde_json::json!({"error": e.diagnostic()}));
            }
            return Err(e);
        }
    };
    match format {
        CheckFormat::Human => {
            print_diagnostics(&diagnostics, quiet);
            if !quiet {
                print!("{}", badge_summary(&evidence));
            }
        }
        CheckFormat::Json => {
            print_diagnostics(&diagnostics, true);
            print_json(&evidence);
        }
        CheckFormat::Github => {
            // Annotations are read by the runner whatever --quiet says; the summary is the log.
            print!("{}", github::annotations(&evidence, &diagnostics));
            if !quiet {
                print!("{}", badge_summary(&evidence));
            }
            write_step_summary(&evidence);
        }
    }
    Ok(Ran::from_errors(!evidence.badges.all_verified()))
}

/// Appends the badge table to `$GITHUB_STEP_SUMMARY` when the runner set it. A summary that
/// cannot be written is a warning: the annotations and the exit code still tell.
fn write_step_summary(evidence: &Evidence) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut file| file.write_all(github::step_summary(evidence).as_bytes()));
    if let Err(e) = written {
        let d = Diagnostic::warning(format!("cannot append the job summary: {e}"))
            .in_file(PathBuf::from(path));
        eprintln!("{d}");
    }
}

/// `rehearsal  verified` lines, each followed by its reasons.
pub fn badge_summary(evidence: &Evidence) -> String {
    let mut out = String::new();
    for (kind, badge) in evidence.badges.iter() {
        let mark = match badge.state {
            State::Verified => "ok",
            State::Incomplete => "!!",
            State::Missing => "--",
        };
        out.push_str(&format!(
            "{mark} {:<10} {}\n",
            kind.key(),
            badge.state.as_str()
        ));
        for reason in &badge.reasons {
            out.push_str(&format!("     - {reason}\n"));
        }
    }
    out
}

fn summary(
    report: &BuildReport,
    seconds: f64,
    root: &std::path::Path,
    base_url: Option<&str>,
) -> String {
    let index = report.output.join("index.html");
    let mut line = format!(
        "Built {} pages in {seconds:.2} s: {}",
        report.pages,
        index.display()
    );
    let update = &report.update;
    if update.mode == crate::output::Writing::InPlace {
        line.push_str(&format!(
            " (updated in place: {} files written, {} unchanged, {} removed)",
            update.written, update.unchanged, update.removed
        ));
    }
    match (report.error_count(), report.warning_count()) {
        (0, 0) => {}
        (errors, warnings) => line.push_str(&format!(" ({errors} errors, {warnings} warnings)")),
    }
    line.push('\n');
    for note in &report.notes {
        line.push_str(&format!("note: {note}\n"));
    }
    line.push_str(&preview_hint(report, root, base_url));
    line
}

/// The preview command, as it can be typed here: the binary's own path when `clinic` on PATH is
/// not this binary, `--root` unless it is the current folder, `--base-url` when the command line
/// gave one. A plain file server only when the site lives at `/` (a base path would break it).
fn preview_hint(report: &BuildReport, root: &std::path::Path, base_url: Option<&str>) -> String {
    let mut command = format!("{} serve", shell_word(&clinic_program()));
    if root != std::path::Path::new(".") {
        command.push_str(&format!(
            " --root {}",
            shell_word(&root.display().to_string())
        ));
    }
    if let Some(url) = base_url {
        command.push_str(&format!(" --base-url {}", shell_word(url)));
    }
    let base_path = &report.setup.urls.base_path;
    if base_path == "/" {
        format!(
            "Preview it live with `{command}`, or serve the folder: python3 -m http.server -d {} 8000",
            shell_word(&report.output.display().to_string())
        )
    } else {
        format!("Preview it live with `{command}` (the site is under {base_path}, as where it is published)")
    }
}

/// `clinic` when that name on PATH is this very binary; otherwise this binary's path.
fn clinic_program() -> String {
    let Ok(exe) = std::env::current_exe().and_then(|e| e.canonicalize()) else {
        return "clinic".to_string();
    };
    let name = format!("clinic{}", std::env::consts::EXE_SUFFIX);
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(&name))
            .find(|candidate| candidate.is_file())
    });
    match on_path.and_then(|found| found.canonicalize().ok()) {
        Some(found) if found == exe => "clinic".to_string(),
        _ => exe.display().to_string(),
    }
}

/// A word the shell reads back as it is: quoted when it holds anything but safe characters.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-:=+@%,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic], quiet: bool) {
    let mut stderr = std::io::stderr().lock();
    for d in diagnostics {
        if d.is_error() || !quiet {
            let _ = writeln!(stderr, "{d}");
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    println!("{text}");
}

fn run_demo(args: &DemoArgs, quiet: bool) -> Result<Ran, BuildError> {
    let report = crate::commands::demo::write(&args.dir)?;
    if !quiet {
        eprintln!(
            "Wrote the demo repository {} ({} commits, releases {}).",
            args.dir.display(),
            report.commits,
            report.releases.join(", ")
        );
    }
    if args.no_build {
        return Ok(Ran::Clean);
    }
    let options = BuildOptions {
        root: args.dir.clone(),
        incremental: true,
        ..BuildOptions::default()
    };
    let report = build(&options, &|_, _| {})?;
    print_diagnostics(&report.diagnostics, quiet);
    if !quiet {
        eprint!("{}", badge_summary(&report.evidence));
        eprintln!(
            "{}",
            summary(&report, 0.0, &args.dir, None).replacen(" in 0.00 s", "", 1)
        );
    }
    Ok(Ran::from_errors(report.error_count() > 0))
}

fn run_cohort(args: &CohortArgs, quiet: bool) -> Result<Ran, BuildError> {
    if let Some(CohortCommand::Merge(merge)) = &args.command {
        return run_cohort_merge(merge, quiet);
    }
    let options = crate::commands::cohort::CohortOptions {
        roster: args.roster.clone().unwrap_or_default(),
        out: args.out.clone(),
        jobs: args.jobs.map(usize::from),
        base_url: args.base_url.clone(),
        fetch_timeout: std::time::Duration::from_secs(args.fetch_timeout),
        cache: args.cache.clone(),
        git_timeout: std::time::Duration::from_secs(args.git_timeout),
        shard: args.shard,
    };
    let started = Instant::now();
    let show_progress = !quiet && std::io::stderr().is_terminal();
    let progress = move |done: usize, total: usize| {
        if show_progress {
            eprint!("\rBuilding students: {done}/{total}");
            if done == total {
                eprint!("\r\x1b[K");
            }
        }
    };
    let report = crate::commands::cohort::build(&options, &progress)?;
    print_diagnostics(&report.diagnostics, quiet);
    if !quiet {
        let (what, file) = match args.shard {
            None => ("the cohort dashboard".to_string(), "index.html"),
            Some(s) => (
                format!("shard {}/{}", s.index, s.count),
                crate::commands::cohort::shard::SHARD_FILE,
            ),
        };
        eprintln!(
            "Built {what} for {} students ({} in error) in {:.2} s: {}",
            report.rows.len(),
            report.failed_count(),
            started.elapsed().as_secs_f64(),
            report.output.join(file).display()
        );
    }
    Ok(Ran::from_errors(
        report.error_count() > 0 || (args.strict && report.failed_count() > 0),
    ))
}

fn run_cohort_merge(args: &MergeArgs, quiet: bool) -> Result<Ran, BuildError> {
    let report = crate::commands::cohort::merge(&args.parts, args.out.as_deref())?;
    print_diagnostics(&report.diagnostics, quiet);
    if !quiet {
        eprintln!(
            "Merged {} parts into the cohort dashboard for {} students ({} in error): {}",
            args.parts.len(),
            report.rows.len(),
            report.failed_count(),
            report.output.join("index.html").display()
        );
    }
    Ok(Ran::from_errors(
        report.error_count() > 0 || (args.strict && report.failed_count() > 0),
    ))
}

/// Runs until stopped: Ctrl-C exits 0 from the signal thread; returning means it could not start.
fn run_serve(args: &ServeArgs, quiet: bool) -> Result<Ran, BuildError> {
    let options = crate::commands::serve::ServeOptions {
        root: root::resolve(args.root.as_deref(), quiet),
        bind: args.bind,
        port: args.port,
        base_url: args.base_url.clone(),
        poll: args.poll,
        debounce: std::time::Duration::from_millis(args.debounce),
        include_drafts: args.drafts,
        quiet,
    };
    crate::commands::serve::run(&options)?;
    Ok(Ran::Clean)
}

fn run_init(args: &InitArgs, quiet: bool) -> Result<Ran, BuildError> {
    let root = root::resolve(args.root.as_deref(), quiet);
    let workflow = if args.cohort {
        if !init::roster_path_is_plain(&args.roster) {
            return Err(BuildError::Usage(
                Diagnostic::error(format!("--roster {:?} cannot go into a workflow as it is", args.roster))
                    .with_hint("give the roster's path relative to the repository root, with letters, digits, `.`, `_`, `-` and `/` only"),
            ));
        }
        init::Workflow::Cohort {
            roster: args.roster.clone(),
            shards: usize::from(args.shards),
        }
    } else {
        init::Workflow::Pages
    };
    let report = init::run(&root, &workflow, args.upgrade)
        .map_err(|e| BuildError::Fatal(Diagnostic::error(format!("{}: {e}", root.display()))))?;
    if let Some(diff) = &report.diff {
        // The diff is the output; what happened goes to standard error like every message.
        print!("{diff}");
    }
    if !quiet {
        for path in &report.written {
            match &report.upgraded_from {
                Some(version) if path == std::path::Path::new(workflow.path()) => {
                    eprintln!("upgraded {} (written by clinic {version})", path.display())
                }
                _ => eprintln!("wrote {}", path.display()),
            }
        }
        for (path, why) in &report.kept {
            eprintln!("kept {}: {why}", path.display());
        }
        if !report.written.is_empty() {
            eprintln!("Next: commit these files and set Pages > Source to \"GitHub Actions\" in the repository settings.");
            if args.cohort && !root.join(&args.roster).is_file() {
                eprintln!("note: there is no {} yet; the workflow builds the dashboard from it (see `clinic cohort --help` for its format)", args.roster);
            }
        }
    }
    if report.refused_upgrade {
        eprintln!(
            "error: {} was not upgraded: only a workflow that clinic wrote and nobody edited is rewritten; apply the diff above by hand, or delete the file and run `clinic init`",
            workflow.path()
        );
        return Ok(Ran::WithErrors);
    }
    Ok(Ran::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> impl Iterator<Item = std::ffi::OsString> + '_ {
        line.split_whitespace().map(std::ffi::OsString::from)
    }

    #[test]
    fn json_is_wanted_before_a_double_dash_only() {
        assert!(wants_json(args("check --json --bogus")));
        assert!(wants_json(args("check --format json")));
        assert!(wants_json(args("check --format=json")));
        assert!(!wants_json(args("check --format github")));
        assert!(!wants_json(args("check -- --json")));
    }

    #[test]
    fn shell_words_read_back_as_written() {
        assert_eq!(shell_word("/usr/bin/clinic"), "/usr/bin/clinic");
        assert_eq!(shell_word("https://a.io/x/"), "https://a.io/x/");
        assert_eq!(shell_word("/tmp/my site"), "'/tmp/my site'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
