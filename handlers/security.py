"""Web security in one place: Flask-WTF's CSRF protection and the security headers each kind of page sends."""
from __future__ import annotations

from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as BaseResponse

csrf = CSRFProtect()  # checks every POST unless a view or blueprint is exempt; create_app calls init_app

FORM_EXPIRED = "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu."

# Pages behind a magic link (download, export): never cached, never indexed, no token in a Referer.
LINK_PAGE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
# A draft's preview page (/e/<token>): a link page that frames only its own PDF route and is never framed itself.
PREVIEW_PAGE = {**LINK_PAGE, "X-Frame-Options": "DENY",
                "Content-Security-Policy": "frame-src 'self'; frame-ancestors 'none'"}
# The preview PDF itself (/e/<token>/pdf): framed by that page only, never sniffed as anything else.
PREVIEW_PDF = {**LINK_PAGE, "X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "frame-ancestors 'self'"}
# The tradesperson's account page: as a link page, and never framed.
ACCOUNT_PAGE = {**LINK_PAGE, "X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
# The support console: no caching, framing or sniffing; its CSP (console_csp) carries a per-request nonce.
CONSOLE_PAGE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer"}
CONSOLE_CSP = "default-src 'none'; style-src {style}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
# The WhatsApp emulator (development only): its own script and style files, fetch to itself, recordings played
# back from blob: URLs and its own media route, the microphone for itself only; never cached or framed.
EMULATOR_PAGE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "no-referrer", "Permissions-Policy": "microphone=(self)",
                 "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                                            "connect-src 'self'; media-src 'self' blob:; img-src 'self' data:; "
                                            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}

# Every response in production, error pages and the webhook included: browsers keep to HTTPS for two years and never
# take a body for another type than the one sent.
PRODUCTION_HEADERS = {"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
                      "X-Content-Type-Options": "nosniff"}


def add_production_headers(response: BaseResponse) -> BaseResponse:
    """after_request hook of the app when APP_ENV=production (create_app registers it)."""
    for name, value in PRODUCTION_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def build_console_csp(nonce: str | None) -> dict[str, str]:
    """The console's Content-Security-Policy header: inline styles only with this response's nonce."""
    return {"Content-Security-Policy": CONSOLE_CSP.format(style=f"'nonce-{nonce}'" if nonce else "'none'")}


def refuse_expired_form(_error: CSRFError) -> BaseResponse:
    """A POST without the session's form token: 400 with the German 'reload the page' message."""
    return BadRequest(description=FORM_EXPIRED).get_response()
