//! The receipt (領収書) of a payment: what a resident downloads after paying online and what
//! counter staff print. One A4 page: the title, the receipt number and issue date, the payer
//! 「○○ 様」, the amount, a table of the lines by revenue category (歳入科目) with their total
//! (合計), the payment method, when it was paid (Tokyo time), 上記の金額を領収しました。 and the
//! city (and office) as issuer at the bottom right.
//!
//! [`render_receipt`] checks its input first and refuses, with the [`Field`] at fault, what
//! would print wrongly: no lines, amounts of zero or less, a total past `i64`, control
//! characters, characters the font lacks, and text too long for its place. It never panics.

use std::fmt;

use madoguchi_domain::tokyo::to_tokyo;
use madoguchi_domain::{Lang, Yen};
use time::{Date, OffsetDateTime};

use crate::layout::{BoxStyle, Document, Grey, Page, Rect, TextStyle, fit, text_width_mm};
use crate::text::{MIN_TEXT_PT, fitted, format_date, optional_text, required_text};
use crate::{Field, PdfError};

/// The lines one page holds below its header and above the payment details and the issuer.
pub const MAX_LINES: usize = 10;

/// A receipt to print. Texts are shown as given (trimmed); amounts are whole yen.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The issuer, e.g. 「みどり市」, printed at the bottom right.
    pub city_name: String,
    /// The number residents quote, e.g. `R-2026-000123`.
    pub receipt_number: String,
    pub issued_on: Date,
    /// Personal data: redacted in `Debug`.
    pub payer_name: String,
    pub lines: Vec<ReceiptLine>,
    /// How it was paid, as the resident knows it: 「クレジットカード（Visa）」, 「現金」, 「PayPay」.
    pub method_label: String,
    /// When the payment was made; printed in Tokyo time.
    pub paid_at: OffsetDateTime,
    /// The office that took the payment, printed under the city's name.
    pub office_name: Option<String>,
    /// Free text under the payment details (備考). Redacted in `Debug`: it may name people.
    pub note: Option<String>,
    /// The language of the labels; Japanese unless the resident reads English.
    pub lang: Lang,
}

/// One line of a receipt: what was paid for, under which revenue category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    /// 歳入科目, e.g. 「使用料」, 「手数料」.
    pub revenue_category: String,
    pub description: String,
    pub amount_yen: i64,
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt")
            .field("city_name", &self.city_name)
            .field("receipt_number", &self.receipt_number)
            .field("issued_on", &self.issued_on)
            .field("payer_name", &"[redacted]")
            .field("lines", &self.lines)
            .field("method_label", &self.method_label)
            .field("paid_at", &self.paid_at)
            .field("office_name", &self.office_name)
            .field("note", &self.note.as_ref().map(|_| "[redacted]"))
            .field("lang", &self.lang)
            .finish()
    }
}

/// The receipt as a PDF (A4, one page, tagged PDF/UA-1 and PDF/A-2a), or what is wrong with it.
pub fn render_receipt(receipt: &Receipt) -> Result<Vec<u8>, PdfError> {
    let checked = check(receipt)?;
    let labels = Labels::of(receipt.lang);
    let page = receipt_page(&checked, &labels)?;
    let title = format!("{} {}", labels.title, checked.receipt_number);
    let mut document = Document::new(&title, receipt.lang, receipt.issued_on);
    document.push_page(page);
    document.render()
}

/// A receipt whose texts are trimmed and checked and whose total is known.
struct Checked<'a> {
    city_name: &'a str,
    office_name: Option<&'a str>,
    receipt_number: &'a str,
    issued_on: Date,
    payer_name: &'a str,
    lines: Vec<CheckedLine<'a>>,
    total: Yen,
    method_label: &'a str,
    paid_at: OffsetDateTime,
    note: Option<&'a str>,
    lang: Lang,
}

struct CheckedLine<'a> {
    revenue_category: &'a str,
    description: &'a str,
    amount: Yen,
}

fn check(receipt: &Receipt) -> Result<Checked<'_>, PdfError> {
    if receipt.lines.is_empty() {
        return Err(PdfError::NoLines);
    }
    if receipt.lines.len() > MAX_LINES {
        return Err(PdfError::TooManyLines {
            max_lines: MAX_LINES,
        });
    }
    let mut total = Yen::ZERO;
    let mut lines = Vec::with_capacity(receipt.lines.len());
    for (index, line) in receipt.lines.iter().enumerate() {
        if line.amount_yen <= 0 {
            return Err(PdfError::AmountNotPositive { index });
        }
        let amount = Yen(line.amount_yen);
        total = total.checked_add(amount).ok_or(PdfError::TotalOverflow)?;
        lines.push(CheckedLine {
            revenue_category: required_text(&line.revenue_category, Field::LineCategory(index))?,
            description: required_text(&line.description, Field::LineDescription(index))?,
            amount,
        });
    }
    Ok(Checked {
        city_name: required_text(&receipt.city_name, Field::CityName)?,
        office_name: optional_text(receipt.office_name.as_deref(), Field::OfficeName)?,
        receipt_number: required_text(&receipt.receipt_number, Field::ReceiptNumber)?,
        issued_on: receipt.issued_on,
        payer_name: required_text(&receipt.payer_name, Field::PayerName)?,
        lines,
        total,
        method_label: required_text(&receipt.method_label, Field::MethodLabel)?,
        paid_at: receipt.paid_at,
        note: optional_text(receipt.note.as_deref(), Field::Note)?,
        lang: receipt.lang,
    })
}

/// The printed words of each language.
struct Labels {
    title: &'static str,
    receipt_number: &'static str,
    issued_on: &'static str,
    /// Before the payer's name (English: "Received from").
    payer_before: Option<&'static str>,
    /// After the payer's name, at the end of its line (Japanese: 様).
    payer_after: Option<&'static str>,
    amount: &'static str,
    breakdown: &'static str,
    revenue_category: &'static str,
    description: &'static str,
    line_amount: &'static str,
    total: &'static str,
    method: &'static str,
    paid_at: &'static str,
    note: &'static str,
    acknowledgement: &'static str,
}

impl Labels {
    fn of(lang: Lang) -> Labels {
        match lang {
            Lang::Ja => Labels {
                title: "領収書",
                receipt_number: "領収書番号",
                issued_on: "発行日",
                payer_before: None,
                payer_after: Some("様"),
                amount: "金額",
                breakdown: "内訳",
                revenue_category: "歳入科目",
                description: "内容",
                line_amount: "金額",
                total: "合計",
                method: "お支払い方法",
                paid_at: "お支払い日時",
                note: "備考",
                acknowledgement: "上記の金額を領収しました。",
            },
            Lang::En => Labels {
                title: "Receipt",
                receipt_number: "Receipt No.",
                issued_on: "Date of issue",
                payer_before: Some("Received from"),
                payer_after: None,
                amount: "Amount",
                breakdown: "Breakdown",
                revenue_category: "Revenue category",
                description: "Description",
                line_amount: "Amount",
                total: "Total",
                method: "Payment method",
                paid_at: "Paid at",
                note: "Note",
                acknowledgement: "We acknowledge receipt of the amount above.",
            },
        }
    }
}

/// The instant on a clock in Tokyo: `2026年12月7日 14:05` or `December 7, 2026, 14:05 (JST)`.
fn format_tokyo_instant(instant: OffsetDateTime, lang: Lang) -> String {
    let tokyo = to_tokyo(instant);
    let day = format_date(tokyo.date(), lang);
    match lang {
        Lang::Ja => format!("{day} {:02}:{:02}", tokyo.hour(), tokyo.minute()),
        Lang::En => format!("{day}, {:02}:{:02} (JST)", tokyo.hour(), tokyo.minute()),
    }
}

// The page's geometry, in millimetres from the top-left corner.
const LEFT_MM: f32 = 20.0;
const RIGHT_MM: f32 = 190.0;
const CENTRE_MM: f32 = 105.0;
/// Space between a cell's border and its text.
const PAD_MM: f32 = 3.0;
/// Where the payment details' values start, after their labels.
const VALUE_X_MM: f32 = 58.0;
const CATEGORY_COLUMN_END_MM: f32 = 68.0;
const DESCRIPTION_COLUMN_END_MM: f32 = 148.0;
const TABLE_TOP_MM: f32 = 112.0;
const TABLE_HEADER_HEIGHT_MM: f32 = 8.0;
const LINE_HEIGHT_MM: f32 = 8.0;
const TOTAL_HEIGHT_MM: f32 = 9.0;

const BODY: TextStyle = TextStyle::regular(10.0);
const LABEL: TextStyle = TextStyle::bold(10.0);

/// An amount's style in the table's amount column: smaller for amounts of many digits. Every
/// `i64` fits at the minimum size, so there is nothing to refuse.
fn amount_style(amount: &str, style: TextStyle) -> TextStyle {
    let width_mm = RIGHT_MM - DESCRIPTION_COLUMN_END_MM - 2.0 * PAD_MM;
    fit(amount, style, width_mm, MIN_TEXT_PT).unwrap_or(style.with_size(MIN_TEXT_PT))
}

fn receipt_page(receipt: &Checked<'_>, labels: &Labels) -> Result<Page, PdfError> {
    let lang = receipt.lang;
    let mut page = Page::a4();

    // Title over a double rule.
    page.heading(1, |h| {
        h.text_centred(CENTRE_MM, 32.0, labels.title, TextStyle::bold(24.0));
    })
    .decoration(|d| {
        d.rule(LEFT_MM, RIGHT_MM, 37.0, 0.8)
            .rule(LEFT_MM, RIGHT_MM, 38.4, 0.25);
    });

    // Receipt number and issue date, at the top right.
    let issued_on = format_date(receipt.issued_on, lang);
    let labels_x_mm = 126.0;
    let values_width_mm = RIGHT_MM
        - labels_x_mm
        - PAD_MM
        - text_width_mm(labels.issued_on, LABEL.size_pt)
            .max(text_width_mm(labels.receipt_number, LABEL.size_pt));
    let number_style = fitted(
        receipt.receipt_number,
        BODY,
        values_width_mm,
        Field::ReceiptNumber,
    )?;
    page.paragraph(|p| {
        p.text(labels_x_mm, 47.0, labels.receipt_number, LABEL)
            .text_right(RIGHT_MM, 47.0, receipt.receipt_number, number_style);
    })
    .paragraph(|p| {
        p.text(labels_x_mm, 53.0, labels.issued_on, LABEL)
            .text_right(RIGHT_MM, 53.0, &issued_on, BODY);
    });

    // The payer, on an underline ending in 様.
    let payer_line_end_mm = 122.0;
    let suffix_width_mm = labels
        .payer_after
        .map_or(0.0, |suffix| text_width_mm(suffix, 16.0) + PAD_MM);
    let payer_style = fitted(
        receipt.payer_name,
        TextStyle::regular(16.0),
        payer_line_end_mm - LEFT_MM - 2.0 - suffix_width_mm,
        Field::PayerName,
    )?;
    page.paragraph(|p| {
        if let Some(before) = labels.payer_before {
            p.text(LEFT_MM, 61.0, before, TextStyle::regular(9.0));
        }
        p.text(LEFT_MM + 2.0, 68.0, receipt.payer_name, payer_style);
        if let Some(after) = labels.payer_after {
            p.text_right(payer_line_end_mm, 68.0, after, TextStyle::regular(16.0));
        }
    })
    .decoration(|d| {
        d.rule(LEFT_MM, payer_line_end_mm, 70.5, 0.3);
    });

    // The amount, large, in a box with a shaded label.
    let total = receipt.total.to_string();
    let amount_box = Rect {
        x_mm: LEFT_MM,
        y_mm: 78.0,
        width_mm: RIGHT_MM - LEFT_MM,
        height_mm: 18.0,
    };
    let amount_label_width_mm = 36.0;
    // Any i64 fits at a smaller size; the minimum only guards the arithmetic.
    let total_style = fit(
        &total,
        TextStyle::bold(22.0),
        amount_box.width_mm - amount_label_width_mm - 2.0 * PAD_MM,
        12.0,
    )
    .unwrap_or(TextStyle::bold(12.0));
    page.decoration(|d| {
        d.rect(
            Rect {
                width_mm: amount_label_width_mm,
                ..amount_box
            },
            BoxStyle::filled(Grey::SHADE),
        )
        .rect(amount_box, BoxStyle::outlined(0.5))
        .rect(
            Rect {
                width_mm: amount_label_width_mm,
                ..amount_box
            },
            BoxStyle::outlined(0.3),
        );
    })
    .paragraph(|p| {
        p.text_centred(
            LEFT_MM + amount_label_width_mm / 2.0,
            89.5,
            labels.amount,
            TextStyle::bold(13.0),
        )
        .text_right(RIGHT_MM - PAD_MM - 3.0, 91.0, &total, total_style);
    });

    // The breakdown: a table of the lines and their total.
    page.heading(2, |h| {
        h.text(LEFT_MM, 108.0, labels.breakdown, TextStyle::bold(11.0));
    });
    let lines_top_mm = TABLE_TOP_MM + TABLE_HEADER_HEIGHT_MM;
    let total_top_mm = lines_top_mm + LINE_HEIGHT_MM * receipt.lines.len() as f32;
    let table_bottom_mm = total_top_mm + TOTAL_HEIGHT_MM;
    page.decoration(|d| {
        let full_width = RIGHT_MM - LEFT_MM;
        d.rect(
            Rect {
                x_mm: LEFT_MM,
                y_mm: TABLE_TOP_MM,
                width_mm: full_width,
                height_mm: TABLE_HEADER_HEIGHT_MM,
            },
            BoxStyle::filled(Grey::SHADE),
        )
        .rect(
            Rect {
                x_mm: LEFT_MM,
                y_mm: total_top_mm,
                width_mm: full_width,
                height_mm: TOTAL_HEIGHT_MM,
            },
            BoxStyle::filled(Grey::SHADE),
        );
        for index in 1..receipt.lines.len() {
            let y_mm = lines_top_mm + LINE_HEIGHT_MM * index as f32;
            d.rule(LEFT_MM, RIGHT_MM, y_mm, 0.15);
        }
        d.rule(LEFT_MM, RIGHT_MM, lines_top_mm, 0.3)
            .rule(LEFT_MM, RIGHT_MM, total_top_mm, 0.4)
            .rect(
                Rect {
                    x_mm: LEFT_MM,
                    y_mm: TABLE_TOP_MM,
                    width_mm: full_width,
                    height_mm: table_bottom_mm - TABLE_TOP_MM,
                },
                BoxStyle::outlined(0.4),
            );
        // Column borders; the total's label spans the first two columns.
        for (x_mm, bottom_mm) in [
            (CATEGORY_COLUMN_END_MM, total_top_mm),
            (DESCRIPTION_COLUMN_END_MM, table_bottom_mm),
        ] {
            d.vertical_rule(x_mm, TABLE_TOP_MM, bottom_mm, 0.15);
        }
    });
    let category_width_mm = CATEGORY_COLUMN_END_MM - LEFT_MM - 2.0 * PAD_MM;
    let description_width_mm = DESCRIPTION_COLUMN_END_MM - CATEGORY_COLUMN_END_MM - 2.0 * PAD_MM;
    let mut line_styles = Vec::with_capacity(receipt.lines.len());
    for (index, line) in receipt.lines.iter().enumerate() {
        line_styles.push((
            fitted(
                line.revenue_category,
                BODY,
                category_width_mm,
                Field::LineCategory(index),
            )?,
            fitted(
                line.description,
                BODY,
                description_width_mm,
                Field::LineDescription(index),
            )?,
        ));
    }
    let header_baseline_mm = TABLE_TOP_MM + 5.6;
    let header_style = TextStyle::bold(9.5);
    let amount_right_mm = RIGHT_MM - PAD_MM;
    page.table(|t| {
        t.row(|r| {
            r.column_header(|c| {
                c.text(
                    LEFT_MM + PAD_MM,
                    header_baseline_mm,
                    labels.revenue_category,
                    header_style,
                );
            })
            .column_header(|c| {
                c.text(
                    CATEGORY_COLUMN_END_MM + PAD_MM,
                    header_baseline_mm,
                    labels.description,
                    header_style,
                );
            })
            .column_header(|c| {
                c.text_right(
                    amount_right_mm,
                    header_baseline_mm,
                    labels.line_amount,
                    header_style,
                );
            });
        });
        for (index, (line, (category_style, description_style))) in
            receipt.lines.iter().zip(&line_styles).enumerate()
        {
            let baseline_mm = lines_top_mm + LINE_HEIGHT_MM * index as f32 + 5.6;
            let amount = line.amount.to_string();
            let amount_style = amount_style(&amount, BODY);
            t.row(|r| {
                r.cell(|c| {
                    c.text(
                        LEFT_MM + PAD_MM,
                        baseline_mm,
                        line.revenue_category,
                        *category_style,
                    );
                })
                .cell(|c| {
                    c.text(
                        CATEGORY_COLUMN_END_MM + PAD_MM,
                        baseline_mm,
                        line.description,
                        *description_style,
                    );
                })
                .cell(|c| {
                    c.text_right(amount_right_mm, baseline_mm, &amount, amount_style);
                });
            });
        }
        let total_baseline_mm = total_top_mm + 6.3;
        let total_in_table_style = amount_style(&total, TextStyle::bold(11.0));
        t.row(|r| {
            r.row_header(2, |c| {
                c.text(
                    LEFT_MM + PAD_MM,
                    total_baseline_mm,
                    labels.total,
                    TextStyle::bold(11.0),
                );
            })
            .cell(|c| {
                c.text_right(
                    amount_right_mm,
                    total_baseline_mm,
                    &total,
                    total_in_table_style,
                );
            });
        });
    });

    // How and when it was paid, and the note.
    let details_top_mm = table_bottom_mm + 12.0;
    let value_width_mm = RIGHT_MM - VALUE_X_MM;
    let method_style = fitted(
        receipt.method_label,
        BODY,
        value_width_mm,
        Field::MethodLabel,
    )?;
    let paid_at = format_tokyo_instant(receipt.paid_at, lang);
    page.paragraph(|p| {
        p.text(LEFT_MM, details_top_mm, labels.method, LABEL).text(
            VALUE_X_MM,
            details_top_mm,
            receipt.method_label,
            method_style,
        );
    })
    .paragraph(|p| {
        p.text(LEFT_MM, details_top_mm + 7.0, labels.paid_at, LABEL)
            .text(VALUE_X_MM, details_top_mm + 7.0, &paid_at, BODY);
    });
    if let Some(note) = receipt.note {
        let note_style = fitted(note, BODY, value_width_mm, Field::Note)?;
        page.paragraph(|p| {
            p.text(LEFT_MM, details_top_mm + 14.0, labels.note, LABEL)
                .text(VALUE_X_MM, details_top_mm + 14.0, note, note_style);
        });
    }

    // The acknowledgement and the issuer at the bottom right.
    let issuer_width_mm = RIGHT_MM - CENTRE_MM;
    let city_style = fitted(
        receipt.city_name,
        TextStyle::bold(14.0),
        issuer_width_mm,
        Field::CityName,
    )?;
    let office_style = match receipt.office_name {
        Some(office) => Some(fitted(
            office,
            TextStyle::regular(10.5),
            issuer_width_mm,
            Field::OfficeName,
        )?),
        None => None,
    };
    page.paragraph(|p| {
        p.text(
            LEFT_MM,
            248.0,
            labels.acknowledgement,
            TextStyle::regular(11.0),
        );
    })
    .paragraph(|p| {
        p.text_right(RIGHT_MM, 262.0, receipt.city_name, city_style);
    });
    if let (Some(office), Some(style)) = (receipt.office_name, office_style) {
        page.paragraph(|p| {
            p.text_right(RIGHT_MM, 269.0, office, style);
        });
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::MAX_TEXT_CHARS;
    use time::macros::{date, datetime};

    fn receipt() -> Receipt {
        Receipt {
            city_name: "みどり市".to_owned(),
            receipt_number: "R-2026-000123".to_owned(),
            issued_on: date!(2026 - 12 - 07),
            payer_name: "山田 太郎".to_owned(),
            lines: vec![
                ReceiptLine {
                    revenue_category: "使用料".to_owned(),
                    description: "市民会館 ホール".to_owned(),
                    amount_yen: 19_400,
                },
                ReceiptLine {
                    revenue_category: "手数料".to_owned(),
                    description: "住民票の写し（2通）".to_owned(),
                    amount_yen: 600,
                },
            ],
            method_label: "クレジットカード（Visa）".to_owned(),
            paid_at: datetime!(2026-12-07 05:05:30 UTC),
            office_name: Some("市民課".to_owned()),
            note: None,
            lang: Lang::Ja,
        }
    }

    fn page_texts(receipt: &Receipt) -> Vec<String> {
        let checked = check(receipt).expect("valid");
        let page = receipt_page(&checked, &Labels::of(receipt.lang)).expect("lays out");
        page.texts().into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn the_issue_date_is_written_as_year_month_day_in_japanese() {
        assert_eq!(
            format_date(date!(2026 - 12 - 07), Lang::Ja),
            "2026年12月7日"
        );
    }

    #[test]
    fn the_issue_date_is_written_as_month_day_year_in_english() {
        assert_eq!(
            format_date(date!(2026 - 12 - 07), Lang::En),
            "December 7, 2026"
        );
    }

    #[test]
    fn the_payment_instant_is_shown_on_a_tokyo_clock() {
        assert_eq!(
            format_tokyo_instant(datetime!(2026-12-07 05:05:30 UTC), Lang::Ja),
            "2026年12月7日 14:05"
        );
        assert_eq!(
            format_tokyo_instant(datetime!(2026-12-07 05:05:30 UTC), Lang::En),
            "December 7, 2026, 14:05 (JST)"
        );
    }

    #[test]
    fn a_payment_late_in_the_utc_evening_is_the_next_day_in_tokyo() {
        assert_eq!(
            format_tokyo_instant(datetime!(2026-12-31 20:30 UTC), Lang::Ja),
            "2027年1月1日 05:30"
        );
    }

    #[test]
    fn an_instant_given_with_another_offset_is_still_shown_in_tokyo_time() {
        assert_eq!(
            format_tokyo_instant(datetime!(2026-12-07 06:05 +01:00), Lang::Ja),
            "2026年12月7日 14:05"
        );
    }

    #[test]
    fn the_page_reads_title_number_payer_amount_lines_total_method_and_issuer_in_order() {
        assert_eq!(
            page_texts(&receipt()),
            vec![
                "領収書",
                "領収書番号",
                "R-2026-000123",
                "発行日",
                "2026年12月7日",
                "山田 太郎",
                "様",
                "金額",
                "¥20,000",
                "内訳",
                "歳入科目",
                "内容",
                "金額",
                "使用料",
                "市民会館 ホール",
                "¥19,400",
                "手数料",
                "住民票の写し（2通）",
                "¥600",
                "合計",
                "¥20,000",
                "お支払い方法",
                "クレジットカード（Visa）",
                "お支払い日時",
                "2026年12月7日 14:05",
                "上記の金額を領収しました。",
                "みどり市",
                "市民課",
            ]
        );
    }

    #[test]
    fn an_english_receipt_has_english_labels_and_no_honorific() {
        let texts = page_texts(&Receipt {
            lang: Lang::En,
            ..receipt()
        });
        for label in [
            "Receipt",
            "Received from",
            "Total",
            "Payment method",
            "Paid at",
        ] {
            assert!(texts.iter().any(|t| t == label), "{label} missing");
        }
        assert!(!texts.iter().any(|t| t == "様"));
        assert!(texts.iter().any(|t| t == "山田 太郎"));
    }

    #[test]
    fn a_note_is_printed_under_the_payment_details() {
        let texts = page_texts(&Receipt {
            note: Some("施設予約番号 K7QX-3MPA".to_owned()),
            ..receipt()
        });
        let note_label = texts.iter().position(|t| t == "備考").expect("note label");
        assert_eq!(texts[note_label + 1], "施設予約番号 K7QX-3MPA");
    }

    #[test]
    fn a_blank_note_and_a_blank_office_are_left_out() {
        let texts = page_texts(&Receipt {
            note: Some("  ".to_owned()),
            office_name: Some("\u{3000}".to_owned()),
            ..receipt()
        });
        assert!(!texts.iter().any(|t| t == "備考"));
        assert_eq!(texts.last().map(String::as_str), Some("みどり市"));
    }

    #[test]
    fn texts_are_printed_trimmed() {
        let texts = page_texts(&Receipt {
            payer_name: "  山田 太郎　".to_owned(),
            ..receipt()
        });
        assert!(texts.iter().any(|t| t == "山田 太郎"));
    }

    #[test]
    fn a_receipt_without_lines_is_refused() {
        let refused = render_receipt(&Receipt {
            lines: Vec::new(),
            ..receipt()
        });
        assert_eq!(refused, Err(PdfError::NoLines));
    }

    #[test]
    fn more_lines_than_the_page_holds_are_refused() {
        let line = receipt().lines[0].clone();
        let refused = render_receipt(&Receipt {
            lines: vec![line; MAX_LINES + 1],
            ..receipt()
        });
        assert_eq!(refused, Err(PdfError::TooManyLines { max_lines: 10 }));
    }

    #[test]
    fn a_line_of_zero_yen_is_refused() {
        let mut zero = receipt();
        zero.lines[1].amount_yen = 0;
        assert_eq!(
            render_receipt(&zero),
            Err(PdfError::AmountNotPositive { index: 1 })
        );
    }

    #[test]
    fn a_negative_line_is_refused() {
        let mut refund = receipt();
        refund.lines[0].amount_yen = -600;
        assert_eq!(
            render_receipt(&refund),
            Err(PdfError::AmountNotPositive { index: 0 })
        );
    }

    #[test]
    fn a_total_past_the_largest_i64_is_refused() {
        let mut huge = receipt();
        huge.lines[0].amount_yen = i64::MAX;
        assert_eq!(render_receipt(&huge), Err(PdfError::TotalOverflow));
    }

    #[test]
    fn the_largest_total_there_is_still_fits_its_box() {
        let mut huge = receipt();
        huge.lines[0].amount_yen = i64::MAX - 600;
        let pdf = render_receipt(&huge).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
    }

    #[test]
    fn a_control_character_in_any_text_is_refused_with_its_field() {
        type Spoil = fn(&mut Receipt);
        let cases: [(Spoil, Field); 5] = [
            (|r| r.payer_name = "山田\n太郎".to_owned(), Field::PayerName),
            (
                |r| r.city_name = "みどり\u{0}市".to_owned(),
                Field::CityName,
            ),
            (|r| r.note = Some("abc\u{202E}txt".to_owned()), Field::Note),
            (
                |r| r.lines[1].description = "住民票\t2通".to_owned(),
                Field::LineDescription(1),
            ),
            (
                |r| r.method_label = "現金\u{85}".to_owned(),
                Field::MethodLabel,
            ),
        ];
        for (spoil, field) in cases {
            let mut spoilt = receipt();
            spoil(&mut spoilt);
            assert_eq!(
                render_receipt(&spoilt),
                Err(PdfError::ControlCharacter { field })
            );
        }
    }

    #[test]
    fn a_blank_payer_name_is_refused() {
        let refused = render_receipt(&Receipt {
            payer_name: " \u{3000}\u{200B}".to_owned(),
            ..receipt()
        });
        assert_eq!(
            refused,
            Err(PdfError::EmptyText {
                field: Field::PayerName
            })
        );
    }

    #[test]
    fn a_blank_revenue_category_is_refused_with_its_line() {
        let mut blank = receipt();
        blank.lines[1].revenue_category = String::new();
        assert_eq!(
            render_receipt(&blank),
            Err(PdfError::EmptyText {
                field: Field::LineCategory(1)
            })
        );
    }

    #[test]
    fn a_character_the_font_lacks_is_refused_rather_than_printed_as_a_box() {
        let refused = render_receipt(&Receipt {
            payer_name: "山田 太郎 😀".to_owned(),
            ..receipt()
        });
        assert_eq!(
            refused,
            Err(PdfError::UnsupportedCharacter {
                field: Field::PayerName
            })
        );
    }

    #[test]
    fn a_long_description_is_set_smaller_to_fit_its_column() {
        let mut long = receipt();
        long.lines[0].description = "市民会館 大ホール 舞台・客席一式（12月20日 午後）".to_owned();
        let checked = check(&long).expect("valid");
        let page = receipt_page(&checked, &Labels::of(Lang::Ja));
        assert!(page.is_ok());
    }

    #[test]
    fn a_description_too_long_even_when_set_small_is_refused() {
        let mut long = receipt();
        long.lines[1].description = "住民票".repeat(20);
        assert_eq!(
            render_receipt(&long),
            Err(PdfError::TextTooLong {
                field: Field::LineDescription(1)
            })
        );
    }

    #[test]
    fn a_text_past_the_character_limit_is_refused_before_it_is_measured() {
        let refused = render_receipt(&Receipt {
            note: Some("あ".repeat(MAX_TEXT_CHARS + 1)),
            ..receipt()
        });
        assert_eq!(refused, Err(PdfError::TextTooLong { field: Field::Note }));
    }

    #[test]
    fn a_full_page_of_lines_renders() {
        let line = receipt().lines[0].clone();
        let full = Receipt {
            lines: vec![line; MAX_LINES],
            note: Some("備考の例".to_owned()),
            ..receipt()
        };
        assert!(render_receipt(&full).is_ok());
    }

    #[test]
    fn the_same_receipt_renders_to_the_same_bytes() {
        let first = render_receipt(&receipt()).expect("renders");
        let second = render_receipt(&receipt()).expect("renders");
        assert_eq!(first, second);
    }

    #[test]
    fn debug_output_hides_the_payer_name_and_the_note() {
        let shown = format!(
            "{:?}",
            Receipt {
                note: Some("山田様の付記".to_owned()),
                ..receipt()
            }
        );
        assert!(!shown.contains("山田"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn error_messages_name_the_field_and_never_its_text() {
        let refused = render_receipt(&Receipt {
            payer_name: "山田\n太郎".to_owned(),
            ..receipt()
        })
        .expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "payer_name contains a control character"
        );
        assert_eq!(
            Field::LineDescription(2).to_string(),
            "lines[2].description"
        );
    }
}
