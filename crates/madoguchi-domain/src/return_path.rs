//! Where a visitor goes back to after signing in: a path on this same site, never another.
//!
//! A sign-in page that redirects to whatever `?next=` says is an open redirect: a link to
//! `/signin?next=https://evil.example` would send a resident, freshly signed in and trusting
//! the city's address bar, to a look-alike site. [`ReturnPath::parse`] accepts only a
//! same-origin relative path: it starts with one `/`, carries only visible ASCII, no
//! backslash (browsers read `/\evil.example` as `//evil.example`), nothing that decodes to a
//! backslash, a control character or a second leading slash, and at most
//! [`RETURN_PATH_LEN_MAX`] bytes. Anything else is refused, and the caller falls back to its
//! default page.

/// The longest return path carried through sign-in, sign-up and the verification mail.
pub const RETURN_PATH_LEN_MAX: usize = 512;

/// A same-origin relative path (with an optional query) to return to after signing in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnPath(String);

impl ReturnPath {
    /// The path if it is safe to redirect to, `None` otherwise.
    pub fn parse(raw: &str) -> Option<ReturnPath> {
        if raw.is_empty() || raw.len() > RETURN_PATH_LEN_MAX {
            return None;
        }
        // Visible ASCII only: no spaces, tabs, line breaks or other controls, and no
        // non-ASCII look-alikes (a browser percent-encodes those in a real path anyway).
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let decoded = percent_decode(raw)?;
        for text in [raw, decoded.as_str()] {
            if !text.starts_with('/')
                || text.starts_with("//")
                || text.contains('\\')
                || text.chars().any(char::is_control)
            {
                return None;
            }
        }
        Some(ReturnPath(raw.to_owned()))
    }

    /// `raw` if it is a safe return path, else `default`.
    pub fn or_default(raw: Option<&str>, default: &str) -> String {
        raw.and_then(ReturnPath::parse)
            .map_or_else(|| default.to_owned(), ReturnPath::into_string)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The path percent-encoded as one query value (`?next=…`): everything but unreserved
    /// characters and `/` is escaped, so its own `?`, `&` and `#` stay inside the value.
    pub fn query_value(&self) -> String {
        let mut out = String::with_capacity(self.0.len() * 3);
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

/// Decodes `%XX` escapes once; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_on_this_site_with_its_query_is_accepted_as_it_is() {
        for path in [
            "/reservations/book/0191d2f4-7c1e-7000-8000-000000000001",
            "/my/reservations?month=2026-12",
            "/staff/day-sheet?date=2026-12-07&office=x",
            "/",
        ] {
            assert_eq!(
                ReturnPath::parse(path).map(ReturnPath::into_string),
                Some(path.to_owned())
            );
        }
    }

    #[test]
    fn another_site_is_refused_however_it_is_written() {
        for raw in [
            "//evil.example",
            "https://evil.example",
            "http://evil.example/",
            "javascript:alert(1)",
            "/\\evil.example",
            "\\\\evil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/%2Fevil.example",
            "%2F%2Fevil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(ReturnPath::parse(raw), None, "{raw} must be refused");
        }
    }

    #[test]
    fn control_characters_and_spaces_are_refused_raw_or_encoded() {
        for raw in [
            "/account\r\nSet-Cookie: x=1",
            "/account\t",
            "/acc ount",
            "/account%0d%0aLocation:%20//evil.example",
            "/account%00",
            "/account%7F",
            "/予約",
        ] {
            assert_eq!(ReturnPath::parse(raw), None, "{raw:?} must be refused");
        }
    }

    #[test]
    fn a_malformed_escape_is_refused() {
        assert_eq!(ReturnPath::parse("/account%"), None);
        assert_eq!(ReturnPath::parse("/account%zz"), None);
        assert_eq!(ReturnPath::parse("/account%ff"), None, "not UTF-8");
    }

    #[test]
    fn an_overly_long_path_is_refused() {
        let long = format!("/{}", "a".repeat(RETURN_PATH_LEN_MAX));
        assert_eq!(ReturnPath::parse(&long), None);
        let longest = format!("/{}", "a".repeat(RETURN_PATH_LEN_MAX - 1));
        assert!(ReturnPath::parse(&longest).is_some());
    }

    #[test]
    fn a_refused_or_missing_path_falls_back_to_the_default() {
        assert_eq!(
            ReturnPath::or_default(Some("//evil.example"), "/account"),
            "/account"
        );
        assert_eq!(ReturnPath::or_default(None, "/account"), "/account");
        assert_eq!(
            ReturnPath::or_default(Some("/my/reservations"), "/account"),
            "/my/reservations"
        );
    }

    #[test]
    fn the_query_value_keeps_the_path_and_its_query_inside_one_parameter() {
        let path = ReturnPath::parse("/staff/day-sheet?date=2026-12-07&office=x#top");
        assert_eq!(
            path.map(|p| p.query_value()).as_deref(),
            Some("/staff/day-sheet%3Fdate%3D2026-12-07%26office%3Dx%23top")
        );
    }
}
