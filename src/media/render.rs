//! The resized copies pages serve, and the social card. Slow by nature (several resamplings and
//! encodings of a large picture), so it runs in `spawn_blocking` once per upload, never per request.

use std::borrow::Cow;
use std::fs;
use std::io;
use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage, RgbaImage};

use super::files::{sync_dir, write_atomic};
use super::ingest::{self, Decoded};
use super::{
    CARD_HEIGHT, CARD_WIDTH, Cancel, FocalPoint, ImageFormat, Ingested, Limits, MediaError, VARIANT_WIDTHS, Variant,
    card_file_name, variant_file_name,
};

/// Lanczos3 keeps fine print and hairlines in news photos crisp where cheaper filters blur them.
const FILTER: FilterType = FilterType::Lanczos3;
const VARIANT_WEBP_QUALITY: f32 = 80.0;
const VARIANT_JPEG_QUALITY: u8 = 85;
const CARD_JPEG_QUALITY: u8 = 85;

/// Writes resized variants of an ingested original into out_dir: for every VARIANT_WIDTHS entry
/// smaller than the original width (and always one at the original width if it is at most 1600),
/// a lossy WebP (quality 80) AND one in the original format; a WebP original gets the WebP only,
/// as both would be the same file. Then a social card "{hash}-card.jpg" of 1200x630 cropped around
/// the focal point (upscaled if the original is smaller). Files are written atomically (a `.part`
/// file in out_dir, fsync, rename; removed again if anything fails). Returns all variants (the card
/// too, with format Jpeg and width 1200) sorted by width then format. Meant to run in
/// spawn_blocking, off the request path, holding a decode permit for `max_decode_bytes`; stops with
/// [`MediaError::Cancelled`] between files once `cancel` is set.
pub fn render_variants(
    original: &Ingested,
    focal: FocalPoint,
    out_dir: &Path,
    max_decode_bytes: u64,
    cancel: &Cancel,
) -> Result<Vec<Variant>, MediaError> {
    // The hash becomes part of file paths; anything but hex could climb out of out_dir.
    if original.hash.is_empty() || !original.hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "media hash must be lowercase hex").into());
    }
    let (width, height) = (original.width, original.height);
    let limits = Limits {
        max_bytes: original.bytes.len(),
        max_pixels: u64::from(width) * u64::from(height),
        max_side: width.max(height),
        max_decode_bytes,
    };
    let Decoded { image, icc } = ingest::decode(&original.bytes, original.format, &limits, cancel)?;
    if (image.width(), image.height()) != (width, height) {
        return Err(MediaError::Corrupt(format!(
            "stored image is {}x{}, but its record says {width}x{height}",
            image.width(),
            image.height()
        )));
    }
    fs::create_dir_all(out_dir)?;
    let working = Working::new(image);
    let hash = original.hash.as_str();
    let mut variants = Vec::new();

    // Largest first, each resampled from the previous one: every resize costs about as much as the
    // pixels it reads, so stepping down from 1600 rather than from a 40-megapixel original saves
    // most of the time, and Lanczos steps of at most 2x lose nothing visible.
    let mut source: Option<Working> = None;
    for target in variant_widths(width).into_iter().rev() {
        cancel.check()?;
        let target_height = scaled_height(width, height, target);
        let resized = (target != width).then(|| source.as_ref().unwrap_or(&working).resize(target, target_height));
        let current = resized.as_ref().unwrap_or(&working);
        let pixels = current.straight();

        let name = variant_file_name(hash, target, ImageFormat::Webp);
        write_atomic(out_dir, &name, &ingest::encode_webp(&pixels, Some(VARIANT_WEBP_QUALITY))?)?;
        variants.push(Variant { width: target, height: target_height, format: ImageFormat::Webp, file_name: name });

        if original.format != ImageFormat::Webp {
            let bytes = match original.format {
                // The original is already exactly this, cleaned and encoded.
                _ if resized.is_none() => Cow::Borrowed(original.bytes.as_slice()),
                ImageFormat::Jpeg => Cow::Owned(ingest::encode_jpeg(&pixels, VARIANT_JPEG_QUALITY, icc.clone())?),
                ImageFormat::Png => Cow::Owned(ingest::encode_png(&pixels, icc.clone())?),
                ImageFormat::Gif => Cow::Owned(ingest::encode_gif(&pixels)?),
                ImageFormat::Webp => Cow::Owned(ingest::encode_webp(&pixels, Some(VARIANT_WEBP_QUALITY))?),
            };
            let name = variant_file_name(hash, target, original.format);
            write_atomic(out_dir, &name, &bytes)?;
            variants.push(Variant { width: target, height: target_height, format: original.format, file_name: name });
        }
        if resized.is_some() {
            source = resized;
        }
    }

    cancel.check()?;
    let (x, y, w, h) = focal_crop(width, height, CARD_WIDTH, CARD_HEIGHT, focal);
    let card = working.crop(x, y, w, h).resize(CARD_WIDTH, CARD_HEIGHT).on_white();
    let name = card_file_name(hash);
    write_atomic(out_dir, &name, &ingest::encode_jpeg(&card, CARD_JPEG_QUALITY, icc)?)?;
    variants.push(Variant { width: CARD_WIDTH, height: CARD_HEIGHT, format: ImageFormat::Jpeg, file_name: name });

    // The renames are durable only once the directory entry is.
    sync_dir(out_dir)?;
    variants.sort_by_key(|v| (v.width, v.format.rank()));
    Ok(variants)
}

pub(super) fn is_card(file_name: &str) -> bool {
    file_name.ends_with("-card.jpg")
}

/// Every standard width below the original's, and the original's own if it is not above the
/// largest: a 1600 px picture gets a 1600w copy, a 500 px one a 500w copy.
fn variant_widths(width: u32) -> Vec<u32> {
    let mut widths: Vec<u32> = VARIANT_WIDTHS.iter().copied().filter(|&w| w < width).collect();
    if width <= VARIANT_WIDTHS[VARIANT_WIDTHS.len() - 1] {
        widths.push(width);
    }
    widths
}

fn scaled_height(width: u32, height: u32, target: u32) -> u32 {
    let (w, h, t) = (u64::from(width), u64::from(height), u64::from(target));
    // Rounded to nearest; never zero for a long, thin strip.
    u32::try_from((h * t * 2 + w) / (2 * w)).unwrap_or(u32::MAX).max(1)
}

/// The crop rectangle (x, y, w, h) of the largest region with the given aspect ratio that keeps the
/// focal point as central as the image allows. Pure math, unit-tested.
pub fn focal_crop(width: u32, height: u32, aspect_w: u32, aspect_h: u32, focal: FocalPoint) -> (u32, u32, u32, u32) {
    if width == 0 || height == 0 || aspect_w == 0 || aspect_h == 0 {
        return (0, 0, width, height);
    }
    let (w64, h64, aw, ah) = (u64::from(width), u64::from(height), u64::from(aspect_w), u64::from(aspect_h));
    // w/h against aw/ah, cross-multiplied to stay exact: a relatively wider image is limited by its
    // height, a taller one by its width.
    let (crop_w, crop_h) = if w64 * ah >= h64 * aw {
        let crop_w = ((h64 * aw * 2 + ah) / (2 * ah)).clamp(1, w64);
        (crop_w as u32, height)
    } else {
        let crop_h = ((w64 * ah * 2 + aw) / (2 * aw)).clamp(1, h64);
        (width, crop_h as u32)
    };
    let place = |fraction: f32, full: u32, crop: u32| -> u32 {
        let fraction = if fraction.is_nan() { 0.5 } else { f64::from(fraction).clamp(0.0, 1.0) };
        let start = (fraction * f64::from(full) - f64::from(crop) / 2.0).round();
        // Clamped into range, so the conversion back cannot truncate.
        start.clamp(0.0, f64::from(full - crop)) as u32
    };
    (place(focal.x, width, crop_w), place(focal.y, height, crop_h), crop_w, crop_h)
}

/// An 8-bit copy of the picture to resample. With transparency, colours are kept premultiplied by
/// alpha: resampling straight colours lets the (often black) colour of invisible pixels bleed into
/// the visible edge as a dark halo.
struct Working {
    image: DynamicImage,
    premultiplied: bool,
}

impl Working {
    fn new(image: DynamicImage) -> Self {
        if image.color().has_alpha() {
            let mut rgba = image.into_rgba8();
            for px in rgba.pixels_mut() {
                let a = u32::from(px[3]);
                for c in &mut px.0[..3] {
                    *c = ((u32::from(*c) * a + 127) / 255) as u8;
                }
            }
            Self { image: rgba.into(), premultiplied: true }
        } else if image.color().has_color() {
            Self { image: image.into_rgb8().into(), premultiplied: false }
        } else {
            Self { image: image.into_luma8().into(), premultiplied: false }
        }
    }

    fn resize(&self, width: u32, height: u32) -> Self {
        Self { image: self.image.resize_exact(width, height, FILTER), premultiplied: self.premultiplied }
    }

    fn crop(&self, x: u32, y: u32, width: u32, height: u32) -> Self {
        Self { image: self.image.crop_imm(x, y, width, height), premultiplied: self.premultiplied }
    }

    /// Straight (not premultiplied) colours, as encoders expect.
    fn straight(&self) -> Cow<'_, DynamicImage> {
        let DynamicImage::ImageRgba8(rgba) = &self.image else { return Cow::Borrowed(&self.image) };
        if !self.premultiplied {
            return Cow::Borrowed(&self.image);
        }
        let mut out = RgbaImage::new(rgba.width(), rgba.height());
        for (o, px) in out.pixels_mut().zip(rgba.pixels()) {
            let a = u32::from(px[3]);
            for i in 0..3 {
                // Resampling can overshoot a colour past its alpha; clamp rather than wrap.
                o[i] = (u32::from(px[i]) * 255 + a / 2).checked_div(a).map_or(0, |v| v.min(255) as u8);
            }
            o[3] = px[3];
        }
        Cow::Owned(out.into())
    }

    /// Flattened on white: premultiplied colour plus white where the picture is transparent.
    fn on_white(&self) -> DynamicImage {
        let DynamicImage::ImageRgba8(rgba) = &self.image else { return self.image.clone() };
        let straight_alpha = !self.premultiplied;
        let mut out = RgbImage::new(rgba.width(), rgba.height());
        for (o, px) in out.pixels_mut().zip(rgba.pixels()) {
            let a = u32::from(px[3]);
            let colour = |c: u8| if straight_alpha { (u32::from(c) * a + 127) / 255 } else { u32::from(c) };
            let mut rgb = [0u8; 3];
            for (i, v) in rgb.iter_mut().enumerate() {
                *v = (colour(px[i]) + 255 - a).min(255) as u8;
            }
            *o = Rgb(rgb);
        }
        out.into()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::super::ingest;
    use super::*;

    fn ingested(image: &DynamicImage, format: image::ImageFormat) -> Ingested {
        ingest(&fixtures::encode(image, format), &Limits::default()).expect("ingest")
    }

    fn render(original: &Ingested, focal: FocalPoint, dir: &Path) -> Result<Vec<Variant>, MediaError> {
        render_variants(original, focal, dir, Limits::default().max_decode_bytes, &Cancel::default())
    }

    fn open(dir: &Path, variant: &Variant) -> DynamicImage {
        let bytes = fs::read(dir.join(&variant.file_name)).expect("variant file exists");
        image::load_from_memory_with_format(&bytes, variant.format.to_image()).expect("variant decodes")
    }

    fn summary(variants: &[Variant]) -> Vec<(u32, u32, ImageFormat)> {
        variants.iter().map(|v| (v.width, v.height, v.format)).collect()
    }

    #[test]
    fn a_large_jpeg_gets_every_width_in_webp_and_jpeg_and_a_card() {
        let original = ingested(&fixtures::photo(2000, 1000), image::ImageFormat::Jpeg);
        let dir = tempfile::tempdir().expect("tempdir");
        let variants = render(&original, FocalPoint::CENTRE, dir.path()).expect("render");
        use ImageFormat::{Jpeg, Webp};
        assert_eq!(
            summary(&variants),
            vec![
                (320, 160, Jpeg),
                (320, 160, Webp),
                (640, 320, Jpeg),
                (640, 320, Webp),
                (1024, 512, Jpeg),
                (1024, 512, Webp),
                (1200, 630, Jpeg),
                (1600, 800, Jpeg),
                (1600, 800, Webp),
            ]
        );
        for v in &variants {
            let image = open(dir.path(), v);
            assert_eq!((image.width(), image.height()), (v.width, v.height), "{}", v.file_name);
        }
        assert_eq!(variants[1].file_name, format!("{}-320w.webp", original.hash));
        assert_eq!(variants[6].file_name, format!("{}-card.jpg", original.hash));
        // Only the finished files are left: no temporary file survives a successful render.
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into())
            .collect();
        names.sort();
        let mut expected: Vec<String> = variants.iter().map(|v| v.file_name.clone()).collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn a_small_png_gets_its_own_width_and_an_upscaled_card() {
        let original = ingested(&fixtures::red_on_transparent(500, 400), image::ImageFormat::Png);
        let dir = tempfile::tempdir().expect("tempdir");
        let variants = render(&original, FocalPoint::CENTRE, dir.path()).expect("render");
        use ImageFormat::{Jpeg, Png, Webp};
        assert_eq!(
            summary(&variants),
            vec![(320, 256, Png), (320, 256, Webp), (500, 400, Png), (500, 400, Webp), (1200, 630, Jpeg)]
        );
        for v in &variants {
            let image = open(dir.path(), v);
            assert_eq!((image.width(), image.height()), (v.width, v.height), "{}", v.file_name);
        }
        // The full-width copy in the original format is the cleaned original itself.
        assert_eq!(fs::read(dir.path().join(&variants[2].file_name)).expect("read"), original.bytes);
        // The card shows transparency as white, not black.
        let card = open(dir.path(), &variants[4]).to_rgb8();
        let corner = card.get_pixel(5, 5);
        assert!(corner.0.iter().all(|&c| c > 240), "corner is {corner:?}");
    }

    #[test]
    fn resizing_transparency_leaves_no_dark_halo() {
        let original = ingested(&fixtures::red_on_transparent(1000, 1000), image::ImageFormat::Png);
        let dir = tempfile::tempdir().expect("tempdir");
        let variants = render(&original, FocalPoint::CENTRE, dir.path()).expect("render");
        let small = variants.iter().find(|v| v.width == 320 && v.format == ImageFormat::Png).expect("320w png");
        let image = open(dir.path(), small).to_rgba8();
        // Every visible pixel, edges included, is still red: resampling straight colours would mix
        // in the black of the invisible pixels and darken the rim.
        for px in image.pixels().filter(|px| px[3] >= 16) {
            assert!(px[0] >= 235 && px[1] <= 20 && px[2] <= 20, "dark or tinted edge pixel {px:?}");
        }
        assert!(image.pixels().any(|px| px[3] > 16 && px[3] < 240), "the edge should be soft");
    }

    #[test]
    fn a_webp_original_gets_one_file_per_width() {
        let original = ingested(&fixtures::photo(700, 350), image::ImageFormat::WebP);
        let dir = tempfile::tempdir().expect("tempdir");
        let variants = render(&original, FocalPoint { x: 0.0, y: 1.0 }, dir.path()).expect("render");
        use ImageFormat::{Jpeg, Webp};
        assert_eq!(summary(&variants), vec![(320, 160, Webp), (640, 320, Webp), (700, 350, Webp), (1200, 630, Jpeg)]);
    }

    #[test]
    fn the_card_follows_the_focal_point() {
        // Red left half, blue right half: a card at the left edge is red, at the right edge blue.
        let original = ingested(&fixtures::halves(2000, 600), image::ImageFormat::Png);
        let card = |x: f32| {
            let dir = tempfile::tempdir().expect("tempdir");
            let variants = render(&original, FocalPoint { x, y: 0.5 }, dir.path()).expect("render");
            let v = variants.iter().find(|v| is_card(&v.file_name)).expect("card");
            open(dir.path(), v).to_rgb8().get_pixel(600, 315).0
        };
        let left = card(0.0);
        let right = card(1.0);
        assert!(left[0] > 200 && left[2] < 60, "left card centre {left:?}");
        assert!(right[2] > 200 && right[0] < 60, "right card centre {right:?}");
    }

    #[test]
    fn a_hash_that_is_not_hex_cannot_name_files() {
        let mut original = ingested(&fixtures::photo(50, 50), image::ImageFormat::Png);
        original.hash = "../../etc/passwd".into();
        let dir = tempfile::tempdir().expect("tempdir");
        let err = render(&original, FocalPoint::CENTRE, dir.path()).expect_err("refused");
        assert_eq!(err.code(), "media_io");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    #[test]
    fn widths_and_heights() {
        assert_eq!(variant_widths(2000), vec![320, 640, 1024, 1600]);
        assert_eq!(variant_widths(1600), vec![320, 640, 1024, 1600]);
        assert_eq!(variant_widths(1601), vec![320, 640, 1024, 1600]);
        assert_eq!(variant_widths(640), vec![320, 640]);
        assert_eq!(variant_widths(100), vec![100]);
        assert_eq!(scaled_height(2000, 1000, 320), 160);
        assert_eq!(scaled_height(3000, 2000, 1024), 683); // 682.67
        assert_eq!(scaled_height(10_000, 3, 320), 1);
    }

    #[test]
    fn focal_crop_centre() {
        assert_eq!(focal_crop(2000, 1000, 1, 1, FocalPoint::CENTRE), (500, 0, 1000, 1000));
        assert_eq!(focal_crop(1000, 2000, 2, 1, FocalPoint::CENTRE), (0, 750, 1000, 500));
        assert_eq!(focal_crop(2400, 1600, 1200, 630, FocalPoint::CENTRE), (0, 170, 2400, 1260));
    }

    #[test]
    fn focal_crop_clamps_at_corners() {
        assert_eq!(focal_crop(2000, 1000, 1, 1, FocalPoint { x: 0.0, y: 0.0 }), (0, 0, 1000, 1000));
        assert_eq!(focal_crop(2000, 1000, 1, 1, FocalPoint { x: 1.0, y: 1.0 }), (1000, 0, 1000, 1000));
        assert_eq!(focal_crop(1000, 2000, 2, 1, FocalPoint { x: 1.0, y: 1.0 }), (0, 1500, 1000, 500));
        assert_eq!(focal_crop(1000, 2000, 2, 1, FocalPoint { x: 0.0, y: 0.0 }), (0, 0, 1000, 500));
        // Off-centre but not at an edge: the focal point is the centre of the crop.
        assert_eq!(focal_crop(2000, 1000, 1, 1, FocalPoint { x: 0.7, y: 0.5 }), (900, 0, 1000, 1000));
        assert_eq!(focal_crop(1000, 2000, 2, 1, FocalPoint { x: 0.5, y: 0.3 }), (0, 350, 1000, 500));
        // Nonsense from a client is clamped, not trusted.
        assert_eq!(focal_crop(2000, 1000, 1, 1, FocalPoint { x: 7.0, y: -3.0 }), (1000, 0, 1000, 1000));
        assert_eq!(focal_crop(2000, 1000, 1, 1, FocalPoint { x: f32::NAN, y: 0.5 }), (500, 0, 1000, 1000));
    }

    #[test]
    fn focal_crop_with_the_images_own_aspect_keeps_everything() {
        for focal in [FocalPoint::CENTRE, FocalPoint { x: 0.0, y: 1.0 }, FocalPoint { x: 0.9, y: 0.1 }] {
            assert_eq!(focal_crop(2000, 1000, 2, 1, focal), (0, 0, 2000, 1000));
            assert_eq!(focal_crop(1200, 630, 1200, 630, focal), (0, 0, 1200, 630));
        }
        assert_eq!(focal_crop(640, 480, 0, 1, FocalPoint::CENTRE), (0, 0, 640, 480));
        assert_eq!(focal_crop(3, 1000, 1200, 630, FocalPoint::CENTRE), (0, 499, 3, 2));
    }
}
