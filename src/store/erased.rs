//! The stores, boxed: what the read-through source holds, whatever store
//! and existence check it was built with.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use futures_core::Stream;

use super::{BucketExists, Change, CorsStore, Lookup, Version};
use crate::source::BucketError;

/// A boxed operation.
pub(crate) type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, BucketError>> + Send + 'a>>;

/// A [`CorsStore`] behind a pointer.
pub(crate) trait DynStore: Send + Sync + fmt::Debug {
    fn get<'a>(&'a self, bucket: &'a str) -> Boxed<'a, Lookup>;
    fn put<'a>(&'a self, bucket: &'a str, document: &'a str) -> Boxed<'a, Version>;
    fn delete<'a>(&'a self, bucket: &'a str) -> Boxed<'a, Version>;
    fn changes(&self) -> Option<Pin<Box<dyn Stream<Item = Change> + Send>>>;
}

impl<T: CorsStore> DynStore for T {
    fn get<'a>(&'a self, bucket: &'a str) -> Boxed<'a, Lookup> {
        Box::pin(CorsStore::get(self, bucket))
    }

    fn put<'a>(&'a self, bucket: &'a str, document: &'a str) -> Boxed<'a, Version> {
        Box::pin(CorsStore::put(self, bucket, document))
    }

    fn delete<'a>(&'a self, bucket: &'a str) -> Boxed<'a, Version> {
        Box::pin(CorsStore::delete(self, bucket))
    }

    fn changes(&self) -> Option<Pin<Box<dyn Stream<Item = Change> + Send>>> {
        CorsStore::changes(self).map(|stream| Box::pin(stream) as Pin<Box<_>>)
    }
}

/// A [`BucketExists`] behind a pointer.
pub(crate) trait DynExists: Send + Sync {
    fn exists<'a>(&'a self, bucket: &'a str) -> Boxed<'a, bool>;
}

impl<T: BucketExists> DynExists for T {
    fn exists<'a>(&'a self, bucket: &'a str) -> Boxed<'a, bool> {
        Box::pin(BucketExists::exists(self, bucket))
    }
}
