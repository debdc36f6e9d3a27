//! [`ResourceType`]: a bucket root or an object.

/// Whether a URL names a bucket's root or an object in it: S3 reports it in
/// the `<ResourceType>` of a refused preflight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// The bucket root (`BUCKET`).
    Bucket,
    /// An object, existing or not (`OBJECT`).
    Object,
}

impl ResourceType {
    /// `"BUCKET"` or `"OBJECT"`, as in S3's error XML.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bucket => "BUCKET",
            Self::Object => "OBJECT",
        }
    }

    /// The resource named by the part of a path after the bucket: empty or
    /// `/` is the bucket root, anything else an object.
    ///
    /// ```
    /// use tower_s3_cors::s3::ResourceType;
    /// assert_eq!(ResourceType::from_key_path("/"), ResourceType::Bucket);
    /// assert_eq!(ResourceType::from_key_path(""), ResourceType::Bucket);
    /// assert_eq!(ResourceType::from_key_path("/photos/cat.jpg"), ResourceType::Object);
    /// ```
    #[must_use]
    pub fn from_key_path(path: &str) -> Self {
        if path.is_empty() || path == "/" {
            Self::Bucket
        } else {
            Self::Object
        }
    }
}
