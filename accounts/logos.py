"""A tenant's logo, normalised once when it is saved, so that every invoice render embeds it as it is."""
from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageFile, ImageOps

from accounts import AccountError
from store.models import sniff_image_type

MAX_PIXELS = 20_000_000  # of an upload: decoding more would take hundreds of MB for a 60 x 25 mm box
BOX_PIXELS = (709, 295)  # the invoice's 60 x 25 mm logo box (invoice.css .logo) at 300 dpi
WHITE = (255, 255, 255)  # the page behind the logo
STRICT = threading.Lock()


class LogoRejected(AccountError):
    """`reason` is one of missing, too_large, not_image, too_many_pixels."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"logo rejected: {reason}")
        self.reason = reason


def normalise_logo(data: bytes) -> tuple[bytes, str]:
    """A PNG or JPEG as the invoice shows it (upright, transparency flattened on white), shrunk to fit
    BOX_PIXELS, as an RGB JPEG without metadata: (bytes, "image/jpeg").

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
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, subsampling=0)
    return out.getvalue(), "image/jpeg"


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
