"""The Content-Security-Policy holds in a real browser: an injected inline script does not run, and Chromium
reports the refusal, which is what the `page` fixture watches for on every other browser test."""
from __future__ import annotations

from .conftest import VIEWPORT


def test_an_injected_inline_script_is_refused_and_reported(chromium, live_server):
    context = chromium.new_context(base_url=live_server, viewport=VIEWPORT)  # not `page`: it fails on a refusal
    try:
        page = context.new_page()
        reported: list[str] = []
        page.on("console", lambda message: reported.append(message.text))
        page.goto("/login")
        ran = page.evaluate("""() => {
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.append(script);
            return window.injected === true;
        }""")
        assert ran is False
        assert any("Content Security Policy" in text for text in reported)
    finally:
        context.close()
