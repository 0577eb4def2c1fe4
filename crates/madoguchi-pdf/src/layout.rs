//! A small layout layer for printable documents: pages in millimetres (top-left origin, y grows
//! downwards), text at a baseline with a size and a weight, left-, centre- or right-aligned,
//! horizontal rules and boxes, grouped into headings, paragraphs, tables and figures.
//!
//! Documents (the receipt, later convenience-store slips and facility permits) describe their
//! pages with these types only; this module alone speaks the PDF writer's API (krilla) and the
//! shaper's (rustybuzz), so a change of either stays here.
//!
//! Architecture invariant: every document is tagged for assistive technology and written as
//! PDF/UA-1 and PDF/A-2a, which krilla checks when it writes. So the structure is part of the
//! description: a page is a sequence of blocks in reading order, each a heading, a paragraph,
//! a table of rows and cells, a figure with an alternative text (a barcode), or a decoration
//! (rules and boxes that carry no meaning of their own, written as artifacts). Blocks are drawn
//! in the order they are added, so a shaded box goes before the text on it.

use std::num::{NonZeroU16, NonZeroU32};
use std::sync::LazyLock;

use krilla::Data;
use krilla::color::luma;
use krilla::configure::{Accessibility, Archival, ConfigurationBuilder};
use krilla::destination::XyzDestination;
use krilla::error::KrillaError;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::tagging::{
    Artifact, ArtifactType, ContentTag, Identifier, SpanTag, TableHeaderScope, Tag, TagGroup,
    TagKind, TagTree,
};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use madoguchi_domain::Lang;

use crate::PdfError;

/// IPAexGothic (IPAexゴシック) 004.01, unmodified, from Debian's `fonts-ipaexfont-gothic`; see
/// `fonts/README.md`. Bundled so a fresh machine renders Japanese without installed fonts; the
/// PDF embeds only the subset of glyphs a document uses.
static IPAEX_GOTHIC_TTF: &[u8] = include_bytes!("../fonts/ipaexg.ttf");

/// The bundled font for the PDF writer, parsed once. `None` only if the bundled file were not a
/// font, which the unit tests rule out; rendering then answers [`PdfError::Write`].
static PDF_FONT: LazyLock<Option<Font>> =
    LazyLock::new(|| Font::new(Data::from(IPAEX_GOTHIC_TTF), 0));

/// The bundled font for the shaper, parsed once (see [`PDF_FONT`]).
static SHAPING_FACE: LazyLock<Option<rustybuzz::Face<'static>>> =
    LazyLock::new(|| rustybuzz::Face::from_slice(IPAEX_GOTHIC_TTF, 0));

const POINTS_PER_MM: f32 = 72.0 / 25.4;

/// ISO 216 A4, portrait.
pub const A4_WIDTH_MM: f32 = 210.0;
pub const A4_HEIGHT_MM: f32 = 297.0;

/// The bundled font has one weight. Bold is drawn by also stroking the glyphs' outlines with the
/// text colour, as word processors do for such fonts; it stays real text (searchable, copyable,
/// read aloud). The stroke is this fraction of the font size.
const SYNTHETIC_BOLD_STROKE_EM: f32 = 0.03;

/// How heavy a text is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// Size (in points, as type is measured) and weight of a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    pub size_pt: f32,
    pub weight: Weight,
}

impl TextStyle {
    pub const fn regular(size_pt: f32) -> TextStyle {
        TextStyle {
            size_pt,
            weight: Weight::Regular,
        }
    }

    pub const fn bold(size_pt: f32) -> TextStyle {
        TextStyle {
            size_pt,
            weight: Weight::Bold,
        }
    }

    /// The same weight at another size.
    pub const fn with_size(self, size_pt: f32) -> TextStyle {
        TextStyle { size_pt, ..self }
    }
}

/// Which point of a text its anchor gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Centre,
    Right,
}

/// One line of text as placed by a document.
#[derive(Debug, Clone, PartialEq)]
struct TextRun {
    anchor_x_mm: f32,
    baseline_mm: f32,
    align: Align,
    text: String,
    style: TextStyle,
}

/// The lines of text of one block (a heading, a paragraph, a table cell).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Texts {
    runs: Vec<TextRun>,
}

impl Texts {
    /// Text starting at `x_mm`, on the baseline `baseline_mm`.
    pub fn text(&mut self, x_mm: f32, baseline_mm: f32, text: &str, style: TextStyle) -> &mut Self {
        self.push(x_mm, baseline_mm, Align::Left, text, style)
    }

    /// Text ending at `right_mm`, as amounts are set in a column.
    pub fn text_right(
        &mut self,
        right_mm: f32,
        baseline_mm: f32,
        text: &str,
        style: TextStyle,
    ) -> &mut Self {
        self.push(right_mm, baseline_mm, Align::Right, text, style)
    }

    /// Text centred on `centre_mm`.
    pub fn text_centred(
        &mut self,
        centre_mm: f32,
        baseline_mm: f32,
        text: &str,
        style: TextStyle,
    ) -> &mut Self {
        self.push(centre_mm, baseline_mm, Align::Centre, text, style)
    }

    /// The texts joined by spaces: a heading's title for bookmarks and screen readers.
    fn joined(&self) -> String {
        let texts: Vec<&str> = self.runs.iter().map(|run| run.text.as_str()).collect();
        texts.join(" ")
    }

    /// About where the first text's letters start: a bookmark's target.
    fn top_mm(&self) -> f32 {
        self.runs.first().map_or(0.0, |run| {
            (run.baseline_mm - run.style.size_pt / POINTS_PER_MM).max(0.0)
        })
    }

    fn push(
        &mut self,
        anchor_x_mm: f32,
        baseline_mm: f32,
        align: Align,
        text: &str,
        style: TextStyle,
    ) -> &mut Self {
        // An empty run draws nothing, and an empty tagged span would only confuse readers.
        if !text.is_empty() {
            self.runs.push(TextRun {
                anchor_x_mm,
                baseline_mm,
                align,
                text: text.to_owned(),
                style,
            });
        }
        self
    }
}

/// A rectangle on the page, its top-left corner at (`x_mm`, `y_mm`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x_mm: f32,
    pub y_mm: f32,
    pub width_mm: f32,
    pub height_mm: f32,
}

/// A grey from black (0) to white (255). Documents are printed on office printers, often in
/// black and white, so there are no colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grey(pub u8);

impl Grey {
    pub const BLACK: Grey = Grey(0);
    /// The light shade behind table headers and totals.
    pub const SHADE: Grey = Grey(235);
}

/// How a box is painted: filled, outlined, or both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxStyle {
    pub fill: Option<Grey>,
    pub outline_mm: Option<f32>,
}

impl BoxStyle {
    pub const fn outlined(thickness_mm: f32) -> BoxStyle {
        BoxStyle {
            fill: None,
            outline_mm: Some(thickness_mm),
        }
    }

    /// Filled without an outline, as a barcode's bars are.
    pub const fn filled(grey: Grey) -> BoxStyle {
        BoxStyle {
            fill: Some(grey),
            outline_mm: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Line {
        from_mm: (f32, f32),
        to_mm: (f32, f32),
        thickness_mm: f32,
    },
    Box {
        rect: Rect,
        style: BoxStyle,
    },
}

/// The rules and boxes of a decoration or a figure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shapes {
    shapes: Vec<Shape>,
}

impl Shapes {
    /// A horizontal black rule from `from_x_mm` to `to_x_mm`, centred on `y_mm`.
    pub fn rule(
        &mut self,
        from_x_mm: f32,
        to_x_mm: f32,
        y_mm: f32,
        thickness_mm: f32,
    ) -> &mut Self {
        self.shapes.push(Shape::Line {
            from_mm: (from_x_mm, y_mm),
            to_mm: (to_x_mm, y_mm),
            thickness_mm,
        });
        self
    }

    /// A vertical black rule from `from_y_mm` down to `to_y_mm`, centred on `x_mm`: a table's
    /// column border.
    pub fn vertical_rule(
        &mut self,
        x_mm: f32,
        from_y_mm: f32,
        to_y_mm: f32,
        thickness_mm: f32,
    ) -> &mut Self {
        self.shapes.push(Shape::Line {
            from_mm: (x_mm, from_y_mm),
            to_mm: (x_mm, to_y_mm),
            thickness_mm,
        });
        self
    }

    pub fn rect(&mut self, rect: Rect, style: BoxStyle) -> &mut Self {
        self.shapes.push(Shape::Box { rect, style });
        self
    }
}

/// What a table cell is to a screen reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellRole {
    ColumnHeader,
    RowHeader,
    Data,
}

#[derive(Debug, Clone, PartialEq)]
struct Cell {
    role: CellRole,
    column_span: NonZeroU32,
    texts: Texts,
}

/// One row of a [`Table`]: its cells, left to right. Where a cell is drawn is up to its texts;
/// the table only tells readers which text belongs to which column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    cells: Vec<Cell>,
}

impl Row {
    /// A header naming its column (内容, 金額).
    pub fn column_header(&mut self, fill: impl FnOnce(&mut Texts)) -> &mut Self {
        self.push(CellRole::ColumnHeader, NonZeroU32::MIN, fill)
    }

    /// A header naming its row (合計), spanning `column_span` columns (at least one).
    pub fn row_header(&mut self, column_span: u32, fill: impl FnOnce(&mut Texts)) -> &mut Self {
        let span = NonZeroU32::new(column_span).unwrap_or(NonZeroU32::MIN);
        self.push(CellRole::RowHeader, span, fill)
    }

    /// A data cell.
    pub fn cell(&mut self, fill: impl FnOnce(&mut Texts)) -> &mut Self {
        self.push(CellRole::Data, NonZeroU32::MIN, fill)
    }

    fn push(
        &mut self,
        role: CellRole,
        column_span: NonZeroU32,
        fill: impl FnOnce(&mut Texts),
    ) -> &mut Self {
        let mut texts = Texts::default();
        fill(&mut texts);
        self.cells.push(Cell {
            role,
            column_span,
            texts,
        });
        self
    }
}

/// A table's rows, top to bottom.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    pub fn row(&mut self, fill: impl FnOnce(&mut Row)) -> &mut Self {
        let mut row = Row::default();
        fill(&mut row);
        self.rows.push(row);
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading {
        level: NonZeroU16,
        texts: Texts,
    },
    Paragraph(Texts),
    Table(Table),
    Figure {
        alternative_text: String,
        shapes: Shapes,
    },
    Decoration(Shapes),
}

/// One page: its size and its blocks in reading order.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    width_mm: f32,
    height_mm: f32,
    blocks: Vec<Block>,
}

impl Page {
    /// An empty A4 portrait page.
    pub fn a4() -> Page {
        Page {
            width_mm: A4_WIDTH_MM,
            height_mm: A4_HEIGHT_MM,
            blocks: Vec::new(),
        }
    }

    pub fn width_mm(&self) -> f32 {
        self.width_mm
    }

    pub fn height_mm(&self) -> f32 {
        self.height_mm
    }

    /// A heading of `level` 1 (the document's title) to 6.
    pub fn heading(&mut self, level: u16, fill: impl FnOnce(&mut Texts)) -> &mut Self {
        let level = NonZeroU16::new(level.clamp(1, 6)).unwrap_or(NonZeroU16::MIN);
        let mut texts = Texts::default();
        fill(&mut texts);
        self.blocks.push(Block::Heading { level, texts });
        self
    }

    /// A paragraph: texts read together, such as a label and its value.
    pub fn paragraph(&mut self, fill: impl FnOnce(&mut Texts)) -> &mut Self {
        let mut texts = Texts::default();
        fill(&mut texts);
        self.blocks.push(Block::Paragraph(texts));
        self
    }

    pub fn table(&mut self, fill: impl FnOnce(&mut Table)) -> &mut Self {
        let mut table = Table::default();
        fill(&mut table);
        self.blocks.push(Block::Table(table));
        self
    }

    /// Graphics that mean something, such as a barcode, with the text a screen reader says
    /// instead (the barcode's digits).
    pub fn figure(&mut self, alternative_text: &str, fill: impl FnOnce(&mut Shapes)) -> &mut Self {
        let mut shapes = Shapes::default();
        fill(&mut shapes);
        self.blocks.push(Block::Figure {
            alternative_text: alternative_text.to_owned(),
            shapes,
        });
        self
    }

    /// Rules and boxes that only structure the page visually.
    pub fn decoration(&mut self, fill: impl FnOnce(&mut Shapes)) -> &mut Self {
        let mut shapes = Shapes::default();
        fill(&mut shapes);
        self.blocks.push(Block::Decoration(shapes));
        self
    }

    /// Every text on the page in reading order, for tests and for checking a layout.
    pub fn texts(&self) -> Vec<&str> {
        let mut texts = Vec::new();
        for block in &self.blocks {
            match block {
                Block::Heading { texts: t, .. } | Block::Paragraph(t) => {
                    texts.extend(t.runs.iter().map(|run| run.text.as_str()));
                }
                Block::Table(table) => {
                    for cell in table.rows.iter().flat_map(|row| &row.cells) {
                        texts.extend(cell.texts.runs.iter().map(|run| run.text.as_str()));
                    }
                }
                Block::Figure { .. } | Block::Decoration(_) => {}
            }
        }
        texts
    }
}

/// A document of one or more pages, with the title and language its metadata carries (screen
/// readers announce both) and the day it was made (PDF/A requires one; a day given by the
/// caller rather than the clock keeps this crate pure and its output reproducible).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    title: String,
    lang: Lang,
    created_on: time::Date,
    pages: Vec<Page>,
}

impl Document {
    pub fn new(title: &str, lang: Lang, created_on: time::Date) -> Document {
        Document {
            title: title.to_owned(),
            lang,
            created_on,
            pages: Vec::new(),
        }
    }

    pub fn push_page(&mut self, page: Page) -> &mut Self {
        self.pages.push(page);
        self
    }

    /// The PDF file. Deterministic: the same document gives the same bytes (no clock, no
    /// random ids), so a receipt can be rendered again and compared.
    pub fn render(&self) -> Result<Vec<u8>, PdfError> {
        let font = PDF_FONT
            .clone()
            .ok_or(PdfError::Write("the bundled font cannot be read"))?;
        let face = SHAPING_FACE
            .as_ref()
            .ok_or(PdfError::Write("the bundled font cannot be read"))?;
        let configuration = ConfigurationBuilder::new()
            .with_accessibility_validator(Accessibility::UA1)
            .with_archival_validator(Archival::A2_A)
            .finish()
            .map_err(|_| PdfError::Write("PDF/UA-1 and PDF/A-2a cannot be combined"))?;
        let settings = krilla::SerializeSettings {
            enable_tagging: true,
            configuration,
            ..krilla::SerializeSettings::default()
        };
        let mut pdf = krilla::Document::new_with(settings);
        let mut tag_tree = TagTree::new().with_lang(Some(self.lang.tag().to_owned()));
        // PDF/UA-1 asks for bookmarks; they follow the headings.
        let mut outline = Outline::new();
        let mut last_top_level: Option<OutlineNode> = None;
        for (page_index, page) in self.pages.iter().enumerate() {
            let page_settings = PageSettings::from_wh(
                page.width_mm * POINTS_PER_MM,
                page.height_mm * POINTS_PER_MM,
            )
            .ok_or(PdfError::Write("a page has no area"))?;
            let mut pdf_page = pdf.start_page_with(page_settings);
            let mut surface = pdf_page.surface();
            let mut painter = Painter {
                surface: &mut surface,
                font: &font,
                face,
            };
            for block in &page.blocks {
                if let Some(group) = painter.block(block)? {
                    tag_tree.push(group);
                }
                if let Block::Heading { level, texts } = block {
                    let top_pt = texts.top_mm() * POINTS_PER_MM;
                    let node = OutlineNode::new(
                        texts.joined(),
                        XyzDestination::new(page_index, Point::from_xy(0.0, top_pt)),
                    );
                    match (level.get(), last_top_level.as_mut()) {
                        (2.., Some(parent)) => parent.push_child(node),
                        _ => {
                            if let Some(previous) = last_top_level.replace(node) {
                                outline.push_child(previous);
                            }
                        }
                    }
                }
            }
            surface.finish();
            pdf_page.finish();
        }
        if let Some(previous) = last_top_level {
            outline.push_child(previous);
        }
        pdf.set_outline(outline);
        let created = DateTime::new(u16::try_from(self.created_on.year()).unwrap_or(0))
            .month(u8::from(self.created_on.month()))
            .day(self.created_on.day());
        pdf.set_metadata(
            Metadata::new()
                .title(self.title.clone())
                .language(self.lang.tag().to_owned())
                .creator("Madoguchi".to_owned())
                .creation_date(created),
        );
        pdf.set_tag_tree(tag_tree);
        pdf.finish()
            .map_err(|error| PdfError::Write(describe(&error)))
    }
}

/// A fixed description of krilla's error: its details can quote the text being drawn (a
/// payer's name), and errors reach logs.
fn describe(error: &KrillaError) -> &'static str {
    match error {
        KrillaError::Font(..) => "the font could not be embedded",
        KrillaError::Validation(..) => "the document fails a PDF/UA-1 or PDF/A-2a check",
        KrillaError::Limit(..) => "a limit of the PDF format was exceeded",
        _ => "the PDF writer refused the document",
    }
}

/// Draws blocks on one page's surface and answers their tag groups.
struct Painter<'a, 'p> {
    surface: &'a mut Surface<'p>,
    font: &'a Font,
    face: &'a rustybuzz::Face<'static>,
}

impl Painter<'_, '_> {
    /// Draws a block; `None` for decorations, which are artifacts outside the tag tree.
    fn block(&mut self, block: &Block) -> Result<Option<TagGroup>, PdfError> {
        let group = match block {
            Block::Heading { level, texts } => {
                self.texts(Tag::Hn(*level, Some(texts.joined())).into(), texts)?
            }
            Block::Paragraph(texts) => self.texts(Tag::P.into(), texts)?,
            Block::Table(table) => {
                let mut table_group = TagGroup::new(Tag::Table);
                for row in &table.rows {
                    let mut row_group = TagGroup::new(Tag::TR);
                    for cell in &row.cells {
                        let tag: TagKind = match cell.role {
                            CellRole::ColumnHeader => Tag::TH(TableHeaderScope::Column)
                                .with_col_span(Some(cell.column_span))
                                .into(),
                            CellRole::RowHeader => Tag::TH(TableHeaderScope::Row)
                                .with_col_span(Some(cell.column_span))
                                .into(),
                            CellRole::Data => Tag::TD.with_col_span(Some(cell.column_span)).into(),
                        };
                        row_group.push(self.texts(tag, &cell.texts)?);
                    }
                    table_group.push(row_group);
                }
                table_group
            }
            Block::Figure {
                alternative_text,
                shapes,
            } => {
                let mut figure = TagGroup::new(Tag::Figure(Some(alternative_text.clone())));
                let id = self.surface.start_tagged(ContentTag::Other);
                self.shapes(shapes);
                self.surface.end_tagged();
                figure.push(id);
                figure
            }
            Block::Decoration(shapes) => {
                self.surface
                    .start_tagged(ContentTag::Artifact(Artifact::with_kind(
                        ArtifactType::Layout,
                    )));
                self.shapes(shapes);
                self.surface.end_tagged();
                return Ok(None);
            }
        };
        Ok(Some(group))
    }

    fn texts(&mut self, tag: TagKind, texts: &Texts) -> Result<TagGroup, PdfError> {
        let mut group = TagGroup::new(tag);
        for run in &texts.runs {
            group.push(self.text(run)?);
        }
        Ok(group)
    }

    fn text(&mut self, run: &TextRun) -> Result<Identifier, PdfError> {
        let shaped = shape(self.face, &run.text);
        if shaped.lacks_glyph {
            return Err(PdfError::Write(
                "a text holds a character the bundled font cannot draw",
            ));
        }
        let size_pt = run.style.size_pt;
        let width_pt = shaped.advance_em * size_pt;
        let anchor_pt = run.anchor_x_mm * POINTS_PER_MM;
        let start_x_pt = match run.align {
            Align::Left => anchor_pt,
            Align::Centre => anchor_pt - width_pt / 2.0,
            Align::Right => anchor_pt - width_pt,
        };
        let stroke = match run.style.weight {
            Weight::Regular => None,
            Weight::Bold => Some(Stroke {
                paint: luma::Color::black().into(),
                width: size_pt * SYNTHETIC_BOLD_STROKE_EM,
                line_join: LineJoin::Round,
                ..Stroke::default()
            }),
        };
        self.surface.set_fill(Some(Fill::default()));
        self.surface.set_stroke(stroke);
        let id = self
            .surface
            .start_tagged(ContentTag::Span(SpanTag::empty()));
        self.surface.draw_glyphs(
            Point::from_xy(start_x_pt, run.baseline_mm * POINTS_PER_MM),
            &shaped.glyphs,
            self.font.clone(),
            &run.text,
            size_pt,
            false,
        );
        self.surface.end_tagged();
        Ok(id)
    }

    fn shapes(&mut self, shapes: &Shapes) {
        for shape in &shapes.shapes {
            match shape {
                Shape::Line {
                    from_mm,
                    to_mm,
                    thickness_mm,
                } => {
                    let mut path = PathBuilder::new();
                    path.move_to(from_mm.0 * POINTS_PER_MM, from_mm.1 * POINTS_PER_MM);
                    path.line_to(to_mm.0 * POINTS_PER_MM, to_mm.1 * POINTS_PER_MM);
                    if let Some(path) = path.finish() {
                        self.surface.set_fill(None);
                        self.surface.set_stroke(Some(Stroke {
                            paint: luma::Color::black().into(),
                            width: thickness_mm * POINTS_PER_MM,
                            line_cap: LineCap::Butt,
                            ..Stroke::default()
                        }));
                        self.surface.draw_path(&path);
                    }
                }
                Shape::Box { rect, style } => {
                    let Some(pdf_rect) = krilla::geom::Rect::from_xywh(
                        rect.x_mm * POINTS_PER_MM,
                        rect.y_mm * POINTS_PER_MM,
                        rect.width_mm * POINTS_PER_MM,
                        rect.height_mm * POINTS_PER_MM,
                    ) else {
                        // A box without area draws nothing.
                        continue;
                    };
                    let mut path = PathBuilder::new();
                    path.push_rect(pdf_rect);
                    let Some(path) = path.finish() else { continue };
                    self.surface
                        .set_fill(style.fill.map(|Grey(lightness)| Fill {
                            paint: luma::Color::new(lightness).into(),
                            ..Fill::default()
                        }));
                    self.surface
                        .set_stroke(style.outline_mm.map(|thickness_mm| Stroke {
                            paint: luma::Color::black().into(),
                            width: thickness_mm * POINTS_PER_MM,
                            line_join: LineJoin::Miter,
                            ..Stroke::default()
                        }));
                    if style.fill.is_some() || style.outline_mm.is_some() {
                        self.surface.draw_path(&path);
                    }
                }
            }
        }
    }
}

/// A text shaped with the bundled font.
struct Shaped {
    glyphs: Vec<KrillaGlyph>,
    /// The width in ems (multiply by the size in points for points).
    advance_em: f32,
    /// Whether some character has no glyph (it would show as an empty box).
    lacks_glyph: bool,
}

/// Shapes left-to-right text: Japanese and Latin, which is all these documents hold.
fn shape(face: &rustybuzz::Face<'_>, text: &str) -> Shaped {
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.set_direction(rustybuzz::Direction::LeftToRight);
    let output = rustybuzz::shape(face, &[], buffer);
    // A font's units per em is 16..=16384; guard the division all the same.
    let units_per_em = face.units_per_em().max(1) as f32;
    let infos = output.glyph_infos();
    let positions = output.glyph_positions();
    let mut glyphs = Vec::with_capacity(infos.len());
    let mut advance_em = 0.0;
    let mut lacks_glyph = false;
    for (index, (info, position)) in infos.iter().zip(positions).enumerate() {
        let start = info.cluster as usize;
        // A cluster's text runs to the start of the next cluster: that is what a reader copies
        // when it selects the glyph.
        let end = infos[index..]
            .iter()
            .map(|next| next.cluster as usize)
            .find(|&cluster| cluster != start)
            .unwrap_or(text.len());
        lacks_glyph |= info.glyph_id == 0;
        let x_advance = position.x_advance as f32 / units_per_em;
        advance_em += x_advance;
        glyphs.push(KrillaGlyph::new(
            GlyphId::new(info.glyph_id),
            x_advance,
            position.x_offset as f32 / units_per_em,
            position.y_offset as f32 / units_per_em,
            position.y_advance as f32 / units_per_em,
            start..end,
            None,
        ));
    }
    Shaped {
        glyphs,
        advance_em,
        lacks_glyph,
    }
}

/// How wide `text` is at `size_pt`, in millimetres.
pub fn text_width_mm(text: &str, size_pt: f32) -> f32 {
    match SHAPING_FACE.as_ref() {
        Some(face) => shape(face, text).advance_em * size_pt / POINTS_PER_MM,
        // Unreachable with the bundled font; rendering reports it.
        None => 0.0,
    }
}

/// Whether the bundled font has a glyph for every character of `text`.
pub fn can_draw(text: &str) -> bool {
    SHAPING_FACE
        .as_ref()
        .is_some_and(|face| !shape(face, text).lacks_glyph)
}

/// The style at which `text` fits in `max_width_mm`: `style` itself if it fits, else the same
/// weight made smaller, down to `min_size_pt` in half points; `None` if even that is too wide.
pub fn fit(text: &str, style: TextStyle, max_width_mm: f32, min_size_pt: f32) -> Option<TextStyle> {
    let width_at_one_pt = text_width_mm(text, 1.0);
    let mut size_pt = style.size_pt;
    loop {
        if width_at_one_pt * size_pt <= max_width_mm {
            return Some(style.with_size(size_pt));
        }
        if size_pt <= min_size_pt {
            return None;
        }
        size_pt = (size_pt - 0.5).max(min_size_pt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_font_loads_for_both_the_shaper_and_the_pdf_writer() {
        assert!(SHAPING_FACE.is_some());
        assert!(PDF_FONT.is_some());
    }

    #[test]
    fn a_full_width_character_is_one_em_wide() {
        // 10 pt is 3.53 mm.
        let width = text_width_mm("領収書", 10.0);
        assert!((width - 3.0 * 10.0 / POINTS_PER_MM).abs() < 0.01, "{width}");
    }

    #[test]
    fn japanese_latin_and_the_yen_sign_can_be_drawn() {
        assert!(can_draw("領収書 ¥1,234 クレジットカード（Visa）令和 様"));
    }

    #[test]
    fn an_emoji_cannot_be_drawn_with_the_bundled_font() {
        assert!(!can_draw("山田😀"));
    }

    #[test]
    fn a_text_that_fits_keeps_its_size() {
        let style = TextStyle::bold(12.0);
        assert_eq!(fit("合計", style, 50.0, 7.0), Some(style));
    }

    #[test]
    fn a_text_too_wide_is_made_smaller_down_to_the_minimum() {
        // Ten full-width characters at 10 pt are 35.3 mm; at 8 pt, 28.2 mm.
        let fitted = fit("あいうえおかきくけこ", TextStyle::regular(10.0), 29.0, 7.0);
        assert_eq!(fitted, Some(TextStyle::regular(8.0)));
        assert_eq!(
            fit("あいうえおかきくけこ", TextStyle::regular(10.0), 20.0, 7.0),
            None
        );
    }

    #[test]
    fn empty_texts_are_not_placed() {
        let mut page = Page::a4();
        page.paragraph(|p| {
            p.text(10.0, 10.0, "", TextStyle::regular(10.0)).text(
                10.0,
                20.0,
                "備考",
                TextStyle::regular(10.0),
            );
        });
        assert_eq!(page.texts(), vec!["備考"]);
    }

    #[test]
    fn a_document_with_every_kind_of_block_renders_as_a_pdf() {
        let mut page = Page::a4();
        page.decoration(|d| {
            d.rect(
                Rect {
                    x_mm: 20.0,
                    y_mm: 20.0,
                    width_mm: 170.0,
                    height_mm: 10.0,
                },
                BoxStyle::filled(Grey::SHADE),
            )
            .rule(20.0, 190.0, 32.0, 0.3);
        })
        .heading(1, |h| {
            h.text_centred(105.0, 28.0, "見本", TextStyle::bold(20.0));
        })
        .paragraph(|p| {
            p.text(20.0, 40.0, "本文", TextStyle::regular(10.5));
        })
        .table(|t| {
            t.row(|r| {
                r.column_header(|c| {
                    c.text(20.0, 50.0, "項目", TextStyle::bold(10.0));
                })
                .column_header(|c| {
                    c.text_right(190.0, 50.0, "金額", TextStyle::bold(10.0));
                });
            })
            .row(|r| {
                r.row_header(1, |c| {
                    c.text(20.0, 58.0, "手数料", TextStyle::regular(10.0));
                })
                .cell(|c| {
                    c.text_right(190.0, 58.0, "¥300", TextStyle::regular(10.0));
                });
            });
        })
        .figure("バーコード 1234", |f| {
            f.rect(
                Rect {
                    x_mm: 20.0,
                    y_mm: 70.0,
                    width_mm: 0.5,
                    height_mm: 12.0,
                },
                BoxStyle::filled(Grey::BLACK),
            );
        });
        let mut document = Document::new("見本", Lang::Ja, time::macros::date!(2026 - 12 - 07));
        document.push_page(page);
        let pdf = document.render().expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(document.render().expect("renders again"), pdf);
    }
}
