//! Building blocks for newsroom accounts: password hashing, session and one-time-link tokens, TOTP
//! second factors and recovery codes. Nothing here knows about HTTP or the database; the web and
//! store layers decide where these values travel and live, this module only makes and checks them.

pub mod hashing;
pub mod password;
pub mod recovery;
pub mod token;
pub mod totp;

pub use hashing::{HashingError, PasswordHashing};
pub use password::{NewPassword, burn_verify_time, hash_password, verify_password};

/// What can go wrong while making account secrets.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("A password needs at least {min} characters.")]
    PasswordTooShort { min: usize },
    #[error("A password can be at most {max} characters long.")]
    PasswordTooLong { max: usize },
    #[error("A password cannot be only spaces.")]
    PasswordBlank,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The operating system gave no random bytes. A weak token or salt is worse than none, so
    /// callers get an error instead of a value made from zeros.
    #[error("no randomness from the operating system: {0}")]
    Randomness(String),
}

impl AuthError {
    /// A stable machine-readable code, for the API and for tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PasswordTooShort { .. } => "password_too_short",
            Self::PasswordTooLong { .. } => "password_too_long",
            Self::PasswordBlank => "password_blank",
            Self::Hashing(_) => "password_hashing_failed",
            Self::Randomness(_) => "randomness_unavailable",
        }
    }
}

/// Fills `buf` from the operating system's generator, shared by every secret this module makes.
fn random_bytes(buf: &mut [u8]) -> Result<(), AuthError> {
    getrandom::fill(buf).map_err(|e| AuthError::Randomness(e.to_string()))
}

/// Compares two byte strings in time that depends only on their lengths, so a wrong guess does not
/// reveal how many leading bytes were right. Lengths are public here (fixed-size codes).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_stable() {
        assert_eq!(AuthError::PasswordTooShort { min: 12 }.code(), "password_too_short");
        assert_eq!(AuthError::PasswordTooLong { max: 256 }.code(), "password_too_long");
        assert_eq!(AuthError::PasswordBlank.code(), "password_blank");
        assert_eq!(AuthError::Hashing("x".into()).code(), "password_hashing_failed");
        assert_eq!(AuthError::Randomness("x".into()).code(), "randomness_unavailable");
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"123456", b"123456"));
        assert!(!constant_time_eq(b"123456", b"123457"));
        assert!(!constant_time_eq(b"123456", b"12345"));
        assert!(constant_time_eq(b"", b""));
    }
}
