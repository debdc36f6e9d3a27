//! S3 vocabulary shared by the layers: [`ResourceType`], [`AmzRequestIds`],
//! and the XML error answers S3 gives.
//!
//! This module knows nothing of policy sources or of tower.

mod error;
mod request_ids;
mod resource;

pub use request_ids::AmzRequestIds;
pub use resource::ResourceType;

pub(crate) use error::{ErrorAnswer, S3Error, messages};
