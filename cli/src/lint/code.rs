//! The lint codes: name, severity, one-line summary and the text of
//! `lint --explain CODE`.

use serde::Serialize;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    /// Worth knowing; harmless or often deliberate.
    Info,
    /// Almost certainly not what was meant: part of the document has no
    /// effect, or lets in more than it seems to.
    Warning,
    /// S3 refuses the document.
    Error,
}

impl Severity {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// Defines [`Code`]: each variant with its name and severity, in the order
/// of the documentation.
macro_rules! codes {
    ($($code:ident $name:literal $severity:ident,)*) => {
        /// Every lint code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Code {
            $($code,)*
        }

        impl Code {
            /// All codes, in the order of the documentation.
            pub(crate) const ALL: &[Self] = &[$(Self::$code,)*];

            /// The stable name used in output, `--allow` and `--explain`.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Self::$code => $name,)*
                }
            }

            pub(crate) fn severity(self) -> Severity {
                match self {
                    $(Self::$code => Severity::$severity,)*
                }
            }
        }
    };
}

codes! {
    InvalidDocument "invalid-document" Error,
    ShadowedRule "shadowed-rule" Warning,
    OriginTrailingSlash "origin-trailing-slash" Warning,
    OriginHasPath "origin-has-path" Warning,
    OriginNotLowercase "origin-not-lowercase" Warning,
    OriginDefaultPort "origin-default-port" Warning,
    OriginNotAscii "origin-not-ascii" Warning,
    OriginNoScheme "origin-no-scheme" Warning,
    OriginWhitespace "origin-whitespace" Warning,
    OriginList "origin-list" Warning,
    OriginEmpty "origin-empty" Warning,
    OriginFileScheme "origin-file-scheme" Warning,
    OriginNull "origin-null" Warning,
    OriginEverySite "origin-every-site" Warning,
    OriginAnyoneCanHost "origin-anyone-can-host" Warning,
    PreflightWithoutHeaders "preflight-without-headers" Warning,
    UploadWithoutContentType "upload-without-content-type" Warning,
    ExposeHeaderIsMethod "expose-header-is-method" Warning,
    DuplicateEntry "duplicate-entry" Info,
    RedundantEntry "redundant-entry" Info,
    HeaderNeverRequested "header-never-requested" Info,
    PublicWrite "public-write" Info,
    HttpOriginWrites "http-origin-writes" Info,
    WildcardOriginCredentials "wildcard-origin-credentials" Info,
    EtagNotExposed "etag-not-exposed" Info,
    MaxAgeOverBrowserCap "max-age-over-browser-cap" Info,
}

impl Code {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// One line: what the code reports.
    pub(crate) fn summary(self) -> &'static str {
        match self {
            Self::InvalidDocument => "S3 refuses the document (nothing else is checked)",
            Self::ShadowedRule => {
                "an earlier rule matches every request this rule matches: it never decides"
            }
            Self::OriginTrailingSlash => "an AllowedOrigin ends with '/': it never matches",
            Self::OriginHasPath => {
                "an AllowedOrigin has a path, query or fragment: it never matches"
            }
            Self::OriginNotLowercase => "an AllowedOrigin has upper case: it never matches",
            Self::OriginDefaultPort => {
                "an AllowedOrigin names the scheme's default port: it never matches"
            }
            Self::OriginNotAscii => {
                "an AllowedOrigin has a Unicode host (browsers send xn--): it never matches"
            }
            Self::OriginNoScheme => "an AllowedOrigin has no scheme: it never matches",
            Self::OriginWhitespace => {
                "an AllowedOrigin starts or ends with white space: it never matches"
            }
            Self::OriginList => {
                "several origins in one AllowedOrigin (a comma or a space): none matches"
            }
            Self::OriginEmpty => "an empty AllowedOrigin: it never matches",
            Self::OriginFileScheme => {
                "a file:// AllowedOrigin: file pages send Origin: null, so it never matches"
            }
            Self::OriginNull => "the origin null is allowed (any site can send it)",
            Self::OriginEverySite => {
                "https://* or http://*: every site, answered with credentials (wider than *)"
            }
            Self::OriginAnyoneCanHost => {
                "a wildcard matches hosts strangers can get (*.vercel.app, *example.com, ...)"
            }
            Self::PreflightWithoutHeaders => {
                "PUT without AllowedHeader: uploads list content-type, and are refused"
            }
            Self::UploadWithoutContentType => {
                "PUT whose AllowedHeaders do not admit content-type: uploads are refused"
            }
            Self::ExposeHeaderIsMethod => {
                "an ExposeHeader is a method name (GET, PUT, ...): AllowedMethod was meant"
            }
            Self::DuplicateEntry => "the same origin, method or header twice in one rule",
            Self::RedundantEntry => {
                "an entry another entry of the same rule covers (an origin beside *)"
            }
            Self::HeaderNeverRequested => {
                "an AllowedHeader browsers never list (Host, Origin, Cookie, ...)"
            }
            Self::PublicWrite => "the origin * may PUT, POST or DELETE",
            Self::HttpOriginWrites => "an http:// origin may write, beside its https:// twin",
            Self::WildcardOriginCredentials => {
                "a wildcard origin is answered with Access-Control-Allow-Credentials: true"
            }
            Self::EtagNotExposed => {
                "PUT without ExposeHeader ETag: browser uploads in parts cannot complete"
            }
            Self::MaxAgeOverBrowserCap => "MaxAgeSeconds is above what browsers honour",
        }
    }

    /// What `--explain CODE` prints.
    pub(crate) fn explanation(self) -> &'static str {
        match self {
            Self::InvalidDocument => {
                "S3's PutBucketCors would refuse the document. The finding carries S3's \
                 error code and message, the rule, field and value at fault, the line and \
                 column when the document does not have the shape of a CORS configuration, \
                 and how to fix it (for OPTIONS in AllowedMethod: remove it, S3 answers \
                 preflights itself). The other checks need a valid document, so none runs. \
                 Fix the error first (`s3-cors validate` says the same). S3's 64 KiB limit \
                 is measured on the document as S3's XML, which is what PutBucketCors \
                 receives, whatever shape the file is in."
            }
            Self::ShadowedRule => {
                "Rules are tried in order and the first that matches decides. An earlier \
                 rule matches every request this one matches: every origin pattern of this \
                 rule is covered by an origin pattern of the earlier rule (origins compared \
                 byte for byte), each of its methods is one of the earlier rule's, and \
                 every header it admits the earlier rule admits too (header names compared \
                 without regard to case). So this rule never decides a request, and \
                 editing it changes nothing. The check is exact where it reports: it never \
                 flags a rule that can decide a request (a rule covered only by several \
                 earlier rules together is not flagged). Fix: remove the rule, or move it \
                 before the rule that shadows it if its answer (methods, exposed headers, \
                 max age) should win."
            }
            Self::OriginTrailingSlash => {
                "A browser's Origin is scheme://host[:port], never followed by '/'. S3 \
                 compares origins byte for byte, so \"https://app.example.com/\" matches no \
                 request. Fix: drop the '/'."
            }
            Self::OriginHasPath => {
                "A browser's Origin has no path, query or fragment: the only '/' \
                 characters are the two of \"://\". An AllowedOrigin such as \
                 \"https://example.com/app\" never matches. Patterns with '*' are flagged \
                 only when no origin can fill the '*' (\"*/app\" is not flagged: \
                 \"https://app\" matches it). Fix: keep scheme://host[:port]."
            }
            Self::OriginNotLowercase => {
                "Browsers lower-case the scheme and host of an Origin, and S3 compares \
                 origins byte for byte, so \"https://App.example.com\" never matches. Fix: \
                 write it in lower case."
            }
            Self::OriginDefaultPort => {
                "Browsers leave the scheme's default port out of Origin (80 for http and ws, \
                 443 for https and wss, 21 for ftp), so \"https://example.com:443\" never \
                 matches. Fix: drop the port."
            }
            Self::OriginNotAscii => {
                "Browsers send an internationalised host in its ASCII form (Punycode, \
                 xn--...): \"https://bücher.example\" arrives as \
                 \"https://xn--bcher-kva.example\", so the Unicode spelling never matches. \
                 Fix: the suggested value is the Punycode spelling (for ordinary names; \
                 check unusual ones with `new URL(...).origin` in a browser)."
            }
            Self::OriginNoScheme => {
                "Every Origin a browser sends other than null starts with a scheme and \
                 \"://\". \"example.com\" or \"localhost:4200\" never matches (a pattern \
                 that starts with '*', such as \"*.example.com\", is fine). Fix: add the \
                 scheme (https://...)."
            }
            Self::OriginWhitespace => {
                "S3 keeps an AllowedOrigin as written, white space included, and compares it \
                 byte for byte; an Origin never holds white space. A value with a space at \
                 its end, or an XML element indented over several lines \
                 (<AllowedOrigin>\\n  https://app.example.com\\n</AllowedOrigin>), never \
                 matches. Fix: the value trimmed."
            }
            Self::OriginList => {
                "One AllowedOrigin holds one origin or pattern. \
                 \"https://a.example,https://b.example\" (or the two separated by a space) \
                 is compared as one text, and neither origin matches it. Fix: one \
                 AllowedOrigin per origin (the fix lists them)."
            }
            Self::OriginEmpty => {
                "S3 accepts an empty AllowedOrigin, and it matches nothing: a browser never \
                 sends an empty Origin. Often a leftover of a template or of a variable that \
                 was not set. Fix: remove it, or put the origin meant."
            }
            Self::OriginFileScheme => {
                "A page opened from a file (file:///home/me/index.html) sends Origin: null, \
                 never file://..., so this AllowedOrigin never matches. Allowing \"null\" \
                 instead would let any website in (see origin-null). Fix: remove it and open \
                 the page from a local web server (http://localhost:8080)."
            }
            Self::OriginNull => {
                "Origin: null is sent by sandboxed iframes, file: pages, data: URLs and \
                 some cross-origin redirects. Any website can send it (by sandboxing an \
                 iframe), and S3 answers it with Access-Control-Allow-Origin: null and \
                 Access-Control-Allow-Credentials: true: it is wider than \"*\", which \
                 at least forbids credentials. Fix: remove it and serve the page from a \
                 real origin."
            }
            Self::OriginEverySite => {
                "\"https://*\" matches every https site (\"http://*\" every http one, \
                 \"https://*:8443\" every site on that port). It reads like a restriction but \
                 restricts nothing, and unlike \"*\" it makes S3 answer each site with its own \
                 origin and Access-Control-Allow-Credentials: true. A warning, like \
                 origin-null: the value claims a limit it does not make. Fix: list the \
                 origins meant, or write \"*\" if every site is meant (then no credentials)."
            }
            Self::OriginAnyoneCanHost => {
                "The '*' of this AllowedOrigin covers hosts that strangers can get, and S3 \
                 answers each with credentials. Three ways: the text after the '*' is a \
                 public suffix, or has public suffixes under it (\"https://*.vercel.app\", \
                 \"*.github.io\", \"*.netlify.app\", \"*.railway.app\", \"*.com\": anyone can \
                 publish or register there; the Public Suffix List, from the psl crate, is \
                 the data); the '*' stops inside a name (\"https://*example.com\" also \
                 matches https://attackerexample.com); or nothing follows the '*' \
                 (\"https://app.example.com*\" also matches \
                 https://app.example.com.attacker.net). A warning: the value means \"my \
                 hosts\", and lets in other people's. Fix: list your own hosts \
                 (\"https://myapp.vercel.app\"), put the dot back (\"https://*.example.com\"), \
                 or end the pattern with your domain."
            }
            Self::PreflightWithoutHeaders => {
                "A rule allows PUT but has no AllowedHeader, so it admits only preflights \
                 that list no header. A browser's PUT of a file or a JSON body lists \
                 content-type in its preflight (Content-Type is listed unless it is one of \
                 the three form types), and a request an AWS SDK signs lists authorization \
                 and x-amz-*: those preflights are refused. POST is not flagged: an S3 \
                 POST-policy upload from a form sends no preflight. Fix: add AllowedHeader \
                 \"content-type\" (and the headers your client sends), or \"*\"."
            }
            Self::UploadWithoutContentType => {
                "A rule allows PUT and lists AllowedHeaders, but none admits content-type. \
                 A browser's PUT of a file (its type known), a Blob with a type or a JSON \
                 body lists content-type in its preflight, so the upload is refused before \
                 it starts. Fix: add AllowedHeader \"content-type\". POST is not flagged: \
                 form uploads (multipart/form-data) do not list it."
            }
            Self::ExposeHeaderIsMethod => {
                "An ExposeHeader is a method name (GET, PUT, POST, DELETE, HEAD, ...): no \
                 response carries a header of that name, so it exposes nothing, and \
                 Access-Control-Expose-Headers: GET, PUT is what S3 sends. The methods were \
                 meant for AllowedMethod, and the header the page needs (often ETag) is \
                 probably missing. Fix: move the methods to AllowedMethod, and expose the \
                 response headers the page reads."
            }
            Self::DuplicateEntry => {
                "The same AllowedOrigin, AllowedMethod, AllowedHeader or ExposeHeader \
                 appears twice in one rule (headers compared without regard to case). \
                 Harmless, but a sign of a copy-and-paste slip; a repeated ExposeHeader \
                 is sent twice in Access-Control-Expose-Headers. Fix: remove the repeat."
            }
            Self::RedundantEntry => {
                "Another entry of the same rule matches everything this one matches: an \
                 origin beside \"*\", a header beside \"*\", \"https://app.example.com\" \
                 beside \"https://*.example.com\". Removing it changes no answer. Beside \
                 \"*\" in AllowedOrigin, note that the exact origin gets no credentials: with \
                 \"*\" in a rule, S3 answers every origin with \"*\". Fix: remove the entry \
                 (or move the exact origin to a rule of its own, before, if it should get \
                 credentials)."
            }
            Self::HeaderNeverRequested => {
                "Browsers list in Access-Control-Request-Headers only headers a script may \
                 set. Host, Origin, Cookie, Content-Length, Referer, Connection, the \
                 Access-Control-Request-* headers and others (the Fetch standard's \
                 forbidden request headers, and every name starting with Sec- or Proxy-) \
                 are set by the browser itself, so they are never listed: allowing them \
                 changes nothing. Harmless. Fix: remove them."
            }
            Self::PublicWrite => {
                "A rule lets the origin \"*\" use PUT, POST or DELETE: scripts on any \
                 website may send those requests to this resource from a visitor's \
                 browser. S3 still checks every request's signature (this is the usual \
                 set-up for browser uploads with presigned URLs), so it is information, \
                 not a warning; behind a service that trusts the browser instead (cookies, \
                 network position) list the origins that write. Fix: list the origins."
            }
            Self::HttpOriginWrites => {
                "A rule that allows PUT, POST or DELETE lists both http://host and \
                 https://host. A page served over plain http can be altered by anyone on \
                 its network path (a public Wi-Fi), and its scripts may then write. S3 \
                 checks a signature on every write, as for public-write, so this is \
                 information; for a cookie-authenticated service use --deny info. Sites \
                 that have https redirect http to it, so the http entry is usually a \
                 leftover. Loopback hosts (localhost, 127.0.0.1) are not flagged. Fix: \
                 remove the http:// origin."
            }
            Self::WildcardOriginCredentials => {
                "For an AllowedOrigin with a '*' other than \"*\" itself \
                 (\"https://*.example.com\"), S3 answers with the request's origin and \
                 Access-Control-Allow-Credentials: true. Every host the pattern matches, \
                 including forgotten or user-controlled subdomains, may then make \
                 credentialed requests and read the answers. S3 authenticates by \
                 signature, not by cookie, so for a bucket this is information; for a \
                 cookie-authenticated service behind this layer, treat it as a warning \
                 (--deny info). Patterns that match other people's hosts are \
                 origin-anyone-can-host, and every site origin-every-site, both warnings. \
                 Fix: list the exact origins, or use \"*\" (no credentials)."
            }
            Self::EtagNotExposed => {
                "A rule allows PUT but does not expose ETag. A browser that uploads in \
                 parts (S3 multipart upload: Uppy's AWS S3 plugin, the AWS SDK's Upload, \
                 ActiveStorage's and most resumable uploaders) reads each part's ETag from \
                 the PUT response to complete the upload; without \
                 Access-Control-Expose-Headers: ETag the page cannot read it, and the \
                 upload fails at the end. Information: uploads in one PUT do not need it. \
                 Fix: add ExposeHeader \"ETag\"."
            }
            Self::MaxAgeOverBrowserCap => {
                "Browsers cache a preflight answer for at most their own limit: Chromium \
                 7200 s, Firefox 86400 s. A larger MaxAgeSeconds is silently cut, so the \
                 document promises more caching than happens. Fix: MaxAgeSeconds 7200."
            }
        }
    }
}
