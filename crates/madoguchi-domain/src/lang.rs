//! The languages users see: Japanese first, English second.

use serde::{Deserialize, Serialize};

/// A user-facing language. Japanese is the default everywhere.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    /// BCP 47 tag, as used in `<html lang>` and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// Parses a tag such as `ja`, `en-US`; anything else is `None`.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the best supported language from an `Accept-Language` header value,
    /// honouring q-values; Japanese when nothing supported is asked for.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (position, part) in header.split(',').enumerate() {
            let mut pieces = part.split(';');
            let Some(tag) = pieces.next() else { continue };
            let quality = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if quality <= 0.0 {
                continue;
            }
            if let Some(lang) = Lang::from_tag(tag) {
                // Higher quality wins; on a tie the earlier entry wins.
                let better = match best {
                    None => true,
                    Some((q, _, _)) => quality > q,
                };
                if better {
                    best = Some((quality, position, lang));
                }
            }
        }
        best.map(|(_, _, lang)| lang).unwrap_or_default()
    }

    /// The other language, for a language switch link.
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_is_the_default_when_nothing_matches() {
        assert_eq!(Lang::from_accept_language(""), Lang::Ja);
        assert_eq!(Lang::from_accept_language("fr-FR,de;q=0.8"), Lang::Ja);
    }

    #[test]
    fn english_is_chosen_when_preferred() {
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,ja;q=0.8"),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language("ja;q=0.5, en;q=0.7"), Lang::En);
    }

    #[test]
    fn zero_quality_excludes_a_language() {
        assert_eq!(Lang::from_accept_language("en;q=0, ja;q=0.1"), Lang::Ja);
    }
}
