//! Origin A: serves the test page and its script, takes the page's results
//! and runs the test's control actions (such as a policy swap) on request.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use crate::s3_server::bind_loopback;

/// What the page sent.
#[derive(Debug)]
pub enum PageEvent {
    /// `POST /report`: one case's observations (JSON).
    Report(serde_json::Value),
    /// `POST /done`: every case has reported.
    Done,
    /// `POST /log`: a line from the page (script errors, progress).
    Log(String),
}

/// A control action the page asks for with `POST /control/<name>`; its
/// answer goes back to the page (`Err` as a `500`).
pub type Control = Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

/// The page server's content.
#[derive(Clone, Debug)]
pub struct Page {
    /// The HTML served at `/`.
    pub html: String,
    /// The script served at `/cases.js`.
    pub script: String,
}

/// Starts the page server on the current tokio runtime. Returns its address
/// and the stream of what the page posts.
///
/// # Errors
///
/// Binding the listener failed.
pub async fn start(page: Page, control: Control) -> io::Result<(SocketAddr, Receiver<PageEvent>)> {
    let listener = bind_loopback().await?;
    let addr = listener.local_addr()?;
    let (events, received) = channel();
    let page = Arc::new(page);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let page = page.clone();
            let control = control.clone();
            let events = events.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let page = page.clone();
                let control = control.clone();
                let events = events.clone();
                async move { Ok::<_, Infallible>(route(&page, &control, &events, request).await) }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((addr, received))
}

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

async fn route(
    page: &Page,
    control: &Control,
    events: &Sender<PageEvent>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = "text/plain; charset=utf-8";
    match (method, path.as_str()) {
        (Method::GET, "/") => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            page.html.clone(),
        ),
        (Method::GET, "/cases.js") => reply(
            StatusCode::OK,
            "text/javascript; charset=utf-8",
            page.script.clone(),
        ),
        (Method::POST, "/report") => match serde_json::from_slice(&body) {
            Ok(value) => {
                let _ = events.send(PageEvent::Report(value));
                reply(StatusCode::NO_CONTENT, text, Bytes::new())
            }
            Err(err) => {
                let _ = events.send(PageEvent::Log(format!("unreadable report: {err}")));
                reply(StatusCode::BAD_REQUEST, text, err.to_string())
            }
        },
        (Method::POST, "/done") => {
            let _ = events.send(PageEvent::Done);
            reply(StatusCode::NO_CONTENT, text, Bytes::new())
        }
        (Method::POST, "/log") => {
            let _ = events.send(PageEvent::Log(String::from_utf8_lossy(&body).into_owned()));
            reply(StatusCode::NO_CONTENT, text, Bytes::new())
        }
        (Method::POST, action) if action.starts_with("/control/") => {
            let name = action.trim_start_matches("/control/");
            match control(name) {
                Ok(answer) => reply(StatusCode::OK, text, answer),
                Err(err) => reply(StatusCode::INTERNAL_SERVER_ERROR, text, err),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, text, "not found"),
    }
}
