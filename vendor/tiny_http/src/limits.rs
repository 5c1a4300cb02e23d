//! clinic patch: limits on what one client may cost.
//!
//! tiny_http 0.12.0 reads a request head of any size into memory (upstream issue #56, and the
//! unmerged pull request #232 that caps it with a 431), never times a connection out, keeps an
//! idle keep-alive connection's thread forever, and starts a thread for every connection
//! accepted. [`Limits`] bounds each of these; `Server::from_listener_with_limits` applies them.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What one client may cost the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most bytes of one request head (request line and headers, line ends included). A longer
    /// head is answered `431 Request Header Fields Too Large` and the connection closed.
    pub max_head_bytes: usize,
    /// How long one read or write on a connection may block, and how long a client may take to
    /// send a whole request head (answered `408 Request Timeout`). A connection idle between
    /// requests for this long is closed without an answer.
    pub idle_timeout: Duration,
    /// Most connections being read at once, each on its own thread. The ones over the limit are
    /// answered `503 Service Unavailable` and closed at once.
    pub max_connections: usize,
    /// Whether a connection may carry a second request. When false, every connection is read
    /// for one request only and closes once its response is written.
    pub keep_alive: bool,
}

impl Default for Limits {
    /// Apache's request line and field limits are 8 KiB each with 100 fields; 64 KiB in all is
    /// room for the long cookies of real browsers.
    fn default() -> Self {
        Limits {
            max_head_bytes: 64 * 1024,
            idle_timeout: Duration::from_secs(30),
            max_connections: 256,
            keep_alive: true,
        }
    }
}

/// The count of connections being read, against the limit.
#[derive(Clone)]
pub(crate) struct Slots {
    open: Arc<AtomicUsize>,
    max: usize,
}

/// One connection's place in [`Slots`], given back when dropped.
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Slots {
    pub(crate) fn new(max: usize) -> Slots {
        Slots {
            open: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// A place for one more connection, or None when all are taken.
    pub(crate) fn take(&self) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(&self.open)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Writes a final, body-less answer that says the connection closes (tiny_http's own responses
/// never carry a `Connection` header). Errors are ignored: the connection is dropped next.
pub(crate) fn answer_and_close<W: Write>(mut writer: W, status: u16, reason: &str) {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let _ = writer.write_all(head.as_bytes());
    let _ = writer.flush();
}
