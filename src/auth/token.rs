//! Opaque random tokens for sessions and one-time links (invitations, password resets). The
//! token goes to the browser or into the e-mail; only its hash is stored, so a leaked database
//! cannot be replayed as live sessions or links.

use data_encoding::BASE64URL_NOPAD;

use super::{AuthError, random_bytes};

/// 256 bits: far beyond guessing, so a fast hash suffices for storage (no salt or stretching).
const TOKEN_BYTES: usize = 32;

/// A fresh token: 32 random bytes, base64url without padding (43 characters, safe in URLs and cookies).
pub fn new_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    random_bytes(&mut bytes)?;
    Ok(BASE64URL_NOPAD.encode(&bytes))
}

/// The value to store and look up by: BLAKE3 of the token, as 64 lowercase hex digits.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let a = new_token().expect("token");
        let b = new_token().expect("token");
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
        assert_ne!(a, b);
        assert_eq!(BASE64URL_NOPAD.decode(a.as_bytes()).expect("decodes").len(), TOKEN_BYTES);
    }

    #[test]
    fn hash_is_stable_hex_and_not_the_token() {
        let token = "abc";
        let hash = token_hash(token);
        assert_eq!(hash, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
        assert_eq!(hash, token_hash(token));
        assert_ne!(hash, token_hash("abd"));
    }
}
