//! The sample receipt of the tests and the example: three lines that add up to ¥20,000, paid
//! by card in Midori City's citizens' section.

use madoguchi_domain::Lang;
use madoguchi_pdf::{Receipt, ReceiptLine};
use time::macros::{date, datetime};

pub fn sample_receipt(lang: Lang) -> Receipt {
    Receipt {
        city_name: "みどり市".to_owned(),
        receipt_number: "R-2026-000123".to_owned(),
        issued_on: date!(2026 - 12 - 07),
        payer_name: "山田 太郎".to_owned(),
        lines: vec![
            ReceiptLine {
                revenue_category: "使用料".to_owned(),
                description: "市民会館 ホール（12月20日 午後）".to_owned(),
                amount_yen: 12_000,
            },
            ReceiptLine {
                revenue_category: "使用料".to_owned(),
                description: "附帯設備（音響・照明）".to_owned(),
                amount_yen: 7_400,
            },
            ReceiptLine {
                revenue_category: "手数料".to_owned(),
                description: "住民票の写し（2通）".to_owned(),
                amount_yen: 600,
            },
        ],
        method_label: "クレジットカード（Visa）".to_owned(),
        // 14:05 in Tokyo.
        paid_at: datetime!(2026-12-07 05:05:30 UTC),
        office_name: Some("市民課".to_owned()),
        note: Some("施設予約番号 K7QX-3MPA".to_owned()),
        lang,
    }
}
