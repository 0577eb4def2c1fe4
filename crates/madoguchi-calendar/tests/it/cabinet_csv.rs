//! Reading the Cabinet Office holiday file: encodings, strict errors with line numbers, and
//! the cross-check against the computed holidays.

use madoguchi_calendar::{
    CABINET_OFFICE_CSV_HEADER, CalendarError, CsvError, HolidayDifference, ImportedHoliday,
    ImportedHolidays, compare_with_computed, parse_cabinet_office_csv,
};
use time::macros::date;

use crate::FIXTURE_2020_2030;

fn csv(rows: &[&str]) -> String {
    let mut text = String::from(CABINET_OFFICE_CSV_HEADER);
    for row in rows {
        text.push_str("\r\n");
        text.push_str(row);
    }
    text.push_str("\r\n");
    text
}

fn parse_error(text: &str) -> CsvError {
    parse_cabinet_office_csv(text.as_bytes()).expect_err("the file is refused")
}

#[test]
fn a_shift_jis_file_with_crlf_is_decoded() {
    let text = csv(&["2026/1/1,元日", "2026/1/12,成人の日", "2026/9/22,休日"]);
    let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!had_errors);
    // The header in Shift_JIS starts with 国 = 0x8D 0x91, and the bytes are not UTF-8.
    assert_eq!(&bytes[..2], &[0x8D, 0x91]);
    assert!(std::str::from_utf8(&bytes).is_err());

    let list = parse_cabinet_office_csv(&bytes).expect("parses");
    assert_eq!(
        list.entries(),
        &[
            ImportedHoliday {
                date: date!(2026 - 01 - 01),
                name: "元日".into()
            },
            ImportedHoliday {
                date: date!(2026 - 01 - 12),
                name: "成人の日".into()
            },
            ImportedHoliday {
                date: date!(2026 - 09 - 22),
                name: "休日".into()
            },
        ]
    );
}

#[test]
fn utf8_with_and_without_a_byte_order_mark_is_accepted() {
    let text = csv(&["2026/2/23,天皇誕生日"]);
    let plain = parse_cabinet_office_csv(text.as_bytes()).expect("parses");
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(text.as_bytes());
    let bom = parse_cabinet_office_csv(&with_bom).expect("parses");
    assert_eq!(plain, bom);
    assert_eq!(plain.entries()[0].name_en(), "The Emperor's Birthday");
}

#[test]
fn the_hand_written_fixture_agrees_with_the_computed_holidays() {
    let list = parse_cabinet_office_csv(FIXTURE_2020_2030.as_bytes()).expect("parses");
    assert_eq!(
        list.years().into_iter().collect::<Vec<_>>(),
        (2020..=2030).collect::<Vec<_>>()
    );
    assert_eq!(compare_with_computed(&list, 2020..=2030), Ok(vec![]));
}

#[test]
fn the_cross_check_reports_missing_extra_and_renamed_days() {
    let list = parse_cabinet_office_csv(FIXTURE_2020_2030.as_bytes()).expect("parses");
    let mut entries: Vec<ImportedHoliday> = list.into();
    entries.retain(|entry| entry.date != date!(2026 - 09 - 22));
    entries.push(ImportedHoliday {
        date: date!(2026 - 06 - 01),
        name: "臨時休日".into(),
    });
    for entry in &mut entries {
        if entry.date == date!(2026 - 05 - 06) {
            entry.name = "振替休日".into();
        }
    }
    let list = ImportedHolidays::new(entries).expect("no duplicates");

    assert_eq!(
        compare_with_computed(&list, 2026..=2026),
        Ok(vec![
            HolidayDifference::NameMismatch {
                date: date!(2026 - 05 - 06),
                computed_name: "休日".into(),
                listed_name: "振替休日".into(),
            },
            HolidayDifference::Extra {
                date: date!(2026 - 06 - 01),
                listed_name: "臨時休日".into()
            },
            HolidayDifference::Missing {
                date: date!(2026 - 09 - 22),
                computed_name: "休日".into()
            },
        ])
    );
    // Years outside the range are not compared, and uncomputable years are refused.
    assert_eq!(compare_with_computed(&list, 2027..=2027), Ok(vec![]));
    assert_eq!(
        compare_with_computed(&list, 2099..=2100),
        Err(CalendarError::YearNotCovered { year: 2100 })
    );
}

#[test]
fn an_impossible_date_is_refused_with_its_line_number() {
    let error = parse_error(&csv(&["2026/1/1,元日", "2026/2/30,架空の日"]));
    assert_eq!(
        error,
        CsvError::BadDate {
            line: 3,
            value: "2026/2/30".into(),
            reason: "there is no such day"
        }
    );
    assert_eq!(
        error.to_string(),
        "line 3: `2026/2/30` is not a date: there is no such day"
    );
}

#[test]
fn a_date_in_another_form_is_refused_with_its_line_number() {
    for (row, value) in [
        ("2026-01-01,元日", "2026-01-01"),
        ("26/1/1,元日", "26/1/1"),
        ("2026/13/1,元日", "2026/13/1"),
        ("元日,2026/1/1", "元日"),
    ] {
        match parse_error(&csv(&[row])) {
            CsvError::BadDate {
                line: 2,
                value: found,
                ..
            } => assert_eq!(found, value),
            other => panic!("{row}: {other:?}"),
        }
    }
    assert!(matches!(
        parse_error(&csv(&["1947/5/3,憲法記念日"])),
        CsvError::BadDate {
            line: 2,
            reason: "it is before the Public Holiday Act of 1948",
            ..
        }
    ));
}

#[test]
fn a_row_without_a_name_is_refused_with_its_line_number() {
    assert_eq!(
        parse_error(&csv(&["2026/1/1,元日", "2026/1/12,"])),
        CsvError::MissingName { line: 3 }
    );
    assert_eq!(
        parse_error(&csv(&["2026/1/12"])),
        CsvError::MissingName { line: 2 }
    );
    assert_eq!(
        parse_error(&csv(&["2026/1/12,成人の日,extra"])),
        CsvError::TooManyFields { line: 2, found: 3 }
    );
}

#[test]
fn a_date_listed_twice_is_refused_with_both_line_numbers() {
    let error = parse_error(&csv(&[
        "2026/1/1,元日",
        "2026/1/12,成人の日",
        "2026/1/1,元日",
    ]));
    assert_eq!(
        error,
        CsvError::DuplicateDate {
            line: 4,
            first_line: 2,
            date: date!(2026 - 01 - 01)
        }
    );
    assert_eq!(
        error.to_string(),
        "line 4: 2026-01-01 is listed twice (first on line 2)"
    );
}

#[test]
fn bytes_that_are_neither_utf8_nor_shift_jis_are_refused_with_their_line_number() {
    let mut bytes = csv(&["2026/1/1,元日", "2026/1/12,成人の日"]).into_bytes();
    bytes.extend_from_slice(b"2026/2/11,\xFF\xFE\r\n");
    assert_eq!(
        parse_cabinet_office_csv(&bytes),
        Err(CsvError::Undecodable { line: 4 })
    );
    // The same in a Shift_JIS file: the header decides the encoding, the stray byte its line.
    let text = csv(&["2026/1/1,元日"]);
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    let mut stray = sjis.into_owned();
    stray.extend_from_slice(b"2026/1/12,\xFF\r\n");
    assert_eq!(
        parse_cabinet_office_csv(&stray),
        Err(CsvError::Undecodable { line: 3 })
    );
    // A file that starts with a UTF-8 byte-order mark must be UTF-8 throughout.
    let text = csv(&["2026/1/1,元日"]);
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(&sjis);
    assert_eq!(
        parse_cabinet_office_csv(&with_bom),
        Err(CsvError::Undecodable { line: 1 })
    );
}

#[test]
fn a_file_without_the_header_or_rows_is_refused() {
    assert_eq!(parse_cabinet_office_csv(b""), Err(CsvError::Empty));
    assert_eq!(parse_cabinet_office_csv(b"\r\n"), Err(CsvError::Empty));
    assert_eq!(
        parse_error("2026/1/1,元日\r\n"),
        CsvError::BadHeader {
            found: "2026/1/1,元日".into()
        }
    );
    assert_eq!(parse_error(&csv(&[])), CsvError::NoRows);
}

#[test]
fn names_with_control_characters_are_refused() {
    assert!(matches!(
        parse_error(&csv(&["2026/1/1,元\u{7}日"])),
        CsvError::BadName { line: 2, .. }
    ));
}

#[test]
fn blank_lines_spaces_and_quotes_from_a_spreadsheet_are_tolerated() {
    let list = parse_cabinet_office_csv(
        csv(&["", "\"2026/01/01\",\"元日\"", "  2026/1/12 , 成人の日 ", ""]).as_bytes(),
    )
    .expect("parses");
    assert_eq!(list.len(), 2);
    assert_eq!(list.entries()[1].name, "成人の日");
}

#[test]
fn an_imported_list_round_trips_through_serde_and_refuses_duplicates() {
    let list = parse_cabinet_office_csv(csv(&["2026/1/1,元日"]).as_bytes()).expect("parses");
    let json = serde_json::to_value(&list).expect("serialises");
    assert_eq!(
        json,
        serde_json::json!([{ "date": "2026-01-01", "name": "元日" }])
    );
    assert_eq!(
        serde_json::from_value::<ImportedHolidays>(json).expect("deserialises"),
        list
    );

    let twice = serde_json::json!([
        { "date": "2026-01-01", "name": "元日" },
        { "date": "2026-01-01", "name": "元日" },
    ]);
    assert!(serde_json::from_value::<ImportedHolidays>(twice).is_err());
}
