"""``scrapy report RUN_DIR``: rebuild a run's report without crawling again.

Recomputes the equity model from the run's store with the options given
(priority pages, link-position weights, damping), optionally after importing
more backlink exports into the store, and writes ``index.html`` and the
exports (``data/``) into ``RUN_DIR/report/`` or ``--out DIR``. So a user can
change priority pages or weights and compare, in seconds.

Every option is checked before anything is written; a user mistake (a run
folder that is missing or not a linkspider run, a bad option value, an
unreadable priority or weights file, an export that cannot be read) ends with
one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.settings import Settings

from linkspider.urlnorm import TrackingParamsError, run_normaliser
from pipelines.backlinks.model import BacklinkError
from pipelines.backlinks.store import import_backlinks, site_of_store
from pipelines.backlinks.summary import describe_import
from pipelines.storedb import CrawlStore, StoreError
from reports.config import ConfigError, EquityConfig
from reports.pipeline import ReportError, check_settings, generate_report
from reports.priority import PriorityError, read_priority_file
from reports.write import DATA_DIRNAME

_PRESETS = ("reasonable", "uniform")


class OptionError(ValueError):
    """An option value the command cannot use (the message names the option)."""


def read_weights_file(path: Path) -> dict[str, Any]:
    """Read a ``--weights`` file: a JSON object of link-position weights.

    Raises
    ------
    OptionError
        The file is missing, unreadable, not JSON or not an object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OptionError(f"--weights {path}: no such file (or use reasonable, uniform)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OptionError(f"--weights {path}: cannot be read ({exc})") from None
    try:
        weights = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OptionError(
            f"--weights {path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(weights, dict):
        raise OptionError(
            f"--weights {path}: must be a JSON object of position weights, "
            'such as {"content": 1, "nav": 0.2, "footer": 0.1}'
        )
    return weights


def report_settings(base: Settings, opts: argparse.Namespace) -> Settings:
    """The run's settings with the command's options applied (``EQUITY_*``).

    Raises
    ------
    OptionError
        For a bad ``--weights``, ``--damping`` or ``--priority``, or a
        malformed ``EQUITY_*``, ``REPORT_*`` or ``GAPS_*`` setting (``-s``).
    """
    settings = base.copy()
    overrides: dict[str, Any] = {}
    if opts.weights is not None:
        weights: Any = opts.weights.strip().lower()
        if weights not in _PRESETS:
            weights = read_weights_file(Path(opts.weights))
        overrides["EQUITY_POSITION_WEIGHTS"] = weights
    if opts.damping is not None:
        overrides["EQUITY_DAMPING"] = opts.damping
    if opts.priority is not None:
        try:
            read_priority_file(opts.priority)
        except PriorityError as exc:
            raise OptionError(f"--priority: {exc}") from None
        overrides["EQUITY_PRIORITY"] = str(Path(opts.priority).resolve())
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    try:
        EquityConfig.from_settings(settings)
    except ConfigError as exc:
        option = {
            "EQUITY_POSITION_WEIGHTS": "--weights",
            "EQUITY_DAMPING": "--damping",
        }.get(str(exc).split(" ", 1)[0].split("[", 1)[0])
        raise OptionError(f"{option}: {exc}" if option else str(exc)) from None
    try:
        check_settings(settings)
    except ReportError as exc:
        raise OptionError(str(exc)) from None
    return settings


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1000  # type: ignore[assignment]
    return str(count)  # pragma: no cover - the loop always returns


def _analysis_lines(summary: dict[str, Any]) -> list[str]:
    """What the gap analysis found, in two lines (from ``summary.json``)."""
    findings, recs = summary["findings"], summary["recommendations"]
    if not findings.get("computed", True):
        return ["Findings and recommendations: not computed (no gap analysis in this report)"]
    count = findings["high"] + findings["medium"] + findings["low"]
    lines = [
        f"Findings: {count:,} ({findings['high']:,} high, {findings['medium']:,} medium, "
        f"{findings['low']:,} low)"
    ]
    links = recs["links"]
    if links:
        gain = f"+{recs['set_gain'] * 100:.2f} pts for the priority pages together"
        text = f"{links:,} link(s) to add ({gain})"
    else:
        text = f"no link to add ({recs['note']})" if recs.get("note") else "no link to add"
    lines.append(f"Recommendations: {text}, {recs['redirects']:,} redirect(s) to add")
    return lines


class Command(ScrapyCommand):
    """Rebuild a crawl run's report."""

    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return (
            "RUN_DIR [--backlinks FILE...] [--priority FILE] "
            "[--weights reasonable|uniform|FILE] [--damping 0.85] [--out DIR]"
        )

    def short_desc(self) -> str:
        return "Recompute the equity model of a crawl run and write its report"

    def long_desc(self) -> str:
        return (
            "Recompute the equity model from a run's crawl store and write the HTML "
            "report and its exports (RUN_DIR/report/ by default), without crawling "
            "again: change the priority pages, the link-position weights or the "
            "damping and compare. --backlinks imports more exports into the run first."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--backlinks",
            nargs="+",
            metavar="FILE",
            help="backlink exports (files or folders) to import into the run before "
            "reporting; merged into the run's backlinks (see --replace-backlinks)",
        )
        parser.add_argument(
            "--replace-backlinks",
            action="store_true",
            help="with --backlinks: replace the run's backlinks instead of merging",
        )
        parser.add_argument(
            "--priority", metavar="FILE", help="priority pages: one URL, re:REGEX or glob per line"
        )
        parser.add_argument(
            "--weights",
            metavar="reasonable|uniform|FILE",
            help="link-position weights: a preset, or a JSON file such as "
            '{"content": 1, "nav": 0.2}',
        )
        parser.add_argument(
            "--damping", metavar="D", help="the model's damping, between 0 and 1 (default 0.85)"
        )
        parser.add_argument("--out", metavar="DIR", help="report folder (default RUN_DIR/report)")

    def _fail(self, message: str) -> None:
        print(f"scrapy report: error: {message}", file=sys.stderr)
        self.exitcode = 2

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            self._fail(f"give one run folder (usage: scrapy report {self.syntax()})")
            return
        assert self.settings is not None
        run_dir = Path(args[0])
        if not run_dir.is_dir():
            what = "no such run folder" if not run_dir.exists() else "not a folder"
            self._fail(f"{run_dir}: {what}")
            return
        try:
            settings = report_settings(self.settings, opts)
        except OptionError as exc:
            self._fail(str(exc))
            return
        if opts.replace_backlinks and not opts.backlinks:
            self._fail("--replace-backlinks needs --backlinks FILE...")
            return
        if opts.backlinks and not self._import(run_dir, opts.backlinks, opts.replace_backlinks):
            return
        try:
            files = generate_report(run_dir, out_dir=opts.out, settings=settings)
        except ReportError as exc:
            self._fail(str(exc))
            return
        data = files.html.parent / DATA_DIRNAME
        print(f"Report: {files.html} ({_size(files.html_bytes)})")
        rows = ", ".join(f"{name} {count:,}" for name, count in files.exports.items())
        print(f"Data: {data}/ ({rows})")
        summary = json.loads((data / "summary.json").read_text(encoding="utf-8"))
        headline = summary["headline"]
        print(
            f"Authority: {headline['priority_share']:.1%} reaches the "
            f"{headline['priority_pages']:,} priority page(s)"
            f"{' (guessed)' if headline['priority_guessed'] else ''}, "
            f"{headline['home_share']:.1%} stays on the home page, "
            f"{headline['leaked_share']:.1%} leaks"
        )
        for line in _analysis_lines(summary):
            print(line)
        total = sum(files.seconds.values())
        steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in files.seconds.items())
        print(f"Done in {total:.1f} s ({steps})")

    def _import(self, run_dir: Path, paths: list[str], replace: bool) -> bool:
        assert self.settings is not None
        try:
            with CrawlStore(run_dir) as store:
                normaliser = run_normaliser(
                    store.get_meta("tracking_params"),
                    self.settings.get("LINKSPIDER_TRACKING_PARAMS"),
                )
                site = site_of_store(store, normaliser=normaliser)
                result = import_backlinks(
                    store,
                    paths,
                    site=site,
                    target=self.settings.get("BACKLINKS_TARGET") or None,
                    normaliser=normaliser,
                    replace=replace,
                )
        except (BacklinkError, StoreError, TrackingParamsError) as exc:
            self._fail(str(exc))
            return False
        except sqlite3.Error as exc:
            self._fail(f"{run_dir}: the store could not be written ({exc})")
            return False
        for line in describe_import(result, details=5):
            print(line)
        return True
