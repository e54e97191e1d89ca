//! Accepting an upload: recognise, bound, decode, orient and re-encode it. Also the decoding and
//! encoding helpers that rendering variants shares.

use std::borrow::Cow;
use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, Rgb, RgbImage};

use super::sniff::{self, Sniffed};
use super::{Cancel, ImageFormat, Ingested, Limits, MediaError};

/// JPEG quality for the stored original: high enough that a later re-crop or re-size does not
/// compound visible loss.
const ORIGINAL_JPEG_QUALITY: u8 = 90;
/// Lossy WebP originals are re-encoded at the same nominal quality as JPEG ones.
const ORIGINAL_WEBP_QUALITY: f32 = 90.0;
/// NeuQuant sampling for GIF palettes: 10 is the gif crate's suggested balance. Speed 1 takes
/// seconds on a large frame, and a GIF that already has at most 256 colours keeps them exactly.
const GIF_SPEED: i32 = 10;

/// What the header of an upload says, read without decoding a pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// Size of the decoded pixels, as the decoder will allocate them.
    pub decoded_bytes: u64,
}

impl Probe {
    /// Peak memory of working on this image: the decoded pixels and one working copy of them
    /// (orienting it, converting it for an encoder, cropping the social card each make one).
    pub fn working_bytes(&self) -> u64 {
        self.decoded_bytes.saturating_mul(2)
    }
}

/// Recognises the upload and reads its header, refusing it if it is too large in bytes, pixels or
/// the memory decoding it would take. Cheap: nothing is decoded. Callers use the answer to take a
/// share of the [`super::DecodeBudget`] before [`ingest_cancellable`].
pub fn probe(data: &[u8], limits: &Limits) -> Result<Probe, MediaError> {
    let format = recognise(data, limits)?;
    let (_, probe) = open(data, format, limits)?;
    Ok(probe)
}

/// [`ingest_cancellable`] for work nobody will cancel.
pub fn ingest(data: &[u8], limits: &Limits) -> Result<Ingested, MediaError> {
    ingest_cancellable(data, limits, &Cancel::default())
}

/// Checks by content (never by file name), reads dimensions from the header BEFORE decoding so a
/// pixel flood is refused without allocating, decodes with image::Limits set, applies the EXIF
/// orientation, and re-encodes in the same format so EXIF/GPS/XMP/comments are gone (JPEG quality
/// 90; GIF: first frame is fine). Stops with [`MediaError::Cancelled`] between stages once `cancel`
/// is set, so work for a request that is gone does not run on.
pub fn ingest_cancellable(data: &[u8], limits: &Limits, cancel: &Cancel) -> Result<Ingested, MediaError> {
    let format = recognise(data, limits)?;
    let Decoded { image, icc } = decode(data, format, limits, cancel)?;
    cancel.check()?;
    let bytes = match format {
        ImageFormat::Jpeg => encode_jpeg(&image, ORIGINAL_JPEG_QUALITY, icc)?,
        ImageFormat::Png => encode_png(&image, icc)?,
        ImageFormat::Webp if sniff::webp_is_lossless(data) => encode_webp(&image, None)?,
        ImageFormat::Webp => encode_webp(&image, Some(ORIGINAL_WEBP_QUALITY))?,
        ImageFormat::Gif => encode_gif(&image)?,
    };
    Ok(Ingested { hash: content_hash(&bytes), format, width: image.width(), height: image.height(), bytes })
}

/// The size check and the format, by content.
fn recognise(data: &[u8], limits: &Limits) -> Result<ImageFormat, MediaError> {
    if data.len() > limits.max_bytes {
        return Err(MediaError::TooLarge { bytes: data.len(), limit: limits.max_bytes });
    }
    match sniff::sniff(data) {
        Sniffed::Image(format) => Ok(format),
        Sniffed::Other(what) => Err(MediaError::Unsupported { detected: what.to_owned() }),
    }
}

fn content_hash(bytes: &[u8]) -> String {
    let hex = blake3::hash(bytes).to_hex();
    hex[..32].to_owned()
}

pub(super) struct Decoded {
    /// Upright: the EXIF orientation is already applied.
    pub image: DynamicImage,
    /// The colour profile, kept because dropping it shifts the colours of wide-gamut photos (every
    /// recent phone shoots Display P3). A profile describes colours, not who took the picture or where.
    pub icc: Option<Vec<u8>>,
}

/// Reads the header of `data`, already known to be `format`, and refuses it unless it fits `limits`;
/// returns a decoder whose allocation limits are set, so not even a header that lies about the
/// size can make it take more than the budget.
fn open<'a>(
    data: &'a [u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(impl ImageDecoder + 'a, Probe), MediaError> {
    let alloc_budget = limits.max_decode_bytes;
    // Width and height limits are left out while the header is read: a decoder would refuse an
    // oversized image with a bare "limits exceeded", and we want to say how large it is.
    let mut header_limits = image::Limits::default();
    header_limits.max_alloc = Some(alloc_budget);
    let mut reader = image::ImageReader::with_format(Cursor::new(data), format.to_image());
    reader.limits(header_limits);
    let mut decoder = reader.into_decoder().map_err(|e| decode_error(e, format, None))?;

    let (width, height) = decoder.dimensions();
    let dims = Some((width, height, limits.max_pixels));
    if width > limits.max_side || height > limits.max_side || u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(MediaError::TooManyPixels { width, height, limit: limits.max_pixels });
    }
    let probe = Probe { format, width, height, decoded_bytes: decoder.total_bytes() };
    if probe.working_bytes() > alloc_budget {
        return Err(MediaError::TooMuchMemory { width, height, needed: probe.working_bytes(), budget: alloc_budget });
    }
    let mut full_limits = image::Limits::default();
    full_limits.max_image_width = Some(limits.max_side);
    full_limits.max_image_height = Some(limits.max_side);
    full_limits.max_alloc = Some(alloc_budget);
    full_limits.reserve(decoder.total_bytes()).map_err(|e| decode_error(e, format, dims))?;
    decoder.set_limits(full_limits).map_err(|e| decode_error(e, format, dims))?;
    Ok((decoder, probe))
}

/// Decodes `data`, already known to be `format`, within `limits`.
pub(super) fn decode(
    data: &[u8],
    format: ImageFormat,
    limits: &Limits,
    cancel: &Cancel,
) -> Result<Decoded, MediaError> {
    let (mut decoder, probe) = open(data, format, limits)?;
    let dims = Some((probe.width, probe.height, limits.max_pixels));
    // The permit may have been waited for: the request can be gone by now.
    cancel.check()?;
    // A damaged EXIF block is common (editors rewrite it carelessly) and no reason to refuse the
    // pixels; the picture then stays as stored.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e, format, dims))?;
    cancel.check()?;
    image.apply_orientation(orientation);
    Ok(Decoded { image, icc })
}

fn decode_error(e: ImageError, format: ImageFormat, dims: Option<(u32, u32, u64)>) -> MediaError {
    match (e, dims) {
        (ImageError::Limits(_), Some((width, height, limit))) => MediaError::TooManyPixels { width, height, limit },
        (ImageError::Unsupported(u), _) => MediaError::Unsupported {
            detected: format!("{} using a feature that cannot be read ({u})", format.described()),
        },
        // Reading from memory cannot fail for any reason but the data ending early.
        (e, _) => MediaError::Corrupt(e.to_string()),
    }
}

/// There is no "could not encode" error for callers to act on differently: it means the decoded
/// image was one the encoder cannot represent, so it is reported like a bad input.
fn encode_error(e: impl std::fmt::Display) -> MediaError {
    MediaError::Corrupt(format!("re-encoding failed: {e}"))
}

pub(super) fn encode_jpeg(image: &DynamicImage, quality: u8, icc: Option<Vec<u8>>) -> Result<Vec<u8>, MediaError> {
    let opaque = opaque(image);
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, quality);
    if let Some(icc) = icc.filter(|icc| icc_fits(icc, &opaque)) {
        // An encoder that cannot embed a profile still writes a correct, if less faithful, image.
        let _ = encoder.set_icc_profile(icc);
    }
    encoder
        .write_image(opaque.as_bytes(), opaque.width(), opaque.height(), opaque.color().into())
        .map_err(encode_error)?;
    Ok(out)
}

pub(super) fn encode_png(image: &DynamicImage, icc: Option<Vec<u8>>) -> Result<Vec<u8>, MediaError> {
    let image: Cow<DynamicImage> = match image {
        DynamicImage::ImageRgb32F(_) => Cow::Owned(DynamicImage::ImageRgb16(image.to_rgb16())),
        DynamicImage::ImageRgba32F(_) => Cow::Owned(DynamicImage::ImageRgba16(image.to_rgba16())),
        _ => Cow::Borrowed(image),
    };
    let mut out = Vec::new();
    let mut encoder = PngEncoder::new_with_quality(&mut out, CompressionType::Default, PngFilter::Adaptive);
    if let Some(icc) = icc.filter(|icc| icc_fits(icc, &image)) {
        let _ = encoder.set_icc_profile(icc);
    }
    encoder.write_image(image.as_bytes(), image.width(), image.height(), image.color().into()).map_err(encode_error)?;
    Ok(out)
}

/// Lossy at `quality` (0 to 100), or lossless for `None`.
pub(super) fn encode_webp(image: &DynamicImage, quality: Option<f32>) -> Result<Vec<u8>, MediaError> {
    let (width, height) = (image.width(), image.height());
    let lossless = quality.is_none();
    let quality = quality.unwrap_or(75.0);
    // Without alpha, RGB input lets libwebp skip the alpha plane altogether.
    let encoded = if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        webp::Encoder::from_rgba(rgba.as_raw(), width, height).encode_simple(lossless, quality)
    } else {
        let rgb = image.to_rgb8();
        webp::Encoder::from_rgb(rgb.as_raw(), width, height).encode_simple(lossless, quality)
    };
    encoded.map(|memory| memory.to_vec()).map_err(|e| encode_error(format!("{e:?}")))
}

pub(super) fn encode_gif(image: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let rgba = image.to_rgba8();
    let mut out = Vec::new();
    {
        // The trailer is written when the encoder is dropped, so it must be gone before `out` is used.
        let mut encoder = GifEncoder::new_with_speed(&mut out, GIF_SPEED);
        encoder.encode(rgba.as_raw(), rgba.width(), rgba.height(), ExtendedColorType::Rgba8).map_err(encode_error)?;
    }
    Ok(out)
}

/// Whether a colour profile describes the channels being written: a CMYK JPEG is decoded to RGB,
/// and grey with alpha becomes RGB in variants, and a profile for the wrong space garbles colours.
fn icc_fits(icc: &[u8], image: &DynamicImage) -> bool {
    let space = icc.get(16..20);
    if image.color().has_color() { space == Some(b"RGB ") } else { space == Some(b"GRAY") }
}

/// The image as 8-bit grey or RGB for JPEG, transparent areas shown on white: a page background is
/// far more often white than the black that dropping alpha would give.
fn opaque(image: &DynamicImage) -> Cow<'_, DynamicImage> {
    match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => Cow::Borrowed(image),
        _ if !image.color().has_alpha() && !image.color().has_color() => Cow::Owned(image.to_luma8().into()),
        _ if !image.color().has_alpha() => Cow::Owned(image.to_rgb8().into()),
        _ => {
            let rgba = image.to_rgba8();
            let mut rgb = RgbImage::new(rgba.width(), rgba.height());
            for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
                let a = u32::from(px[3]);
                let over_white = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
                *out = Rgb([over_white(px[0]), over_white(px[1]), over_white(px[2])]);
            }
            Cow::Owned(rgb.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::fixtures::{self, contains};
    use super::*;

    fn accepted(data: &[u8]) -> Ingested {
        ingest(data, &Limits::default()).expect("ingest")
    }

    #[test]
    fn each_accepted_format_ingests_with_its_format_and_size() {
        let photo = fixtures::photo(120, 80);
        let cases = [
            (fixtures::encode(&photo, image::ImageFormat::Png), ImageFormat::Png),
            (fixtures::encode(&photo, image::ImageFormat::Jpeg), ImageFormat::Jpeg),
            (fixtures::encode(&photo, image::ImageFormat::WebP), ImageFormat::Webp),
            (fixtures::lossy_webp(&photo), ImageFormat::Webp),
            (fixtures::encode(&photo, image::ImageFormat::Gif), ImageFormat::Gif),
        ];
        for (data, format) in cases {
            let got = accepted(&data);
            assert_eq!((got.format, got.width, got.height), (format, 120, 80), "{format:?}");
            assert_eq!(sniff::sniff(&got.bytes), Sniffed::Image(format));
            let decoded = image::load_from_memory_with_format(&got.bytes, format.to_image()).expect("output decodes");
            assert_eq!((decoded.width(), decoded.height()), (120, 80));
            assert_eq!(got.hash.len(), 32);
            assert!(got.hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{}", got.hash);
            assert_eq!(got.hash, blake3::hash(&got.bytes).to_hex()[..32]);
        }
    }

    #[test]
    fn webp_stays_lossless_or_lossy_as_uploaded() {
        let photo = fixtures::photo(64, 64);
        let lossless = accepted(&fixtures::encode(&photo, image::ImageFormat::WebP));
        assert!(sniff::webp_is_lossless(&lossless.bytes));
        let lossy = accepted(&fixtures::lossy_webp(&photo));
        assert!(!sniff::webp_is_lossless(&lossy.bytes));
    }

    #[test]
    fn transparency_survives_a_png() {
        let got = accepted(&fixtures::encode(&fixtures::red_on_transparent(40, 40), image::ImageFormat::Png));
        let decoded = image::load_from_memory(&got.bytes).expect("decodes").to_rgba8();
        assert_eq!(decoded.get_pixel(0, 0)[3], 0);
        assert_eq!(decoded.get_pixel(20, 20).0, [255, 0, 0, 255]);
    }

    fn png_with_profile(space: &[u8; 4]) -> Vec<u8> {
        let mut profile = vec![0u8; 132];
        profile[16..20].copy_from_slice(space);
        profile[100..120].copy_from_slice(b"test colour profile!");
        let image = fixtures::photo(30, 20);
        let mut out = Vec::new();
        let mut encoder = PngEncoder::new(&mut out);
        encoder.set_icc_profile(profile).expect("png takes a profile");
        encoder.write_image(image.as_bytes(), 30, 20, ExtendedColorType::Rgb8).expect("fixture encodes");
        out
    }

    fn profile_of(png: &[u8]) -> Option<Vec<u8>> {
        image::codecs::png::PngDecoder::new(Cursor::new(png)).expect("decodes").icc_profile().expect("reads")
    }

    #[test]
    fn a_matching_colour_profile_is_kept_and_a_mismatched_one_dropped() {
        let kept = accepted(&png_with_profile(b"RGB "));
        assert!(profile_of(&kept.bytes).is_some_and(|p| contains(&p, b"test colour profile!")));
        let dropped = accepted(&png_with_profile(b"CMYK"));
        assert_eq!(profile_of(&dropped.bytes), None);
    }

    #[test]
    fn same_picture_same_hash() {
        let data = fixtures::encode(&fixtures::photo(50, 50), image::ImageFormat::Png);
        let other = fixtures::encode(&fixtures::photo(50, 51), image::ImageFormat::Png);
        assert_eq!(accepted(&data).hash, accepted(&data).hash);
        assert_ne!(accepted(&data).hash, accepted(&other).hash);
    }

    #[test]
    fn exif_and_gps_are_stripped_from_a_jpeg() {
        let data = fixtures::jpeg_with_exif(&fixtures::photo(64, 48), 1);
        // The fixture really carries what must go, and the decoder really sees it.
        assert!(contains(&data, b"Exif\0\0") && contains(&data, fixtures::GPS_DATUM));
        let exif = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&data))
            .expect("fixture decodes")
            .exif_metadata()
            .expect("exif reads");
        assert!(exif.is_some_and(|e| contains(&e, fixtures::GPS_DATUM)));

        let got = accepted(&data);
        assert_eq!((got.width, got.height), (64, 48));
        assert!(!contains(&got.bytes, b"Exif"), "an Exif APP1 segment survived");
        assert!(!contains(&got.bytes, fixtures::GPS_DATUM), "GPS data survived");
        assert!(!contains(&got.bytes, &fixtures::GPS_LATITUDE), "GPS latitude survived");
    }

    #[test]
    fn exif_orientation_6_turns_the_picture_upright() {
        // Stored 40x20, red left and blue right; orientation 6 means "rotate 90 degrees clockwise to
        // view", so readers must get 20x40 with red on top.
        let got = accepted(&fixtures::jpeg_with_exif(&fixtures::halves(40, 20), 6));
        assert_eq!((got.width, got.height), (20, 40));
        let upright = image::load_from_memory(&got.bytes).expect("decodes").to_rgb8();
        let top = upright.get_pixel(10, 5);
        let bottom = upright.get_pixel(10, 35);
        assert!(top[0] > 200 && top[2] < 60, "top is {top:?}");
        assert!(bottom[2] > 200 && bottom[0] < 60, "bottom is {bottom:?}");
    }

    #[test]
    fn pixel_flood_is_refused_from_the_header() {
        let data = fixtures::png_claiming(60_000, 60_000);
        assert!(data.len() < 100);
        let started = Instant::now();
        let err = ingest(&data, &Limits::default()).expect_err("must refuse");
        // Decoding would need 10.8 GB and minutes; the header check takes microseconds.
        assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
        assert!(
            matches!(err, MediaError::TooManyPixels { width: 60_000, height: 60_000, limit: 40_000_000 }),
            "{err:?}"
        );
        assert_eq!(err.code(), "media_too_many_pixels");
    }

    #[test]
    fn pixel_count_is_limited_even_within_the_side_limit() {
        let data = fixtures::encode(&fixtures::photo(30, 30), image::ImageFormat::Png);
        let limits = Limits { max_pixels: 800, ..Limits::default() };
        let err = ingest(&data, &limits).expect_err("900 pixels > 800");
        assert!(matches!(err, MediaError::TooManyPixels { width: 30, height: 30, limit: 800 }), "{err:?}");
        let limits = Limits { max_side: 29, ..Limits::default() };
        assert!(matches!(ingest(&data, &limits), Err(MediaError::TooManyPixels { .. })));
        assert!(ingest(&data, &Limits { max_pixels: 900, max_side: 30, ..Limits::default() }).is_ok());
    }

    #[test]
    fn an_image_needing_more_memory_than_the_budget_is_refused_before_decoding() {
        let data = fixtures::encode(&fixtures::photo(200, 100), image::ImageFormat::Png);
        // 200 x 100 RGB is 60,000 bytes decoded, and twice that at the peak.
        let got = probe(&data, &Limits::default()).expect("probe");
        assert_eq!((got.format, got.width, got.height, got.decoded_bytes), (ImageFormat::Png, 200, 100, 60_000));
        assert_eq!(got.working_bytes(), 120_000);
        let limits = Limits { max_decode_bytes: 119_999, ..Limits::default() };
        let err = ingest(&data, &limits).expect_err("over the budget");
        assert!(
            matches!(err, MediaError::TooMuchMemory { width: 200, height: 100, needed: 120_000, budget: 119_999 }),
            "{err:?}"
        );
        assert!(matches!(probe(&data, &limits), Err(MediaError::TooMuchMemory { .. })));
        assert!(ingest(&data, &Limits { max_decode_bytes: 120_000, ..Limits::default() }).is_ok());
    }

    #[test]
    fn cancelled_work_stops_before_decoding() {
        let data = fixtures::encode(&fixtures::photo(64, 64), image::ImageFormat::Png);
        let cancel = Cancel::default();
        cancel.cancel();
        assert!(matches!(ingest_cancellable(&data, &Limits::default(), &cancel), Err(MediaError::Cancelled)));
    }

    #[test]
    fn svg_is_refused_by_content_whatever_its_name() {
        let svg = br#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
  <script>fetch('/admin/users', {method: 'DELETE'})</script>
  <rect width="10" height="10"/>
</svg>"#;
        let err = ingest(svg, &Limits::default()).expect_err("svg refused");
        assert!(matches!(&err, MediaError::Unsupported { detected } if detected.contains("SVG")), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("JPEG, PNG, WebP and GIF") && message.contains("an SVG drawing"), "{message}");
    }

    #[test]
    fn text_pdf_and_truncated_files() {
        let detected = |data: &[u8]| match ingest(data, &Limits::default()) {
            Err(MediaError::Unsupported { detected }) => detected,
            other => panic!("expected Unsupported, got {other:?}"),
        };
        assert_eq!(detected(b"Dear editor,\nplease find my photo attached.\n"), "text");
        assert_eq!(detected(b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n1 0 obj\n<< /Type /Catalog >>\n"), "a PDF document");
        assert_eq!(detected(&[0x13, 0x37, 0x00, 0xFF, 0x42]), "an unknown format");

        let png = fixtures::encode(&fixtures::photo(200, 200), image::ImageFormat::Png);
        let err = ingest(&png[..png.len() / 2], &Limits::default()).expect_err("truncated");
        assert!(matches!(err, MediaError::Corrupt(_)), "{err:?}");
        let jpeg = fixtures::encode(&fixtures::photo(200, 200), image::ImageFormat::Jpeg);
        assert!(matches!(ingest(&jpeg[..20], &Limits::default()), Err(MediaError::Corrupt(_))));
    }

    #[test]
    fn too_many_bytes_are_refused_before_anything_else() {
        let data = fixtures::encode(&fixtures::photo(40, 40), image::ImageFormat::Png);
        let limits = Limits { max_bytes: data.len() - 1, ..Limits::default() };
        let err = ingest(&data, &limits).expect_err("too large");
        assert!(matches!(err, MediaError::TooLarge { bytes, limit } if bytes == data.len() && limit == data.len() - 1));
        // Even a file that is not an image at all hears about its size first.
        let junk = vec![b'x'; 101];
        assert!(matches!(
            ingest(&junk, &Limits { max_bytes: 100, ..Limits::default() }),
            Err(MediaError::TooLarge { .. })
        ));
        assert!(ingest(&data, &Limits { max_bytes: data.len(), ..Limits::default() }).is_ok());
    }
}
