//! The live-reload hub: server-sent events on the same port as the site.
//!
//! tiny_http is blocking, so an event stream must not hold one of the request workers: the
//! worker takes the connection's raw writer (`Request::into_writer`), hands it to a thread of
//! its own here, and goes back to answering pages. Each stream thread waits on a channel and
//! writes what the hub broadcasts, plus a comment every [`KEEP_ALIVE`] so that a closed tab is
//! noticed (the write fails) and its thread ends. A stream stuck on a full socket blocks only
//! its own thread. At most [`MAX_STREAMS`] streams are open at once; more get a 503, which
//! EventSource retries. (A browser opens one stream for all its tabs of the site, through the
//! shared worker described in [`super::page`]; a stream per tab is the fallback.)

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::reply::COMMON_HEADERS;

/// Fifty browser tabs must never keep a page from being answered; a few hundred streams are
/// only a few hundred idle threads.
pub(super) const MAX_STREAMS: usize = 256;
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What the hub sends to every open page. Each carries the server's generation as its `id`:
/// a page reloads when that differs from the generation it was served at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Event {
    /// The first event of every stream: the current generation.
    Hello { generation: u64 },
    /// A new build (or a re-rendered page) is in place: reload.
    Reload { generation: u64 },
    /// A build failed; the last good build stays. `text` is the overlay's (unescaped) text.
    BuildError { generation: u64, text: String },
}

impl Event {
    /// The event in `text/event-stream` form. Every line of the data gets its own `data:`
    /// field, so a message can never end the event early or forge another one. A line ends,
    /// for a browser, at CRLF, at LF *and at a lone CR*: the data is split on all three (a file
    /// name may hold a CR), and no field written here holds either.
    fn wire(&self) -> String {
        let (name, generation, text) = match self {
            Event::Hello { generation } => ("hello", generation, String::new()),
            Event::Reload { generation } => ("reload", generation, String::new()),
            Event::BuildError { generation, text } => ("build-error", generation, text.clone()),
        };
        let mut out = format!("event: {name}\nid: {generation}\n");
        let data = if text.is_empty() {
            generation.to_string()
        } else {
            text
        };
        for line in sse_lines(&data) {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        out
    }
}

/// The lines of `text` as an event-stream parser sees them: split at CRLF, LF or a lone CR.
/// A final line terminator does not make an empty last line.
fn sse_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['\r', '\n']) {
        lines.push(&rest[..at]);
        let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[at + skip..];
    }
    if !rest.is_empty() {
        lines.push(rest);
    }
    lines
}

/// One open stream: where to send its events, and whether its thread still runs.
struct Stream {
    tx: Sender<Event>,
    alive: Arc<AtomicBool>,
}

/// The open event streams.
#[derive(Default)]
pub(super) struct Hub {
    streams: Mutex<Vec<Stream>>,
}

impl Hub {
    /// Takes over a connection: writes the response head, then what `first` returns (the
    /// `hello` with the current generation) and every later event. `first` is asked only once
    /// the stream is registered, so a build published in between reaches the page either way
    /// (at worst twice). Returns `false`, writing nothing, when too many streams are open.
    pub(super) fn attach(
        &self,
        mut writer: Box<dyn Write + Send>,
        first: impl FnOnce() -> Event,
    ) -> bool {
        let (tx, rx) = mpsc::channel();
        let alive = Arc::new(AtomicBool::new(true));
        {
            let mut streams = self.lock();
            streams.retain(|s| s.alive.load(Ordering::Acquire));
            if streams.len() >= MAX_STREAMS {
                return false;
            }
            streams.push(Stream {
                tx,
                alive: Arc::clone(&alive),
            });
        }
        let first = first();
        let spawned = std::thread::Builder::new()
            .name("clinic-sse".to_string())
            .spawn(move || {
                stream(&mut *writer, first, &rx);
                alive.store(false, Ordering::Release);
            });
        spawned.is_ok()
    }

    /// Sends `event` to every open stream, dropping those whose page has gone.
    pub(super) fn broadcast(&self, event: &Event) {
        self.lock()
            .retain(|s| s.alive.load(Ordering::Acquire) && s.tx.send(event.clone()).is_ok());
    }

    /// How many streams are open.
    pub(super) fn open(&self) -> usize {
        let mut streams = self.lock();
        streams.retain(|s| s.alive.load(Ordering::Acquire));
        streams.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Stream>> {
        self.streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One stream's thread: runs until the page goes away.
fn stream(writer: &mut dyn Write, first: Event, rx: &Receiver<Event>) {
    // No Content-Length: the body ends when the connection closes.
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n{COMMON_HEADERS}\r\n"
    );
    // `retry`: reconnect a second after the server restarts; the page then reloads because
    // the new server's generation differs.
    if send(writer, &format!("{head}retry: 1000\n\n{}", first.wire())).is_err() {
        return;
    }
    loop {
        let text = match rx.recv_timeout(KEEP_ALIVE) {
            Ok(event) => event.wire(),
            Err(RecvTimeoutError::Timeout) => ": keep-alive\n\n".to_string(),
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if send(writer, &text).is_err() {
            return;
        }
    }
}

fn send(writer: &mut dyn Write, text: &str) -> std::io::Result<()> {
    writer.write_all(text.as_bytes())?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_cannot_forge_fields() {
        let e = Event::BuildError {
            generation: 3,
            text: "a\n\nevent: reload\nb".into(),
        };
        assert_eq!(
            e.wire(),
            "event: build-error\nid: 3\ndata: a\ndata: \ndata: event: reload\ndata: b\n\n"
        );
        assert_eq!(
            Event::Hello { generation: 5 }.wire(),
            "event: hello\nid: 5\ndata: 5\n\n"
        );
        assert_eq!(
            Event::Reload { generation: 4 }.wire(),
            "event: reload\nid: 4\ndata: 4\n\n"
        );
    }

    /// The lines of an event stream as a browser splits them: on CRLF, CR or LF.
    fn browser_lines(wire: &str) -> Vec<&str> {
        let mut lines = Vec::new();
        let mut rest = wire;
        while let Some(at) = rest.find(['\r', '\n']) {
            lines.push(&rest[..at]);
            let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
            rest = &rest[at + skip..];
        }
        lines
    }

    #[test]
    fn carriage_returns_cannot_forge_fields_either() {
        let text = "content/x\rid: 999\rretry: 1\revent: reload\r\rdata: x\r\n\rb.md:1: bad\n";
        let wire = Event::BuildError {
            generation: 3,
            text: text.into(),
        }
        .wire();
        let lines = browser_lines(&wire);
        // One event: its fields, then the one blank line that ends it.
        assert_eq!(lines.last(), Some(&""), "{wire:?}");
        let fields = &lines[..lines.len() - 1];
        assert_eq!(&fields[..2], ["event: build-error", "id: 3"], "{wire:?}");
        for line in &fields[2..] {
            assert!(
                line.starts_with("data: "),
                "forged field {line:?} in {wire:?}"
            );
        }
        let data: Vec<&str> = fields[2..].iter().map(|l| &l["data: ".len()..]).collect();
        assert_eq!(
            data,
            [
                "content/x",
                "id: 999",
                "retry: 1",
                "event: reload",
                "",
                "data: x",
                "",
                "b.md:1: bad"
            ]
        );
    }
}
