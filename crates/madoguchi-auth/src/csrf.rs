//! CSRF tokens: a random value kept in the session and echoed by every form (synchroniser
//! token pattern), compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

pub fn new_csrf_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares without an early exit, so timing does not reveal how much of a guess was right.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    let (a, b) = (expected.as_bytes(), submitted.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_matches() {
        let token = new_csrf_token();
        assert!(tokens_match(&token, &token.clone()));
        assert!(!tokens_match(&token, &new_csrf_token()));
        assert!(!tokens_match("", ""));
        assert!(!tokens_match(&token, &token[1..]));
    }
}
