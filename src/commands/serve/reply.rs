//! Responses, written by hand onto the connection, each with `Connection: close`.
//!
//! Why not tiny_http's `Request::respond`: tiny_http 0.12 gives every connection a thread of
//! its pool for the connection's whole life, and the pool can queue a burst of new connections
//! behind threads that then sit on idle keep-alive connections (reproduced: of 8 connections
//! opened at once, one was never answered; a browser opens 6 at once for a page and its
//! assets). tiny_http also drops any `Connection` header from its own responses. So the
//! response is written here, ending with `Connection: close`, and the server closes what it
//! says it closes: the patched tiny_http reads one request per connection
//! (`Limits::keep_alive` false, see [`super::server::limits`]), so the connection's task ends
//! once the request is read and the socket closes once the response is written, whatever the
//! client does. On loopback, a connection per request costs nothing worth measuring.
//!
//! Every response says `Cache-Control: no-store` (a preview is always current, and stale
//! pages would miss the reload script's generation) and `X-Content-Type-Options: nosniff`.
//! None carries `Access-Control-Allow-Origin`.

use std::fs::File;
use std::io::{Read, Write};

use tiny_http::{Method, Request};

/// A response to write.
pub(super) struct Reply {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Body,
}

enum Body {
    Bytes(Vec<u8>),
    File(File, u64),
}

impl Reply {
    pub(super) fn bytes(
        status: u16,
        content_type: &'static str,
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        Reply {
            status,
            content_type,
            headers: Vec::new(),
            body: Body::Bytes(body.into()),
        }
    }

    pub(super) fn text(status: u16, body: &str) -> Reply {
        Reply::bytes(status, "text/plain; charset=utf-8", body)
    }

    pub(super) fn html(status: u16, html: String) -> Reply {
        Reply::bytes(status, "text/html; charset=utf-8", html)
    }

    /// A file, streamed: its length is taken now, from the open file, so a file replaced
    /// meanwhile (partial re-renders rename over it) is still sent whole, in its old version.
    pub(super) fn file(
        status: u16,
        content_type: &'static str,
        file: File,
    ) -> std::io::Result<Reply> {
        let length = file.metadata()?.len();
        Ok(Reply {
            status,
            content_type,
            headers: Vec::new(),
            body: Body::File(file, length),
        })
    }

    /// A redirect to a path on this server. `location` must be a plain absolute path: one
    /// leading `/` (never `//host`) and no control characters, or this is a 404 instead.
    pub(super) fn redirect(location: &str) -> Reply {
        let plain = location.starts_with('/')
            && !location.starts_with("//")
            && !location.chars().any(|c| c.is_control());
        if !plain {
            return Reply::text(404, "Not Found\n");
        }
        Reply::text(301, "Moved Permanently\n").with_header("Location", location)
    }

    pub(super) fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }

    /// Writes the response (without a body for HEAD) and lets the connection close. A client
    /// that went away meanwhile is not an error worth reporting.
    pub(super) fn send(self, request: Request) {
        let head_only = *request.method() == Method::Head;
        let mut writer = request.into_writer();
        let _ = self.write_to(&mut *writer, head_only);
    }

    fn write_to(self, writer: &mut dyn Write, head_only: bool) -> std::io::Result<()> {
        let length = match &self.body {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::File(_, length) => *length,
        };
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {length}\r\n{}",
            self.status,
            reason(self.status),
            self.content_type,
            COMMON_HEADERS
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        writer.write_all(head.as_bytes())?;
        if !head_only {
            match self.body {
                Body::Bytes(bytes) => writer.write_all(&bytes)?,
                Body::File(file, length) => {
                    std::io::copy(&mut file.take(length), writer)?;
                }
            }
        }
        writer.flush()
    }
}

/// The headers of every response, event streams included.
pub(super) const COMMON_HEADERS: &str =
    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n";

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(reply: Reply, head_only: bool) -> String {
        let mut out = Vec::new();
        reply.write_to(&mut out, head_only).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn responses_close_the_connection_and_head_has_no_body() {
        let text = written(Reply::text(404, "gone\n"), false);
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(text.contains("Content-Length: 5\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.ends_with("\r\n\r\ngone\n"));
        assert!(written(Reply::text(200, "body"), true).ends_with("\r\n\r\n"));
    }

    #[test]
    fn redirects_stay_on_this_server() {
        let ok = written(Reply::redirect("/notes/"), false);
        assert!(ok.contains("Location: /notes/\r\n"), "{ok}");
        for bad in ["//evil.example/", "http://evil/", "/a\r\nSet-Cookie: x=1"] {
            let text = written(Reply::redirect(bad), false);
            assert!(
                text.starts_with("HTTP/1.1 404") && !text.contains("Location"),
                "{bad}"
            );
        }
    }
}
