//! The printed symbol of a slip's barcode: GS1-128, that is Code 128 starting in code set C
//! with FNC1, then the 44 digits two to a symbol character. barcoders encodes it; this module
//! turns its modules into bars a page can draw and says how wide the symbol may be printed.
//!
//! Sizes follow what the stores' scanners are specified for: a narrow bar (module) of
//! 0.191–0.423 mm, bars at least 10 mm tall, and a quiet zone of at least 10 modules on each
//! side. [`MODULE_MM`] prints the 44 digits at about 73 mm, which fits every slip format.

use barcoders::sym::code128::Code128;

use crate::SlipBarcode;

/// The width of one module when printed: a quarter of a millimetre, comfortably inside the
/// 0.191–0.423 mm the scanners read, and 3 pixels of a 300 dpi print.
pub const MODULE_MM: f32 = 0.254;
/// Bar height printed on slips; the scanners' minimum is 10 mm.
pub const BAR_HEIGHT_MM: f32 = 13.0;
/// Blank modules required left and right of the bars.
pub const QUIET_ZONE_MODULES: u32 = 10;

/// One dark bar: where it starts and how wide it is, in modules from the symbol's first module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    pub start: u32,
    pub width: u32,
}

/// The bars of a barcode's GS1-128 symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    bars: Vec<Bar>,
    modules: u32,
}

impl Symbol {
    /// The symbol of a barcode. Every valid barcode encodes: 44 digits are always 22 pairs of
    /// code set C.
    pub fn of(barcode: &SlipBarcode) -> Symbol {
        // Ć: start in code set C; Ź: FNC1, which makes Code 128 a GS1-128 symbol.
        let modules = Code128::new(format!("\u{0106}\u{0179}{barcode}"))
            .map(|code| code.encode())
            // Unreachable for 44 digits; an empty symbol is caught by the slip's own test.
            .unwrap_or_default();
        let mut bars = Vec::new();
        let mut run: Option<Bar> = None;
        for (index, module) in (0u32..).zip(&modules) {
            match (module, run.as_mut()) {
                (1, Some(bar)) => bar.width += 1,
                (1, None) => {
                    run = Some(Bar {
                        start: index,
                        width: 1,
                    })
                }
                _ => bars.extend(run.take()),
            }
        }
        bars.extend(run);
        Symbol {
            bars,
            modules: u32::try_from(modules.len()).unwrap_or(0),
        }
    }

    pub fn bars(&self) -> &[Bar] {
        &self.bars
    }

    /// Modules from the first bar to the end of the stop pattern, quiet zones not included.
    pub fn modules(&self) -> u32 {
        self.modules
    }

    /// The printed width at [`MODULE_MM`], quiet zones included.
    pub fn width_with_quiet_zones_mm(&self) -> f32 {
        (self.modules + 2 * QUIET_ZONE_MODULES) as f32 * MODULE_MM
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompanyCode, Reference};
    use time::macros::date;

    fn barcode() -> SlipBarcode {
        SlipBarcode::issue(
            CompanyCode::parse("912345").unwrap(),
            Reference::from_number(4_200_017),
            0,
            date!(2027 - 01 - 31),
            3_980,
        )
        .unwrap()
    }

    #[test]
    fn a_symbol_is_start_c_fnc1_twenty_two_pairs_check_and_stop() {
        let symbol = Symbol::of(&barcode());
        // 25 symbol characters of 11 modules, the 13-module stop pattern.
        assert_eq!(symbol.modules(), 25 * 11 + 13);
        // Start C is 2-1-1-2-3-2 and FNC1 is 4-1-1-1-3-1: the first bars are 2, 1, 3 and 4.
        let first: Vec<_> = symbol.bars()[..4]
            .iter()
            .map(|b| (b.start, b.width))
            .collect();
        assert_eq!(first, vec![(0, 2), (3, 1), (6, 3), (11, 4)]);
        // Every character has three bars and the stop pattern four.
        assert_eq!(symbol.bars().len(), 25 * 3 + 4);
        // The stop pattern ends in a 2-module bar at the symbol's last module.
        let last = symbol.bars().last().unwrap();
        assert_eq!(last.start + last.width, symbol.modules());
        assert!((symbol.width_with_quiet_zones_mm() - 308.0 * MODULE_MM).abs() < 1e-3);
    }

    #[test]
    fn different_barcodes_give_different_symbols() {
        let other = SlipBarcode::issue(
            CompanyCode::parse("912345").unwrap(),
            Reference::from_number(4_200_017),
            1,
            date!(2027 - 01 - 31),
            3_980,
        )
        .unwrap();
        assert_ne!(Symbol::of(&barcode()), Symbol::of(&other));
    }
}
