//! Page texts in Japanese and English, from `web/i18n/{ja,en}.json`, embedded in the binary.
//!
//! Templates read them as `t.key`. Error messages come from [`madoguchi_domain::ErrorCode`]
//! instead, so API and pages say the same thing.

use madoguchi_domain::Lang;
use std::sync::LazyLock;

static JA: LazyLock<serde_json::Value> =
    LazyLock::new(|| parse(include_str!("../../../web/i18n/ja.json")));
static EN: LazyLock<serde_json::Value> =
    LazyLock::new(|| parse(include_str!("../../../web/i18n/en.json")));

fn parse(text: &str) -> serde_json::Value {
    // The catalogues are part of the source; a broken one fails the test below, not a request.
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::Object(Default::default()))
}

static JA_VALUE: LazyLock<minijinja::Value> =
    LazyLock::new(|| minijinja::Value::from_serialize(&*JA));
static EN_VALUE: LazyLock<minijinja::Value> =
    LazyLock::new(|| minijinja::Value::from_serialize(&*EN));

/// The catalogue of `lang` as a template value, built once (cloning it is cheap).
pub fn template_catalogue(lang: Lang) -> minijinja::Value {
    match lang {
        Lang::Ja => JA_VALUE.clone(),
        Lang::En => EN_VALUE.clone(),
    }
}

/// The whole catalogue of `lang`.
pub fn catalogue(lang: Lang) -> &'static serde_json::Value {
    match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    }
}

/// One text, for Rust code (mail subjects); the key itself when missing, so a gap is visible.
pub fn text(lang: Lang, key: &str) -> String {
    catalogue(lang)
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or(key)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(lang: Lang) -> BTreeSet<String> {
        catalogue(lang)
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn both_catalogues_parse_and_have_the_same_keys() {
        let ja = keys(Lang::Ja);
        let en = keys(Lang::En);
        assert!(ja.len() > 20, "the Japanese catalogue parsed");
        let only_ja: Vec<_> = ja.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&ja).collect();
        assert!(
            only_ja.is_empty() && only_en.is_empty(),
            "ja only: {only_ja:?}, en only: {only_en:?}"
        );
    }

    /// Full-width punctuation: the CJK symbols and punctuation block (、。「」〜 and the
    /// ideographic space) and the full-width forms (（）：！？，－／).
    fn is_full_width_punctuation(c: char) -> bool {
        matches!(c, '\u{3000}'..='\u{303F}' | '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}'
            | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}')
    }

    #[test]
    fn english_messages_use_no_full_width_punctuation() {
        assert!(is_full_width_punctuation('（') && is_full_width_punctuation('　'));
        assert!(!is_full_width_punctuation('・') && !is_full_width_punctuation('祝'));
        let offending: Vec<(String, String)> = catalogue(Lang::En)
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(key, value)| {
                let text = value.as_str()?;
                text.chars()
                    .any(is_full_width_punctuation)
                    .then(|| (key.clone(), text.to_owned()))
            })
            .collect();
        assert!(offending.is_empty(), "{offending:?}");
    }
}
