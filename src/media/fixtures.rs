//! Images for the tests, made in code so no binary fixture hides what it contains.

use std::io::Cursor;

use image::{DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};

/// A picture with detail everywhere, so encoders and resizers have real work and a wrong crop or
/// orientation shows.
pub fn photo(width: u32, height: u32) -> DynamicImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 255 / width.max(1)) as u8, (y * 255 / height.max(1)) as u8, ((x ^ y) & 0xFF) as u8])
    })
    .into()
}

/// Left half red, right half blue.
pub fn halves(width: u32, height: u32) -> DynamicImage {
    RgbImage::from_fn(width, height, |x, _| if x < width / 2 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) }).into()
}

/// Opaque red in the middle, fully transparent black around it: the worst case for dark halos.
pub fn red_on_transparent(width: u32, height: u32) -> DynamicImage {
    RgbaImage::from_fn(width, height, |x, y| {
        let inside = x >= width / 4 && x < width * 3 / 4 && y >= height / 4 && y < height * 3 / 4;
        if inside { Rgba([255, 0, 0, 255]) } else { Rgba([0, 0, 0, 0]) }
    })
    .into()
}

pub fn encode(image: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let image = match format {
        image::ImageFormat::Jpeg => DynamicImage::ImageRgb8(image.to_rgb8()),
        image::ImageFormat::Gif => DynamicImage::ImageRgba8(image.to_rgba8()),
        _ => image.clone(),
    };
    image.write_to(&mut out, format).expect("encode fixture");
    out.into_inner()
}

pub fn lossy_webp(image: &DynamicImage) -> Vec<u8> {
    let rgb = image.to_rgb8();
    webp::Encoder::from_rgb(rgb.as_raw(), rgb.width(), rgb.height()).encode(75.0).to_vec()
}

/// Marker strings inside the GPS block, to look for in the output.
pub const GPS_DATUM: &[u8] = b"SECRET-GPS-DATUM";
/// 51/1 degrees, as the latitude's first rational is stored.
pub const GPS_LATITUDE: [u8; 8] = [51, 0, 0, 0, 1, 0, 0, 0];

/// A camera-style APP1 EXIF segment (little-endian TIFF) with an orientation and a GPS block
/// holding a latitude and a map datum.
pub fn exif_segment(orientation: u16) -> Vec<u8> {
    fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value);
    }
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    const RATIONAL: u16 = 5;
    // Layout: header (8), IFD0 with 2 entries (30) at 8, GPS IFD with 3 entries (42) at 38, then data.
    let gps_ifd = 38u32;
    let latitude_at = gps_ifd + 42;
    let datum_at = latitude_at + 24;
    let mut datum = GPS_DATUM.to_vec();
    datum.push(0);

    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    let [o0, o1] = orientation.to_le_bytes();
    entry(&mut tiff, 0x0112, SHORT, 1, [o0, o1, 0, 0]);
    entry(&mut tiff, 0x8825, LONG, 1, gps_ifd.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(tiff.len() as u32, gps_ifd);
    tiff.extend_from_slice(&3u16.to_le_bytes());
    entry(&mut tiff, 0x0001, ASCII, 2, *b"N\0\0\0");
    entry(&mut tiff, 0x0002, RATIONAL, 3, latitude_at.to_le_bytes());
    entry(&mut tiff, 0x0012, ASCII, datum.len() as u32, datum_at.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(tiff.len() as u32, latitude_at);
    for (num, den) in [(51u32, 1u32), (30, 1), (2655, 100)] {
        tiff.extend_from_slice(&num.to_le_bytes());
        tiff.extend_from_slice(&den.to_le_bytes());
    }
    tiff.extend_from_slice(&datum);

    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    segment
}

/// A JPEG of `image` with the EXIF segment spliced in right after SOI, where cameras put it.
pub fn jpeg_with_exif(image: &DynamicImage, orientation: u16) -> Vec<u8> {
    let plain = encode(image, image::ImageFormat::Jpeg);
    assert_eq!(&plain[..2], &[0xFF, 0xD8]);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&exif_segment(orientation));
    out.extend_from_slice(&plain[2..]);
    out
}

/// A PNG whose header claims `width` x `height` RGB pixels, followed by a few bytes of image data:
/// a few hundred bytes that would decode to gigabytes.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut out, b"IHDR", &ihdr);
    // A valid zlib stream of a few zero bytes: the start of a very long all-black picture.
    png_chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01]);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
