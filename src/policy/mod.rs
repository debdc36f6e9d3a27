//! The compiled rule engine: [`Policy`], [`CorsRequest`], [`Decision`] and
//! [`Explanation`].
//!
//! This layer knows nothing of tower or I/O. Everything that depends only on
//! the configuration (patterns split and lower-cased, methods as bits, the
//! `Access-Control-Allow-Methods`, `-Expose-Headers` and `-Max-Age` values,
//! an index of exact origins) is computed once in [`Policy::compile`];
//! [`Policy::evaluate`] only compares bytes.

mod decision;
mod engine;
mod explain;
mod index;
mod pattern;
mod request;
mod rule;

#[cfg(test)]
mod tests;

pub use decision::{Allowed, Decision, Refusal};
pub use engine::Policy;
pub use explain::{Explanation, RuleOutcome, RuleVerdict};
pub use request::CorsRequest;

pub(crate) use engine::Compiled;
pub(crate) use request::origin;
