//! The password policy for new passwords (NIST SP 800-63B style): long enough, not too long
//! for argon2 to hash cheaply, and not built on a common or breached pattern.
//!
//! There is no rule about character classes: length and unguessability matter, and elderly
//! residents should be able to choose a long phrase they remember.

use crate::{Email, ErrorCode};

pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Bases seen at the top of every breached-password list, plus Japanese favourites. A password
/// that is one of these after removing digits, symbols and case is refused.
const COMMON_BASES: &[&str] = &[
    "password",
    "passwort",
    "passw0rd",
    "qwerty",
    "qwertyuiop",
    "asdfgh",
    "asdfghjkl",
    "zxcvbnm",
    "abc",
    "abcdef",
    "abcdefg",
    "letmein",
    "welcome",
    "iloveyou",
    "admin",
    "administrator",
    "login",
    "master",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "soccer",
    "princess",
    "sunshine",
    "shadow",
    "superman",
    "batman",
    "trustno",
    "starwars",
    "pokemon",
    "naruto",
    "doraemon",
    "sakura",
    "tokyo",
    "nippon",
    "japan",
    "hello",
    "secret",
    "changeme",
    "madoguchi",
    "city",
    "user",
    "guest",
    "test",
    "root",
    "pass",
    "computer",
    "internet",
    "samurai",
    "ninja",
    "anpanman",
    "hanako",
    "taro",
    "yamada",
    "suzuki",
    "tanaka",
    "love",
    "mypassword",
];

/// Checks a new password; `email` is the account's address, whose local part must not appear.
pub fn check_new_password(password: &str, email: &Email) -> Result<(), ErrorCode> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(ErrorCode::PasswordTooShort);
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(ErrorCode::PasswordTooLong);
    }
    let lowered = password.to_lowercase();
    let local = email.local_part();
    if local.chars().count() >= 4 && lowered.contains(local) {
        return Err(ErrorCode::PasswordContainsEmail);
    }
    if is_common_pattern(&lowered) {
        return Err(ErrorCode::PasswordTooCommon);
    }
    Ok(())
}

fn is_common_pattern(lowered: &str) -> bool {
    let distinct: std::collections::BTreeSet<char> = lowered.chars().collect();
    if distinct.len() <= 3 {
        return true; // "aaaaaaaaaaaa", "abababababab", "121212121212"
    }
    if is_run(lowered) {
        return true; // "123456789012", "abcdefghijkl", "987654321098"
    }
    if !lowered.chars().any(char::is_alphabetic) {
        // Digits and symbols only with few distinct characters: dates of birth, phone numbers.
        return distinct.len() <= 6;
    }
    // Undo common substitutions, then keep letters: "Password123!" and "p@ssw0rd2026" share
    // the base "password".
    // Digits and symbols around the word are decoration ("2026!!"), not substitutions.
    let core = lowered.trim_matches(|c: char| !c.is_alphabetic());
    let letters: String = core
        .chars()
        .map(|c| match c {
            '@' => 'a',
            '0' => 'o',
            '$' => 's',
            other => other,
        })
        .filter(|c| c.is_alphabetic())
        .collect();
    COMMON_BASES.iter().any(|base| {
        letters.len().is_multiple_of(base.len())
            && letters == base.repeat(letters.len() / base.len())
    })
}

/// Whether each character follows the previous one by +1 or -1 (a keyboard-free sequence).
fn is_run(s: &str) -> bool {
    let codes: Vec<i64> = s.chars().map(|c| i64::from(u32::from(c))).collect();
    if codes.len() < 2 {
        return false;
    }
    let ascending = codes
        .windows(2)
        .all(|w| w[1] - w[0] == 1 || (w[0] == '9' as i64 && w[1] == '0' as i64));
    let descending = codes
        .windows(2)
        .all(|w| w[0] - w[1] == 1 || (w[0] == '0' as i64 && w[1] == '9' as i64));
    ascending || descending
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("hanako@example.jp").unwrap()
    }

    #[test]
    fn a_long_memorable_phrase_is_accepted() {
        assert_eq!(check_new_password("Sakura-Koen-2026!", &email()), Ok(()));
        assert_eq!(
            check_new_password("たんぽぽの綿毛が飛んでいく", &email()),
            Ok(())
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(
            check_new_password("Abc-123-xyz", &email()),
            Err(ErrorCode::PasswordTooShort)
        );
    }

    #[test]
    fn overlong_passwords_are_refused() {
        let long = "x1-".repeat(50);
        assert_eq!(
            check_new_password(&long, &email()),
            Err(ErrorCode::PasswordTooLong)
        );
    }

    #[test]
    fn common_bases_with_digits_and_symbols_are_refused() {
        for weak in [
            "Password123456!",
            "p@ssw0rd2026!!",
            "qwertyqwerty12",
            "Sakura19900101",
            "doraemon-2026-",
        ] {
            assert_eq!(
                check_new_password(weak, &email()),
                Err(ErrorCode::PasswordTooCommon),
                "{weak}"
            );
        }
    }

    #[test]
    fn sequences_repeats_and_dates_are_refused() {
        for weak in [
            "123456789012",
            "abcdefghijkl",
            "aaaaaaaaaaaa",
            "121212121212",
            "1990/01/01-19",
        ] {
            assert_eq!(
                check_new_password(weak, &email()),
                Err(ErrorCode::PasswordTooCommon),
                "{weak}"
            );
        }
    }

    #[test]
    fn a_password_containing_the_email_name_is_refused() {
        assert_eq!(
            check_new_password("my-hanako-secret-9", &email()),
            Err(ErrorCode::PasswordContainsEmail)
        );
    }
}
