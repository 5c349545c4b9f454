"""DIN 5008 letter parts of the invoice: the window address, its font size and the logo as a data: URI."""
from __future__ import annotations

import base64
import logging
import math

from documents.invoice import Seller
from documents.pdf.formatting import name_country_in
from extraction.models import Customer
from store.models import sniff_image_type

logger = logging.getLogger(__name__)

MAX_LOGO_BYTES = 2_000_000  # a bigger logo would slow every render down
# Address font sizes (CSS class, pt) with the lines that fit into the 27.3 mm address zone
ADDRESS_SIZES = (("", 10.0, 6), ("compact", 8.5, 7), ("tiny", 7.0, 8))
ADDRESS_WIDTH_MM = 77.0


def build_logo_uri(seller: Seller) -> str | None:
    """The logo as a data: URI when its bytes are a PNG or JPEG of at most 2 MB, else None (logged)."""
    if not seller.logo:
        return None
    mime = sniff_image_type(seller.logo)
    if mime is None or len(seller.logo) > MAX_LOGO_BYTES:
        logger.warning("logo skipped: not a PNG or JPEG up to %d bytes (declared %s, %d bytes)", MAX_LOGO_BYTES,
                       seller.logo_mime, len(seller.logo))
        return None
    return f"data:{mime};base64,{base64.b64encode(seller.logo).decode('ascii')}"


def build_address(customer: Customer, seller_country: str, locale: str) -> list[str]:
    """The address lines DIN 5008 prints in the window, country last and only when abroad."""
    lines = [customer.company] if customer.company and customer.company != customer.name else []
    lines += [customer.name, customer.street or ""]
    lines.append(" ".join(part for part in (customer.postal_code, customer.city) if part))
    if customer.country.upper() != seller_country.upper():
        lines.append(name_country_in(customer.country, locale))
    return [line for line in lines if line.strip()]


def choose_address_size(lines: list[str]) -> str:
    """The largest font size whose wrapped lines (estimated at 0.62 em a character) fit the address zone."""
    for css_class, points, max_lines in ADDRESS_SIZES:
        per_line = max(1, int(ADDRESS_WIDTH_MM / (0.62 * points * 0.3528)))
        if sum(math.ceil(len(line) / per_line) for line in lines) <= max_lines:
            return css_class
    return ADDRESS_SIZES[-1][0]
