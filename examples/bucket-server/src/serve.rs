//! Serving the app over HTTP/1.1 with hyper, and shutting down cleanly.

use std::future::Future;
use std::io;
use std::time::Duration;

use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt as _};

use crate::app::{AppResponse, AppService, app};
use crate::config::Config;

/// How long open connections get to finish their requests after a shutdown
/// signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The largest request head (request line and headers) a connection reads:
/// 16 KiB. S3 refuses header sections over 8 KiB; the CORS layer answers an
/// `Access-Control-Request-Headers` over 8 KiB itself, S3-style
/// (`400 RequestHeaderSectionTooLarge`), as long as the head fits here.
/// A larger head gets hyper's `431 Request Header Fields Too Large` and the
/// connection is closed, before any of it reaches the service: what one
/// stalled connection holds stays bounded (hyper's default is about
/// 400 KiB).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The most header lines a request may carry: more get `431` from hyper.
/// 100 is hyper's default, set here so that the limit is stated and stays.
pub const MAX_HEADERS: usize = 100;

/// Serves `config` on `listener` until the process ends.
///
/// # Errors
///
/// As [`serve_with_shutdown`].
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    serve_with_shutdown(listener, config, std::future::pending()).await
}

/// Serves `config` on `listener` until `signal` completes, then stops
/// accepting, lets open connections finish (idle keep-alive connections are
/// closed at once, requests in flight get up to ten seconds) and returns
/// `Ok(())`.
///
/// Each connection is served by hyper's HTTP/1.1 server on its own task,
/// with a request head of at most [`MAX_HEADER_BYTES`] in at most
/// [`MAX_HEADERS`] lines (more gets `431`), read within hyper's default
/// 30 seconds.
///
/// ```no_run
/// use example_bucket_server::{Config, serve_with_shutdown};
///
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(serve_with_shutdown(listener, Config::demo(), async {
///     let _ = stopped.await;
/// }));
/// // … send requests to http://{addr}/demo/ …
/// let _ = stop.send(());
/// server.await??;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// Only when the listener itself is unusable (it is not listening). Errors
/// accepting one connection (a reset, too many open files) are reported on
/// stderr and the server goes on.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    config: Config,
    signal: F,
) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    let service = logging_503s(app(&config));
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);

    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut signal => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) if error.kind() == io::ErrorKind::InvalidInput => return Err(error),
            Err(error) => {
                // Probably out of file descriptors: wait a little, retry.
                tracing::warn!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .max_header_size(MAX_HEADER_BYTES)
            .max_headers(MAX_HEADERS)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(service.clone()),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away mid-request is not the server's
            // problem; nothing to report.
            let _ = connection.await;
        });
    }

    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
}

/// `service`, with a warning for every `503 ServiceUnavailable` it answers
/// (the CORS store could not be reached: the store's own log says why).
fn logging_503s(
    service: AppService<Incoming>,
) -> impl Service<
    Request<Incoming>,
    Response = AppResponse,
    Error = std::convert::Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |request: Request<Incoming>| {
        let (method, target) = (request.method().clone(), request.uri().clone());
        let answer = service.clone().oneshot(request);
        async move {
            let response = answer.await?;
            if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                let id = response
                    .headers()
                    .get("x-amz-request-id")
                    .and_then(|id| id.to_str().ok())
                    .unwrap_or("-");
                tracing::warn!(
                    "{method} {target}: answered 503 ServiceUnavailable (request {id}): the CORS \
                     store cannot be reached; for a ?cors write the outcome is unknown until a \
                     retry answers"
                );
            }
            Ok(response)
        }
    })
}

/// Errors that concern one connection only.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A future that completes on Ctrl-C (`SIGINT`) or `SIGTERM`.
///
/// The handlers are installed when this function is called (not when the
/// future is first polled), so a signal that arrives right after, even
/// before the server starts, is not lost. Call it inside a tokio runtime.
///
/// # Errors
///
/// When the signal handlers cannot be installed.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // SIGINT is what `tokio::signal::ctrl_c` waits for on Unix; taking
        // the stream here registers the handler right away.
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
