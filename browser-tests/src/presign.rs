//! SigV4 presigned URLs (query-string authentication), written from AWS's
//! Signature Version 4 specification, independent of s3s: the s3s server
//! accepting a URL made here is itself a check of both.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// What a presigned URL is for.
#[derive(Clone, Debug)]
pub struct Presign<'a> {
    /// `GET`, `PUT`, …
    pub method: &'a str,
    /// `host[:port]`, as the client will send it in `Host`.
    pub host: &'a str,
    /// The path, unencoded (`/bucket/key` for path style).
    pub path: &'a str,
    /// Credentials.
    pub access_key: &'a str,
    /// Credentials.
    pub secret_key: &'a str,
    /// Region of the credential scope (`us-east-1`).
    pub region: &'a str,
    /// How long the URL is valid, in seconds.
    pub expires: u64,
}

impl Presign<'_> {
    /// The URL (`http://host/path?X-Amz-…&X-Amz-Signature=…`), signed now.
    #[must_use]
    pub fn url(&self) -> String {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("http://{}{}", self.host, self.path_and_query(seconds))
    }

    /// The path and query of the URL signed at `unix_seconds`.
    #[must_use]
    pub fn path_and_query(&self, unix_seconds: u64) -> String {
        let (date, time) = utc(unix_seconds);
        let amz_date = format!("{date}T{time}Z");
        let scope = format!("{date}/{}/s3/aws4_request", self.region);
        let credential = format!("{}/{scope}", self.access_key);
        // Already in the byte order of the names.
        let query = format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date={amz_date}&X-Amz-Expires={}&X-Amz-SignedHeaders=host",
            encode(&credential, true),
            self.expires
        );
        let path = encode(self.path, false);
        let canonical_request = format!(
            "{}\n{path}\n{query}\nhost:{}\n\nhost\nUNSIGNED-PAYLOAD",
            self.method, self.host
        );
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical_request.as_bytes()))
        );
        let mut key = hmac(
            format!("AWS4{}", self.secret_key).as_bytes(),
            date.as_bytes(),
        );
        for part in [self.region, "s3", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
        format!("{path}?{query}&X-Amz-Signature={signature}")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC accepts every key length")
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// SigV4's URI encoding: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`
/// (upper case); `/` too when `slash` is set (query values), not in paths.
fn encode(text: &str, slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) || (byte == b'/' && !slash) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `YYYYMMDD` and `HHMMSS` of a Unix time, in UTC (the civil calendar from
/// a day count, as in Howard Hinnant's `civil_from_days`).
fn utc(unix_seconds: u64) -> (String, String) {
    let days = unix_seconds / 86_400;
    let second_of_day = unix_seconds % 86_400;
    // Shift the epoch to 0000-03-01, so that leap days end each era's year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (
        format!("{year:04}{month:02}{day:02}"),
        format!(
            "{:02}{:02}{:02}",
            second_of_day / 3600,
            second_of_day % 3600 / 60,
            second_of_day % 60
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), ("19700101".into(), "000000".into()));
        // 2013-05-24T00:00:00Z, the date of AWS's example below.
        assert_eq!(utc(1_369_353_600), ("20130524".into(), "000000".into()));
        // A leap day, and the end of a day.
        assert_eq!(utc(951_868_799), ("20000229".into(), "235959".into()));
        assert_eq!(utc(4_107_542_400), ("21000301".into(), "000000".into()));
    }

    /// The example of AWS's "Authenticating Requests: Using Query
    /// Parameters (AWS Signature Version 4)" page: its published signature.
    #[test]
    fn aws_documentation_example() {
        let presign = Presign {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            expires: 86_400,
        };
        let url = presign.path_and_query(1_369_353_600);
        assert_eq!(
            url,
            "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn paths_keep_slashes_and_encode_the_rest() {
        assert_eq!(encode("/b/a key+é", false), "/b/a%20key%2B%C3%A9");
        assert_eq!(encode("a/b", true), "a%2Fb");
    }
}
