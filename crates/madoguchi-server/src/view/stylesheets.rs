//! The stylesheets the pages load, embedded in the binary and sent without the comments
//! written for their maintainers.

use std::sync::LazyLock;

/// The stylesheets as sent: embedded, so the binary needs no files beside it, and without the
/// comments written for their maintainers (a phone on a slow line pays for every byte).
pub static APP_CSS: LazyLock<String> =
    LazyLock::new(|| without_comments(include_str!("../../../../web/static/app.css")));
pub static TOKENS_CSS: LazyLock<String> =
    LazyLock::new(|| without_comments(include_str!("../../../../web/static/tokens.css")));

/// CSS without its comments and blank lines. Comments that start `/*!` (licences) stay, and
/// nothing inside a quoted string is touched.
fn without_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("/*") && !rest.starts_with("/*!") {
            rest = rest[2..].find("*/").map_or("", |end| &rest[2 + end + 2..]);
        } else if rest.starts_with("/*!") {
            let end = rest.find("*/").map_or(rest.len(), |end| end + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if c == '"' || c == '\'' {
            // A string runs to the same quote that is not escaped.
            let mut end = c.len_utf8();
            let mut escaped = false;
            for (i, d) in rest[end..].char_indices() {
                if escaped {
                    escaped = false;
                } else if d == '\\' {
                    escaped = true;
                } else if d == c {
                    end += i + d.len_utf8();
                    break;
                }
            }
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::{APP_CSS, TOKENS_CSS, without_comments};

    #[test]
    fn comments_go_and_licences_strings_and_rules_stay() {
        let css = "/*! licence */\n/* why */\na { color: red; } /* inline */\n\n\nb::before { content: \"/* not a comment */\"; }\n";
        assert_eq!(
            without_comments(css),
            "/*! licence */\na { color: red; }\nb::before { content: \"/* not a comment */\"; }"
        );
    }

    #[test]
    fn an_unclosed_comment_or_string_ends_the_sheet_without_panicking() {
        assert_eq!(without_comments("a { } /* open"), "a { }");
        assert_eq!(without_comments("a { content: 'open"), "a { content: 'open");
    }

    #[test]
    fn the_embedded_stylesheets_lose_weight_but_no_rule() {
        let app = include_str!("../../../../web/static/app.css");
        let slim = without_comments(app);
        assert!(slim.len() < app.len());
        assert_eq!(
            slim.matches('{').count(),
            app.matches('{').count() - comment_braces(app)
        );
    }

    /// A block left open (a merge that dropped a `}`) makes browsers swallow every rule after
    /// it, silently: each sheet's braces must pair up, in order.
    #[test]
    fn every_block_of_the_embedded_stylesheets_is_closed() {
        for sheet in [APP_CSS.as_str(), TOKENS_CSS.as_str()] {
            let mut depth = 0i32;
            for c in sheet.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                assert!(depth >= 0, "a '}}' closes nothing");
            }
            assert_eq!(depth, 0, "a block is left open");
        }
    }

    /// Braces written inside comments of a sheet (they go with the comments).
    fn comment_braces(css: &str) -> usize {
        css.split("/*")
            .skip(1)
            .map(|c| c.split("*/").next().unwrap_or("").matches('{').count())
            .sum()
    }
}
