"""A tenant's logo, normalised once when it is saved, so that every invoice render embeds it as it is."""
from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageCms, ImageFile, ImageOps

from accounts import AccountError
from store.models import sniff_image_type

MAX_PIXELS = 20_000_000  # of an upload: decoding more would take hundreds of MB for a 60 x 25 mm box
BOX_PIXELS = (709, 295)  # the invoice's 60 x 25 mm logo box (invoice.css .logo) at 300 dpi
WHITE = (255, 255, 255)  # the page behind the logo
SRGB = ImageCms.createProfile("sRGB")  # what a logo's colours are converted to before its own profile is dropped
JFIF = b"JFIF\x00"  # the one application segment a stored logo keeps (APP0: version and pixel density)
STRICT = threading.Lock()


class LogoRejected(AccountError):
    """`reason` is one of missing, too_large, not_image, too_many_pixels."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"logo rejected: {reason}")
        self.reason = reason


def normalise_logo(data: bytes) -> tuple[bytes, str]:
    """A PNG or JPEG as the invoice shows it (upright, in sRGB, transparency flattened on white), shrunk to fit
    BOX_PIXELS, as an RGB JPEG without metadata (no comment, EXIF, XMP, ICC profile or text chunk of the upload
    survives): (bytes, "image/jpeg").

    WeasyPrint copies such a JPEG into the PDF as it is; a PNG it decodes and compresses again on every
    render, its transparency as a second image (a 1200 x 500 RGBA PNG cost about 55 ms, this JPEG 0.1 ms).
    Quality 90 without chroma subsampling keeps a logo's sharp coloured edges. LogoRejected (not_image,
    too_many_pixels) unless Pillow reads a PNG or JPEG of at most MAX_PIXELS.
    """
    mime = sniff_image_type(data)
    if mime is None:
        raise LogoRejected("not_image")
    try:
        with whole_files_only():
            image: Image.Image = Image.open(io.BytesIO(data), formats=[mime.removeprefix("image/").upper()])
            if image.width * image.height > MAX_PIXELS:
                raise LogoRejected("too_many_pixels")
            image = ImageOps.exif_transpose(image)  # as WeasyPrint drew it (image-orientation: from-image)
            image = convert_to_srgb(image)
            if image.mode not in ("RGB", "L", "CMYK") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, WHITE)
                image.paste(rgba, mask=rgba.getchannel("A"))
            image = image.convert("RGB")
            image.thumbnail(BOX_PIXELS, Image.Resampling.LANCZOS)  # never enlarges
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # Pillow's limits: 89/179 MP
        raise LogoRejected("too_many_pixels") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # what Pillow raises for a damaged file
        raise LogoRejected("not_image") from exc
    image.info = {}  # Pillow writes an upload's comment (JPEG COM, PNG "comment" text) into the JPEG otherwise
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, subsampling=0)
    return strip_jpeg_metadata(out.getvalue()), "image/jpeg"


def convert_to_srgb(image: Image.Image) -> Image.Image:
    """The image's colours in sRGB when it carries an ICC profile (an Adobe RGB or CMYK photo), so that the profile
    can be dropped without the colours shifting; unchanged without one, or when the profile is unusable."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK", "L") or "transparency" in image.info:
        return image
    try:
        converted = ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(profile)), SRGB,
                                              outputMode="RGBA" if image.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # drawn as sRGB, as WeasyPrint would without a working profile
    return converted if converted is not None else image


def strip_jpeg_metadata(data: bytes) -> bytes:
    """The JPEG without its comments (COM) and application segments (APP1-APP15: EXIF, XMP, ICC, Photoshop, ...;
    APP0 unless it is the JFIF header), the image data copied as it is. ValueError for a malformed file."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, at, size = bytearray(data[:2]), 2, len(data)
    while at + 1 < size:
        if data[at] != 0xFF:
            raise ValueError("no marker where one belongs")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker == 0xD9:  # end of image
            return bytes(out + data[at:at + 2])
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # restart markers and TEM stand alone
            out += data[at:at + 2]
            at += 2
            continue
        end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if end > size or end < at + 4:
            raise ValueError("segment runs past the end")
        segment = data[at:end]
        if not (marker == 0xFE or 0xE1 <= marker <= 0xEF or (marker == 0xE0 and segment[4:9] != JFIF)):
            out += segment
        at = end
        if marker == 0xDA:  # the entropy-coded data runs to the next marker that is no stuffing or restart
            scan = at
            while True:
                scan = data.find(b"\xff", scan)
                if scan < 0 or scan + 1 >= size:
                    raise ValueError("scan data runs past the end")
                following = data[scan + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    scan += 2
                elif following == 0xFF:
                    scan += 1
                else:
                    break
            out += data[at:scan]
            at = scan
    raise ValueError("no end of image")


@contextmanager
def whole_files_only() -> Iterator[None]:
    """Pillow refuses a cut-off file instead of filling it up with grey: WeasyPrint switches that off for the
    whole process when it is imported (ImageFile.LOAD_TRUNCATED_IMAGES). The lock keeps concurrent uploads
    from restoring each other's setting."""
    with STRICT:
        before, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before
