//! Recovery codes: ten codes, shown once when two-factor sign-in is turned on, for the day the
//! phone is lost. Only their hashes are stored, and the caller deletes a hash once its code has
//! been used. A code stands in for the second factor alone; the password is still needed.

use super::{AuthError, random_bytes};

/// Lowercase letters and digits without the look-alikes 0/o, 1/l/i, so a code copied from paper
/// comes back right. 31 symbols; ten of them give about 49.5 bits per code.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const CODES: usize = 10;
const CODE_CHARS: usize = 10;
/// Random bytes at or above this are skipped so each symbol is equally likely (248 = 8 * 31).
const UNBIASED_LIMIT: u8 = (256 / ALPHABET.len() * ALPHABET.len()) as u8;

/// Ten fresh codes for display, each "xxxxx-xxxxx".
pub fn new_recovery_codes() -> Result<Vec<String>, AuthError> {
    let mut symbols = Vec::with_capacity(CODES * CODE_CHARS);
    let mut pool = [0u8; 64];
    while symbols.len() < CODES * CODE_CHARS {
        random_bytes(&mut pool)?;
        symbols.extend(
            pool.iter()
                .filter(|&&b| b < UNBIASED_LIMIT)
                .map(|&b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()])),
        );
    }
    symbols.truncate(CODES * CODE_CHARS);
    Ok(symbols
        .chunks(CODE_CHARS)
        .map(|code| {
            let (left, right) = code.split_at(CODE_CHARS / 2);
            format!("{}-{}", left.iter().collect::<String>(), right.iter().collect::<String>())
        })
        .collect())
}

/// The code as it is compared: lowercase, without the spaces and dashes people add or drop when
/// typing it back.
pub fn normalize(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect()
}

/// The value to store and look up by: BLAKE3 of the normalized code, as hex.
pub fn recovery_hash(code: &str) -> String {
    blake3::hash(normalize(code).as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_in_the_display_shape() {
        let codes = new_recovery_codes().expect("codes");
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 11, "{code}");
            assert_eq!(code.as_bytes()[5], b'-', "{code}");
            assert!(code.bytes().filter(|&b| b != b'-').all(|b| ALPHABET.contains(&b)), "{code}");
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_ne!(codes, new_recovery_codes().expect("codes"));
    }

    #[test]
    fn alphabet_has_no_look_alikes_and_sampling_is_unbiased() {
        assert_eq!(ALPHABET.len(), 31);
        for confusable in b"01ilo" {
            assert!(!ALPHABET.contains(confusable));
        }
        assert_eq!(UNBIASED_LIMIT, 248);
    }

    #[test]
    fn normalize_forgives_case_spaces_and_dashes() {
        assert_eq!(normalize("ABCDE-FGHJK"), "abcdefghjk");
        assert_eq!(normalize(" abcde fghjk "), "abcdefghjk");
        assert_eq!(normalize("abc-de--fgh jk"), "abcdefghjk");
    }

    #[test]
    fn hash_is_of_the_normalized_code() {
        let code = "7k3mp-x9qrt";
        let hash = recovery_hash(code);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, recovery_hash("7K3MP X9QRT"));
        assert_eq!(hash, recovery_hash("7k3mpx9qrt"));
        assert_eq!(hash, blake3::hash(b"7k3mpx9qrt").to_hex().to_string());
        assert_ne!(hash, recovery_hash("7k3mp-x9qrs"));
    }
}
