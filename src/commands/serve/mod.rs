//! `clinic serve`: a live preview that rebuilds on every save and every commit.
//!
//! One module per concern:
//! - this file: start-up (checks, work directory, bind, watch, first build) and the rebuild
//!   loop that turns batches of changes into published builds;
//! - [`watch`]: notify, the filters for editor noise and git internals, the debounce;
//! - [`rebuild`]: full builds into new directories, partial re-renders of changed pages;
//! - [`state`]: the build being served, swapped atomically, and the counters;
//! - [`server`], [`path`] and [`reply`]: HTTP with tiny_http, the request-path rules, and
//!   responses written with `Connection: close`;
//! - [`reload`] and [`page`]: server-sent events, and the script and overlay added to pages;
//! - [`signal`]: a clean stop on Ctrl-C.
//!
//! Decisions:
//! - **Where builds go.** `<root>/.clinic/serve/<pid>/b<N>`: inside the root so that the
//!   output check of [`crate::output`] applies and nothing is written elsewhere, never watched,
//!   per process so that two previews of one root never delete each other's builds, and marked
//!   ignored by git (`.clinic/serve/.gitignore`). Directories of processes that no longer run
//!   are removed at start; Ctrl-C removes this process's.
//! - **The base path is fixed at start**, from `--base-url` or `clinic.yaml`, and passed to
//!   every build: the server mounts the site there, and moving it under a running server would
//!   break every open page. Restart to change it.
//! - **What counts as failed**: an error from the build, or a report with errors. Warnings
//!   (broken links, unknown keys) are printed and never block a rebuild.
//! - **Output**: the URL goes to standard output, always (it is what the command produces, and
//!   what scripts parse); progress and warnings go to standard error unless `--quiet`; errors
//!   always.

mod page;
mod path;
mod rebuild;
mod reload;
mod reply;
mod server;
mod signal;
mod state;
mod watch;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use crate::diagnostics::Diagnostic;
use crate::load::urls::Urls;
use crate::BuildOptions;
use rebuild::{Builder, Kind, Outcome};
use state::State;
use watch::{Signal, Watch};

/// Where the previews' builds go, under the site root.
pub(crate) const WORK_DIR: &str = ".clinic/serve";

/// What `clinic serve` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct ServeOptions {
    pub root: PathBuf,
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Overrides `base_url` from `clinic.yaml`.
    pub base_url: Option<String>,
    pub poll: bool,
    pub debounce: Duration,
    pub include_drafts: bool,
    pub quiet: bool,
}

/// Why the preview could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bad arguments (missing root, bad base URL) or a port that is taken: exit code 2.
    #[error("{0}")]
    Usage(Diagnostic),
    /// The watcher or the first build cannot start: exit code 1.
    #[error("{0}")]
    Failed(Diagnostic),
}

impl From<ServeError> for crate::BuildError {
    fn from(e: ServeError) -> Self {
        match e {
            ServeError::Usage(d) => crate::BuildError::Usage(d),
            ServeError::Failed(d) => crate::BuildError::Fatal(d),
        }
    }
}

/// Builds, serves and rebuilds until the process is stopped.
pub(crate) fn run(options: &ServeOptions) -> Result<(), ServeError> {
    let root = check_root(&options.root)?;
    let base_url = base_url(options, &root)?;
    let base_path = Urls::new(base_url.as_deref()).base_path;
    // Bound first (no thread starts yet, see `signal`): a taken port leaves nothing behind.
    let listener = bind(options)?;
    let work = prepare_work_dir(&root).map_err(|e| {
        let message = format!("cannot create {WORK_DIR}/ in the site root: {e}");
        ServeError::Failed(Diagnostic::error(message))
    })?;
    let cleanup_dir = work.clone();
    // Before any thread starts (see `signal`).
    signal::on_stop(move || {
        let _ = std::fs::remove_dir_all(&cleanup_dir);
    });
    if !options.bind.is_loopback() {
        // Not silenced by --quiet: the preview is open to other machines.
        eprintln!(
            "warning: binding {} makes the preview reachable from other machines on the network; only the default 127.0.0.1 keeps it to this one",
            options.bind
        );
    }
    let (server, address) = listen(listener)?;
    // Watch before the first build, so that nothing saved during it is missed.
    let (tx, rx) = mpsc::channel();
    let mut watch = start_watching(&root, options.poll, tx)?;
    let unspecified = address.ip().is_unspecified();
    let state = Arc::new(State::new(
        base_path.clone(),
        host_name(address),
        unspecified,
    ));
    let log = Log {
        quiet: options.quiet,
    };
    let build_options = BuildOptions {
        root: root.clone(),
        base_url,
        include_drafts: options.include_drafts,
        ..BuildOptions::default()
    };
    let mut builder = Builder::new(build_options, work);
    let mut rebuilds = Rebuilds {
        builder: &mut builder,
        state: &state,
        log: &log,
        root: root.display().to_string(),
    };
    let first = rebuilds.builder.full();
    rebuilds.apply(first, None);

    server::start(Arc::new(server), Arc::clone(&state));
    println!("Serving {}", url(address, &base_path));
    let polling = if watch.polling { " (polling)" } else { "" };
    log.info(&format!(
        "Watching {} for changes{polling}. Press Ctrl-C to stop.",
        root.display()
    ));
    rebuild_loop(&rx, &mut watch, &mut rebuilds, options.debounce);
    Ok(())
}

/// Binds the address; port 0 picks a free port. A port that is taken is a usage error
/// (exit 2): exit 1 means the content has errors.
fn bind(options: &ServeOptions) -> Result<std::net::TcpListener, ServeError> {
    let wanted = SocketAddr::new(options.bind, options.port);
    std::net::TcpListener::bind(wanted).map_err(|e| {
        ServeError::Usage(
            Diagnostic::error(format!("cannot listen on {wanted}: {e}"))
                .with_hint("choose another port with --port N, or --port 0 for any free port"),
        )
    })
}

/// The HTTP server on the bound socket (its threads start here), and the address it has.
fn listen(listener: std::net::TcpListener) -> Result<(tiny_http::Server, SocketAddr), ServeError> {
    let address = listener.local_addr().map_err(|e| {
        ServeError::Failed(Diagnostic::error(format!(
            "cannot read the bound address: {e}"
        )))
    })?;
    let server = tiny_http::Server::from_listener_with_limits(listener, None, server::limits())
        .map_err(|e| {
            ServeError::Failed(Diagnostic::error(format!("cannot serve on {address}: {e}")))
        })?;
    Ok((server, address))
}

/// The watcher, with its notes (a fallback to polling) printed.
fn start_watching(root: &Path, poll: bool, tx: mpsc::Sender<Signal>) -> Result<Watch, ServeError> {
    let (watch, notes) = Watch::start(root, poll, tx).map_err(|e| {
        ServeError::Failed(Diagnostic::error(e).with_hint("run `clinic serve --poll`"))
    })?;
    for note in notes {
        eprintln!("warning: {note}");
    }
    Ok(watch)
}

/// The bound address as a `Host` header names it: `192.168.1.5` or `[fe80::1]`.
fn host_name(address: SocketAddr) -> String {
    match address.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

/// The site root, canonical; a usage error when it is not a folder.
fn check_root(root: &Path) -> Result<PathBuf, ServeError> {
    let usage = || {
        ServeError::Usage(
            Diagnostic::error(format!(
                "the site root {} is not a directory",
                root.display()
            ))
            .with_hint("pass the repository to preview with --root DIR"),
        )
    };
    if !root.is_dir() {
        return Err(usage());
    }
    root.canonicalize().map_err(|_| usage())
}

/// `--base-url` (checked now, not at the first build) or `clinic.yaml`'s `base_url`.
fn base_url(options: &ServeOptions, root: &Path) -> Result<Option<String>, ServeError> {
    match &options.base_url {
        Some(url) => crate::load::urls::normalise_base_url(url)
            .map(Some)
            .map_err(|hint| {
                ServeError::Usage(
                    Diagnostic::error(format!("--base-url {url:?} is not an absolute http(s) URL"))
                        .with_hint(hint),
                )
            }),
        None => Ok(crate::load::config::load(root).0.base_url),
    }
}

/// `<root>/.clinic/serve/<pid>`, created empty, after removing the folders of previews that
/// no longer run.
fn prepare_work_dir(root: &Path) -> std::io::Result<PathBuf> {
    let serve = root.join(WORK_DIR);
    std::fs::create_dir_all(&serve)?;
    let ignore = serve.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "# clinic serve's disposable builds\n*\n")?;
    }
    let own = std::process::id();
    for entry in std::fs::read_dir(&serve)?.flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|n| n.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid == own || !signal::is_running(pid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let work = serve.join(own.to_string());
    std::fs::create_dir(&work)?;
    Ok(work)
}

/// The address to open: a wildcard bind is opened through the loopback address.
fn url(address: SocketAddr, base_path: &str) -> String {
    let host = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    format!("http://{host}:{}{base_path}", address.port())
}

/// Waits for batches of changes and rebuilds, until the watcher goes away.
fn rebuild_loop(
    rx: &Receiver<Signal>,
    watch: &mut Watch,
    rebuilds: &mut Rebuilds<'_>,
    debounce: Duration,
) {
    let busy = &rebuilds.state.stats.busy;
    loop {
        let first = match rx.try_recv() {
            Ok(signal) => signal,
            Err(TryRecvError::Empty) => {
                busy.store(false, Ordering::Release);
                match rx.recv() {
                    Ok(signal) => signal,
                    Err(_) => return,
                }
            }
            Err(TryRecvError::Disconnected) => return,
        };
        busy.store(true, Ordering::Release);
        let batch = watch::debounce(first, rx, debounce);
        for problem in &batch.problems {
            rebuilds.log.info(&format!("warning: {problem}"));
        }
        let limit = batch.limit.clone().or_else(|| watch.refresh().err());
        if let Some(advice) = limit {
            fall_back_to_polling(watch, &advice);
            // Events may have been lost: only a full build is sure to be current.
            let outcome = rebuilds.builder.full();
            rebuilds.apply(outcome, Some("files the watcher lost track of"));
        } else if batch.has_changes() {
            let outcome = rebuilds.builder.rebuild(batch.pages_only());
            rebuilds.apply(outcome, Some(&batch.describe()));
        }
    }
}

/// After the watch limit was hit: says how to raise it, and polls from now on.
fn fall_back_to_polling(watch: &mut Watch, advice: &str) {
    eprintln!("warning: {advice}");
    if !watch.polling {
        match watch.fall_back_to_polling() {
            Ok(()) => eprintln!("warning: falling back to polling (--poll); rebuilding everything"),
            Err(e) => eprintln!("error: cannot poll either: {e}"),
        }
    }
}

/// Turns rebuild outcomes into a published state and terminal output.
struct Rebuilds<'a> {
    builder: &'a mut Builder,
    state: &'a State,
    log: &'a Log,
    /// The root's absolute path, shortened in the overlay.
    root: String,
}

impl Rebuilds<'_> {
    /// `cause` says what changed (None for the first build): a full rebuild renders every
    /// page, and the log says so and why, rather than suggesting that every page changed.
    fn apply(&mut self, outcome: Outcome, cause: Option<&str>) {
        let stats = &self.state.stats;
        match outcome {
            Outcome::Published {
                site,
                kind,
                diagnostics,
                millis,
            } => {
                self.log.diagnostics(&diagnostics);
                match &kind {
                    Kind::Full { pages } => {
                        stats.full.fetch_add(1, Ordering::Relaxed);
                        self.log.info(&match cause {
                            None => format!("Built {pages} pages in {millis} ms"),
                            Some(cause) => format!(
                                "Rebuilt the whole site ({pages} pages) in {millis} ms after a change to {cause}"
                            ),
                        });
                    }
                    Kind::Partial { pages } => {
                        stats.partial.fetch_add(1, Ordering::Relaxed);
                        self.log
                            .info(&format!("Re-rendered {} in {millis} ms", pages.join(", ")));
                    }
                }
                let overlay = self.overlay(&self.builder.served_errors());
                self.state.publish(Some(site), overlay);
            }
            Outcome::Failed {
                diagnostics,
                millis,
            } => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                let errors: Vec<Diagnostic> = diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .cloned()
                    .collect();
                let current = self.state.current();
                let kept = if current.site.is_some() {
                    "still serving the last good build"
                } else {
                    "nothing to serve until it is fixed"
                };
                eprintln!("Build failed in {millis} ms; {kept}:");
                Log { quiet: true }.diagnostics(&diagnostics);
                let overlay = self.overlay(&errors);
                if current.overlay != overlay || current.site.is_none() {
                    self.state.publish(current.site.clone(), overlay);
                }
            }
            Outcome::Unchanged => {
                let overlay = self.overlay(&self.builder.served_errors());
                let current = self.state.current();
                if current.overlay != overlay {
                    self.log
                        .info("The sources are back to the served build; errors cleared");
                    self.state.publish(current.site.clone(), overlay);
                }
            }
        }
    }

    fn overlay(&self, errors: &[Diagnostic]) -> Option<String> {
        (!errors.is_empty()).then(|| page::overlay_text(errors, &self.root))
    }
}

/// Terminal output: progress and warnings unless quiet, errors always.
struct Log {
    quiet: bool,
}

impl Log {
    fn info(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    fn diagnostics(&self, diagnostics: &[Diagnostic]) {
        for d in diagnostics {
            if d.is_error() || !self.quiet {
                eprintln!("{d}");
            }
        }
    }
}
