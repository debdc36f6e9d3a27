//! RFC 3492 Punycode, to suggest the ASCII form of an internationalised
//! host (`bücher.example` → `xn--bcher-kva.example`), as browsers send it.

const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

/// The host with each label that is not ASCII lower-cased and written as
/// `xn--` and its Punycode; `None` if a label cannot be encoded (it holds a
/// `*`, or is too long for the encoder's arithmetic).
///
/// This is IDNA's usual outcome for ordinary names; IDNA's full mapping
/// (UTS #46) also normalises and refuses some characters, which this
/// suggestion does not attempt.
pub(crate) fn host_to_ascii(host: &str) -> Option<String> {
    let labels: Option<Vec<String>> = host
        .split('.')
        .map(|label| {
            if label.is_ascii() {
                Some(label.to_owned())
            } else if label.contains('*') {
                None
            } else {
                let lower: String = label.chars().flat_map(char::to_lowercase).collect();
                encode(&lower).map(|code| format!("xn--{code}"))
            }
        })
        .collect();
    Some(labels?.join("."))
}

/// Punycode of `input` (RFC 3492 §6.3), or `None` on overflow.
fn encode(input: &str) -> Option<String> {
    let code_points: Vec<u32> = input.chars().map(u32::from).collect();
    let mut output: String = input.chars().filter(char::is_ascii).collect();
    let basic = u32::try_from(output.len()).ok()?;
    let total = u32::try_from(code_points.len()).ok()?;
    if basic > 0 {
        output.push('-');
    }
    let mut n = INITIAL_N;
    let mut delta: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let mut handled = basic;
    while handled < total {
        let m = code_points.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &code_points {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        T_MIN
                    } else if k >= bias + T_MAX {
                        T_MAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    output.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(output)
}

fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
}

fn digit(d: u32) -> char {
    // d < 36 by construction.
    let d = u8::try_from(d).unwrap_or(0);
    if d < 26 {
        char::from(b'a' + d)
    } else {
        char::from(b'0' + (d - 26))
    }
}

#[cfg(test)]
mod tests {
    use super::{encode, host_to_ascii};

    #[test]
    fn rfc_3492_and_well_known_names() {
        assert_eq!(encode("bücher").as_deref(), Some("bcher-kva"));
        assert_eq!(encode("münchen").as_deref(), Some("mnchen-3ya"));
        assert_eq!(encode("пример").as_deref(), Some("e1afmkfd"));
        assert_eq!(encode("例え").as_deref(), Some("r8jz45g"));
        // RFC 3492 §7.1 (L): "3<nen>B<gumi><kinpachi><sensei>".
        assert_eq!(
            encode("3年b組金八先生").as_deref(),
            Some("3b-ww4c5e180e575a65lsy2b")
        );
    }

    #[test]
    fn only_labels_that_are_not_ascii_change() {
        assert_eq!(
            host_to_ascii("www.Bücher.example").as_deref(),
            Some("www.xn--bcher-kva.example")
        );
        assert_eq!(
            host_to_ascii("*.bücher.example").as_deref(),
            Some("*.xn--bcher-kva.example")
        );
        assert_eq!(host_to_ascii("*ü.example"), None);
    }
}
