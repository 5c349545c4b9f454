"""The invoice domain: amounts, numbering, legal notes, rendering."""


class DocumentError(Exception):
    """Base error of the documents package."""


class PriceMissing(DocumentError):
    """An item has no unit price and no tenant default applies."""

    def __init__(self, descriptions: list[str]) -> None:
        super().__init__("unit price missing for: " + ", ".join(descriptions))
        self.descriptions = descriptions


class RenderFailed(DocumentError):
    """The PDF could not be rendered."""


class DraftDecided(DocumentError):
    """The draft was issued or discarded already."""

    def __init__(self, draft_id: str, state: str) -> None:
        super().__init__(f"draft {draft_id} is {state}")
        self.draft_id = draft_id
        self.state = state


class EInvoiceUnreadable(DocumentError):
    """An e-invoice's XML could not be read back (not well-formed, not CII, or not as this service writes it)."""
