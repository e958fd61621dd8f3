//! QR codes of any text, as SVG or PNG at a requested size: what `GET /v1/qrcode/{data}` and
//! the two-factor enrolment answer.

use crate::error::{Error, Result};
use qrcode::{Color, QrCode};

/// The smallest and largest image edge in pixels, and the default.
pub const MIN_SIZE: u32 = 64;
pub const MAX_SIZE: u32 = 2048;
pub const DEFAULT_SIZE: u32 = 256;
/// The blank border the standard asks for, in modules.
const QUIET_ZONE: u32 = 4;

/// An image format a QR code is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrFormat {
    Svg,
    Png,
}

impl QrFormat {
    /// `svg` or `png` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "svg" => Some(Self::Svg),
            "png" => Some(Self::Png),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Svg => "image/svg+xml",
            Self::Png => "image/png",
        }
    }
}

/// `data` as a QR code `size` pixels square or a little more (each module is a whole number
/// of pixels, at least one): 400 naming `data` when the text is too long for any QR code.
pub fn render(data: &str, format: QrFormat, size: u32) -> Result<Vec<u8>> {
    let code = QrCode::new(data.as_bytes())
        .map_err(|e| Error::field("data", format!("cannot be encoded as a QR code: {e}")))?;
    match format {
        QrFormat::Svg => Ok(code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(size, size)
            .build()
            .into_bytes()),
        QrFormat::Png => png_of(&code, size),
    }
}

fn png_of(code: &QrCode, size: u32) -> Result<Vec<u8>> {
    let width = u32::try_from(code.width()).map_err(|_| Error::Internal("QR width".into()))?;
    let modules = width + 2 * QUIET_ZONE;
    let scale = size.div_ceil(modules).max(1);
    let edge = modules * scale;
    let colors = code.to_colors();
    // One byte per pixel, 0 black and 255 white (8-bit grey keeps the encoder simple; deflate
    // makes the flat runs small).
    let mut pixels = vec![255u8; (edge * edge) as usize];
    for (index, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let index = u32::try_from(index).map_err(|_| Error::Internal("QR index".into()))?;
        let (mx, my) = (index % width + QUIET_ZONE, index / width + QUIET_ZONE);
        for y in my * scale..(my + 1) * scale {
            let row = (y * edge) as usize;
            pixels[row + (mx * scale) as usize..row + ((mx + 1) * scale) as usize].fill(0);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, edge, edge);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let failed = |e: png::EncodingError| Error::Internal(format!("PNG encoding: {e}"));
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&pixels).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a PNG into (width, height, grey pixels).
    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        buffer.truncate(info.buffer_size());
        (info.width, info.height, buffer)
    }

    #[test]
    fn a_png_has_the_modules_of_the_code_at_the_size_asked() {
        let data = "https://prov.example.com/00156512ab.cfg";
        let code = QrCode::new(data.as_bytes()).unwrap();
        let png = render(data, QrFormat::Png, 300).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (w, h, pixels) = decode(&png);
        assert_eq!(w, h);
        let modules = code.width() as u32 + 2 * QUIET_ZONE;
        assert!(w >= 300 && w < 300 + modules, "{w}");
        let scale = w / modules;
        // Every module's centre pixel has the module's colour; the quiet zone is white.
        let colors = code.to_colors();
        for (i, color) in colors.iter().enumerate() {
            let (mx, my) = (
                i as u32 % code.width() as u32,
                i as u32 / code.width() as u32,
            );
            let (x, y) = (
                (mx + QUIET_ZONE) * scale + scale / 2,
                (my + QUIET_ZONE) * scale + scale / 2,
            );
            let pixel = pixels[(y * w + x) as usize];
            assert_eq!(pixel == 0, *color == Color::Dark, "module {mx},{my}");
        }
        assert!(
            pixels[..(w * QUIET_ZONE * scale) as usize]
                .iter()
                .all(|p| *p == 255)
        );
    }

    #[test]
    fn sizes_and_formats() {
        let small = render("x", QrFormat::Png, MIN_SIZE).unwrap();
        let large = render("x", QrFormat::Png, MAX_SIZE).unwrap();
        assert!(decode(&small).0 >= MIN_SIZE && decode(&large).0 >= MAX_SIZE);
        let svg = String::from_utf8(render("x", QrFormat::Svg, 512).unwrap()).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("width=\"5"),
            "{svg}"
        );
        assert_eq!(QrFormat::parse("PNG"), Some(QrFormat::Png));
        assert_eq!(QrFormat::parse("gif"), None);
        let too_long = "x".repeat(8000);
        assert!(render(&too_long, QrFormat::Png, 256).is_err());
    }
}
