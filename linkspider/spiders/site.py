"""The ``site`` spider: crawl one website politely, breadth-first, completely.

``scrapy crawl site -a url=https://example.com/`` fetches every in-scope
page it can reach from the start URL(s) and the sitemaps, one
:class:`~linkspider.items.PageItem` per page with all its links, plus
:class:`~linkspider.items.RedirectItem` per redirect hop and
:class:`~linkspider.items.ErrorItem` for URLs that failed or were not
fetched (robots.txt, include/exclude, caps, traps). The store pipeline
writes them to ``<run_dir>/crawl.sqlite``.

Arguments (validated by :func:`linkspider.arguments.parse_arguments`): ``url``
or ``urls``, ``max_pages``, ``max_depth``, ``scope``, ``include``,
``exclude``, ``sitemaps``, ``run_dir``, ``backlinks``, ``priority``.

How it crawls:

* The spider dedupes URLs itself (a set of 64-bit hashes of normalised
  URLs, persisted in ``spider.state`` for ``JOBDIR`` resumes) and creates a
  request only for a URL it has not decided about yet; every URL gets one
  decision: fetched, or recorded as skipped/trapped.
* Redirects are followed by the spider, not by Scrapy, so that each hop is
  recorded with its status, loops are detected, and a hop is not a click
  level (:class:`~linkspider.middlewares.depth.ClickDepthMiddleware`). An
  HTML page whose ``<meta http-equiv="refresh">`` sends the browser on at
  once (``LINKSPIDER_META_REFRESH_INSTANT``) is such a hop too; a delayed
  refresh leaves the page a page and its target is followed like a link.
* Links with a non-HTML file extension are requested with ``HEAD``; non-HTML
  answers to ``GET`` are cut at the headers
  (:class:`~linkspider.extensions.gate.ResponseGate`).
* ``nofollow`` links (rel or page-level) are recorded but not crawled, as a
  search engine would (``LINKSPIDER_CRAWL_NOFOLLOW`` changes that); internal
  canonical targets are crawled (``LINKSPIDER_CRAWL_CANONICALS``).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import blake2b
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from scrapy import Request, Spider, signals
from scrapy.exceptions import DontCloseSpider, DownloadCancelledError, IgnoreRequest
from scrapy.http import TextResponse
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.gz import gunzip
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.job import job_dir
from scrapy.utils.sitemap import Sitemap
from twisted.internet.defer import CancelledError

from linkspider import signals as linkspider_signals
from linkspider.arguments import ArgumentError, CrawlArguments, parse_arguments
from linkspider.checked_settings import SettingError, checked
from linkspider.extensions.gate import PAGE_META_KEY, STOPPED_META_KEY, is_html_type
from linkspider.extract import (
    DEFAULT_POSITION_NAMES,
    DEFAULT_POSITION_PRECEDENCE,
    PositionRules,
    canonical_from_link_header,
    extract_page,
)
from linkspider.failures import UNREACHABLE, describe_failure
from linkspider.items import ErrorItem, Hreflang, Link, PageItem, RedirectHop, RedirectItem
from linkspider.middlewares.backoff import GAVE_UP_META_KEY
from linkspider.middlewares.depth import HOP_META_KEY
from linkspider.middlewares.robots import RobotsBlocked
from linkspider.traps import TrapGuard, TrapRules
from linkspider.urlnorm import (
    DEFAULT_TRACKING_PARAMS,
    UrlNormaliser,
    host_of,
    tracking_params_setting,
)
from pipelines.storedb import POSITIONS

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

__all__ = ["DEFAULT_HEAD_EXTENSIONS", "SiteConfig", "SiteSpider"]

logger = logging.getLogger(__name__)

#: File extensions requested with HEAD: their bodies are never parsed.
DEFAULT_HEAD_EXTENSIONS: Final = (
    "pdf", "jpg", "jpeg", "png", "gif", "webp", "avif", "svg", "ico", "bmp", "tif", "tiff",
    "mp4", "webm", "mov", "avi", "mkv", "mp3", "wav", "ogg", "flac", "m4a",
    "zip", "gz", "tgz", "bz2", "xz", "rar", "7z", "tar", "exe", "dmg", "msi", "iso", "apk",
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "epub",
    "css", "js", "woff", "woff2", "ttf", "otf", "eot",
)  # fmt: skip
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
#: One hop of a chain in request meta: ``(url, status)`` for a 3xx answer,
#: ``(url, status, "meta_refresh")`` for an instant meta refresh.
Hop = tuple[str, int] | tuple[str, int, str]
CHAIN_META_KEY: Final = "linkspider_chain"
START_META_KEY: Final = "linkspider_start"
SITEMAP_META_KEY: Final = "linkspider_sitemap"
#: Priority of URLs known from outside the link graph (sitemaps, backlinks);
#: they are released only when the link crawl is idle (see _release_known).
KNOWN_URL_PRIORITY: Final = -10_000
#: Known URLs released per idle moment.
KNOWN_URL_BATCH: Final = 1000
_RUN_FILE: Final = "linkspider-run.json"


def _redirect_hop(hop: Hop) -> RedirectHop:
    return RedirectHop(url=hop[0], status=hop[1], kind=hop[2] if len(hop) > 2 else "http")


@lru_cache(maxsize=131_072)
def _url_key(url: str) -> int:
    """64-bit key of a normalised URL: the dedupe set holds ints, not strings."""
    digest = blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True)
class SiteConfig:
    """The spider's ``LINKSPIDER_*`` settings (plus the Scrapy limits it applies).

    Build with :meth:`from_settings`.
    """

    max_pages: int = 50_000
    runs_dir: Path = Path("runs")
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS
    position_rules: PositionRules = field(default_factory=PositionRules)
    crawl_nofollow: bool = False
    crawl_canonicals: bool = True
    head_extensions: frozenset[str] = frozenset(DEFAULT_HEAD_EXTENSIONS)
    max_redirects: int = 10
    max_sitemaps: int = 500
    max_deferred: int = 500_000
    url_length_limit: int = 2083
    trap_rules: TrapRules = field(default_factory=TrapRules)
    signature_terms: int = 12
    maxsize: int = 16 * 1024 * 1024
    meta_refresh: bool = True
    meta_refresh_instant: int = 0

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> SiteConfig:
        """Parse and check the settings.

        Raises
        ------
        linkspider.checked_settings.SettingError
            A value of the wrong type or out of range, or an unknown position
            name (one line naming the setting).
        """
        s = checked(settings)
        names = dict(DEFAULT_POSITION_NAMES)
        for name, position in s.getdict("LINKSPIDER_POSITION_NAMES").items():
            if position:
                names[str(name).lower()] = str(position)
            else:
                names.pop(str(name).lower(), None)
        precedence = tuple(
            str(p).strip()
            for p in s.getlist("LINKSPIDER_POSITION_PRECEDENCE", list(DEFAULT_POSITION_PRECEDENCE))
        )
        for position in (*names.values(), *precedence):
            if position not in POSITIONS:
                raise SettingError(
                    f"link position {position!r} in LINKSPIDER_POSITION_* is not one of "
                    f"{', '.join(POSITIONS)}"
                )
        try:
            tracking_params = tracking_params_setting(s.get("LINKSPIDER_TRACKING_PARAMS"))
        except ValueError as exc:
            raise SettingError(str(exc)) from None
        return cls(
            max_pages=s.getint("LINKSPIDER_MAX_PAGES", cls.max_pages, minimum=1),
            runs_dir=Path(s.get("LINKSPIDER_RUNS_DIR") or "runs"),
            tracking_params=tracking_params,
            position_rules=PositionRules(names=names, precedence=precedence),
            crawl_nofollow=s.getbool("LINKSPIDER_CRAWL_NOFOLLOW", False),
            crawl_canonicals=s.getbool("LINKSPIDER_CRAWL_CANONICALS", True),
            head_extensions=frozenset(
                str(e).strip().lower().lstrip(".")
                for e in s.getlist("LINKSPIDER_HEAD_EXTENSIONS", list(DEFAULT_HEAD_EXTENSIONS))
            ),
            max_redirects=s.getint("LINKSPIDER_MAX_REDIRECTS", cls.max_redirects, minimum=0),
            max_sitemaps=s.getint("LINKSPIDER_MAX_SITEMAPS", cls.max_sitemaps, minimum=0),
            max_deferred=s.getint("LINKSPIDER_MAX_DEFERRED_URLS", cls.max_deferred, minimum=0),
            url_length_limit=s.getint("URLLENGTH_LIMIT", cls.url_length_limit, minimum=1),
            trap_rules=TrapRules(
                segment_repeats=s.getint("LINKSPIDER_TRAP_SEGMENT_REPEATS", 3, minimum=0),
                max_query_params=s.getint("LINKSPIDER_TRAP_MAX_QUERY_PARAMS", 12, minimum=0),
                pattern_cap=s.getint("LINKSPIDER_TRAP_PATTERN_CAP", 10_000, minimum=0),
                calendar_cap=s.getint("LINKSPIDER_TRAP_CALENDAR_CAP", 100, minimum=0),
                max_patterns=s.getint("LINKSPIDER_TRAP_MAX_PATTERNS", 100_000, minimum=0),
            ),
            signature_terms=s.getint("LINKSPIDER_SIGNATURE_TERMS", cls.signature_terms, minimum=0),
            maxsize=s.getint("DOWNLOAD_MAXSIZE", cls.maxsize, minimum=0),
            meta_refresh=s.getbool("LINKSPIDER_META_REFRESH", cls.meta_refresh),
            meta_refresh_instant=s.getint(
                "LINKSPIDER_META_REFRESH_INSTANT", cls.meta_refresh_instant, minimum=0
            ),
        )


def _new_state() -> dict[str, Any]:
    return {
        "seen": set(),
        "scheduled": 0,
        "answered": 0,
        "trap_counts": {},
        "caps_hit": set(),
        "sitemaps": set(),
        "deferred": deque(),
        # URL key -> smallest depth at which max_depth refused it: a shorter
        # route found later (a redirect, a sitemap URL) may still fetch it.
        "depth_refused": {},
        # Start URL -> the URL its redirects lead to, on the same site; the
        # hosts adopted into the scope that way (see _follow_start_redirect).
        "start_redirects": {},
        "adopted": [],
    }


def _saved_run_dir(jobdir: str) -> Path | None:
    """The run folder of an earlier run of this job (``JOBDIR`` resume)."""
    state_file = Path(jobdir, "spider.state")
    if state_file.is_file():
        try:
            with state_file.open("rb") as handle:
                state = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            state = None
        if isinstance(state, dict) and state.get("run_dir"):
            return Path(state["run_dir"])
    run_file = Path(jobdir, _RUN_FILE)
    if run_file.is_file():
        try:
            saved = json.loads(run_file.read_text(encoding="utf-8")).get("run_dir")
        except (OSError, ValueError, AttributeError):
            saved = None
        if saved:
            return Path(saved)
    return None


def _host_folder(url: str) -> str:
    """The folder name of a start URL's host under ``LINKSPIDER_RUNS_DIR``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", host_of(url))


def _make_folder(path: Path, what: str) -> None:
    """Create ``path`` (and its parents) or raise one line naming ``what``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = exc.strerror or str(exc)
        where = f": {exc.filename}" if exc.filename and str(exc.filename) != str(path) else ""
        raise ArgumentError(f"{what}: cannot create the folder {path} ({why}{where})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ArgumentError(f"{what}: the folder {path} is not writable")


class SiteSpider(Spider):
    """Crawl one website (see the module docstring for the arguments).

    Public attributes
    -----------------
    arguments : CrawlArguments
        The validated ``-a`` arguments.
    start_urls : list of str
        Normalised start URLs.
    scope : linkspider.scope.Scope
    run_dir : Path
        The run folder: ``-a run_dir``, or ``<LINKSPIDER_RUNS_DIR>/<host>/<UTC
        time>/``; a ``JOBDIR`` resume reuses the folder of the first run. Set
        in ``__init__``, made final (and created) when the crawler builds the
        spider.
    backlink_files : list of Path
        Backlink exports given with ``-a backlinks=``.
    priority_file : Path or None
        The file given with ``-a priority=``.
    normaliser : UrlNormaliser
        The crawl's URL normaliser (``LINKSPIDER_TRACKING_PARAMS``).
    fatal_error : str or None
        One line saying why the crawl could not do its job, if it could not.
    """

    name = "site"

    # Set by _configure when the crawler builds the spider.
    config: SiteConfig
    normaliser: UrlNormaliser
    run_dir: Path
    max_pages: int
    _traps: TrapGuard

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.arguments: CrawlArguments = parse_arguments(kwargs)
        self.start_urls = list(self.arguments.start_urls)
        self.scope = self.arguments.scope
        self.backlink_files: list[Path] = list(self.arguments.backlink_files)
        self.priority_file: Path | None = self.arguments.priority_file
        self.fatal_error: str | None = None
        self.max_depth = self.arguments.max_depth
        self._state: dict[str, Any] = _new_state()
        self._known_buffer: list[tuple[str, str]] = []
        self._start_netlocs = frozenset(host_of(url) for url in self.start_urls)
        self._unavailable_origins: set[str] = set()
        # Start URL -> why its chain got nowhere; start URLs not settled yet
        # (redirects not followed to a page yet); whether one reached a page.
        self._start_problems: dict[str, str] = {}
        self._start_pending: set[str] = set()
        self._start_landed = False
        self._is_internal = lru_cache(maxsize=131_072)(self.scope.contains)
        self._cap_logged: set[str] = set()
        # What depends on the settings (config, normaliser, trap guard, page
        # cap, run folder) is set once, by _configure, when the crawler builds
        # the spider.

    # -- construction ----------------------------------------------------

    @classmethod
    def check_arguments(cls, args: dict[str, Any]) -> None:
        """Validate ``-a`` arguments without building a spider.

        Raises
        ------
        linkspider.arguments.ArgumentError
            With a one-line message (``scrapy crawl`` prints it and stops).
        """
        parse_arguments(args)

    @classmethod
    def check_setup(cls, args: dict[str, Any], settings: BaseSettings) -> None:
        """Check what the spider needs before the crawl starts.

        The ``-a`` arguments, the spider's settings (:class:`SiteConfig`), and
        that the run folder (or, for a default one, its parent) and ``JOBDIR``
        can be created and written to; they are created here (the crawl
        would create them anyway).

        Raises
        ------
        ValueError
            :class:`~linkspider.arguments.ArgumentError` or
            :class:`~linkspider.checked_settings.SettingError`, with one line
            for the user.
        """
        arguments = parse_arguments(args)
        config = SiteConfig.from_settings(settings)
        jobdir = settings.get("JOBDIR")
        if jobdir:
            _make_folder(Path(str(jobdir)), f"JOBDIR={str(jobdir)!r}")
        run_dir = arguments.run_dir
        if run_dir is None and jobdir:
            run_dir = _saved_run_dir(str(jobdir))
        if run_dir is not None:
            _make_folder(run_dir, f"run_dir={str(run_dir)!r}")
        else:
            runs_dir = config.runs_dir
            parent = runs_dir / _host_folder(arguments.start_urls[0])
            _make_folder(parent, f"LINKSPIDER_RUNS_DIR={str(runs_dir)!r}")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        spider: SiteSpider = super().from_crawler(crawler, *args, **kwargs)
        spider._configure(crawler.settings)
        crawler.signals.connect(spider._robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider._release_known, signal=signals.spider_idle)
        return spider

    def _configure(self, settings: BaseSettings) -> None:
        self.config = SiteConfig.from_settings(settings)
        self.normaliser = UrlNormaliser(tracking_params=self.config.tracking_params)
        # The arguments again, as given, with the configured tracking parameters:
        # normalised with the default list (before the settings were known), a
        # start URL would already have lost a parameter this run keeps.
        self.arguments = parse_arguments(self.arguments.given, normaliser=self.normaliser)
        self.start_urls = list(self.arguments.start_urls)
        # Until their redirects are known, URLs of the same site (sitemaps,
        # backlink targets: known at spider_opened) are kept tentatively.
        self._start_pending = set(self.start_urls)
        self._traps = TrapGuard(self.config.trap_rules, self._state["trap_counts"])
        self.max_pages = self.arguments.max_pages or self.config.max_pages
        self.run_dir = self._resolve_run_dir(settings)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._state["run_dir"] = str(self.run_dir)

    def _resolve_run_dir(self, settings: BaseSettings) -> Path:
        jobdir = job_dir(settings)
        run_dir = self.arguments.run_dir
        if run_dir is None and jobdir:
            run_dir = _saved_run_dir(jobdir)
        if run_dir is None:
            run_dir = self._default_run_dir(self.config.runs_dir)
        if jobdir:
            Path(jobdir, _RUN_FILE).write_text(
                json.dumps({"run_dir": str(run_dir)}), encoding="utf-8"
            )
        return run_dir

    def _default_run_dir(self, runs_dir: Path) -> Path:
        """``<runs_dir>/<host>/<UTC time>/``, made unique."""
        host = _host_folder(self.start_urls[0])
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_dir = runs_dir / host / stamp
        suffix = 2
        while run_dir.exists():
            run_dir = runs_dir / host / f"{stamp}-{suffix}"
            suffix += 1
        return run_dir

    # -- persisted state (JOBDIR) ----------------------------------------

    @property
    def state(self) -> dict[str, Any]:
        """What a ``JOBDIR`` resume needs: dedupe keys, counters, trap counts."""
        return self._state

    @state.setter
    def state(self, loaded: dict[str, Any]) -> None:
        # Scrapy's SpiderState assigns the saved state on spider_opened; other
        # components may have scheduled URLs before that: keep both.
        live = self._state
        if loaded is live:
            return
        merged = _new_state()
        merged.update(loaded)
        merged["seen"] = set(merged["seen"]) | live["seen"]
        merged["sitemaps"] = set(merged["sitemaps"]) | live["sitemaps"]
        merged["caps_hit"] = set(merged["caps_hit"]) | live["caps_hit"]
        merged["deferred"] = deque(merged["deferred"])
        merged["deferred"].extend(live["deferred"])
        refused = dict(merged["depth_refused"])
        for key, depth in live["depth_refused"].items():
            refused[key] = min(depth, refused.get(key, depth))
        merged["depth_refused"] = refused
        merged["scheduled"] += live["scheduled"]
        merged["answered"] += live["answered"]
        counts = dict(merged["trap_counts"])
        for shape, count in live["trap_counts"].items():
            counts[shape] = counts.get(shape, 0) + count
        merged["trap_counts"] = counts
        merged["start_redirects"] = {**merged["start_redirects"], **live["start_redirects"]}
        merged["adopted"] = list(dict.fromkeys([*merged["adopted"], *live["adopted"]]))
        merged["run_dir"] = str(self.run_dir)
        self._state = merged
        self._traps.counts = counts
        if merged["adopted"] or merged["start_redirects"]:
            for target in merged["adopted"]:
                self._widen_scope(target)
            self._run_facts_changed()

    # -- public API ------------------------------------------------------

    def schedule_known_url(self, url: str, source: str) -> bool:
        """Record a URL known from outside the link graph and crawl it if allowed.

        The URL is crawled after the pages found by links (when the link
        crawl is idle), unless a link reaches it first: a capped crawl spends
        its pages breadth-first, and click depths are not disturbed.

        Parameters
        ----------
        url : str
            Any absolute URL; it is normalised with the crawl's normaliser.
        source : str
            Where it is known from: ``start``, ``sitemap``, ``backlink``, ``list``.

        Returns
        -------
        bool
            True when the URL is in scope and not excluded, so it is crawled
            (or already was); False otherwise. It is recorded in ``known_urls``
            either way, if it is a valid http(s) URL.
        """
        normalised = self.normaliser.normalise(url)
        if normalised is None:
            return False
        self._known_buffer.append((normalised, source))
        return self._defer_known(normalised)

    def _defer_known(self, url: str) -> bool:
        if self.scope.excluded(url) is not None:
            return False
        if not self._is_internal(url) and not (
            # A start URL may still redirect to another host of the site
            # (example.com -> www.example.com): decided again when released.
            self._start_pending and self.scope.same_site(url)
        ):
            return False
        if _url_key(url) not in self._state["seen"]:
            deferred: deque[str] = self._state["deferred"]
            if len(deferred) >= self.config.max_deferred:
                # Recorded in known_urls all the same; the run is marked incomplete.
                self.crawler.stats.inc_value("linkspider/known_urls_not_queued")
                self._note_cap(
                    "max_deferred_urls",
                    f"more than LINKSPIDER_MAX_DEFERRED_URLS={self.config.max_deferred:,} "
                    "sitemap/backlink URLs waiting for the link crawl to end; the rest are "
                    "recorded, not crawled",
                )
                return False
            deferred.append(url)
        return True

    def _release_known(self, spider: Spider) -> None:
        """spider_idle: schedule the next known URLs not reached by links."""
        deferred: deque[str] = self._state["deferred"]
        released = 0
        while deferred and released < KNOWN_URL_BATCH:
            url = deferred.popleft()
            if not self._is_internal(url):
                continue  # deferred while the start URLs were not settled
            decision = self._decide(url, 0, known=True, record_skips=False)
            if isinstance(decision, Request):
                self.crawler.engine.crawl(decision)
                released += 1
        if released:
            raise DontCloseSpider

    def drain_known_urls(self) -> list[tuple[str, str]]:
        """Hand over the ``(url, source)`` pairs recorded since the last call.

        The store pipeline calls this to write ``known_urls``.
        """
        drained, self._known_buffer = self._known_buffer, []
        return drained

    def run_facts(self) -> dict[str, Any]:
        """The run's arguments and limits as plain data, for the store's metadata."""
        return {
            "start_urls": list(self.start_urls),
            "scope": self.scope.describe(),
            # The host the first start URL lands on (after its redirects).
            "site_host": host_of(self._landing(self.start_urls[0])),
            "start_redirects": dict(self._state["start_redirects"]),
            "arguments": dict(self.arguments.given),
            "max_pages": self.max_pages,
            "max_depth": self.max_depth,
            "sitemaps": self.arguments.sitemaps,
            "backlink_files": [str(path) for path in self.backlink_files],
            "priority_file": str(self.priority_file) if self.priority_file else None,
            "run_dir": str(self.run_dir),
            # The later steps normalise backlink targets and priority URLs
            # exactly as this crawl normalised its links.
            "tracking_params": list(self.config.tracking_params),
        }

    def robots_unavailable(self, origin: str, message: str, *, unreachable: bool) -> None:
        """Called by the robots middleware when an origin's robots.txt cannot be had.

        Parameters
        ----------
        origin : str
            ``scheme://host[:port]`` (robots.txt is per origin).
        message : str
            One line for the user.
        unreachable : bool
            The host cannot be reached at all (DNS, connection refused).
        """
        self._unavailable_origins.add(origin)
        if not self._start_origins() <= self._unavailable_origins:
            return  # another start origin may still be crawled
        if unreachable:
            self.fail("unreachable", f"{message}. Check the URL and that the site is up.")
        else:
            self.fail("robots_unavailable", f"{message}. Try again later.")

    def _start_origins(self) -> set[str]:
        """Origins the start URLs lead to (after the redirects followed so far)."""
        origins = set()
        for start_url in self.start_urls:
            url = self._landing(start_url)
            origins.add(f"{url.partition('://')[0]}://{host_of(url)}")
        return origins

    def _landing(self, start_url: str) -> str:
        """Where a start URL's redirects lead on the site (itself when none)."""
        return str(self._state["start_redirects"].get(start_url, start_url))

    def _run_facts_changed(self) -> None:
        """Tell the store that :meth:`run_facts` changed (scope, site host)."""
        try:
            signals_ = self.crawler.signals
        except AttributeError:
            return  # not built by a crawler
        signals_.send_catch_log(signal=linkspider_signals.run_facts_changed, spider=self)

    def fail(self, reason: str, message: str) -> None:
        """End the crawl because it cannot do its job; ``message`` is one line for the user.

        Before the crawl runs (a ``spider_opened`` handler), this only records
        the message: the caller stops the crawl by raising
        ``CloseSpider(reason)``, which Scrapy honours before any request.
        """
        if self.fatal_error is None:
            self.fatal_error = message
            self.crawler.stats.set_value("linkspider/fatal_error", message)
            logger.error("%s", message)
        try:
            engine = self.crawler.engine
        except RuntimeError:
            return  # not crawling yet: nothing to close
        if engine.spider is not None and engine.running:
            deferred_from_coro(engine.close_spider_async(reason=reason))

    # -- start -----------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        logger.info(
            "Crawling %s: scope %s, at most %s pages%s, depth %s; run folder %s",
            ", ".join(self.start_urls),
            self.scope.describe()["mode"],
            f"{self.max_pages:,}",
            "" if self.arguments.max_pages else " (default: set -a max_pages=N)",
            "unlimited" if self.max_depth is None else f"<= {self.max_depth}",
            self.run_dir,
        )
        for url in self.start_urls:
            self._known_buffer.append((url, "start"))
            key = _url_key(url)
            if key in self._state["seen"]:
                # A resumed crawl: fetched already or still queued (then its
                # redirects, if any, were followed in the first run).
                self._start_pending.discard(url)
                continue
            self._state["seen"].add(key)
            self._state["scheduled"] += 1
            yield self._page_request(url, start=True)
        if self.arguments.sitemaps == "auto":
            for url in self.start_urls:
                scheme = url.partition(":")[0]
                request = self._sitemap_request(f"{scheme}://{host_of(url)}/sitemap.xml")
                if request is not None:
                    yield request
        elif self.arguments.sitemaps != "off":
            request = self._sitemap_request(self.arguments.sitemaps)
            if request is not None:
                yield request

    # -- requests --------------------------------------------------------

    def _wants_head(self, url: str) -> bool:
        last = url.partition("?")[0].rpartition("/")[2]
        return "." in last and last.rpartition(".")[2].lower() in self.config.head_extensions

    def _page_request(
        self,
        url: str,
        *,
        start: bool = False,
        chain: tuple[Hop, ...] = (),
        method: str | None = None,
        depth_reset: bool = False,
        priority: int = 0,
    ) -> Request:
        meta: dict[str, Any] = {
            PAGE_META_KEY: True,
            "dont_redirect": True,
            "handle_httpstatus_all": True,
        }
        if start:
            meta[START_META_KEY] = url  # the start URL, kept along its redirects
        if chain:
            meta[CHAIN_META_KEY] = chain
            meta[HOP_META_KEY] = True
        if depth_reset:
            meta["depth_reset"] = True
        if method is None:
            method = "HEAD" if self._wants_head(url) else "GET"
        return Request(
            url,
            method=method,
            callback=self.parse,
            errback=self.on_error,
            meta=meta,
            priority=priority,
            dont_filter=True,  # the spider dedupes (see _decide)
        )

    def _sitemap_request(self, url: str) -> Request | None:
        normalised = self.normaliser.normalise(url)
        if normalised is None:
            return None
        sitemaps: set[str] = self._state["sitemaps"]
        if normalised in sitemaps:
            return None
        if len(sitemaps) >= self.config.max_sitemaps:
            self._note_cap("max_sitemaps", f"more than {self.config.max_sitemaps} sitemaps")
            return None
        sitemaps.add(normalised)
        return Request(
            normalised,
            callback=self.parse_sitemap,
            errback=self.on_sitemap_error,
            meta={SITEMAP_META_KEY: True, "depth_reset": True},
            priority=1,
            dont_filter=True,
        )

    def _note_cap(self, cap: str, message: str) -> None:
        self._state["caps_hit"].add(cap)
        if cap not in self._cap_logged:
            self._cap_logged.add(cap)
            logger.info("Cap reached (%s): %s; the crawl will be marked incomplete", cap, message)

    def _decide(
        self,
        url: str,
        depth: int,
        *,
        chain: tuple[Hop, ...] = (),
        method: str | None = None,
        known: bool = False,
        record_skips: bool = True,
    ) -> Request | ErrorItem | None:
        """Decide once about an internal URL: a request, a skip record, or nothing (seen).

        A URL refused by ``max_depth`` is the exception: the depth of a
        request is that of the route that found it first, and a shorter route
        may come later (a slow page, a redirect, a sitemap URL), so it is
        decided again when it is reached at a smaller depth.
        """
        key = _url_key(url)
        seen: set[int] = self._state["seen"]
        if key in seen:
            return None
        skip = self._skip_reason(url)
        if skip is None and self.max_depth is not None and depth > self.max_depth:
            return self._refuse_depth(key, url, depth, record_skips)
        seen.add(key)
        if skip is None:
            skip = self._counted_skip_reason(url)
        if skip is not None:
            if not record_skips:
                seen.discard(key)
                return None
            kind, reason, pattern = skip
            return ErrorItem(
                url=url,
                kind=kind,
                reason=reason,
                depth=depth,
                pattern=pattern,
                fetched_at=time.time(),
            )
        refused: dict[int, int] = self._state["depth_refused"]
        if refused.pop(key, None) is not None:
            self.crawler.stats.inc_value("linkspider/max_depth_reached_later")
        self._state["scheduled"] += 1
        if known:
            return self._page_request(url, depth_reset=True, priority=KNOWN_URL_PRIORITY)
        return self._page_request(url, chain=chain, method=method)

    def _refuse_depth(self, key: int, url: str, depth: int, record: bool) -> ErrorItem | None:
        """Keep ``url`` out for now: record it once per smaller depth it is reached at."""
        refused: dict[int, int] = self._state["depth_refused"]
        smallest = refused.get(key)
        if smallest is not None and smallest <= depth:
            return None
        refused[key] = depth
        self._note_cap("max_depth", f"links deeper than max_depth={self.max_depth}")
        if not record:
            return None
        # Written again at a smaller depth, the row is replaced, not doubled.
        return ErrorItem(
            url=url,
            kind="skipped",
            reason=f"beyond max_depth={self.max_depth}",
            depth=depth,
            fetched_at=time.time(),
        )

    def _skip_reason(self, url: str) -> tuple[str, str, str | None] | None:
        """Skips that depend on the URL alone (include/exclude, length, trap shapes)."""
        excluded = self.scope.excluded(url)
        if excluded is not None:
            return "skipped", f"not crawled: the URL {excluded}", None
        if len(url) > self.config.url_length_limit:
            return (
                "skipped",
                f"URL longer than URLLENGTH_LIMIT={self.config.url_length_limit}",
                None,
            )
        verdict = self._traps.check_shape(url)
        if verdict is not None:
            return "trap", f"crawler trap suspected: {verdict.reason}", verdict.pattern
        return None

    def _counted_skip_reason(self, url: str) -> tuple[str, str, str | None] | None:
        """Skips that count what was scheduled (trap patterns, max_pages): asked once per URL."""
        verdict = self._traps.count(url)
        if verdict is not None:
            return "trap", f"crawler trap suspected: {verdict.reason}", verdict.pattern
        if self._state["scheduled"] >= self.max_pages:
            self._note_cap("max_pages", f"max_pages={self.max_pages:,} pages scheduled")
            return "skipped", f"beyond max_pages={self.max_pages}", None
        return None

    # -- callbacks -------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """A page request answered: record it and follow its links."""
        request = response.request
        assert request is not None
        meta = response.meta
        url = response.url
        status = response.status
        depth = int(meta.get("depth", 0))
        chain: tuple[Hop, ...] = tuple(meta.get(CHAIN_META_KEY, ()))
        latency = meta.get("download_latency")
        response_ms = None if latency is None else round(latency * 1000.0, 1)
        self._state["answered"] += 1
        start_url: str | None = meta.get(START_META_KEY)

        if status in REDIRECT_STATUSES:
            yield from self._redirect(response, depth, chain, response_ms)
            return
        raw_type = response.headers.get(b"Content-Type")
        content_type = raw_type.decode("latin-1") if raw_type else None
        if request.method == "HEAD" and (
            status in (405, 501) or (200 <= status < 300 and is_html_type(content_type))
        ):
            # HEAD refused, or the "file" is a page after all: fetch it.
            retry = self._page_request(url, chain=chain, method="GET")
            retry.meta[HOP_META_KEY] = True  # same depth: not a click
            if start_url:
                retry.meta[START_META_KEY] = start_url
            yield retry
            return

        stopped = meta.get(STOPPED_META_KEY)
        declared = response.headers.get(b"Content-Length")
        size = len(response.body) or (int(declared) if declared and declared.isdigit() else None)
        item = PageItem(
            url=url,
            status=status,
            depth=depth,
            redirect_chain=[_redirect_hop(hop) for hop in chain],
            requested_url=chain[0][0] if chain else url,
            content_type=content_type,
            response_ms=response_ms,
            size_bytes=size,
            fetched_at=time.time(),
        )
        x_robots = response.headers.getlist(b"X-Robots-Tag")
        if x_robots:
            item.x_robots_tag = ", ".join(v.decode("latin-1") for v in x_robots)

        if stopped == "oversize":
            item.kind = "oversize"
            item.error = f"larger than DOWNLOAD_MAXSIZE={self.config.maxsize} bytes: not downloaded"
        elif status >= 400:
            item.kind = "error"
            gave_up = meta.get(GAVE_UP_META_KEY)
            item.error = f"HTTP {status}: {gave_up}" if gave_up else f"HTTP {status}"
        elif (
            request.method == "HEAD"
            or stopped == "not_html"
            or not is_html_type(content_type)
            or not isinstance(response, TextResponse)
        ):
            item.kind = "other"
        else:
            assert isinstance(response, TextResponse)
            yield from self._parse_html(response, item, chain, start_url)
            return
        if start_url:
            self._settle_start(start_url)
        yield item

    def _parse_html(
        self,
        response: TextResponse,
        item: PageItem,
        chain: tuple[Hop, ...],
        start_url: str | None,
    ) -> Iterator[Any]:
        try:
            encoding = response.encoding
        except (LookupError, ValueError):
            encoding = None
        facts = extract_page(
            response.body,
            item.url,
            encoding=encoding,
            x_robots_tag=item.x_robots_tag,
            normaliser=self.normaliser,
            rules=self.config.position_rules,
            is_internal=self._is_internal,
            signature_size=self.config.signature_terms,
        )
        link_header = response.headers.getlist(b"Link")
        canonical = facts.canonical or canonical_from_link_header(
            ", ".join(v.decode("latin-1") for v in link_header) if link_header else None,
            item.url,
            self.normaliser,
        )
        item.title = facts.title
        item.h1 = facts.h1
        item.meta_robots = facts.meta_robots
        item.noindex = facts.noindex
        item.nofollow = facts.nofollow
        item.canonical = canonical
        item.hreflang = facts.hreflang
        item.word_count = facts.word_count
        item.signature = facts.signature
        item.links = facts.links
        item.error = facts.error
        item.meta_refresh = facts.meta_refresh
        refresh_url = facts.refresh_url if self.config.meta_refresh else None
        delay = facts.refresh_delay
        if refresh_url is not None and delay is not None and 200 <= item.status < 300:
            if delay <= self.config.meta_refresh_instant:
                # The browser goes on at once: a redirect hop, as search engines treat it.
                yield from self._follow_hop(
                    response,
                    item.depth,
                    chain,
                    (item.url, item.status, "meta_refresh"),
                    refresh_url,
                    location=facts.meta_refresh or "",
                    response_ms=item.response_ms,
                    delay=delay,
                    content_type=item.content_type,
                )
                return
            item.refresh_url, item.refresh_delay = refresh_url, delay
        if start_url:
            self._settle_start(start_url)
        yield item
        yield from self._follow(facts.links, item.depth + 1, canonical, facts.hreflang)
        if item.refresh_url is not None and self._is_internal(item.refresh_url):
            # A delayed refresh is followed as a link of the page (nofollow is
            # about links: a browser goes there all the same).
            decision = self._decide(item.refresh_url, item.depth + 1)
            if decision is not None:
                yield decision

    def _follow(
        self,
        links: list[Link],
        depth: int,
        canonical: str | None,
        hreflang: list[Hreflang],
    ) -> Iterator[Any]:
        crawl_nofollow = self.config.crawl_nofollow
        seen_here: set[str] = set()
        for link in links:
            target = link.url
            if target is None or not link.internal or target in seen_here:
                continue
            if not link.followed and not crawl_nofollow:
                continue
            seen_here.add(target)
            decision = self._decide(target, depth)
            if decision is not None:
                yield decision
        if (
            canonical is not None
            and self.config.crawl_canonicals
            and canonical not in seen_here
            and self._is_internal(canonical)
        ):
            decision = self._decide(canonical, depth)
            if decision is not None:
                yield decision

    def _redirect(
        self,
        response: Response,
        depth: int,
        chain: tuple[Hop, ...],
        response_ms: float | None,
    ) -> Iterator[Any]:
        url = response.url
        status = response.status
        raw = response.headers.get(b"Location") or b""
        try:
            location = raw.decode("utf-8")
        except UnicodeDecodeError:
            location = raw.decode("latin-1")
        target = self.normaliser.normalise(location, url) if location.strip() else None
        request = response.request
        assert request is not None
        yield from self._follow_hop(
            response,
            depth,
            chain,
            (url, status),
            target,
            location=location,
            response_ms=response_ms,
            method="HEAD" if request.method == "HEAD" and status != 303 else "GET",
        )

    def _follow_hop(
        self,
        response: Response,
        depth: int,
        chain: tuple[Hop, ...],
        hop: Hop,
        target: str | None,
        *,
        location: str,
        response_ms: float | None,
        method: str | None = None,
        delay: int | None = None,
        content_type: str | None = None,
    ) -> Iterator[Any]:
        """Record one redirect hop (3xx or meta refresh) and follow it.

        The same rules for both: a loop or a chain longer than
        ``LINKSPIDER_MAX_REDIRECTS`` stops, an external target is recorded
        and not crawled, a start URL's hop to another host of the site adopts
        that host. ``method`` ``None`` picks GET or HEAD by the URL.
        """
        url, status, kind = hop[0], hop[1], _redirect_hop(hop).kind
        hops = (*chain, hop)
        loop = target is not None and any(earlier[0] == target for earlier in hops)
        error = None
        if target is None:
            error = "redirect without a usable Location"
        elif loop:
            error = "redirect loop"
        elif len(hops) > self.config.max_redirects:
            error = f"more than LINKSPIDER_MAX_REDIRECTS={self.config.max_redirects} redirects"
        yield RedirectItem(
            url=url,
            status=status,
            target=target,
            location=location,
            depth=depth,
            loop=loop,
            requested_url=hops[0][0],
            response_ms=response_ms,
            fetched_at=time.time(),
            error=error,
            kind=kind,
            delay=delay,
            content_type=content_type,
        )
        request = response.request
        assert request is not None
        start_url: str | None = request.meta.get(START_META_KEY)
        if error is not None or target is None:
            if start_url:
                self._settle_start(start_url, problem=error)
            return
        if not self._is_internal(target):
            if not start_url:
                return  # an external target is recorded, not crawled
            if not self.scope.same_site(target):
                self._start_redirects_offsite(start_url, target)
                return
            sitemap_request = self._adopt_host(start_url, target)
            if sitemap_request is not None:
                yield sitemap_request
        if start_url and self._state["start_redirects"].get(start_url) != target:
            self._state["start_redirects"][start_url] = target
            self._run_facts_changed()
        decision = self._decide(target, depth, chain=hops, method=method)
        if start_url:
            if isinstance(decision, Request):
                decision.meta[START_META_KEY] = start_url
            elif isinstance(decision, ErrorItem):
                self._settle_start(start_url, problem=decision.reason)
            else:
                self._settle_start(start_url)  # the target is crawled by another route
        if decision is not None:
            yield decision

    def _adopt_host(self, start_url: str, target: str) -> Request | None:
        """A start URL redirects to another host of the same site: crawl that host.

        Returns the request for the new host's ``/sitemap.xml`` when sitemaps
        are ``auto``.
        """
        self._widen_scope(target)
        self._state["adopted"].append(target)
        self.crawler.stats.inc_value("linkspider/start_hosts_adopted")
        logger.info("start URL %s redirects to %s: crawling that host", start_url, target)
        if self.arguments.sitemaps != "auto":
            return None
        scheme = target.partition(":")[0]
        return self._sitemap_request(f"{scheme}://{host_of(target)}/sitemap.xml")

    def _widen_scope(self, target: str) -> None:
        self.scope = self.scope.with_host(target)
        self._is_internal = lru_cache(maxsize=131_072)(self.scope.contains)
        self._start_netlocs = self._start_netlocs | {host_of(target)}

    def _start_redirects_offsite(self, start_url: str, target: str) -> None:
        """A start URL redirects to another site: not crawled; the end of the run if all do."""
        self._settle_start(start_url, problem=f"redirects to {target}, another site")
        self.crawler.stats.inc_value("linkspider/start_redirects_offsite")
        message = (
            f"start URL {start_url} redirects to {target}, another site: not crawled. "
            f"To crawl that site, use -a url={target}"
        )
        if self._start_landed or not set(self.start_urls) <= set(self._start_problems):
            logger.warning("%s", message)
            return
        self.fail("start_redirects_offsite", message)

    def _settle_start(self, start_url: str, *, problem: str | None = None) -> None:
        """A start URL's chain ended: on a page, or with a problem."""
        self._start_pending.discard(start_url)
        if problem is None:
            self._start_landed = True
        else:
            self._start_problems[start_url] = problem

    def on_error(self, failure: Failure) -> Iterator[Any]:
        """A page request got no usable answer: record why."""
        request = failure.request  # type: ignore[attr-defined]
        url = request.url
        depth = request.meta.get("depth")
        exc = failure.value
        now = time.time()
        start_url: str | None = request.meta.get(START_META_KEY)
        if isinstance(exc, RobotsBlocked):
            self._state["scheduled"] -= 1  # not fetched: does not count toward max_pages
            if start_url:
                self._settle_start(start_url, problem=str(exc))
            yield ErrorItem(url=url, kind="blocked", reason=str(exc), depth=depth, fetched_at=now)
            return
        if isinstance(exc, IgnoreRequest):
            reason = str(exc) or "ignored by a middleware"
            if start_url:
                self._settle_start(start_url, problem=reason)
            yield ErrorItem(url=url, kind="skipped", reason=reason, depth=depth, fetched_at=now)
            return
        if isinstance(exc, DownloadCancelledError | CancelledError):
            if start_url:
                self._settle_start(start_url)  # it answered: a page, too big to read
            yield ErrorItem(
                url=url,
                kind="oversize",
                reason=f"larger than DOWNLOAD_MAXSIZE={self.config.maxsize} bytes: download cut",
                depth=depth,
                fetched_at=now,
            )
            return
        reason = describe_failure(exc)
        yield ErrorItem(url=url, kind="failed", reason=reason, depth=depth, fetched_at=now)
        if start_url:
            self._settle_start(start_url, problem=reason)
            if (
                isinstance(exc, UNREACHABLE)
                and not self._start_landed
                and set(self.start_urls) <= set(self._start_problems)
            ):
                self.fail(
                    "unreachable",
                    f"cannot reach {url} ({reason}). Check the URL and that the site is up.",
                )

    # -- sitemaps --------------------------------------------------------

    def _robots_parsed(self, robotparser: Any, request: Request) -> None:
        if self.arguments.sitemaps != "auto":
            return
        if urlparse_cached(request).netloc not in self._start_netlocs:
            return
        listed = getattr(getattr(robotparser, "rp", None), "sitemaps", None) or ()
        for sitemap_url in listed:
            sitemap_request = self._sitemap_request(str(sitemap_url))
            if sitemap_request is not None:
                self.crawler.engine.crawl(sitemap_request)

    def parse_sitemap(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """A sitemap or sitemap index: record its URLs as known, to crawl them later."""
        body = self._sitemap_body(response)
        if body is None:
            return
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # lxml raises several types on garbage
            logger.info("Sitemap %s is not readable XML (%s): ignored", response.url, exc)
            return
        if sitemap.type == "sitemapindex":
            for entry in sitemap:
                child = self._sitemap_request(str(entry.get("loc", "")))
                if child is not None:
                    yield child
            return
        if sitemap.type != "urlset":
            return
        for entry in sitemap:
            url = self.normaliser.normalise(str(entry.get("loc", "")), response.url)
            if url is not None:
                self._known_buffer.append((url, "sitemap"))
                self._defer_known(url)

    def _sitemap_body(self, response: Response) -> bytes | None:
        if response.status != 200:
            logger.debug("Sitemap %s answered %s: ignored", response.url, response.status)
            return None
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.config.maxsize)
            except (OSError, ValueError) as exc:
                logger.info("Sitemap %s cannot be decompressed (%s): ignored", response.url, exc)
                return None
        if body.lstrip()[:1] != b"<":
            return None
        return body

    def on_sitemap_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        if response is not None:
            # /sitemap.xml is tried on every site: a 404 is normal.
            level = logging.DEBUG if response.status == 404 else logging.INFO
            logger.log(level, "Sitemap %s answered %s: ignored", request.url, response.status)
            return
        logger.info("Sitemap %s not fetched: %s", request.url, describe_failure(failure.value))

    # -- end -------------------------------------------------------------

    def closed(self, reason: str) -> None:
        """Tell the store how the run ended (before any extension reads it)."""
        nowhere = (
            not self._start_landed
            and bool(self._start_problems)
            and set(self.start_urls) <= set(self._start_problems)
        )
        if self.fatal_error is None and (self._state["answered"] == 0 or nowhere):
            problems = [f"{url}: {why}" for url, why in self._start_problems.items()]
            if problems:
                message = "nothing was crawled (" + "; ".join(problems) + ")"
                if any("robots.txt" in why for why in self._start_problems.values()):
                    message += ". robots.txt does not allow this crawl: ask the site owner"
            else:
                message = "nothing was crawled"
            self.fatal_error = message
            self.crawler.stats.set_value("linkspider/fatal_error", message)
            logger.error("%s", message)
        if self._traps.forgotten:
            self.crawler.stats.set_value(
                "linkspider/trap_patterns_forgotten", self._traps.forgotten
            )
        if not self._state["depth_refused"]:
            # Every URL max_depth refused was reached by a shorter route later.
            self._state["caps_hit"].discard("max_depth")
        caps_hit = sorted(self._state["caps_hit"])
        complete = reason == "finished" and not caps_hit and self.fatal_error is None
        facts = {
            "complete": complete,
            "caps_hit": caps_hit,
            "fatal_error": self.fatal_error,
            "pages_scheduled": self._state["scheduled"],
            "pages_answered": self._state["answered"],
        }
        self.crawler.signals.send_catch_log(
            signal=linkspider_signals.crawl_finished, spider=self, reason=reason, facts=facts
        )
        verdict = "complete" if complete else f"incomplete ({self._why_incomplete(reason)})"
        logger.info("Run folder: %s (%s)", self.run_dir, verdict)

    def _why_incomplete(self, reason: str) -> str:
        parts = []
        if reason != "finished":
            parts.append(f"finish reason {reason}")
        parts.extend(f"{cap} reached" for cap in sorted(self._state["caps_hit"]))
        if self.fatal_error:
            parts.append(self.fatal_error)
        return "; ".join(parts)
