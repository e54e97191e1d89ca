//! Featured images for the demo: an abstract composition per article in its section's palette,
//! drawn as SVG so the demo needs no image files in the repository.

use std::fmt::Write;

use super::Dice;

pub const WIDTH: u32 = 1600;
pub const HEIGHT: u32 = 900;

/// (background, accent colours, subject of the picture for its alt text)
fn palette(section: &str) -> (&'static str, [&'static str; 3], &'static str) {
    match section {
        "asia" => ("#14213d", ["#fca311", "#e63946", "#e5e5e5"], "a setting sun over layered hills"),
        "world" => ("#0b3954", ["#087e8b", "#bfd7ea", "#ff5a5f"], "overlapping circles like a globe's meridians"),
        "business" => ("#1b263b", ["#2ec4b6", "#ffbf69", "#cbf3f0"], "rising bars like a market chart"),
        "technology" => ("#10002b", ["#7b2cbf", "#48bfe3", "#e0aaff"], "a grid of connected nodes"),
        "lifestyle" => ("#283618", ["#dda15e", "#fefae0", "#bc6c25"], "soft shapes like leaves in sunlight"),
        _ => ("#3d0c02", ["#f4a261", "#e9c46a", "#fefae0"], "two speech bubbles facing each other"),
    }
}

/// Returns the SVG document and a description for its alt text.
pub fn illustration(section: &str, slug: &str) -> (String, String) {
    let (background, accents, subject) = palette(section);
    let mut dice = Dice::seeded(slug);
    let mut svg = String::with_capacity(2048);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"><rect width="{WIDTH}" height="{HEIGHT}" fill="{background}"/>"#
    );
    for i in 0..9u64 {
        let colour = accents[(i % 3) as usize];
        let opacity = 0.25 + dice.below(60) as f32 / 100.0;
        match section {
            "business" => {
                let bar_width = 120;
                let x = 120 + i * 150;
                let h = 120 + dice.below(600) + i * 20;
                let _ = write!(
                    svg,
                    r#"<rect x="{x}" y="{}" width="{bar_width}" height="{h}" fill="{colour}" opacity="{opacity:.2}"/>"#,
                    u64::from(HEIGHT) - h
                );
            }
            "technology" => {
                let (x, y) = (100 + dice.below(1400), 100 + dice.below(700));
                let (x2, y2) = (100 + dice.below(1400), 100 + dice.below(700));
                let _ = write!(
                    svg,
                    r#"<line x1="{x}" y1="{y}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="6" opacity="{opacity:.2}"/><circle cx="{x}" cy="{y}" r="{}" fill="{colour}"/>"#,
                    14 + dice.below(30)
                );
            }
            "asia" => {
                let y = 420 + i * 50;
                let _ = write!(
                    svg,
                    r#"<path d="M0 {y} Q {} {} {WIDTH} {}" stroke="none" fill="{colour}" opacity="{opacity:.2}"/>"#,
                    300 + dice.below(1000),
                    y - 150 - dice.below(200),
                    y + dice.below(80)
                );
            }
            _ => {
                let (x, y, r) = (dice.below(u64::from(WIDTH)), dice.below(u64::from(HEIGHT)), 80 + dice.below(320));
                let _ = write!(svg, r#"<circle cx="{x}" cy="{y}" r="{r}" fill="{colour}" opacity="{opacity:.2}"/>"#);
            }
        }
    }
    svg.push_str("</svg>");
    (svg, format!("Abstract illustration: {subject}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn illustrations_are_deterministic_svg() {
        let (a, alt) = illustration("asia", "some-story");
        let (b, _) = illustration("asia", "some-story");
        assert_eq!(a, b);
        assert!(a.starts_with("<svg") && a.ends_with("</svg>"));
        assert!(!a.contains("<script"));
        assert!(alt.starts_with("Abstract illustration"));
        assert_ne!(illustration("asia", "another-story").0, a);
    }
}
