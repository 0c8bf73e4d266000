"""Pages printed to PDF by headless Chromium, the way a browser's "Save as PDF" would.

The page is rendered by Flask as usual and handed to Chromium with every request answered from here: the
document itself, and the app's static files from disk; nothing else is fetched. Chromium runs in a worker
thread of its own, since Playwright's synchronous API refuses a thread that already drives a browser.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import Route, sync_playwright

ORIGIN = "http://kesu.print"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-sync"]
TYPES = {".css": "text/css", ".js": "application/javascript", ".svg": "image/svg+xml", ".png": "image/png",
         ".woff2": "font/woff2", ".woff": "font/woff"}
_PRINTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kesu-pdf")


class PdfUnavailable(RuntimeError):
    """No Chromium to print with at the configured path."""


def print_pdf(html: str, static_folder: str, chromium: str) -> bytes:
    """The page as an A4 PDF with its backgrounds, from a worker thread."""
    if not Path(chromium).is_file():
        raise PdfUnavailable(chromium)
    return _PRINTER.submit(_print, html, Path(static_folder), chromium).result(timeout=60)


def _print(html: str, static: Path, chromium: str) -> bytes:
    def answer(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?")[0]
        if path == "/":
            route.fulfill(body=html, content_type="text/html; charset=utf-8")
            return
        file = (static / path.removeprefix("/static/")).resolve()
        if path.startswith("/static/") and file.is_relative_to(static.resolve()) and file.is_file():
            route.fulfill(body=file.read_bytes(), content_type=TYPES.get(file.suffix, "application/octet-stream"))
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", answer)
            page.goto(f"{ORIGIN}/", wait_until="load")
            page.emulate_media(media="print")
            return page.pdf(format="A4", print_background=True,
                            margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
        finally:
            browser.close()
