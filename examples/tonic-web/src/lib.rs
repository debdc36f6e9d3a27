//! A tonic gRPC service that browsers call through gRPC-web, with the CORS
//! behaviour of an Amazon S3 bucket in front of it.
//!
//! The stack, outermost first:
//!
//! 1. [`S3CorsLayer`]: answers every `OPTIONS` preflight itself, as S3 does
//!    (`200` with the CORS headers, or S3's `400`/`403` XML error), and adds
//!    the CORS headers (`Access-Control-Expose-Headers: grpc-status,
//!    grpc-message` among them) to every gRPC-web response whose origin and
//!    method a rule allows.
//! 2. [`tonic_web::GrpcWebLayer`]: translates gRPC-web (HTTP/1.1, trailers in
//!    the body) to gRPC and back.
//! 3. [`GreeterServer`]: one unary method, `greeter.Greeter/SayHello`, written
//!    by hand so that no `protoc` is needed.
//!
//! Run with `cargo run -p example-tonic-web -- --listen 127.0.0.1:50051`
//! (add `--cors FILE` to replace the embedded [`CORS_DOCUMENT`] with an S3
//! CORS document of your own, XML or JSON), then call it like a browser would:
//!
//! ```text
//! # HelloRequest { name: "world" }: field 1 (0x0a), length 5, "world",
//! # behind a gRPC-web data frame header (flag 0, 4-byte big-endian length 7).
//! printf '\x00\x00\x00\x00\x07\x0a\x05world' |
//!   curl -si --output - http://127.0.0.1:50051/greeter.Greeter/SayHello \
//!     -H 'content-type: application/grpc-web+proto' -H 'x-grpc-web: 1' \
//!     -H 'origin: http://example.test' --data-binary @-
//!
//! # The preflight a browser sends first:
//! curl -si -X OPTIONS http://127.0.0.1:50051/greeter.Greeter/SayHello \
//!   -H 'origin: http://example.test' \
//!   -H 'access-control-request-method: POST' \
//!   -H 'access-control-request-headers: content-type,x-grpc-web,x-user-agent'
//! ```
//!
//! The first answer is a `200` carrying `access-control-allow-origin: *` and
//! `access-control-expose-headers: grpc-status, grpc-message`, with a data
//! frame (the `HelloReply`) and a trailer frame (flag `0x80`, `grpc-status:0`)
//! in its body; the second is S3's empty `200` with
//! `access-control-allow-headers: content-type, x-grpc-web, x-user-agent` and
//! `access-control-max-age: 600`.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tonic_web::GrpcWebLayer;
use tower_s3_cors::{ConfigError, S3CorsLayer, SharedPolicy};

/// The CORS configuration served by default, in the AWS CLI's JSON shape:
/// any origin may `POST` with any request headers, the gRPC status trailers
/// are readable by scripts (gRPC-web puts them in the response headers of a
/// trailers-only answer), and browsers may cache a preflight for ten minutes.
pub const CORS_DOCUMENT: &str = r#"{"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["POST"], "AllowedHeaders": ["*"], "ExposeHeaders": ["grpc-status", "grpc-message"], "MaxAgeSeconds": 600}]}"#;

/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "greeter.Greeter";

/// The path of the one method, as it appears in the request line.
pub const SAY_HELLO_PATH: &str = "/greeter.Greeter/SayHello";

/// The message the service returns, as `INVALID_ARGUMENT`, for an empty name.
pub const EMPTY_NAME_MESSAGE: &str = "name must not be empty";

/// `message HelloRequest { string name = 1; }`
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct HelloRequest {
    /// Who to greet.
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `message HelloReply { string message = 1; }`
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct HelloReply {
    /// The greeting.
    #[prost(string, tag = "1")]
    pub message: String,
}

/// The business logic of `SayHello`: a greeting, or `INVALID_ARGUMENT` for
/// an empty name.
///
/// # Errors
///
/// [`Status::invalid_argument`] with [`EMPTY_NAME_MESSAGE`] when `name` is
/// empty.
pub fn say_hello(request: &HelloRequest) -> Result<HelloReply, Status> {
    if request.name.is_empty() {
        return Err(Status::invalid_argument(EMPTY_NAME_MESSAGE));
    }
    Ok(HelloReply {
        message: format!("Hello, {}!", request.name),
    })
}

/// The `greeter.Greeter` gRPC service, written by hand instead of generated
/// by `tonic-build`: it routes on the request path and lets
/// [`tonic::server::Grpc`] with the prost codec do the framing.
#[derive(Clone, Copy, Debug, Default)]
pub struct GreeterServer;

impl NamedService for GreeterServer {
    const NAME: &'static str = SERVICE_NAME;
}

/// A boxed response future, as tonic's generated servers use.
type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send + 'static>>;

impl tower_service::Service<http::Request<Body>> for GreeterServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path() == SAY_HELLO_PATH {
            Box::pin(async move {
                let mut grpc = Grpc::new(ProstCodec::<HelloReply, HelloRequest>::default());
                Ok(grpc.unary(SayHello, request).await)
            })
        } else {
            // Another method of this service: a trailers-only UNIMPLEMENTED.
            let status = Status::unimplemented(format!(
                "unknown method {} of {SERVICE_NAME}",
                request.uri().path()
            ));
            Box::pin(ready(Ok(status.into_http())))
        }
    }
}

/// `SayHello` as tonic's unary handler.
#[derive(Clone, Copy, Debug)]
struct SayHello;

impl UnaryService<HelloRequest> for SayHello {
    type Response = HelloReply;
    type Future = Ready<Result<Response<HelloReply>, Status>>;

    fn call(&mut self, request: Request<HelloRequest>) -> Self::Future {
        ready(say_hello(request.get_ref()).map(Response::new))
    }
}

/// The policy built from the embedded [`CORS_DOCUMENT`].
///
/// # Panics
///
/// Never: the embedded document is valid (a unit test checks it).
#[must_use]
pub fn default_policy() -> SharedPolicy {
    match SharedPolicy::from_document(CORS_DOCUMENT) {
        Ok(policy) => policy,
        Err(error) => unreachable!("the embedded CORS document is invalid: {error}"),
    }
}

/// A policy from an S3 CORS document (XML `CORSConfiguration`, or either of
/// the JSON shapes), for `--cors FILE`.
///
/// # Errors
///
/// The document's S3 validation error.
pub fn policy_from_document(document: &str) -> Result<SharedPolicy, ConfigError> {
    SharedPolicy::from_document(document)
}

/// Serves the gRPC-web greeter with the embedded CORS configuration on
/// `listener`, forever (it returns only if the server fails).
///
/// # Errors
///
/// The server's failure, as an [`io::Error`].
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    serve_with_shutdown(listener, default_policy(), std::future::pending()).await
}

/// Serves the gRPC-web greeter on `listener` with `policy` until `shutdown`
/// completes, then waits for open connections to finish.
///
/// `policy` is hot-swappable: keep a clone and call
/// [`SharedPolicy::put_document`] (or `delete_document`) to change the CORS rules of
/// the running server.
///
/// # Errors
///
/// The server's failure, as an [`io::Error`].
pub async fn serve_with_shutdown(
    listener: TcpListener,
    policy: SharedPolicy,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        // Browsers' gRPC-web goes over HTTP/1.1 here (no TLS, so no ALPN
        // to negotiate h2); HTTP/2 gRPC clients keep working alongside.
        .accept_http1(true)
        // Layers added first wrap those added later, so the S3 layer sees
        // every request before tonic-web does. That order matters:
        //
        // - tonic-web 0.14 has no CORS handling of its own (versions up to
        //   0.11 composed a CORS layer into `tonic_web::enable`; 0.12 dropped
        //   it), and it answers any HTTP/1.1 request that is not gRPC-web,
        //   preflights included, with a bare `400`. With the S3 layer
        //   outside, every `OPTIONS` is answered by S3's rules (`200` with
        //   the CORS headers, or S3's XML `403`/`400`) and never reaches
        //   tonic-web or the service.
        // - On actual requests the S3 layer adds its headers to the response
        //   tonic-web has already translated back to gRPC-web, so clients
        //   see S3's `Access-Control-*` and `Vary` headers and nothing else.
        //   Do not add `tower_http::cors::CorsLayer` (what tonic-web's docs
        //   suggest) anywhere in this stack: it would answer preflights
        //   first, or add a second, different set of headers.
        .layer(S3CorsLayer::new(policy))
        .layer(GrpcWebLayer::new())
        .add_service(GreeterServer)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_document_is_valid_and_configured() {
        assert!(SharedPolicy::from_document(CORS_DOCUMENT).is_ok());
        assert!(default_policy().is_configured());
    }

    #[test]
    fn say_hello_greets_and_rejects_empty_names() {
        let reply = say_hello(&HelloRequest {
            name: "world".into(),
        });
        assert_eq!(
            reply.map(|r| r.message).ok().as_deref(),
            Some("Hello, world!")
        );

        let status = say_hello(&HelloRequest::default()).err();
        assert_eq!(
            status.as_ref().map(Status::code),
            Some(tonic::Code::InvalidArgument)
        );
        assert_eq!(
            status.as_ref().map(Status::message),
            Some(EMPTY_NAME_MESSAGE)
        );
    }
}
