"""The report in a real headless Chromium, opened from disk.

Drives Debian's ``chromium`` through Playwright (never a downloaded browser):
the page must render with no console error, no network request of any kind
and no Content-Security-Policy violation; sorting and filtering must work from
``file://``; attack strings must stay inert. Screenshots go to
``test-artifacts/`` (git-ignored) for a human to look at.

Skipped, with the reason, only when no Chromium is installed; ``.ci/run``
installs it, so CI runs these. ``LINKSPIDER_CHROMIUM`` points at another binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Request,
    sync_playwright,
)

from reports.view import ReportView
from reports.write import write_report
from tests.support.report_fixture import SCRIPT, fixture_view

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def _chromium() -> str | None:
    configured = os.environ.get("LINKSPIDER_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = _chromium()

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium installed (apt-get install chromium, or set LINKSPIDER_CHROMIUM)",
    ),
]

# This machine's network is closed: Chromium's background services must not even try.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Runs before the page's own scripts: records every policy violation the page causes.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Opened:
    """A report open in a page, with everything the page did recorded."""

    page: Page
    url: str
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        return list(self.page.evaluate("window.__violations"))


OpenReport = Callable[..., Opened]


@pytest.fixture
def open_report(browser: Browser, tmp_path: Path) -> Iterator[OpenReport]:
    contexts: list[BrowserContext] = []

    def opener(
        view: ReportView | None = None, *, width: int = 1280, html: Path | None = None
    ) -> Opened:
        if html is None:
            html = write_report(view or fixture_view(), tmp_path / f"report{len(contexts)}").html
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()
        opened = Opened(page, html.as_uri())

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                opened.console.append(f"{message.type}: {message.text}")

        def on_request(request: Request) -> None:
            opened.requests.append(request.url)

        def on_dialog(dialog: Dialog) -> None:
            opened.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        context.on("request", on_request)
        page.on("dialog", on_dialog)
        page.goto(opened.url, wait_until="load")
        return opened

    yield opener
    for context in contexts:
        context.close()


def _column(page: Page, table: str, index: int) -> list[str]:
    """The sort keys (raw values, else text) of one column's visible rows, top to bottom."""
    script = (
        "(rows, index) => rows.filter(r => !r.hidden).map(r => r.cells[index])"
        ".map(c => c.getAttribute('data-v') ?? c.textContent.trim())"
    )
    return list(page.eval_on_selector_all(f"#{table} tbody tr", script, index))


def test_report_renders_offline_with_no_error(open_report: OpenReport) -> None:
    opened = open_report()
    page = opened.page
    assert opened.console == []
    assert opened.errors == []
    assert opened.violations() == []
    # The document itself is the only thing the page loaded: no fetch, font, image or favicon.
    assert opened.requests == [opened.url]
    assert page.title() == "Link equity report: www.kettle-and-co.example/"
    # The inline style and script were allowed by the policy: the style applies, the script ran.
    assert page.eval_on_selector(".masthead", "e => getComputedStyle(e).backgroundColor") == (
        "rgb(20, 38, 63)"
    )
    box = page.locator("svg.sankey").bounding_box()
    assert box is not None and box["width"] > 900 and box["height"] > 300
    assert page.locator("svg.sankey path.band").count() == len(fixture_view().budget.sankey.links)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report.png", full_page=True)
    page.screenshot(path=ARTIFACTS / "report-top.png")
    page.locator("#budget").screenshot(path=ARTIFACTS / "report-budget.png")


def test_sorting_and_filtering_work_from_disk(open_report: OpenReport) -> None:
    page = open_report().page
    ranks = [float(v) for v in _column(page, "pages-table", 0)]
    assert ranks == sorted(ranks)
    share = page.locator("#pages-table thead th", has_text="Share")
    share.locator("button").click()
    shares = [float(v) for v in _column(page, "pages-table", 2)]
    assert shares == sorted(shares, reverse=True) and shares != [float(v) for v in ranks]
    assert share.get_attribute("aria-sort") == "descending"
    rank = page.locator("#pages-table thead th", has_text="Rank")
    rank.locator("button").click()  # numbers: largest first
    assert [float(v) for v in _column(page, "pages-table", 0)] == sorted(ranks, reverse=True)
    assert rank.get_attribute("aria-sort") == "descending"
    assert share.get_attribute("aria-sort") is None
    rank.locator("button").click()
    assert [float(v) for v in _column(page, "pages-table", 0)] == sorted(ranks)
    assert rank.get_attribute("aria-sort") == "ascending"
    # Text columns sort A to Z first.
    page.locator("#pages-table thead th", has_text="Page").locator("button").click()
    titles = [t.lower() for t in _column(page, "pages-table", 1)]
    assert titles == sorted(titles)

    search = page.locator('input[data-filter-for="pages-table"]')
    search.fill("descaler")
    visible = _column(page, "pages-table", 1)
    assert len(visible) == 1 and "Descaler" in visible[0]
    assert page.locator('[data-count-for="pages-table"]').text_content() == "1 of 30 rows match"
    search.fill("")
    page.locator('select[data-flag-for="pages-table"]').select_option("priority")
    assert len(_column(page, "pages-table", 1)) == 6
    page.locator('select[data-flag-for="pages-table"]').select_option("")
    assert page.locator('[data-count-for="pages-table"]').text_content() == "30 rows"


def test_attack_strings_stay_inert(open_report: OpenReport) -> None:
    opened = open_report(fixture_view(hostile=True))
    page = opened.page
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert opened.dialogs == []
    assert opened.errors == []
    assert opened.violations() == []
    assert opened.requests == [opened.url]
    # The attack text is shown to the reader as text.
    assert page.get_by_text(SCRIPT, exact=False).count() > 0
    # Clicking what looks like a link to a javascript: URL does nothing.
    page.locator("span.url-text").first.click()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.url == opened.url


def test_print_layout(open_report: OpenReport) -> None:
    page = open_report().page
    closed = page.locator("details.finding:not([open])").count()
    assert closed > 0
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("details.finding:not([open])").count() == 0
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.locator("details.finding:not([open])").count() == closed
    page.emulate_media(media="print")
    assert page.eval_on_selector("nav.toc", "e => getComputedStyle(e).display") == "none"
    assert page.eval_on_selector(".table-tools", "e => getComputedStyle(e).display") == "none"
    assert page.eval_on_selector("body", "e => getComputedStyle(e).backgroundColor") == (
        "rgb(255, 255, 255)"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report-print.png")


def test_narrow_screen_has_no_horizontal_page_scroll(open_report: OpenReport) -> None:
    page = open_report(width=420).page
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report-narrow.png")


def test_the_report_of_a_real_crawl(open_report: OpenReport, tmp_path: Path) -> None:
    """The demo's own report, written by the extension at the end of ``scrapy demo``."""
    run_dir = tmp_path / "demo"
    process = subprocess.run(
        [sys.executable, "-m", "scrapy", "demo", "--run-dir", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    opened = open_report(html=run_dir / "report" / "index.html")
    page = opened.page
    assert opened.console == []
    assert opened.errors == []
    assert opened.violations() == []
    assert opened.requests == [opened.url]
    assert page.title().startswith("Link equity report: 127.0.0.1:")
    assert page.locator("svg.sankey path.band").count() > 10
    assert page.locator("#priority-table tbody tr").count() > 0
    page.locator("#pages-table thead th", has_text="Inlinks").locator("button").click()
    inlinks = [float(v) for v in _column(page, "pages-table", 6)]
    assert inlinks == sorted(inlinks, reverse=True) and inlinks[0] > inlinks[-1]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report-demo.png", full_page=True)
    page.locator("#budget").screenshot(path=ARTIFACTS / "report-demo-budget.png")
