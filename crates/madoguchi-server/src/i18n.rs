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

    fn table(lang: Lang, name: &str) -> BTreeSet<String> {
        catalogue(lang)
            .get(name)
            .and_then(|t| t.as_object())
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| v.as_str().is_some_and(|s| !s.trim().is_empty()))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn the_tables_of_both_catalogues_have_the_same_keys() {
        for name in [
            "audit_actions",
            "audit_groups",
            "audit_detail_keys",
            "job_kinds",
            "job_statuses",
        ] {
            let ja = table(Lang::Ja, name);
            assert!(!ja.is_empty(), "{name} is a table of texts");
            assert_eq!(ja, table(Lang::En, name), "{name}");
        }
    }

    #[test]
    fn every_audited_action_and_its_group_has_a_japanese_and_an_english_label() {
        for lang in [Lang::Ja, Lang::En] {
            let actions = table(lang, "audit_actions");
            let groups = table(lang, "audit_groups");
            for action in madoguchi_usecases::audit::ACTIONS {
                assert!(actions.contains(*action), "{action} in {lang:?}");
            }
            for group in madoguchi_usecases::audit::action_groups() {
                assert!(groups.contains(group), "group {group} in {lang:?}");
            }
        }
    }

    #[test]
    fn every_job_kind_and_status_has_a_japanese_and_an_english_label() {
        use madoguchi_storage::JobStatus;
        for lang in [Lang::Ja, Lang::En] {
            let kinds = table(lang, "job_kinds");
            for kind in [
                madoguchi_usecases::accounts::MAIL_SEND,
                madoguchi_storage::RESERVATION_EVENT,
                madoguchi_notify::NOTIFY_RESERVATION,
            ] {
                assert!(kinds.contains(kind), "{kind} in {lang:?}");
            }
            let statuses = table(lang, "job_statuses");
            for status in [
                JobStatus::Queued,
                JobStatus::Running,
                JobStatus::Done,
                JobStatus::Failed,
            ] {
                assert!(statuses.contains(status.as_str()), "{status:?}");
            }
        }
    }

    /// The char boundary at or before `at`, within `source`.
    fn boundary(source: &str, at: usize) -> usize {
        let mut at = at.min(source.len());
        while !source.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    /// The action ids written by `audit::record` (or built by `audit::entry`) in the sources of
    /// the use cases and the server: the first string literal of each call that looks like `group.name`, and the
    /// `format!("{}.name", kind)` ones as their resident and staff forms.
    fn recorded_actions() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut found = Vec::new();
        let mut stack = vec![
            root.join("madoguchi-usecases/src"),
            root.join("madoguchi-server/src"),
        ];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let source = std::fs::read_to_string(&path).unwrap_or_default();
                let file = path.display().to_string();
                let calls = source
                    .match_indices("audit::record(")
                    .chain(source.match_indices("audit::entry("));
                for (at, _) in calls {
                    let call = &source[at..boundary(&source, at + 400)];
                    let call = &call[..call.find(".await").unwrap_or(call.len())];
                    let literal = call.split('"').skip(1).step_by(2).find(|s| {
                        s.split_once('.').is_some_and(|(g, n)| {
                            !g.is_empty()
                                && !n.is_empty()
                                && s.chars()
                                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                        })
                    });
                    if let Some(action) = literal {
                        found.push((file.clone(), action.to_owned()));
                    }
                }
                for (at, _) in source.match_indices("format!(\"{}.") {
                    let rest = &source[at + "format!(\"{}.".len()..];
                    let name = &rest[..rest.find('"').unwrap_or(0)];
                    if source[boundary(&source, at.saturating_sub(40))..at].contains("action") {
                        for kind in ["resident", "staff"] {
                            found.push((file.clone(), format!("{kind}.{name}")));
                        }
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_action_the_code_records_is_listed_and_so_translated() {
        let recorded = recorded_actions();
        assert!(
            recorded.iter().any(|(_, a)| a == "reservation.booked")
                && recorded.iter().any(|(_, a)| a == "staff.signed_in"),
            "the scan finds the calls: {recorded:?}"
        );
        for (file, action) in recorded {
            assert!(
                madoguchi_usecases::audit::ACTIONS.contains(&action.as_str()),
                "{file} records {action}, which is not in madoguchi_usecases::audit::ACTIONS"
            );
        }
    }
}
