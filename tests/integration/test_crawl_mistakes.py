"""A user's mistake in ``scrapy crawl site`` is one ``error:`` line and exit status 2.

Each case runs the real command in a subprocess (all at once, to keep the
test short) and checks that nothing started: no traceback, no run folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.crawl import ROOT

URL = "http://127.0.0.1:9/"  # never contacted: every case stops before the crawl

#: (extra command-line arguments, Python-typed settings or None, the error line's start)
CASES: list[tuple[list[str], dict[str, object] | None, str]] = [
    (
        ["-a", "run_dir=/proc/nope/run"],
        None,
        "error: run_dir='/proc/nope/run': cannot create the folder /proc/nope/run "
        "(No such file or directory",
    ),
    (
        ["-s", "JOBDIR=/proc/nope/job"],
        None,
        "error: JOBDIR='/proc/nope/job': cannot create the folder",
    ),
    (
        ["-s", "LINKSPIDER_MAX_PAGES=abc"],
        None,
        "error: LINKSPIDER_MAX_PAGES='abc' is not a whole number",
    ),
    (["-s", "LINKSTORE_BATCH_PAGES=0"], None, "error: LINKSTORE_BATCH_PAGES=0 must be at least 1"),
    (
        ["-s", "AUTOTHROTTLE_TARGET_CONCURRENCY=0"],
        None,
        "error: AUTOTHROTTLE_TARGET_CONCURRENCY=0 must be more than 0",
    ),
    (
        ["-s", "AUTOTHROTTLE_START_DELAY=soon"],
        None,
        "error: AUTOTHROTTLE_START_DELAY='soon' is not a number",
    ),
    (
        ["-s", "LINKSPIDER_BACKOFF_MAX_DELAY=-5"],
        None,
        "error: LINKSPIDER_BACKOFF_MAX_DELAY=-5 must be at least 0",
    ),
    (
        ["-s", "LINKSPIDER_CRAWL_NOFOLLOW=maybe"],
        None,
        "error: LINKSPIDER_CRAWL_NOFOLLOW='maybe' is not a boolean",
    ),
    (
        ["-s", "LINKSPIDER_POSITION_NAMES=promo:aside"],
        None,
        "error: LINKSPIDER_POSITION_NAMES='promo:aside' is not a JSON object",
    ),
    (
        ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=two"],
        None,
        "error: CONCURRENT_REQUESTS_PER_DOMAIN='two' is not a whole number",
    ),
    (
        ["-s", "BACKLINKS_WORKERS=all"],
        None,
        "error: BACKLINKS_WORKERS='all' is not a whole number",
    ),
    (
        [],
        {"LINKSPIDER_TRACKING_PARAMS": {"utm_source": 1}},
        "error: LINKSPIDER_TRACKING_PARAMS={'utm_source': 1} is not a list of parameter names",
    ),
    (
        [],
        {"LINKSTORE_BATCH_LINKS": [5000]},
        "error: LINKSTORE_BATCH_LINKS=[5000] is not a whole number",
    ),
]


def test_each_kind_of_mistake_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    processes = []
    for number, (extra, typed, _) in enumerate(CASES):
        env = dict(os.environ)
        if typed is not None:
            env["SCRAPY_SETTINGS_MODULE"] = "tests.support.python_settings"
            env["LINKSPIDER_TEST_SETTINGS"] = json.dumps(typed)
        run_dir = ["-a", f"run_dir={tmp_path / f'run-{number}'}"]
        if "-a" in extra:
            run_dir = []
        command = [sys.executable, "-m", "scrapy", "crawl", "site", "-a", f"url={URL}"]
        processes.append(
            subprocess.Popen(
                [*command, *run_dir, *extra],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for number, (process, (extra, _, expected)) in enumerate(zip(processes, CASES, strict=True)):
        stdout, stderr = process.communicate(timeout=120)
        case = " ".join(extra) or expected
        assert process.returncode == 2, (case, stderr[-2000:])
        assert "Traceback" not in stderr, case
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), (case, stderr[-2000:])
        assert stdout == "", case
        assert not (tmp_path / f"run-{number}").exists(), case
