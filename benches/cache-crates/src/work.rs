//! Workloads: bucket names, a seeded random stream, Zipf sampling.

/// Every bucket name is this long (a typical S3 name: 3 to 63 bytes).
pub const KEY_LEN: usize = 20;

/// Bucket names `bucket-0000000000042`, `KEY_LEN` bytes each, packed in one
/// buffer: a name is read without a pointer chase, as a request's is.
pub struct Names {
    text: String,
}

impl Names {
    /// The names of buckets `first..first + count`.
    pub fn range(first: usize, count: usize) -> Self {
        Self::of((first..first + count).map(|i| i as u32))
    }

    /// The names of buckets `ids`, in that order.
    pub fn of(ids: impl IntoIterator<Item = u32>) -> Self {
        let mut text = String::new();
        for i in ids {
            let name = format!("bucket-{i:013}");
            assert_eq!(name.len(), KEY_LEN);
            text.push_str(&name);
        }
        Self { text }
    }

    pub fn len(&self) -> usize {
        self.text.len() / KEY_LEN
    }

    #[inline]
    pub fn get(&self, i: usize) -> &str {
        &self.text[i * KEY_LEN..(i + 1) * KEY_LEN]
    }
}

/// SplitMix64: small, seeded, good enough for workloads.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// Zipf(s) over `n` items: item k (0-based) with probability ∝ 1/(k+1)^s.
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for k in 0..n {
            sum += 1.0 / ((k + 1) as f64).powf(s);
            cdf.push(sum);
        }
        for p in &mut cdf {
            *p /= sum;
        }
        Self { cdf }
    }

    pub fn sample(&self, rng: &mut Rng) -> u32 {
        let u = rng.unit();
        self.cdf.partition_point(|&p| p < u).min(self.cdf.len() - 1) as u32
    }

    /// The probability mass of the `k` most popular items: the hit ratio of
    /// a cache of `k` that holds exactly them, the best any cache of that
    /// size can do on average over an independent stream.
    pub fn top_mass(&self, k: usize) -> f64 {
        if k == 0 {
            0.0
        } else {
            self.cdf[k.min(self.cdf.len()) - 1]
        }
    }
}

/// A random permutation of 0..n (Fisher–Yates), so popularity has nothing
/// to do with the order names were made in.
pub fn permutation(n: usize, rng: &mut Rng) -> Vec<u32> {
    let mut p: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        p.swap(i, rng.below(i + 1));
    }
    p
}

/// Resident set size in bytes: `/proc/self/statm`'s second field, in
/// pages of 4 KiB (`getconf PAGESIZE` on the machines this ran on).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm's resident field");
    pages * 4096
}
