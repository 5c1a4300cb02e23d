//! What the server is serving right now, shared between the request workers and the rebuild
//! loop.
//!
//! Every full build goes into a new directory (`b1`, `b2`, ...) that is complete before the
//! server sees it; publishing swaps one `Arc` under a lock. A request takes the current
//! [`Served`] once, at its start, and answers entirely from it, so it is answered by the
//! previous build or the new one, never a mix, and never a 404 in between. An old build's
//! directory is deleted when the last request still holding it finishes ([`SiteDir`]'s `Drop`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::json;

use super::reload::{Event, Hub};

/// One complete build directory; deleted when the last holder lets go of it.
#[derive(Debug)]
pub(super) struct SiteDir {
    path: PathBuf,
    canonical: PathBuf,
}

impl SiteDir {
    pub(super) fn new(path: PathBuf) -> std::io::Result<SiteDir> {
        let canonical = path.canonicalize()?;
        Ok(SiteDir { path, canonical })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn canonical(&self) -> &Path {
        &self.canonical
    }

    /// The directory's name (`b3`), for the status endpoint: never an absolute path.
    pub(super) fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

impl Drop for SiteDir {
    fn drop(&mut self) {
        // Off the request thread that happened to hold the last reference.
        let path = std::mem::take(&mut self.path);
        let _ = std::thread::Builder::new()
            .name("clinic-cleanup".to_string())
            .spawn(move || std::fs::remove_dir_all(path));
    }
}

/// A consistent view: the build to serve, and the errors to overlay on it.
#[derive(Debug)]
pub(super) struct Served {
    /// `None` only while no build has ever succeeded.
    pub site: Option<Arc<SiteDir>>,
    /// Bumped on every change a page must reload for.
    pub generation: u64,
    /// The overlay's text while the last build failed.
    pub overlay: Option<String>,
}

/// Counters for the status endpoint and the tests.
#[derive(Debug, Default)]
pub(super) struct Stats {
    pub full: AtomicU64,
    pub partial: AtomicU64,
    pub failed: AtomicU64,
    /// The rebuild loop has events to handle or a build running.
    pub busy: AtomicBool,
}

/// Everything the request workers share.
pub(super) struct State {
    current: RwLock<Arc<Served>>,
    pub base_path: String,
    pub hub: Hub,
    pub stats: Stats,
    /// Extra `Host` names accepted besides the loopback ones (the bound address).
    pub bound_host: String,
    /// The bound address is 0.0.0.0 or `::`: any IP-literal Host is this machine's.
    pub bound_unspecified: bool,
}

impl State {
    pub(super) fn new(base_path: String, bound_host: String, bound_unspecified: bool) -> State {
        // Generations count on from the start time, so a page served by an earlier run of
        // `clinic serve` never matches this one's and reloads when its stream reconnects.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64);
        let first = Served {
            site: None,
            generation: start,
            overlay: None,
        };
        State {
            current: RwLock::new(Arc::new(first)),
            base_path,
            hub: Hub::default(),
            stats: Stats::default(),
            bound_host,
            bound_unspecified,
        }
    }

    pub(super) fn current(&self) -> Arc<Served> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts a new view in place, then tells every open page. The order matters: a page that
    /// reloads on the event must already get the new view.
    pub(super) fn publish(&self, site: Option<Arc<SiteDir>>, overlay: Option<String>) {
        let event = {
            let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
            let generation = current.generation + 1;
            let event = match &overlay {
                Some(text) => Event::BuildError {
                    generation,
                    text: text.clone(),
                },
                None => Event::Reload { generation },
            };
            *current = Arc::new(Served {
                site,
                generation,
                overlay,
            });
            event
        };
        self.hub.broadcast(&event);
    }

    /// The status document: counters, whether work is pending, the errors, the build's name.
    pub(super) fn status_json(&self) -> String {
        let served = self.current();
        let s = &self.stats;
        let (full, partial, failed) = (
            s.full.load(Ordering::Relaxed),
            s.partial.load(Ordering::Relaxed),
            s.failed.load(Ordering::Relaxed),
        );
        let value = json!({
            "generation": served.generation,
            "full": full,
            "partial": partial,
            "failed": failed,
            "busy": s.busy.load(Ordering::Acquire),
            "streams": self.hub.open(),
            "errors": served.overlay.as_deref().map(|t| t.lines().collect::<Vec<_>>()).unwrap_or_default(),
            "site": served.site.as_ref().map(|s| s.name()),
        });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}
