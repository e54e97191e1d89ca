//! Image handling for uploaded pictures: deciding whether an upload is an image we accept, cleaning
//! it, and making the resized copies and social card that pages serve.
//!
//! Everything here is pure work on bytes and files; the HTTP handler and the database record live
//! elsewhere. [`ingest`] runs on the request path and is cheap to refuse: the size and the declared
//! dimensions are checked before any pixel is decoded, so a "pixel flood" (a tiny file that claims
//! to be gigapixels) costs nothing. It re-encodes what it accepts, because that is the only reliable
//! way to shed EXIF, GPS positions, XMP and comments, which newsroom photographers routinely leak.
//! [`render_variants`] is the slow part and belongs in `spawn_blocking`, off the request path.

#[cfg(test)]
mod fixtures;
mod ingest;
mod render;
mod sniff;

use std::fmt::Write as _;

pub use ingest::ingest;
pub use render::{focal_crop, render_variants};

/// What an upload may be, checked before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Size of the uploaded file.
    pub max_bytes: usize,
    /// Width times height.
    pub max_pixels: u64,
    /// Longest allowed width or height, so a 1 x 40 million strip is refused too.
    pub max_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        // 40 megapixels covers full-frame cameras; 12,000 px covers stitched panoramas of sane size.
        Self { max_bytes: 20 * 1024 * 1024, max_pixels: 40_000_000, max_side: 12_000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Gif => "gif",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    /// Case-insensitive, with or without the leading dot. Only for naming and serving stored files:
    /// uploads are recognised by content, never by their name.
    pub fn from_extension(ext: &str) -> Option<Self> {
        let ext = ext.strip_prefix('.').unwrap_or(ext).to_ascii_lowercase();
        match ext.as_str() {
            "jpg" | "jpeg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "webp" => Some(Self::Webp),
            "gif" => Some(Self::Gif),
            _ => None,
        }
    }

    fn to_image(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::Webp => image::ImageFormat::WebP,
            Self::Gif => image::ImageFormat::Gif,
        }
    }

    fn described(self) -> &'static str {
        match self {
            Self::Jpeg => "a JPEG image",
            Self::Png => "a PNG image",
            Self::Webp => "a WebP image",
            Self::Gif => "a GIF image",
        }
    }

    /// Order of formats among variants of the same width, so listings are stable.
    fn rank(self) -> u8 {
        match self {
            Self::Jpeg => 0,
            Self::Png => 1,
            Self::Webp => 2,
            Self::Gif => 3,
        }
    }
}

/// Messages are written for the person uploading, who may see them as they are.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("The file is {} MB; images can be at most {} MB.", megabytes(*bytes), megabytes(*limit))]
    TooLarge { bytes: usize, limit: usize },
    #[error(
        "The image is {width} x {height} pixels, too large to process: the limit is {limit} pixels in all, \
         and each side is capped too."
    )]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("Only JPEG, PNG, WebP and GIF images are accepted; this file is {detected}.")]
    Unsupported { detected: String },
    #[error("The image is damaged or incomplete and could not be read ({0}).")]
    Corrupt(String),
    #[error("Storing the image failed: {0}")]
    Io(#[from] std::io::Error),
}

impl MediaError {
    /// A stable machine-readable code, for the API and for tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "media_too_large",
            Self::TooManyPixels { .. } => "media_too_many_pixels",
            Self::Unsupported { .. } => "media_unsupported",
            Self::Corrupt(_) => "media_corrupt",
            Self::Io(_) => "media_io",
        }
    }
}

fn megabytes(bytes: usize) -> String {
    // Precision is irrelevant at this size; an f64 holds any upload length exactly enough.
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// An accepted upload, cleaned: `bytes` is what gets stored, never the file as uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// 32 lowercase hex characters: the first 16 bytes of the BLAKE3 hash of `bytes`. It names the
    /// stored files, so the same picture uploaded twice is stored once.
    pub hash: String,
    pub format: ImageFormat,
    /// After the EXIF orientation was applied, so as readers see it.
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

/// Widths of the resized copies, chosen for phones, tablets, desktop columns and high-density
/// full-width pictures.
pub const VARIANT_WIDTHS: [u32; 4] = [320, 640, 1024, 1600];

/// The social card's size, the one Open Graph consumers crop least.
pub const CARD_WIDTH: u32 = 1200;
pub const CARD_HEIGHT: u32 = 630;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
    pub file_name: String,
}

pub fn original_file_name(hash: &str, format: ImageFormat) -> String {
    format!("{hash}.{}", format.extension())
}

pub fn variant_file_name(hash: &str, width: u32, format: ImageFormat) -> String {
    format!("{hash}-{width}w.{}", format.extension())
}

/// The social card is always a JPEG: every consumer of Open Graph images reads JPEG.
pub fn card_file_name(hash: &str) -> String {
    format!("{hash}-card.jpg")
}

/// Focal point as fractions (0.0..=1.0) of width and height; None = centre.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FocalPoint {
    pub x: f32,
    pub y: f32,
}

impl FocalPoint {
    pub const CENTRE: Self = Self { x: 0.5, y: 0.5 };
}

impl Default for FocalPoint {
    fn default() -> Self {
        Self::CENTRE
    }
}

/// srcset string for one format from a variant list, e.g.
/// `"/media/ab…-320w.webp 320w, /media/ab…-640w.webp 640w"` with the given URL prefix. The social
/// card is left out: it has another aspect ratio, and a browser would pick it as just one more width.
pub fn srcset(variants: &[Variant], format: ImageFormat, url_prefix: &str) -> String {
    let prefix = url_prefix.trim_end_matches('/');
    let mut chosen: Vec<&Variant> =
        variants.iter().filter(|v| v.format == format && !render::is_card(&v.file_name)).collect();
    chosen.sort_by_key(|v| v.width);
    chosen.dedup_by_key(|v| v.width);
    let mut out = String::new();
    for (i, v) in chosen.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{prefix}/{} {}w", v.file_name, v.width);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_name_themselves_and_round_trip() {
        for f in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Webp, ImageFormat::Gif] {
            assert_eq!(ImageFormat::from_extension(f.extension()), Some(f));
            assert!(f.mime().starts_with("image/"));
        }
        assert_eq!(ImageFormat::from_extension("JPEG"), Some(ImageFormat::Jpeg));
        assert_eq!(ImageFormat::from_extension(".Png"), Some(ImageFormat::Png));
        assert_eq!(ImageFormat::from_extension("svg"), None);
        assert_eq!(ImageFormat::Jpeg.mime(), "image/jpeg");
        assert_eq!(serde_json::to_string(&ImageFormat::Webp).expect("serialise"), "\"webp\"");
        assert_eq!(serde_json::from_str::<ImageFormat>("\"gif\"").expect("deserialise"), ImageFormat::Gif);
    }

    #[test]
    fn file_names() {
        assert_eq!(original_file_name("abc", ImageFormat::Jpeg), "abc.jpg");
        assert_eq!(variant_file_name("abc", 640, ImageFormat::Webp), "abc-640w.webp");
        assert_eq!(card_file_name("abc"), "abc-card.jpg");
    }

    #[test]
    fn error_codes_and_messages() {
        let unsupported = MediaError::Unsupported { detected: "a PDF document".into() };
        assert_eq!(unsupported.code(), "media_unsupported");
        let message = unsupported.to_string();
        assert!(message.contains("JPEG, PNG, WebP and GIF") && message.contains("a PDF document"), "{message}");
        let too_large = MediaError::TooLarge { bytes: 25 * 1024 * 1024, limit: 20 * 1024 * 1024 };
        assert_eq!(too_large.code(), "media_too_large");
        assert_eq!(too_large.to_string(), "The file is 25.0 MB; images can be at most 20.0 MB.");
        assert_eq!(MediaError::TooManyPixels { width: 1, height: 1, limit: 1 }.code(), "media_too_many_pixels");
        assert_eq!(MediaError::Corrupt("x".into()).code(), "media_corrupt");
        assert_eq!(MediaError::from(std::io::Error::other("disk")).code(), "media_io");
    }

    fn variant(width: u32, format: ImageFormat, file_name: &str) -> Variant {
        Variant { width, height: width / 2, format, file_name: file_name.into() }
    }

    #[test]
    fn srcset_lists_one_format_by_width_without_the_card() {
        let variants = vec![
            variant(640, ImageFormat::Webp, "h-640w.webp"),
            variant(320, ImageFormat::Jpeg, "h-320w.jpg"),
            variant(320, ImageFormat::Webp, "h-320w.webp"),
            variant(1200, ImageFormat::Jpeg, "h-card.jpg"),
            variant(640, ImageFormat::Jpeg, "h-640w.jpg"),
        ];
        assert_eq!(srcset(&variants, ImageFormat::Webp, "/media"), "/media/h-320w.webp 320w, /media/h-640w.webp 640w");
        assert_eq!(srcset(&variants, ImageFormat::Jpeg, "/media/"), "/media/h-320w.jpg 320w, /media/h-640w.jpg 640w");
        assert_eq!(srcset(&variants, ImageFormat::Gif, "/media"), "");
    }
}
