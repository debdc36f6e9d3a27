//! The compiled rule engine: [`Policy`], [`CorsRequest`], what it decides
//! ([`Allowed`] or a [`Refusal`]) and why ([`Explanation`]).
//!
//! This layer knows nothing of tower or I/O. Everything that depends only on
//! the configuration (patterns split and lower-cased, methods as bits, the
//! `Access-Control-Allow-Methods`, `-Expose-Headers` and `-Max-Age` values,
//! hash indexes of the origins and of each rule's `AllowedHeader`s, exact
//! or with a `*`) is computed once in [`Policy::compile`];
//! [`Policy::evaluate`] only hashes and compares bytes. [`Policy::explain`] makes the
//! same walk over the rules, watched, and says what each rule made of the
//! request.

mod allow_headers;
pub(crate) mod ascii;
mod compiled;
mod decision;
mod document;
mod engine;
mod explain;
mod index;
mod pattern;
mod refusal;
mod request;
mod rule;
mod table;

#[cfg(test)]
mod tests;

pub use decision::Allowed;
pub use engine::Policy;
pub use explain::{Explanation, RuleVerdict};
pub use refusal::Refusal;
pub use request::{CorsRequest, MAX_REQUEST_HEADERS_BYTES};

pub(crate) use allow_headers::AllowHeadersCache;
pub(crate) use compiled::Compiled;
pub(crate) use request::origin;
