"""Security headers on every response: a Content-Security-Policy under which no inline script runs (page scripts
are files; page data travels in `<script type="application/json">` blocks, which are never executed), no framing,
no type sniffing, no referrer leaving the site; HSTS in production, where the cookies are also marked secure."""
from __future__ import annotations

from flask import Flask, Response

# Styles may be inline: bpmn-js, dmn-js and the properties panel set style attributes as they draw.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    production = app.config.get("ENV_NAME") == "production"

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
