//! A tiny blocking HTTP/1.1 client: one request per connection
//! (`Connection: close`), sent exactly as built, and the whole answer read
//! back with its headers in order (duplicates kept).
//!
//! ```no_run
//! use tower_s3_cors_test_support::http::{preflight, request};
//!
//! let answer = preflight("/demo/a", "https://app.example", "PUT").send("127.0.0.1:8080");
//! assert_eq!(answer.status, 200);
//! let stored = request("PUT", "/demo?cors").body("<CORSConfiguration/>").send("127.0.0.1:8080");
//! assert_eq!(stored.status, 400);
//! ```

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

/// How long connecting, sending or reading may take before a test fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A request to send.
#[derive(Clone, Debug)]
pub struct Request {
    method: String,
    target: String,
    host: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A request for `method` on `target`: a path and query, or a whole
/// `http://HOST/PATH` URL whose authority becomes the `Host` header (for
/// virtual-hosted buckets; it is still sent to the address given to
/// [`send`](Request::send)).
#[must_use]
pub fn request(method: &str, target: &str) -> Request {
    let (host, target) = match target.strip_prefix("http://") {
        Some(rest) => {
            let slash = rest.find('/').unwrap_or(rest.len());
            let (host, path) = rest.split_at(slash);
            let path = if path.is_empty() { "/" } else { path };
            (Some(host.to_owned()), path.to_owned())
        }
        None => (None, target.to_owned()),
    };
    Request {
        method: method.to_owned(),
        target,
        host,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// A browser's preflight for `method` on `target` from `origin`.
#[must_use]
pub fn preflight(target: &str, origin: &str, method: &str) -> Request {
    request("OPTIONS", target)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
}

impl Request {
    /// Adds a header (sent as given, after `Host` and `Connection`).
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the `Host` header (default: the address the request is sent to).
    #[must_use]
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// Sets the body. A `Content-Length` is sent with a body, and always
    /// with `PUT` and `POST`.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the request to `addr` (`HOST:PORT`) over a new connection and
    /// reads the whole answer.
    ///
    /// # Panics
    ///
    /// When the server cannot be reached or its answer is not HTTP/1.1.
    #[must_use]
    pub fn send(&self, addr: &str) -> Response {
        self.try_send(addr).expect("an answer from the server")
    }

    /// As [`send`](Self::send), with an error when the server cannot be
    /// reached or the connection breaks (a server being killed).
    ///
    /// # Errors
    ///
    /// The I/O error.
    ///
    /// # Panics
    ///
    /// When what comes back is not HTTP/1.1.
    pub fn try_send(&self, addr: &str) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.method,
            self.target,
            self.host.as_deref().unwrap_or(addr)
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !self.body.is_empty() || matches!(self.method.as_str(), "PUT" | "POST") {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(&self.body)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        if raw.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(Response::parse(&raw, self.method == "HEAD"))
    }
}

/// An answer.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// Parses a whole answer (a `HEAD` answer has no body, whatever its
    /// headers say).
    ///
    /// # Panics
    ///
    /// When `raw` is not an HTTP/1.1 answer.
    #[must_use]
    pub fn parse(raw: &[u8], head_only: bool) -> Self {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(raw)));
        let (head, rest) = raw.split_at(split);
        let head = std::str::from_utf8(head).expect("an ASCII head");
        let rest = rest.get(4..).unwrap_or_default();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad header line {line:?}"));
                (name.trim().to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        let body = if head_only {
            Vec::new()
        } else if chunked {
            dechunk(rest)
        } else {
            rest.to_vec()
        };
        Self {
            status,
            headers,
            body,
        }
    }

    /// The only value of header `name`.
    ///
    /// # Panics
    ///
    /// When the header appears more than once.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        let all = self.header_all(name);
        assert!(
            all.len() <= 1,
            "{name} appears {} times: {all:?}",
            all.len()
        );
        all.first().copied()
    }

    /// Every value of header `name`, in order.
    #[must_use]
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether any `Access-Control-*` header is present.
    #[must_use]
    pub fn has_cors_headers(&self) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.starts_with("access-control-"))
    }

    /// The body as text.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Decodes a chunked body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let (size_line, rest) = raw.split_at(line_end);
        let size_text = String::from_utf8_lossy(size_line);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).expect("a hex chunk size");
        if size == 0 {
            return body;
        }
        let chunk = rest.get(2..2 + size).expect("a whole chunk");
        body.extend_from_slice(chunk);
        raw = rest.get(2 + size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_with_their_headers_in_order_and_chunks_joined() {
        let raw = b"HTTP/1.1 200 OK\r\nVary: a\r\nTransfer-Encoding: chunked\r\nvary: b\r\n\r\n\
                    3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let response = Response::parse(raw, false);
        assert_eq!(response.status, 200);
        assert_eq!(response.header_all("Vary"), ["a", "b"]);
        assert_eq!(response.text(), "abcde");
        assert!(Response::parse(raw, true).body.is_empty());
    }

    #[test]
    fn a_url_target_sets_the_host() {
        let sent = request("GET", "http://photos.localhost:9/a?b");
        assert_eq!(sent.host.as_deref(), Some("photos.localhost:9"));
        assert_eq!(sent.target, "/a?b");
        assert_eq!(request("GET", "http://h").target, "/");
    }
}
