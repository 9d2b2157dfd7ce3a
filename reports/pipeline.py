"""The report from a run folder, in one call: model -> view -> render -> write.

:func:`generate_report` is what ``scrapy report`` and the end-of-crawl
extension both call. It reads the settings (``EQUITY_*`` for the model,
``REPORT_*`` for the report, ``GAPS_*`` for the gap analysis), loads the
run's store, solves the equity model, runs the gap analysis and the link
recommender (:func:`reports.analysis.analyse`), finds the previous run of the
same site for the comparison, builds the view and writes ``index.html`` and
the exports. Every user mistake (no run folder, a store that is not one, a bad
setting, an unreadable priority file, a crawl with no page) is a
:class:`ReportError` with a one-line message.

No Scrapy import: ``settings`` is anything with ``get(name, default)``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from linkspider.urlnorm import TrackingParamsError, run_normaliser
from pipelines.storedb import CrawlStore, StoreError
from reports.analysis import analyse as analyse_run
from reports.build import (
    Analysis,
    build_view,
    flow_rows,
    node_flags,
    page_rows,
    site_of,
)
from reports.compare import PreviousRun, ReportDataError, find_previous_report, load_previous
from reports.config import ConfigError, EquityConfig
from reports.equity import ConvergenceError, EmptyGraphError, EquityModel, compute_equity
from reports.gaps_config import GapsConfig
from reports.graph import load_graph
from reports.priority import PriorityError
from reports.report_config import ReportConfig, ReportConfigError
from reports.write import DATA_DIRNAME, ExportData, ReportFiles, write_report

__all__ = ["Analyse", "ReportError", "check_settings", "generate_report"]


class ReportError(Exception):
    """The report cannot be made; ``str()`` is one line saying why."""


class _SettingsLike(Protocol):
    def get(self, name: str, default: Any = None) -> Any: ...


#: The gap analysis: from the model, the store and the ``GAPS_*`` settings,
#: every finding (stable ids), the recommendations (best first), the anchor
#: profiles and the suggested redirects (default :func:`reports.analysis.analyse`).
Analyse = Callable[[EquityModel, CrawlStore, GapsConfig], Analysis]


def check_settings(settings: _SettingsLike) -> tuple[EquityConfig, ReportConfig, GapsConfig]:
    """Parse the report's settings: ``EQUITY_*``, ``REPORT_*`` and ``GAPS_*``.

    Raises
    ------
    ReportError
        A value is malformed (one line naming the setting).
    """
    try:
        return (
            EquityConfig.from_settings(settings),
            ReportConfig.from_settings(settings),
            GapsConfig.from_settings(settings),
        )
    except (ConfigError, ReportConfigError) as exc:
        raise ReportError(str(exc)) from None


def _previous_run(run_dir: Path, site: str, dirname: str) -> PreviousRun | None:
    report_dir = find_previous_report(run_dir, site=site, report_dirname=dirname)
    if report_dir is None:
        return None
    try:
        return load_previous(report_dir)
    except ReportDataError:
        # A broken earlier report must not stop this one; it is simply not compared.
        return None


def generate_report(
    run_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    settings: _SettingsLike,
    analyse: Analyse | None = analyse_run,
    generated_at: datetime | None = None,
) -> ReportFiles:
    """Compute the model of a run and write its report.

    Parameters
    ----------
    run_dir : str or Path
        The run folder (holding ``crawl.sqlite``).
    out_dir : str or Path, optional
        Where ``index.html`` and ``data/`` go; default ``run_dir/REPORT_DIR``
        (``report``).
    settings : Settings-like
        Scrapy ``Settings`` or a mapping: ``EQUITY_*`` (damping, weights,
        priority...), ``REPORT_*`` (table limits) and ``GAPS_*`` (the gap
        analysis's thresholds and limits). ``LINKSPIDER_TRACKING_PARAMS`` is
        read only for a run that recorded no tracking parameters: URLs from a
        priority list are normalised with the run's own.
    analyse : callable or None
        The gap analysis and link recommender (see :data:`Analyse`; default
        :func:`reports.analysis.analyse`). ``None`` skips it: findings and
        recommendations are then written as *not computed*.
    generated_at : datetime, optional
        The report's timestamp (now by default).

    Returns
    -------
    ReportFiles
        The HTML's path and size, each export's row count, and the seconds
        spent per step (``model``, ``analysis``, ``view``, ``exports``, ``render``).

    Raises
    ------
    ReportError
        With a one-line message, for any problem with the run or the settings.
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise ReportError(f"{run_dir}: no such run folder")
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir} is not a folder: give the run folder that holds crawl.sqlite")
    equity_config, report_config, gaps_config = check_settings(settings)
    out = Path(out_dir) if out_dir is not None else run_dir / report_config.dirname
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} exists and is not a folder")
    seconds: dict[str, float] = {}
    try:
        with CrawlStore(run_dir) as store:
            clock = time.perf_counter()
            # Priority URLs must name pages the way this crawl stored them.
            normaliser = run_normaliser(
                store.get_meta("tracking_params"), settings.get("LINKSPIDER_TRACKING_PARAMS")
            )
            graph = load_graph(store, equity_config, normaliser=normaliser)
            model = compute_equity(graph, equity_config, pagerank=False)
            seconds["model"] = time.perf_counter() - clock
            analysis: Analysis | None = None
            if analyse is not None:
                clock = time.perf_counter()
                analysis = analyse(model, store, gaps_config)
                seconds["analysis"] = time.perf_counter() - clock
            clock = time.perf_counter()
            previous = _previous_run(run_dir, site_of(model), report_config.dirname)
            view = build_view(
                model,
                store,
                report_config,
                analysis=analysis,
                gaps_config=gaps_config,
                previous=previous,
                generated_at=generated_at,
                run_id=run_dir.resolve().name,
            )
            flags = node_flags(model, store)
            seconds["view"] = time.perf_counter() - clock
            recommendations = analysis.recommendations if analysis is not None else None
            data = ExportData(
                pages=page_rows(model, store, flags=flags),
                findings=analysis.findings if analysis is not None else None,
                links=recommendations.links if recommendations is not None else None,
                redirects=recommendations.redirects if recommendations is not None else None,
                flows=flow_rows(model),
            )
            default_data = run_dir / report_config.dirname / DATA_DIRNAME
            files = write_report(view, out, store=store, data=data, reuse=[default_data])
    except (
        StoreError,
        EmptyGraphError,
        PriorityError,
        ConfigError,
        ConvergenceError,
        TrackingParamsError,
    ) as exc:
        raise ReportError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise ReportError(f"{run_dir}: the crawl store cannot be read ({exc})") from None
    except OSError as exc:
        raise ReportError(f"the report cannot be written to {out}: {exc}") from None
    return replace(files, seconds={**seconds, **files.seconds})
