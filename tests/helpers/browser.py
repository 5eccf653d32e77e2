"""Open a page in Debian's chromium, headless, as a reader's browser would, and report what it
did: console errors, uncaught exceptions, every request it made, and what the page says about
itself (a JavaScript expression evaluated once it is ready).

Playwright drives the system browser (`executable_path`): it never downloads one. .ci/run
installs chromium when it is missing.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    evaluated: Any = None
    screenshot: Path | None = None


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "chromium is not installed (.ci/run installs Debian's chromium package)"
    return path


def visit(
    page_file: Path,
    ready: str | None = None,
    evaluate: str = "null",
    screenshot: Path | None = None,
) -> PageVisit:
    """Load the file; wait for the CSS selector `ready` (else for the network to go idle);
    evaluate `evaluate`; take a full-page screenshot when asked."""
    from playwright.sync_api import sync_playwright

    result = PageVisit()
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium(),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1500, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda m: result.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda error: result.page_errors.append(str(error)))
            page.on("request", lambda request: result.requests.append(request.url))
            page.on("requestfailed", lambda request: result.failed_requests.append(request.url))
            page.goto(page_file.resolve().as_uri())
            if ready:
                page.wait_for_selector(ready, state="attached", timeout=30_000)
            else:
                page.wait_for_load_state("networkidle")
            result.evaluated = page.evaluate(evaluate)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
                result.screenshot = screenshot
        finally:
            browser.close()
    return result
