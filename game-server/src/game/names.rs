//! What a name may be, in one place, so `create`, `@name`, `@dig`, `@open` and `@create` agree.
//!
//! Player names are kept to plain ASCII letters, digits, `_`, `-` and single inner spaces so that
//! they can be typed on any client, look alike to nobody, and compare case-insensitively without
//! Unicode surprises. Other names are free text within a length limit, but may not start with `#`
//! (that reads as an object number) nor be a word the matcher reserves (`me`, `here`).

/// Longest room, thing or exit name, in characters.
pub const MAX_OBJECT_NAME: usize = 100;

const RESERVED: [&str; 3] = ["me", "here", "home"];

/// Checks a player name; the error says what is wrong in words a player can act on.
pub fn check_player_name(name: &str) -> Result<(), &'static str> {
    let len = name.chars().count();
    if !(2..=30).contains(&len) {
        return Err("A player name must be 2 to 30 characters long.");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("A player name must start with a letter.");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' '))
    {
        return Err("A player name may hold only letters, digits, '_', '-' and single spaces.");
    }
    if name.ends_with(' ') || name.contains("  ") {
        return Err("A player name may hold only letters, digits, '_', '-' and single spaces.");
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err("That name is reserved.");
    }
    Ok(())
}

/// Checks the name of a room or thing.
pub fn check_object_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        return Err("A name cannot be empty.");
    }
    if name.chars().count() > MAX_OBJECT_NAME {
        return Err("That name is too long (100 characters at most).");
    }
    if name.starts_with('#') {
        return Err("A name cannot start with '#'.");
    }
    if name.chars().any(char::is_control) {
        return Err("A name cannot hold control characters.");
    }
    if RESERVED[..2].iter().any(|r| r.eq_ignore_ascii_case(name.trim())) {
        return Err("That name is reserved.");
    }
    Ok(())
}

/// Checks an exit name: like an object name, and every `;`-separated alias must be usable.
pub fn check_exit_name(name: &str) -> Result<(), &'static str> {
    check_object_name(name)?;
    if name.split(';').any(|alias| alias.trim().is_empty()) {
        return Err("Every alias of an exit needs a name (e.g. \"North;n\").");
    }
    if name.split(';').any(|alias| alias.trim().starts_with('#')) {
        return Err("An exit alias cannot start with '#'.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_names_follow_the_rules() {
        for ok in [
            "Al",
            "Alice",
            "Mary Jane",
            "x_y-z9",
            "A23456789012345678901234567890",
        ] {
            assert_eq!(check_player_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "A",
            "A234567890123456789012345678901",
            "9lives",
            " Al",
            "Al ",
            "Mary  Jane",
            "Zoë",
            "a#b",
            "me",
            "HERE",
            "Bob;n",
        ] {
            assert!(check_player_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_and_exit_names_are_checked() {
        assert!(check_object_name("A Garden").is_ok());
        assert!(check_object_name(" ").is_err());
        assert!(check_object_name("#5").is_err());
        assert!(check_object_name("here").is_err());
        assert!(check_object_name(&"x".repeat(101)).is_err());
        assert!(check_exit_name("North;n").is_ok());
        assert!(check_exit_name("North;;n").is_err());
        assert!(check_exit_name("North;#3").is_err());
    }
}
