//! Passwords for newsroom accounts: the rules for a new one, and Argon2id hashing to a PHC string
//! (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`). The PHC string carries its own parameters, so
//! hashes made today still verify after the parameters below are raised.

use std::fmt;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::{AuthError, constant_time_eq, random_bytes};

/// OWASP's Argon2id recommendation: 19 MiB of memory, two passes, one lane.
pub const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;
/// 128-bit salts, as the PHC string format recommends.
const SALT_BYTES: usize = 16;

/// A real hash of a password nobody has, made with the parameters above. Verifying against it costs
/// what verifying a real account costs, which is the point of [`burn_verify_time`]. The test
/// `dummy_hash_uses_current_parameters` fails if the parameters change and this is not remade.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$kDtm7qP0gftDdJxu6I9EPQ$N6aOf1JHbKO96TMCkm6zTueUhKNooY66DrKa2xzd82A";

fn params() -> Result<Params, AuthError> {
    Params::new(MEMORY_KIB, ITERATIONS, LANES, None).map_err(|e| AuthError::Hashing(e.to_string()))
}

/// The working memory of one Argon2 computation, `params.block_count()` blocks of 1 KiB, taken from
/// `memory` (grown if it is too small). Callers that hash often keep `memory` and pass it again, so
/// the 19 MiB are allocated once instead of per sign-in: freed and reallocated from many threads,
/// blocks that size stay in glibc's per-thread arenas and the process never gives them back.
fn blocks_for<'a>(memory: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::new());
    }
    &mut memory[..needed]
}

/// Hashes a password with Argon2id and a fresh random salt, returning the PHC string to store.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    hash_password_in(password, &mut Vec::new())
}

/// [`hash_password`] with its working memory in `memory`. Argon2's first pass overwrites every
/// block before reading it, so whatever `memory` held before does not affect the result.
pub fn hash_password_in(password: &str, memory: &mut Vec<Block>) -> Result<String, AuthError> {
    let failed = |e: &dyn fmt::Display| AuthError::Hashing(e.to_string());
    let mut salt = [0u8; SALT_BYTES];
    random_bytes(&mut salt)?;
    let params = params()?;
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, blocks_for(memory, &params))
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed or foreign string is simply no
/// match: login code has nothing better to do with it, and must not crash on a bad row.
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_password_in(password, phc, &mut Vec::new())
}

/// [`verify_password`] with its working memory in `memory` (see [`hash_password_in`]).
pub fn verify_password_in(password: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    // The parameters in `phc` win over the ones configured here, so older hashes keep working.
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else { return false };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&hash) else { return false };
    let mut output = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut output,
        blocks_for(memory, &params),
    );
    computed.is_ok() && constant_time_eq(&output, expected.as_bytes())
}

/// Spends one verification's worth of time for nothing. Call it when the account does not exist,
/// so "no such user" takes as long as "wrong password" and response times do not reveal which
/// addresses have accounts.
pub fn burn_verify_time() {
    burn_verify_time_in(&mut Vec::new());
}

/// [`burn_verify_time`] with its working memory in `memory` (see [`hash_password_in`]).
pub fn burn_verify_time_in(memory: &mut Vec<Block>) {
    std::hint::black_box(verify_password_in("not the password", DUMMY_HASH, memory));
}

/// A password someone has chosen, checked against the rules: 12 to 256 characters, not all
/// whitespace. It is kept exactly as typed (no trimming), because what was typed is what will be
/// typed at the next login. Counted in `char`s: the limits are there to stop trivial and
/// absurdly long passwords, not to measure what a reader sees.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(s: &str) -> Result<NewPassword, AuthError> {
        if s.chars().all(char::is_whitespace) {
            return Err(AuthError::PasswordBlank);
        }
        let count = s.chars().count();
        if count < Self::MIN_CHARS {
            return Err(AuthError::PasswordTooShort { min: Self::MIN_CHARS });
        }
        if count > Self::MAX_CHARS {
            return Err(AuthError::PasswordTooLong { max: Self::MAX_CHARS });
        }
        Ok(NewPassword(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Redacted, so a password never reaches a log line through `{:?}`.
impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let hash = hash_password("correct horse battery staple").expect("hashes");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery staple", &hash));
        assert!(!verify_password("correct horse battery stapler", &hash));
        assert!(!verify_password("", &hash));
    }

    #[test]
    fn the_same_password_gets_different_salts() {
        let a = hash_password("correct horse battery staple").expect("hashes");
        let b = hash_password("correct horse battery staple").expect("hashes");
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_hashes_do_not_verify() {
        for phc in ["", "plain text", "$argon2id$", "$argon2id$v=19$m=19456,t=2,p=1$", "$2b$12$abcdefghijklmnopqrstuv"]
        {
            assert!(!verify_password("anything at all", phc), "{phc}");
        }
    }

    #[test]
    fn dummy_hash_uses_current_parameters() {
        let fresh = hash_password("x").expect("hashes");
        let params = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(DUMMY_HASH), params(&fresh));
        // It must parse and run the full computation, not fail early on a malformed string.
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
        burn_verify_time();
    }

    #[test]
    fn reused_memory_gives_the_same_answers() {
        let mut memory = Vec::new();
        let hash = hash_password_in("correct horse battery staple", &mut memory).expect("hashes");
        assert_eq!(memory.len(), MEMORY_KIB as usize, "one block per KiB");
        // The same buffer, now full of the last computation, must not change any answer.
        assert!(verify_password_in("correct horse battery staple", &hash, &mut memory));
        assert!(!verify_password_in("correct horse battery stapler", &hash, &mut memory));
        assert!(verify_password("correct horse battery staple", &hash));
        assert!(verify_password_in(
            "correct horse battery staple",
            &hash_password("correct horse battery staple").expect("hashes"),
            &mut memory
        ));
        // Hashes made by the argon2 crate's own PHC path verify too (older rows were made that way).
        use argon2::password_hash::PasswordHasher;
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params().expect("params"))
            .hash_password_with_salt(b"correct horse battery staple", b"saltsaltsaltsalt")
            .expect("hashes")
            .to_string();
        assert!(verify_password_in("correct horse battery staple", &theirs, &mut memory));
        assert!(!verify_password_in("correct horse battery", &theirs, &mut memory));
    }

    #[test]
    fn new_password_rules() {
        assert_eq!(NewPassword::parse("").map_err(|e| e.code()), Err("password_blank"));
        assert_eq!(NewPassword::parse(" \t\n              ").map_err(|e| e.code()), Err("password_blank"));
        assert_eq!(NewPassword::parse("elevenchars").map_err(|e| e.code()), Err("password_too_short"));
        assert_eq!(NewPassword::parse("twelve chars").expect("valid").as_str(), "twelve chars");
        // Characters, not bytes: twelve two-byte letters are enough, eleven are not.
        assert!(NewPassword::parse(&"é".repeat(12)).is_ok());
        assert!(NewPassword::parse(&"é".repeat(11)).is_err());
        assert!(NewPassword::parse(&"a".repeat(256)).is_ok());
        assert_eq!(NewPassword::parse(&"a".repeat(257)).map_err(|e| e.code()), Err("password_too_long"));
        // Kept exactly as typed.
        assert_eq!(NewPassword::parse("  spaced out  ").expect("valid").as_str(), "  spaced out  ");
    }

    #[test]
    fn new_password_debug_is_redacted() {
        let p = NewPassword::parse("super secret words").expect("valid");
        assert_eq!(format!("{p:?}"), "NewPassword(..)");
    }
}
