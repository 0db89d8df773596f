//! Password hashing: argon2id with the crate's default (OWASP-recommended) parameters, stored as a
//! PHC string on the player object.
//!
//! Why here and why like this: the password exists in clear only for the duration of one
//! `connect`/`create` command; nothing else in the game ever sees it. A PHC string carries its
//! own algorithm, parameters and salt, so parameters can be raised later and old hashes still
//! verify. Salts come from the operating system's random source (the only non-determinism in the
//! game). Logins for names that do not exist still pay for one verification, so the answer time
//! does not tell an attacker which names exist.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Longest password accepted, in bytes (bounds the hashing work an input can ask for).
pub const MAX_PASSWORD_BYTES: usize = 256;
/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 4;

/// Hashing failed (in practice only if the parameters were invalid).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
pub fn hash(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the stored PHC string. A missing or unreadable hash never matches,
/// but still costs one verification.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    match stored.and_then(|s| PasswordHash::new(s).ok()) {
        Some(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        None => {
            burn(password);
            false
        }
    }
}

/// Spends the time of one verification, for logins that cannot succeed.
fn burn(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("no such player").ok());
    if let Some(parsed) = dummy.as_deref().and_then(|d| PasswordHash::new(d).ok()) {
        let _ = Argon2::default().verify_password(password.as_bytes(), &parsed);
    }
}

/// Checks a new password; the error is shown to the player.
pub fn check_new(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err("A password must be at least 4 characters long.");
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err("That password is too long (256 bytes at most).");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_an_argon2id_phc_string_that_verifies_only_the_right_password() {
        let h = hash("open sesame").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("open sesame"));
        assert!(verify("open sesame", Some(&h)));
        assert!(!verify("open sesame!", Some(&h)));
        assert!(!verify("open sesame", None));
        assert!(!verify("open sesame", Some("not a hash")));
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        assert_ne!(hash("pw12").unwrap(), hash("pw12").unwrap());
    }

    #[test]
    fn new_passwords_need_four_characters() {
        assert!(check_new("abc").is_err());
        assert!(check_new("abcd").is_ok());
        assert!(check_new(&"x".repeat(257)).is_err());
    }
}
