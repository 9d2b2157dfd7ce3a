"""Golden files: the rendered report and summary.json for the fixed fixture view.

Any change to the templates or the export shows up as a readable diff. After
an intended change, regenerate the golden files with one command::

    scripts/update-golden.sh

(which runs this module with ``LINKSPIDER_UPDATE_GOLDEN=1``) and review the
diff before committing. Timestamps are scrubbed, and so are the inlined CSS and
JS and their CSP hashes: a style tweak does not churn the golden file (the
browser test covers how the page looks and behaves).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

import pytest

from reports.exports import summary_document
from reports.render import render
from tests.support.report_fixture import fixture_view

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("LINKSPIDER_UPDATE_GOLDEN") == "1"

_SCRUBS = [
    (re.compile(r"<style>.*?</style>", re.S), "<style>[report.css]</style>"),
    (re.compile(r"<script>.*?</script>", re.S), "<script>[report.js]</script>"),
    (re.compile(r"sha256-[A-Za-z0-9+/=]+"), "sha256-[hash]"),
    (re.compile(r'<time datetime="[^"]*">[^<]*</time>'), '<time datetime="[time]">[time]</time>'),
]


def scrub_html(html: str) -> str:
    """The rendered page with what legitimately varies replaced by placeholders."""
    for pattern, replacement in _SCRUBS:
        html = pattern.sub(replacement, html)
    return html


def _check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"no golden file {path}: run scripts/update-golden.sh")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"golden/{name}",
                "rendered",
                n=2,
            )
        )
        pytest.fail(
            f"{name} differs from its golden file (if intended: scripts/update-golden.sh)\n"
            + diff[:6000]
        )


def test_report_html_matches_golden() -> None:
    html = render(fixture_view())
    scrubbed = scrub_html(html)
    # The scrubbing only touched what it should: both assets and every timestamp.
    assert scrubbed.count("[report.css]") == 1 and scrubbed.count("[report.js]") == 1
    assert scrubbed.count('<time datetime="[time]">') == html.count("<time ")
    _check("report.html", scrubbed)


def test_summary_json_matches_golden() -> None:
    document = summary_document(fixture_view())
    assert document.pop("generated_at")
    _check("summary.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n")
