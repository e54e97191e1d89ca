//! Image handling for uploaded pictures: deciding whether an upload is an image we accept, cleaning
//! it, and making the resized copies and social card that pages serve.
//!
//! Everything here is pure work on bytes and files; the HTTP handler and the database record live
//! elsewhere. [`ingest`] runs on the request path and is cheap to refuse: the size and the declared
//! dimensions are checked before any pixel is decoded, so a "pixel flood" (a tiny file that claims
//! to be gigapixels) costs nothing. It re-encodes what it accepts, because that is the only reliable
//! way to shed EXIF, GPS positions, XMP and comments, which newsroom photographers routinely leak.
//! [`render_variants`] is the slow part and belongs in `spawn_blocking`, off the request path.
//! Both decode, so both first take a share of the [`DecodeBudget`], and both stop between stages
//! once their [`Cancel`] token says nobody waits for the result.

mod budget;
mod files;
#[cfg(test)]
mod fixtures;
mod ingest;
mod render;
mod sniff;

use std::fmt::Write as _;
use std::time::Duration;

pub use budget::{Cancel, CancelOnDrop, DecodeBudget, DecodePermit};
pub use files::{PARTIAL_FILE_MAX_AGE, sweep_partial_files, sync_dir, write_atomic};
pub use ingest::{Probe, ingest, ingest_cancellable, probe};
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
    /// Memory one decode may need at its peak (see [`Probe::working_bytes`]); also the largest
    /// single allocation a decoder may make.
    pub max_decode_bytes: u64,
}

/// The default decode memory budget: a 40-megapixel photo with transparency (160 MB decoded, twice
/// that at the peak) fits; a 16-bit one does not.
pub const DEFAULT_DECODE_MEMORY_MIB: u64 = 384;

impl Default for Limits {
    fn default() -> Self {
        // 40 megapixels covers full-frame cameras; 12,000 px covers stitched panoramas of sane size.
        Self {
            max_bytes: 20 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_side: 12_000,
            max_decode_bytes: DEFAULT_DECODE_MEMORY_MIB * 1024 * 1024,
        }
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
    // The file's own size is left out: just over the limit, both would round to the same figure.
    #[error("The file is larger than {} MB, the most an image may be.", megabytes(*limit))]
    TooLarge { bytes: usize, limit: usize },
    #[error(
        "The image is {width} x {height} pixels, too large to process: the limit is {limit} pixels in all, \
         and each side is capped too."
    )]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error(
        "The image is {width} x {height} pixels and would need {} MB of memory to process; this server \
         processes images of at most {} MB. Upload a smaller version.",
        megabytes_u64(*needed), megabytes_u64(*budget)
    )]
    TooMuchMemory { width: u32, height: u32, needed: u64, budget: u64 },
    #[error("The server is busy processing other images. Nothing was stored; please try again in a minute.")]
    Busy,
    /// Nobody waits for the result any more (the request timed out, the server is stopping).
    #[error("the work was cancelled")]
    Cancelled,
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
            Self::TooMuchMemory { .. } => "media_too_much_memory",
            Self::Busy => "media_busy",
            Self::Cancelled => "media_cancelled",
            Self::Unsupported { .. } => "media_unsupported",
            Self::Corrupt(_) => "media_corrupt",
            Self::Io(_) => "media_io",
        }
    }

    /// Whether the same work may succeed later: the disk was full, the folder unreachable, the
    /// server busy or stopping. Anything else is a property of the picture and will fail again.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Io(_) | Self::Busy | Self::Cancelled)
    }

    /// A panic while processing an image: a decoder tripped over something in the file. Reported
    /// as a file that cannot be read, so the variant worker does not retry it forever.
    pub fn panicked(e: tokio::task::JoinError) -> Self {
        Self::Corrupt(format!("processing stopped unexpectedly: {e}"))
    }
}

/// How long the worker waits before trying an image's variants again after `attempts` failed
/// attempts: doubling from 2 s, so a full disk that is cleared soon costs little delay, up to ten
/// minutes, so one that stays full is not hammered.
pub fn retry_delay(attempts: u32) -> Duration {
    const MAX: Duration = Duration::from_secs(600);
    let secs = 1u64.checked_shl(attempts.clamp(1, 20)).unwrap_or(u64::MAX);
    Duration::from_secs(secs).min(MAX)
}

fn megabytes(bytes: usize) -> String {
    // Precision is irrelevant at this size; an f64 holds any upload length exactly enough.
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// Whole megabytes (MiB), for memory sizes.
fn megabytes_u64(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / (1024.0 * 1024.0))
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
        assert_eq!(too_large.to_string(), "The file is larger than 20.0 MB, the most an image may be.");
        assert_eq!(MediaError::TooManyPixels { width: 1, height: 1, limit: 1 }.code(), "media_too_many_pixels");
        assert_eq!(MediaError::Corrupt("x".into()).code(), "media_corrupt");
        assert_eq!(MediaError::from(std::io::Error::other("disk")).code(), "media_io");
        let memory = MediaError::TooMuchMemory { width: 9000, height: 9000, needed: 486 << 20, budget: 384 << 20 };
        assert_eq!(memory.code(), "media_too_much_memory");
        assert!(memory.to_string().contains("9000 x 9000 pixels and would need 486 MB"), "{memory}");
        assert!(memory.to_string().contains("at most 384 MB"), "{memory}");
    }

    #[test]
    fn only_failures_of_circumstance_are_worth_retrying() {
        assert!(MediaError::from(std::io::Error::other("No space left on device")).is_transient());
        assert!(MediaError::Busy.is_transient() && MediaError::Cancelled.is_transient());
        assert!(!MediaError::Corrupt("truncated".into()).is_transient());
        assert!(!MediaError::TooManyPixels { width: 1, height: 1, limit: 1 }.is_transient());
    }

    #[test]
    fn retries_back_off_from_two_seconds_to_ten_minutes() {
        let secs: Vec<u64> = (0..12).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(secs, [2, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(600));
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
