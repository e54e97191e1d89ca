//! Time-based one-time passwords (RFC 6238) as authenticator apps use them: HMAC-SHA-1, six
//! digits, 30-second steps. Stored per account: the secret and the last step that was accepted,
//! so a code seen over someone's shoulder cannot be used a second time.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::{AuthError, constant_time_eq, random_bytes};

/// 160 bits: the length RFC 4226 recommends, matching SHA-1's output size.
const SECRET_BYTES: usize = 20;
const STEP_SECONDS: i64 = 30;
const DIGITS: usize = 6;
const MODULUS: u32 = 1_000_000;

/// A fresh 20-byte secret for a new authenticator.
pub fn new_secret() -> Result<Vec<u8>, AuthError> {
    let mut secret = vec![0u8; SECRET_BYTES];
    random_bytes(&mut secret)?;
    Ok(secret)
}

/// The secret as people type it into an app: RFC 4648 base32, uppercase, no padding.
pub fn secret_base32(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The `otpauth://` URI that authenticator apps read from a QR code. The label is
/// `issuer:account`, each part percent-encoded; the issuer is repeated as a parameter because
/// some apps read only one of the two.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let (issuer, account, secret) = (percent_encode(issuer), percent_encode(account), secret_base32(secret));
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )
}

/// The code an app shows at `unix` seconds. Times before 1970 count as step 0.
pub fn code_at(secret: &[u8], unix: i64) -> String {
    let step = unix.div_euclid(STEP_SECONDS);
    hotp(secret, step).map(format_code).unwrap_or_default()
}

/// Checks `code` at time `unix`, allowing one step of clock drift either way. Returns the step that
/// matched, to be stored as the new `last_used_step`; `None` for a wrong or malformed code, or for
/// a code from a step at or before `last_used_step` (a replay).
pub fn verify(secret: &[u8], code: &str, unix: i64, last_used_step: Option<i64>) -> Option<i64> {
    // Apps and people group the digits ("123 456"); spaces carry no meaning.
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = unix.div_euclid(STEP_SECONDS);
    let mut matched = None;
    // Every candidate is computed and compared, match or not, so timing does not tell which
    // step (if any) the code belonged to. The earliest acceptable step wins: it burns the least.
    for step in [now - 1, now, now + 1] {
        let fresh = last_used_step.is_none_or(|last| step > last);
        let expected = hotp(secret, step).map(format_code).unwrap_or_default();
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && fresh && step >= 0 && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// RFC 4226 HOTP value for a counter, before reduction to digits. `None` only if the HMAC cannot
/// be keyed, which HMAC's definition rules out for any key length; it is handled rather than
/// unwrapped so that no input can panic here.
fn hotp(secret: &[u8], step: i64) -> Option<u32> {
    let counter = u64::try_from(step).unwrap_or(0);
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation: the low nibble of the last byte picks four bytes to read.
    let offset = usize::from(digest.last()? & 0x0f);
    let bytes = digest.get(offset..offset + 4)?;
    let value = u32::from_be_bytes([bytes[0] & 0x7f, bytes[1], bytes[2], bytes[3]]);
    Some(value % MODULUS)
}

fn format_code(value: u32) -> String {
    format!("{value:0DIGITS$}")
}

/// Percent-encodes all but RFC 3986 unreserved characters. The web module has the same function;
/// this copy keeps `auth` free of any dependency on the HTTP layer.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_sha1_test_vectors() {
        // Appendix B lists eight-digit codes; six-digit codes are their last six digits.
        for (unix, eight_digits) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(RFC_SECRET, unix), eight_digits[2..], "at {unix}");
        }
    }

    #[test]
    fn accepts_the_current_and_neighbouring_steps_only() {
        let now = 1_234_567_890; // step 41152263
        let step = now / 30;
        assert_eq!(verify(RFC_SECRET, &code_at(RFC_SECRET, now), now, None), Some(step));
        assert_eq!(verify(RFC_SECRET, &code_at(RFC_SECRET, now - 30), now, None), Some(step - 1));
        assert_eq!(verify(RFC_SECRET, &code_at(RFC_SECRET, now + 30), now, None), Some(step + 1));
        assert_eq!(verify(RFC_SECRET, &code_at(RFC_SECRET, now - 60), now, None), None);
        assert_eq!(verify(RFC_SECRET, &code_at(RFC_SECRET, now + 60), now, None), None);
    }

    #[test]
    fn refuses_replays_and_older_steps() {
        let now = 1_111_111_111;
        let step = now / 30;
        let code = code_at(RFC_SECRET, now);
        let used = verify(RFC_SECRET, &code, now, None).expect("first use");
        assert_eq!(used, step);
        assert_eq!(verify(RFC_SECRET, &code, now, Some(used)), None, "same code again");
        assert_eq!(verify(RFC_SECRET, &code, now + 10, Some(used)), None, "same step, later");
        let previous = code_at(RFC_SECRET, now - 30);
        assert_eq!(verify(RFC_SECRET, &previous, now, Some(used)), None, "an older step");
        let next = code_at(RFC_SECRET, now + 30);
        assert_eq!(verify(RFC_SECRET, &next, now + 30, Some(used)), Some(step + 1), "the next step");
    }

    #[test]
    fn ignores_spaces_and_refuses_malformed_codes() {
        let now = 59;
        assert_eq!(verify(RFC_SECRET, "287 082", now, None), Some(1));
        assert_eq!(verify(RFC_SECRET, " 2 8 7 0 8 2 ", now, None), Some(1));
        for bad in ["", "28708", "2870820", "28708a", "287-082", "２８７０８２"] {
            assert_eq!(verify(RFC_SECRET, bad, now, None), None, "{bad:?}");
        }
        assert_eq!(verify(b"another secret", "287082", now, None), None);
    }

    #[test]
    fn secrets_and_uris() {
        let secret = new_secret().expect("secret");
        assert_eq!(secret.len(), 20);
        assert_ne!(secret, new_secret().expect("secret"));
        assert_eq!(secret_base32(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(secret_base32(&secret).len(), 32);
        assert_eq!(
            otpauth_uri("The Daily Planet", "lois lane@planet.example", RFC_SECRET),
            "otpauth://totp/The%20Daily%20Planet:lois%20lane%40planet.example\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=The%20Daily%20Planet&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn times_before_the_epoch_do_not_panic() {
        assert_eq!(code_at(RFC_SECRET, -1), code_at(RFC_SECRET, 0));
        assert_eq!(verify(RFC_SECRET, &code_at(RFC_SECRET, 0), -31, None), None);
        let _ = verify(RFC_SECRET, "000000", i64::MIN, None);
        let _ = verify(RFC_SECRET, "000000", i64::MAX, None);
    }
}
