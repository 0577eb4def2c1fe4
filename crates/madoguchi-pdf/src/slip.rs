//! The convenience-store payment slip (コンビニ納付書・払込票): one A4 page per slip, cut into
//! three parts along dashed lines, as the stores and the agencies expect them.
//!
//! - **領収証書** (top, kept by the payer): what is paid, to whom, by when, and where it can be
//!   paid; the store stamps it (領収日付印).
//! - **納付済通知書** (middle, sent back to the city): the same facts and the store's stamp.
//! - **原符** (bottom, kept by the store): the same facts and the GS1-128 symbol with its
//!   human-readable line, printed at a size the stores' scanners read.
//!
//! The amount and the due date are taken from the barcode, so the printed text can never
//! disagree with what the scanner reads; a barcode a city may not issue (a placeholder) is
//! refused. A batch is one PDF and is not refused for one payer's text: a character the font
//! lacks (a 外字 of a name) prints as 〓, and a text too long for its place is set smaller,
//! then shortened with an ellipsis. [`render_slips`] refuses the batch, naming the slip and
//! field, only for what no slip may print: an empty text, a control character, a placeholder
//! barcode.

use std::fmt;

use madoguchi_domain::{Lang, Yen};
use madoguchi_konbini::SlipBarcode;
use madoguchi_konbini::symbol::{BAR_HEIGHT_MM, MODULE_MM, QUIET_ZONE_MODULES, Symbol};
use time::Date;

use crate::layout::{BoxStyle, Document, Grey, Page, Rect, TextStyle, text_width_mm};
use crate::text::{fitted_or_shortened, format_date, refuse_controls, required_text, with_geta};
use crate::{Field, PdfError};

/// Slips in one PDF. A model city prints about 2,300 water bills a cycle; a batch larger than
/// this is split by the caller, so one file stays small enough to open and print.
pub const MAX_SLIPS_PER_DOCUMENT: usize = 5_000;

/// One slip to print. Texts are shown as given (trimmed).
#[derive(Clone, PartialEq, Eq)]
pub struct Slip {
    /// What the store's scanner reads; it also gives the amount and the due date printed.
    pub barcode: SlipBarcode,
    /// The issuer, e.g. 「みどり市」.
    pub city_name: String,
    /// Personal data: redacted in `Debug`.
    pub payer_name: String,
    /// 歳入科目, e.g. 「水道料金」.
    pub revenue_category: String,
    /// What is billed, e.g. 「2026年12月分 上下水道料金」.
    pub description: String,
    /// The number residents and clerks quote (納付番号).
    pub slip_number: String,
    pub issued_on: Date,
}

impl fmt::Debug for Slip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slip")
            .field("barcode", &self.barcode.to_string())
            .field("city_name", &self.city_name)
            .field("payer_name", &"[redacted]")
            .field("revenue_category", &self.revenue_category)
            .field("description", &self.description)
            .field("slip_number", &self.slip_number)
            .field("issued_on", &self.issued_on)
            .finish()
    }
}

/// The slips as one PDF (A4, a page per slip, tagged PDF/UA-1 and PDF/A-2a), in `lang`, made on
/// `created_on`; or the first slip that cannot print and why.
pub fn render_slips(slips: &[Slip], lang: Lang, created_on: Date) -> Result<Vec<u8>, PdfError> {
    if slips.is_empty() {
        return Err(PdfError::NoSlips);
    }
    if slips.len() > MAX_SLIPS_PER_DOCUMENT {
        return Err(PdfError::TooManySlips {
            max_slips: MAX_SLIPS_PER_DOCUMENT,
        });
    }
    let labels = Labels::of(lang);
    let mut document = Document::new(labels.document_title, lang, created_on);
    for (index, slip) in slips.iter().enumerate() {
        let page = check(slip)
            .and_then(|checked| slip_page(&checked, &labels, lang))
            .map_err(|error| PdfError::InSlip {
                index,
                error: Box::new(error),
            })?;
        document.push_page(page);
    }
    document.render()
}

/// A slip whose texts are checked (characters the font lacks shown as 〓), with the amount and
/// due date read from its barcode.
struct Checked<'a> {
    barcode: &'a SlipBarcode,
    city_name: String,
    payer_name: String,
    revenue_category: String,
    description: String,
    slip_number: String,
    issued_on: Date,
    amount: Yen,
    due_on: Date,
}

/// A text of a slip: control characters and empty texts refused, the rest printable.
fn slip_text(raw: &str, field: Field) -> Result<String, PdfError> {
    // Control characters are refused before the missing glyphs are replaced, not printed as 〓.
    refuse_controls(raw, field)?;
    required_text(&with_geta(raw), field).map(str::to_owned)
}

fn check(slip: &Slip) -> Result<Checked<'_>, PdfError> {
    let fields = slip.barcode.fields();
    let (Some(amount), Some(due_on), true) =
        (fields.amount, fields.due, slip.barcode.is_issuable())
    else {
        return Err(PdfError::BarcodeNotIssuable);
    };
    Ok(Checked {
        barcode: &slip.barcode,
        city_name: slip_text(&slip.city_name, Field::CityName)?,
        payer_name: slip_text(&slip.payer_name, Field::PayerName)?,
        revenue_category: slip_text(&slip.revenue_category, Field::RevenueCategory)?,
        description: slip_text(&slip.description, Field::Description)?,
        slip_number: slip_text(&slip.slip_number, Field::SlipNumber)?,
        issued_on: slip.issued_on,
        amount: Yen(i64::from(amount)),
        due_on,
    })
}

/// The printed words of each language.
struct Labels {
    document_title: &'static str,
    /// The three parts, top to bottom: title and who keeps it.
    parts: [(&'static str, &'static str); 3],
    payer: &'static str,
    payer_after: Option<&'static str>,
    issuer: &'static str,
    category: &'static str,
    description: &'static str,
    slip_number: &'static str,
    issued_on: &'static str,
    amount: &'static str,
    due_on: &'static str,
    stamp: &'static str,
    where_to_pay: &'static str,
    after_due: &'static str,
    barcode: &'static str,
}

impl Labels {
    fn of(lang: Lang) -> Labels {
        match lang {
            Lang::Ja => Labels {
                document_title: "コンビニエンスストア納付書",
                parts: [
                    ("領収証書", "納付者保管"),
                    ("納付済通知書", "市へ送付"),
                    ("原符", "取扱店保管"),
                ],
                payer: "納付者",
                payer_after: Some("様"),
                issuer: "発行者",
                category: "科目",
                description: "内容",
                slip_number: "納付番号",
                issued_on: "発行日",
                amount: "金額",
                due_on: "支払期限",
                stamp: "領収日付印",
                where_to_pay: "全国のコンビニエンスストア、またはスマートフォン決済の請求書払い（PayPay・au PAY・d払い）でお支払いください。",
                after_due: "支払期限を過ぎた納付書は取り扱えません。市役所の窓口で再発行いたします。",
                barcode: "バーコード",
            },
            Lang::En => Labels {
                document_title: "Convenience-store payment slip",
                parts: [
                    ("Receipt", "Keep this part"),
                    ("Payment notice", "Returned to the city"),
                    ("Counterfoil", "Kept by the store"),
                ],
                payer: "Payer",
                payer_after: None,
                issuer: "Issued by",
                category: "Category",
                description: "Details",
                slip_number: "Slip No.",
                issued_on: "Issued on",
                amount: "Amount",
                due_on: "Pay by",
                stamp: "Store stamp",
                where_to_pay: "Pay at any convenience store, or scan the barcode in PayPay, au PAY or d-barai (bill payment).",
                after_due: "After the due date this slip cannot be used; the city office issues a new one.",
                barcode: "Barcode",
            },
        }
    }
}

// The page's geometry, in millimetres from the top-left corner. Each part is a third of A4.
const PART_HEIGHT_MM: f32 = 99.0;
const LEFT_MM: f32 = 12.0;
const RIGHT_MM: f32 = 198.0;
/// Where the facts' values start, after their labels.
const VALUE_X_MM: f32 = 34.0;
/// The facts' column ends here; the amount, due date and stamp are to its right.
const FACTS_END_MM: f32 = 118.0;
const BOX_LEFT_MM: f32 = 124.0;
const DASH_MM: f32 = 2.5;

const BODY: TextStyle = TextStyle::regular(9.5);
const LABEL: TextStyle = TextStyle::bold(9.0);
const NOTE: TextStyle = TextStyle::regular(7.5);

fn slip_page(slip: &Checked<'_>, labels: &Labels, lang: Lang) -> Result<Page, PdfError> {
    let mut page = Page::a4();
    let value_width_mm = FACTS_END_MM - VALUE_X_MM;
    let suffix_width_mm = labels
        .payer_after
        .map_or(0.0, |suffix| text_width_mm(suffix, 12.0) + 2.0);
    // A batch is never refused for one long text: it is set smaller, then shortened.
    let (payer_name, payer_style) = fitted_or_shortened(
        &slip.payer_name,
        TextStyle::regular(12.0),
        value_width_mm - suffix_width_mm,
    );
    let (revenue_category, category_style) =
        fitted_or_shortened(&slip.revenue_category, BODY, value_width_mm);
    let (description, description_style) =
        fitted_or_shortened(&slip.description, BODY, value_width_mm);
    let (slip_number, number_style) = fitted_or_shortened(&slip.slip_number, BODY, value_width_mm);
    let (city_name, city_style) = fitted_or_shortened(&slip.city_name, BODY, 60.0);
    let amount = slip.amount.to_string();
    let due_on = format_date(slip.due_on, lang);
    let issued_on = format_date(slip.issued_on, lang);

    for (part, (title, keeper)) in labels.parts.iter().enumerate() {
        let top = PART_HEIGHT_MM * part as f32;
        // Title, who keeps the part, and the issuer, over a rule.
        page.heading(1, |h| {
            h.text(LEFT_MM, top + 12.0, title, TextStyle::bold(15.0));
        })
        .paragraph(|p| {
            p.text(
                LEFT_MM + text_width_mm(title, 15.0) + 4.0,
                top + 12.0,
                keeper,
                NOTE,
            )
            .text_right(
                RIGHT_MM - text_width_mm(&city_name, city_style.size_pt) - 2.0,
                top + 12.0,
                labels.issuer,
                LABEL,
            )
            .text_right(RIGHT_MM, top + 12.0, &city_name, city_style);
        })
        .decoration(|d| {
            d.rule(LEFT_MM, RIGHT_MM, top + 15.0, 0.4);
        });

        // The facts, label and value on each line.
        let payer_baseline = top + 23.0;
        page.paragraph(|p| {
            p.text(LEFT_MM, payer_baseline, labels.payer, LABEL).text(
                VALUE_X_MM,
                payer_baseline,
                &payer_name,
                payer_style,
            );
            if let Some(after) = labels.payer_after {
                p.text_right(
                    FACTS_END_MM,
                    payer_baseline,
                    after,
                    TextStyle::regular(12.0),
                );
            }
        })
        .decoration(|d| {
            d.rule(VALUE_X_MM, FACTS_END_MM, payer_baseline + 1.8, 0.25);
        });
        for (row, (label, value, style)) in [
            (labels.category, revenue_category.as_ref(), category_style),
            (labels.description, description.as_ref(), description_style),
            (labels.slip_number, slip_number.as_ref(), number_style),
            (labels.issued_on, issued_on.as_str(), BODY),
        ]
        .into_iter()
        .enumerate()
        {
            let baseline = top + 31.0 + 6.5 * row as f32;
            page.paragraph(|p| {
                p.text(LEFT_MM, baseline, label, LABEL)
                    .text(VALUE_X_MM, baseline, value, style);
            });
        }

        // The amount and the due date, boxed with shaded labels.
        for (row, (label, value, style)) in [
            (labels.amount, amount.as_str(), TextStyle::bold(16.0)),
            (labels.due_on, due_on.as_str(), TextStyle::bold(11.0)),
        ]
        .into_iter()
        .enumerate()
        {
            let box_top = top + 19.0 + 13.0 * row as f32;
            let label_width = 22.0;
            let whole = Rect {
                x_mm: BOX_LEFT_MM,
                y_mm: box_top,
                width_mm: RIGHT_MM - BOX_LEFT_MM,
                height_mm: 11.0,
            };
            let label_box = Rect {
                width_mm: label_width,
                ..whole
            };
            page.decoration(|d| {
                d.rect(label_box, BoxStyle::filled(Grey::SHADE))
                    .rect(whole, BoxStyle::outlined(0.4))
                    .rect(label_box, BoxStyle::outlined(0.25));
            })
            .paragraph(|p| {
                p.text_centred(BOX_LEFT_MM + label_width / 2.0, box_top + 7.0, label, LABEL)
                    .text_right(RIGHT_MM - 3.0, box_top + 7.8, value, style);
            });
        }

        if part == 2 {
            barcode(&mut page, slip.barcode, labels, top);
        } else {
            // The store's stamp, and where and how to pay on the payer's part.
            let stamp = Rect {
                x_mm: RIGHT_MM - 34.0,
                y_mm: top + 46.0,
                width_mm: 34.0,
                height_mm: 34.0,
            };
            page.decoration(|d| {
                d.rect(stamp, BoxStyle::outlined(0.25));
            })
            .paragraph(|p| {
                p.text_centred(stamp.x_mm + 17.0, stamp.y_mm + 5.0, labels.stamp, NOTE);
            });
            if part == 0 {
                page.paragraph(|p| {
                    p.text(
                        LEFT_MM,
                        top + 87.0,
                        labels.where_to_pay,
                        NOTE.with_size(7.0),
                    )
                    .text(
                        LEFT_MM,
                        top + 92.0,
                        labels.after_due,
                        NOTE.with_size(7.0),
                    );
                });
            }
        }

        if part < 2 {
            cut_line(&mut page, top + PART_HEIGHT_MM);
        }
    }
    Ok(page)
}

/// The GS1-128 symbol at the bottom left of the counterfoil, quiet zones kept clear, and its
/// digits grouped by field underneath.
fn barcode(page: &mut Page, barcode: &SlipBarcode, labels: &Labels, top: f32) {
    let symbol = Symbol::of(barcode);
    let left = LEFT_MM + QUIET_ZONE_MODULES as f32 * MODULE_MM;
    let bars_top = top + 64.0;
    let digits = barcode.to_string();
    let alternative = format!("{} {digits}", labels.barcode);
    page.figure(&alternative, |f| {
        for bar in symbol.bars() {
            f.rect(
                Rect {
                    x_mm: left + bar.start as f32 * MODULE_MM,
                    y_mm: bars_top,
                    width_mm: bar.width as f32 * MODULE_MM,
                    height_mm: BAR_HEIGHT_MM,
                },
                BoxStyle::filled(Grey::BLACK),
            );
        }
    });
    page.paragraph(|p| {
        p.text(
            left,
            bars_top + BAR_HEIGHT_MM + 4.0,
            &human_readable(&digits),
            TextStyle::regular(8.0),
        );
    });
}

/// The 44 digits as clerks read them out: `(91) 912345 000…017 0 270131 0 003980 5`.
fn human_readable(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + 10);
    for (index, c) in digits.chars().enumerate() {
        match index {
            0 => out.push('('),
            2 => out.push_str(") "),
            8 | 29 | 30 | 36 | 37 | 43 => out.push(' '),
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A dashed line across the page where the parts are cut apart.
fn cut_line(page: &mut Page, y_mm: f32) {
    page.decoration(|d| {
        let mut x = 0.0;
        while x < 210.0 {
            d.rule(x, (x + DASH_MM).min(210.0), y_mm, 0.2);
            x += 2.0 * DASH_MM;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_konbini::{CompanyCode, Reference};
    use time::macros::date;

    fn slip() -> Slip {
        Slip {
            barcode: SlipBarcode::issue(
                CompanyCode::parse("912345").unwrap(),
                Reference::from_number(4_200_017),
                0,
                date!(2027 - 01 - 31),
                3_980,
            )
            .unwrap(),
            city_name: "みどり市".to_owned(),
            payer_name: "山田 太郎".to_owned(),
            revenue_category: "水道料金".to_owned(),
            description: "2026年12月分 上下水道料金".to_owned(),
            slip_number: "W-2026-12-000017".to_owned(),
            issued_on: date!(2026 - 12 - 07),
        }
    }

    fn texts(slip: &Slip, lang: Lang) -> Vec<String> {
        let checked = check(slip).unwrap();
        let page = slip_page(&checked, &Labels::of(lang), lang).unwrap();
        page.texts().into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn every_part_shows_the_payer_amount_and_due_date_read_from_the_barcode() {
        let texts = texts(&slip(), Lang::Ja);
        for part in ["領収証書", "納付済通知書", "原符"] {
            assert!(texts.iter().any(|t| t == part), "{part} missing");
        }
        for shared in ["山田 太郎", "¥3,980", "2027年1月31日", "W-2026-12-000017"] {
            assert_eq!(texts.iter().filter(|t| *t == shared).count(), 3, "{shared}");
        }
        let line = "(91) 912345 000000000000004200017 0 270131 0 003980 ";
        let check = slip().barcode.to_string().chars().last().unwrap();
        assert!(texts.contains(&format!("{line}{check}")), "{texts:?}");
    }

    #[test]
    fn an_english_slip_has_english_labels() {
        let texts = texts(&slip(), Lang::En);
        assert!(texts.iter().any(|t| t == "Counterfoil"));
        assert!(texts.iter().any(|t| t == "Pay by"));
        assert!(!texts.iter().any(|t| t == "様"));
    }

    #[test]
    fn a_placeholder_barcode_is_refused() {
        let mut placeholder = slip();
        // Stamp flag 9 and amount 999999: valid, never issued. The check digit is found.
        placeholder.barcode = (0..10)
            .find_map(|d| {
                SlipBarcode::parse(&format!("91912345{:021}0999999{}999999{d}", 4_200_017, 9)).ok()
            })
            .unwrap();
        assert_eq!(
            render_slips(&[placeholder], Lang::Ja, date!(2026 - 12 - 07)),
            Err(PdfError::InSlip {
                index: 0,
                error: Box::new(PdfError::BarcodeNotIssuable)
            })
        );
    }

    #[test]
    fn a_bad_text_names_the_slip_and_field() {
        let mut bad = slip();
        bad.description = "一行目\n二行目".to_owned();
        assert_eq!(
            render_slips(&[slip(), bad], Lang::Ja, date!(2026 - 12 - 07)),
            Err(PdfError::InSlip {
                index: 1,
                error: Box::new(PdfError::ControlCharacter {
                    field: Field::Description
                })
            })
        );
    }

    #[test]
    fn an_empty_batch_is_refused() {
        assert_eq!(
            render_slips(&[], Lang::Ja, date!(2026 - 12 - 07)),
            Err(PdfError::NoSlips)
        );
    }

    #[test]
    fn the_symbol_with_its_quiet_zones_fits_the_counterfoil() {
        let symbol = Symbol::of(&slip().barcode);
        assert!(LEFT_MM + symbol.width_with_quiet_zones_mm() < BOX_LEFT_MM);
    }

    #[test]
    fn a_character_the_font_lacks_prints_as_geta_and_a_long_text_is_shortened() {
        let mut odd = slip();
        // 𠮷 (U+20BB7) is outside the font; a description of 200 characters cannot fit.
        odd.payer_name = "\u{20BB7}野 花子".to_owned();
        odd.description = "上下水道料金".repeat(33);
        let texts = texts(&odd, Lang::Ja);
        assert!(texts.iter().any(|t| t == "〓野 花子"), "{texts:?}");
        assert!(
            texts
                .iter()
                .any(|t| t.ends_with('…') && t.starts_with("上下水道料金"))
        );
        assert!(render_slips(&[odd], Lang::Ja, date!(2026 - 12 - 07)).is_ok());
    }

    #[test]
    fn debug_hides_the_payer() {
        assert!(!format!("{:?}", slip()).contains("山田"));
    }
}
