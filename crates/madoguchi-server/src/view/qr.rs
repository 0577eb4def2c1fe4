//! QR codes for pages: the `qrcode` crate encodes, and the template draws the result as one
//! inline SVG path (`payments/_qr.html`), so the markup still comes from a template with
//! auto-escaping and the page needs no image request, no script and no inline style.

use serde::Serialize;

/// The blank margin a reader needs around the code, in modules (ISO/IEC 18004 asks for four).
const QUIET_ZONE_MODULES: usize = 4;

/// A QR code ready for `payments/_qr.html`: the side of its square in modules (the quiet zone
/// included) and the path data that paints its dark modules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QrSvg {
    pub side_modules: usize,
    /// `M x,y h n v 1 h -n z` for each horizontal run of dark modules: only digits, spaces and
    /// those letters, safe in an attribute.
    pub path: String,
    /// What the code says, for the link beside it and the image's text alternative.
    pub text: String,
}

/// Encodes `text` (a URL) at error-correction level M, which phone cameras read from a screen
/// without trouble. `None` when the text is too long for a QR code.
pub fn qr_svg(text: &str) -> Option<QrSvg> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let dark: Vec<bool> = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    let mut path = String::new();
    for y in 0..width {
        let row = &dark[y * width..(y + 1) * width];
        let mut x = 0;
        while x < width {
            if !row[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] {
                x += 1;
            }
            let run = x - start;
            if !path.is_empty() {
                path.push(' ');
            }
            path.push_str(&format!(
                "M{} {}h{run}v1h-{run}z",
                start + QUIET_ZONE_MODULES,
                y + QUIET_ZONE_MODULES
            ));
        }
    }
    Some(QrSvg {
        side_modules: width + 2 * QUIET_ZONE_MODULES,
        path,
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_a_square_path_with_its_quiet_zone() {
        let qr =
            qr_svg("https://city.example/receivables/0190f5a2-7d1c-7c3e-9a4b-3f2e1d0c9b8a/pay")
                .unwrap();
        // Version 4 or 5 for a URL of this length: 33 or 37 modules, plus 4 on each side.
        assert!(qr.side_modules >= 33 + 8, "{}", qr.side_modules);
        assert!(
            qr.path
                .starts_with(&format!("M{} {}h", QUIET_ZONE_MODULES, QUIET_ZONE_MODULES))
        );
        assert!(
            qr.path
                .chars()
                .all(|c| c.is_ascii_digit() || " Mhvz-".contains(c)),
            "only path data"
        );
    }

    #[test]
    fn the_finder_pattern_row_is_drawn_as_runs() {
        let qr = qr_svg("A").unwrap();
        // The top row of a version-1 code: 7 dark, then the data area, then 7 dark.
        assert_eq!(qr.side_modules, 21 + 8);
        assert!(qr.path.starts_with("M4 4h7v1h-7z"), "{}", &qr.path[..40]);
    }

    #[test]
    fn text_too_long_for_any_qr_code_is_refused() {
        assert!(qr_svg(&"x".repeat(8000)).is_none());
    }
}
