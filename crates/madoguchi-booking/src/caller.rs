//! A caller booked by staff on the phone or at the counter who has no account: the details a
//! clerk takes down (name in kanji and kana, date of birth, phone), checked here so the API
//! and the form refuse the same things.

use time::Date;

#[derive(Clone, PartialEq, Eq)]
pub struct ProxyCaller {
    pub name_kanji: String,
    pub name_kana: String,
    pub birth_date: Date,
    /// Digits only, as dialled (0 and 9–10 more digits).
    pub phone: String,
}

/// Personal data: never printed.
impl std::fmt::Debug for ProxyCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProxyCaller { .. }")
    }
}

/// Which field of a caller is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallerError {
    #[error("the name is empty or longer than 60 characters")]
    Name,
    #[error("the reading must be in katakana or hiragana")]
    Kana,
    #[error("the phone number must be 10 or 11 digits starting with 0")]
    Phone,
    #[error("the date of birth is in the future or before 1900")]
    BirthDate,
}

impl CallerError {
    /// The form field the error belongs to.
    pub fn field(self) -> &'static str {
        match self {
            CallerError::Name => "name_kanji",
            CallerError::Kana => "name_kana",
            CallerError::Phone => "phone",
            CallerError::BirthDate => "birth_date",
        }
    }
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | 'ー' | '・' | ' ' | '　')
}

impl ProxyCaller {
    /// The form stored with the reservation (`details.caller`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name_kanji": self.name_kanji,
            "name_kana": self.name_kana,
            "birth_date": self.birth_date.to_string(),
            "phone": self.phone,
        })
    }

    /// Normalises what a clerk typed (trims, folds full-width spaces, drops hyphens and spaces
    /// in the phone number) and checks it against `today` (Tokyo).
    pub fn new(
        name_kanji: &str,
        name_kana: &str,
        birth_date: Date,
        phone: &str,
        today: Date,
    ) -> Result<Self, CallerError> {
        let name_kanji = name_kanji.trim().replace('　', " ");
        let name_kana = name_kana.trim().replace('　', " ");
        // A name with nothing visible, or with control or format characters (a NUL, a
        // right-to-left override), would be a blank or misleading line on the day sheet.
        let name_shown = name_kanji
            .chars()
            .any(|c| !madoguchi_domain::text::is_invisible(c));
        let name_clean = !name_kanji.chars().any(|c| {
            c.is_control() || (!c.is_whitespace() && madoguchi_domain::text::is_invisible(c))
        });
        if !name_shown || !name_clean || name_kanji.chars().count() > 60 {
            return Err(CallerError::Name);
        }
        if name_kana.is_empty() || name_kana.chars().count() > 60 || !name_kana.chars().all(is_kana)
        {
            return Err(CallerError::Kana);
        }
        let phone: String = phone
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '－' | 'ー' | '(' | ')'))
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                other => other,
            })
            .collect();
        if !(10..=11).contains(&phone.len())
            || !phone.starts_with('0')
            || !phone.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(CallerError::Phone);
        }
        if birth_date > today || birth_date.year() < 1900 {
            return Err(CallerError::BirthDate);
        }
        Ok(Self {
            name_kanji,
            name_kana,
            birth_date,
            phone,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2027 - 04 - 01);

    #[test]
    fn what_a_clerk_types_is_normalised() {
        let caller = ProxyCaller::new(
            " 山田　太郎 ",
            "ヤマダ　タロウ",
            date!(1950 - 02 - 03),
            "０３-１２３４-５６７８",
            TODAY,
        )
        .unwrap();
        assert_eq!(caller.name_kanji, "山田 太郎");
        assert_eq!(caller.name_kana, "ヤマダ タロウ");
        assert_eq!(caller.phone, "0312345678");
        assert_eq!(format!("{caller:?}"), "ProxyCaller { .. }");
    }

    #[test]
    fn each_bad_field_is_named() {
        let birth = date!(1950 - 02 - 03);
        let err =
            |k: &str, r: &str, b: Date, p: &str| ProxyCaller::new(k, r, b, p, TODAY).unwrap_err();
        assert_eq!(err("", "ヤマダ", birth, "0312345678"), CallerError::Name);
        for name in ["\u{200B}", "山田\u{0}", "山田\u{202E}太郎"] {
            assert_eq!(err(name, "ヤマダ", birth, "0312345678"), CallerError::Name);
        }
        assert_eq!(
            err("山田", "Yamada", birth, "0312345678"),
            CallerError::Kana
        );
        assert_eq!(err("山田", "やまだ", birth, "12345"), CallerError::Phone);
        assert_eq!(
            err("山田", "やまだ", date!(2030 - 01 - 01), "09012345678"),
            CallerError::BirthDate
        );
        assert_eq!(CallerError::Kana.field(), "name_kana");
    }
}
