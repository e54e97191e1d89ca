//! Recognising a file by its first bytes. The name and the declared content type of an upload are
//! whatever the sender says; the bytes are what a decoder will actually run on. For files we refuse,
//! a plain description lets the uploader see what they sent ("a PDF document") and fix it.

use super::ImageFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sniffed {
    Image(ImageFormat),
    /// What the file appears to be, worded to follow "this file is".
    Other(&'static str),
}

/// How far into a file text-based formats are looked for: an SVG or HTML file declares itself
/// within its first lines.
const TEXT_WINDOW: usize = 4096;

pub(super) fn sniff(data: &[u8]) -> Sniffed {
    if let Some(format) = image_format(data) {
        return Sniffed::Image(format);
    }
    Sniffed::Other(describe(data))
}

fn image_format(data: &[u8]) -> Option<ImageFormat> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

fn describe(data: &[u8]) -> &'static str {
    if data.is_empty() {
        return "an empty file";
    }
    let magic: &[(&[u8], &str)] = &[
        (b"%PDF-", "a PDF document"),
        (b"II*\0", "a TIFF image"),
        (b"MM\0*", "a TIFF image"),
        (b"8BPS", "a Photoshop document"),
        (b"PK\x03\x04", "a ZIP archive or office document"),
        (&[0x1F, 0x8B], "a compressed (gzip) file"),
        (&[0xFF, 0x0A], "a JPEG XL image"),
        (b"\0\0\0\x0cJXL ", "a JPEG XL image"),
        (&[0, 0, 1, 0], "an icon (ICO) file"),
        (b"RIFF", "a RIFF file, such as WAV audio or AVI video"),
        (b"\x7fELF", "a program"),
        (b"{\\rtf", "an RTF document"),
    ];
    if let Some((_, what)) = magic.iter().find(|(m, _)| data.starts_with(m)) {
        return what;
    }
    // "BM" alone is too common a start for text; a real BMP header also has four zero reserved bytes.
    if data.len() >= 14 && data.starts_with(b"BM") && data[6..10] == [0, 0, 0, 0] {
        return "a BMP image";
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        return match &data[8..12] {
            b"avif" | b"avis" => "an AVIF image",
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => "a HEIC image",
            _ => "a video",
        };
    }
    let Some(text) = as_text(&data[..data.len().min(TEXT_WINDOW)]) else {
        return "an unknown format";
    };
    let lower = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    if lower.contains("<svg") {
        "an SVG drawing"
    } else if lower.starts_with("<!doctype html") || lower.contains("<html") {
        "an HTML page"
    } else if lower.starts_with("<?xml") {
        "an XML document"
    } else {
        "text"
    }
}

/// The window as text if it is UTF-8 without binary control characters. A multi-byte character cut
/// by the window's end still counts as text.
fn as_text(window: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(window) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&window[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let binary = text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'));
    (!binary).then_some(text)
}

/// Whether a WebP file holds lossless data, so re-encoding keeps it lossless: a lossy round trip
/// would smear a screenshot or logo, and a lossless one would bloat a photo.
pub(super) fn webp_is_lossless(data: &[u8]) -> bool {
    first_webp_bitstream(data.get(12..).unwrap_or_default()) == Some(*b"VP8L")
}

/// The kind of the first image bitstream among RIFF chunks, looking inside animation frames.
fn first_webp_bitstream(mut chunks: &[u8]) -> Option<[u8; 4]> {
    while chunks.len() >= 8 {
        let fourcc: [u8; 4] = chunks[..4].try_into().ok()?;
        let size = u32::from_le_bytes(chunks[4..8].try_into().ok()?) as usize;
        let body = chunks.get(8..8usize.checked_add(size)?)?;
        match &fourcc {
            b"VP8 " | b"VP8L" => return Some(fourcc),
            // An animation frame starts with 16 bytes of position and timing before its own chunks.
            b"ANMF" => return first_webp_bitstream(body.get(16..)?),
            _ => {}
        }
        // Chunks are padded to an even length.
        chunks = chunks.get(8 + size + (size & 1)..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_accepted_formats_by_magic_only() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Sniffed::Image(ImageFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Sniffed::Image(ImageFormat::Png));
        assert_eq!(sniff(b"GIF89a...."), Sniffed::Image(ImageFormat::Gif));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Sniffed::Image(ImageFormat::Webp));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt "), Sniffed::Other("a RIFF file, such as WAV audio or AVI video"));
    }

    #[test]
    fn describes_what_it_refuses() {
        assert_eq!(sniff(b""), Sniffed::Other("an empty file"));
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), Sniffed::Other("a PDF document"));
        assert_eq!(sniff(b"\xef\xbb\xbf  <?xml version=\"1.0\"?>\n<svg>"), Sniffed::Other("an SVG drawing"));
        assert_eq!(sniff(b"<!DOCTYPE html><html></html>"), Sniffed::Other("an HTML page"));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Sniffed::Other("a HEIC image"));
        assert_eq!(sniff(b"BM is for Broadsheet Media"), Sniffed::Other("text"));
        assert_eq!(sniff("Grüße, 世界\n".as_bytes()), Sniffed::Other("text"));
        assert_eq!(sniff(&[0x00, 0x13, 0x37, 0xFE, 0x01]), Sniffed::Other("an unknown format"));
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let mut long = "a".repeat(TEXT_WINDOW - 1).into_bytes();
        long.extend_from_slice("é and more".as_bytes());
        assert_eq!(sniff(&long), Sniffed::Other("text"));
    }

    #[test]
    fn tells_lossless_webp_from_lossy() {
        assert!(webp_is_lossless(b"RIFF\x0c\0\0\0WEBPVP8L\x04\0\0\0abcd"));
        assert!(!webp_is_lossless(b"RIFF\x0c\0\0\0WEBPVP8 \x04\0\0\0abcd"));
        // Extended header (odd-sized chunk, padded) and then the bitstream.
        assert!(webp_is_lossless(b"RIFF\0\0\0\0WEBPVP8X\x03\0\0\0xyz\0VP8L\x01\0\0\0a\0"));
        let mut anim = b"RIFF\0\0\0\0WEBPANMF\x1c\0\0\0".to_vec();
        anim.extend_from_slice(&[0; 16]);
        anim.extend_from_slice(b"VP8L\x04\0\0\0abcd");
        assert!(webp_is_lossless(&anim));
        assert!(!webp_is_lossless(b"RIFF\0\0\0\0WEBP"));
    }
}
