//! Password hashing: argon2id with the crate's default (OWASP-recommended) parameters, stored as a
//! PHC string on the player object.
//!
//! Why here and why like this: the password exists in clear only for the duration of one
//! `connect`, `create`, `@password` or `@newpassword` command; nothing else in the game sees it.
//! A PHC string carries its own algorithm, parameters and salt, so parameters can be raised later
//! and old hashes still verify. Salts come from the operating system's random source (the only
//! non-determinism in the game). Logins for names that do not exist still pay for one
//! verification, so the answer time does not tell an attacker which names exist.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Longest password accepted, in bytes (bounds the hashing work an input can ask for).
pub const MAX_PASSWORD_BYTES: usize = 256;
/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 4;

/// Hashing failed (in practice only if the parameters were invalid).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), in
/// memory of its own (the game-server hashes in [`Scratch`]es kept by its hashing threads).
pub fn hash(password: &str) -> Result<String, HashError> {
    Scratch::new().hash(password)
}

/// Whether `password` matches the stored PHC string. A missing or unreadable hash never matches,
/// but still costs one verification.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    Scratch::new().verify(password, stored)
}

/// The password work a login line needs before the game can apply it; done off the input loop
/// (see `hashing` in the server), by [`Scratch::run`].
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialWork {
    /// `connect`: check `password` against the player's stored hash (`None`: no such player;
    /// the check is still paid for, so timing tells nothing).
    Verify {
        password: String,
        stored: Option<String>,
    },
    /// `create` and `@newpassword`: hash a new password.
    Hash { password: String },
    /// `@password`: check `old` against the player's stored hash and, only when it matches, hash
    /// `new`.
    Change {
        old: String,
        stored: Option<String>,
        new: String,
    },
}

/// Never prints the password.
impl std::fmt::Debug for CredentialWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialWork::Verify { stored, .. } => f
                .debug_struct("Verify")
                .field("stored", &stored.as_ref().map(|_| "<hash>"))
                .finish_non_exhaustive(),
            CredentialWork::Hash { .. } => f.debug_struct("Hash").finish_non_exhaustive(),
            CredentialWork::Change { stored, .. } => f
                .debug_struct("Change")
                .field("stored", &stored.as_ref().map(|_| "<hash>"))
                .finish_non_exhaustive(),
        }
    }
}

/// What the work found, handed to the game with the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `connect`: whether the password matched `against`, the stored hash checked.
    Verified { ok: bool, against: Option<String> },
    /// `create`, `@newpassword`: the new PHC string.
    Hashed(String),
    /// `@password`: whether the old password matched `against`, the stored hash checked, and
    /// the new password's PHC string when it did.
    Changed {
        ok: bool,
        against: Option<String>,
        hash: Option<String>,
    },
    /// The work could not be done (hashing failed, or too many logins are waiting).
    Unavailable,
}

/// One hashing thread's argon2 memory, allocated once and reused: hashing allocates nothing, so
/// hundreds of logins in a row cannot fragment the heap (a fresh 19 MiB buffer per hash grew the
/// process to gigabytes).
pub struct Scratch {
    blocks: Vec<Block>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            blocks: vec![Block::default(); Params::default().block_count()],
        }
    }

    /// Does `work`.
    pub fn run(&mut self, work: &CredentialWork) -> Credentials {
        match work {
            CredentialWork::Verify { password, stored } => Credentials::Verified {
                ok: self.verify(password, stored.as_deref()),
                against: stored.clone(),
            },
            CredentialWork::Hash { password } => match self.hash(password) {
                Ok(h) => Credentials::Hashed(h),
                Err(_) => Credentials::Unavailable,
            },
            CredentialWork::Change { old, stored, new } => {
                let ok = self.verify(old, stored.as_deref());
                let hash = match ok.then(|| self.hash(new)) {
                    None => None,
                    Some(Ok(h)) => Some(h),
                    Some(Err(_)) => return Credentials::Unavailable,
                };
                Credentials::Changed {
                    ok,
                    against: stored.clone(),
                    hash,
                }
            }
        }
    }

    /// [`hash`], in this scratch memory.
    pub fn hash(&mut self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        let params = Params::default();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|e| HashError(e.to_string()))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon
            .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut self.blocks)
            .map_err(|e| HashError(e.to_string()))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| HashError(e.to_string()))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| HashError(e.to_string()))?),
        };
        Ok(phc.to_string())
    }

    /// [`verify`], in this scratch memory (a stored hash asking for more memory than the
    /// default, up to 64 MiB, grows it once).
    pub fn verify(&mut self, password: &str, stored: Option<&str>) -> bool {
        let parsed = stored.and_then(|s| PasswordHash::new(s).ok());
        let Some((argon, salt, expected)) = parsed.as_ref().and_then(argon_for) else {
            let dummy = dummy_hash();
            let _ = dummy.and_then(|d| {
                let parsed = PasswordHash::new(d).ok()?;
                let (argon, salt, _) = argon_for(&parsed)?;
                self.compute(&argon, password, &salt, Params::DEFAULT_OUTPUT_LEN)
            });
            return false;
        };
        self.compute(&argon, password, &salt, expected.len())
            .is_some_and(|got| Output::new(&got).is_ok_and(|got| got == expected))
    }

    fn compute(&mut self, argon: &Argon2<'_>, password: &str, salt: &[u8], len: usize) -> Option<Vec<u8>> {
        let blocks = argon.params().block_count();
        if blocks > 64 * 1024 {
            return None;
        }
        if self.blocks.len() < blocks {
            self.blocks.resize(blocks, Block::default());
        }
        let mut out = vec![0u8; len];
        argon
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut self.blocks[..blocks])
            .ok()?;
        Some(out)
    }
}

/// The argon2 instance, salt and expected output a stored PHC string describes.
fn argon_for(hash: &PasswordHash<'_>) -> Option<(Argon2<'static>, Vec<u8>, Output)> {
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = hash
        .version
        .map_or(Some(Version::V0x13), |v| Version::try_from(v).ok())?;
    let params = Params::try_from(hash).ok()?;
    let mut salt = [0u8; 64];
    let salt = hash.salt?.decode_b64(&mut salt).ok()?.to_vec();
    Some((Argon2::new(algorithm, version, params), salt, hash.hash?))
}

fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY.get_or_init(|| hash("no such player").ok()).as_deref()
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
    fn scratch_hashes_verify_both_ways_with_the_standard_ones() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let standard_verify = |pw: &str, phc: &str| {
            Argon2::default()
                .verify_password(pw.as_bytes(), &PasswordHash::new(phc).unwrap())
                .is_ok()
        };
        let mut scratch = Scratch::new();
        let mine = scratch.hash("open sesame").unwrap();
        assert!(mine.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{mine}");
        assert!(
            standard_verify("open sesame", &mine),
            "the standard verifier accepts it"
        );
        assert!(!standard_verify("open sesame!", &mine));
        let standard = Argon2::default()
            .hash_password(b"open sesame", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(scratch.verify("open sesame", Some(&standard)));
        assert!(!scratch.verify("Open sesame", Some(&standard)));
        assert!(!scratch.verify("open sesame", None));
        assert!(!scratch.verify("open sesame", Some("garbage")));
        let work = CredentialWork::Verify {
            password: "open sesame".into(),
            stored: Some(standard.clone()),
        };
        assert_eq!(
            scratch.run(&work),
            Credentials::Verified {
                ok: true,
                against: Some(standard)
            }
        );
        assert!(
            !format!("{work:?}").contains("sesame"),
            "debug output hides the password"
        );
        let Credentials::Hashed(h) = scratch.run(&CredentialWork::Hash {
            password: "pw12".into(),
        }) else {
            panic!()
        };
        assert!(verify("pw12", Some(&h)));
        let change = |old: &str| CredentialWork::Change {
            old: old.into(),
            stored: Some(h.clone()),
            new: "new-pw".into(),
        };
        let Credentials::Changed {
            ok: true,
            against,
            hash: Some(new),
        } = scratch.run(&change("pw12"))
        else {
            panic!("the right old password gets the new one hashed")
        };
        assert_eq!(against.as_deref(), Some(h.as_str()));
        assert!(verify("new-pw", Some(&new)));
        assert_eq!(
            scratch.run(&change("wrong")),
            Credentials::Changed {
                ok: false,
                against: Some(h.clone()),
                hash: None
            },
            "a wrong old password costs no hashing"
        );
        let shown = format!("{:?}", change("pw12"));
        assert!(!shown.contains("pw12") && !shown.contains("new-pw"), "{shown}");
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
