"""The ``site`` spider's arguments (``-a name=value``), parsed and validated.

Every mistake raises :class:`ArgumentError` with one line that says what is
wrong and how to fix it; ``scrapy crawl site`` prints that line and exits
before anything starts. Pure code: no Scrapy imports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from linkspider.scope import Scope, ScopeError
from linkspider.urlnorm import UrlNormaliser
from pipelines.backlinks.reading import exports_in_folder

__all__ = ["KNOWN_ARGUMENTS", "ArgumentError", "CrawlArguments", "parse_arguments"]

KNOWN_ARGUMENTS: Final = (
    "url",
    "urls",
    "max_pages",
    "max_depth",
    "scope",
    "include",
    "exclude",
    "sitemaps",
    "run_dir",
    "backlinks",
    "priority",
)
_SCHEME: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


class ArgumentError(ValueError):
    """A bad spider argument; the message is one line meant for the user."""


@dataclass(frozen=True)
class CrawlArguments:
    """Validated spider arguments.

    Attributes
    ----------
    start_urls : tuple of str
        Normalised start URLs, in the order given, without duplicates.
    scope : Scope
    max_pages : int or None
        ``None`` when not given (the ``LINKSPIDER_MAX_PAGES`` default applies).
    max_depth : int or None
        ``None`` for no depth limit.
    sitemaps : str
        ``auto``, ``off`` or the normalised URL of a sitemap.
    run_dir : Path or None
        ``None`` when not given.
    backlink_files : tuple of Path
        Backlink exports (a folder expands to the files in it).
    priority_file : Path or None
    given : dict
        The arguments as passed (strings), for the run's metadata.
    """

    start_urls: tuple[str, ...]
    scope: Scope
    max_pages: int | None = None
    max_depth: int | None = None
    sitemaps: str = "auto"
    run_dir: Path | None = None
    backlink_files: tuple[Path, ...] = ()
    priority_file: Path | None = None
    given: dict[str, str] = field(default_factory=dict)


def _whole_number(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value.strip().replace("_", ""))
    except ValueError:
        raise ArgumentError(
            f"{name}={value!r} is not a whole number: use e.g. -a {name}=5000"
        ) from None
    if number < minimum:
        raise ArgumentError(f"{name}={value!r} must be at least {minimum}")
    return number


def _http_url(value: str, what: str, normaliser: UrlNormaliser) -> str:
    raw = value.strip()
    if not raw:
        raise ArgumentError(f"{what} is empty: give a full URL such as https://example.com/")
    match = _SCHEME.match(raw)
    if match is None:
        raise ArgumentError(
            f"{what} {raw!r} has no scheme: use a full URL such as https://{raw.lstrip('/')}"
        )
    if match.group(1).lower() not in ("http", "https"):
        raise ArgumentError(f"{what} {raw!r}: only http and https URLs can be crawled")
    normalised = normaliser.normalise(raw)
    if normalised is None or normalised.partition("://")[2].startswith("/"):
        raise ArgumentError(f"{what} {raw!r} is not a valid URL")
    return normalised


def _read_url_list(value: str, normaliser: UrlNormaliser) -> list[str]:
    path = Path(value).expanduser()
    if not path.is_file():
        raise ArgumentError(f"urls={value!r}: no such file (one start URL per line)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArgumentError(f"urls={value!r} cannot be read as UTF-8 text: {exc}") from None
    urls = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        urls.append(_http_url(line, f"{path}:{number}: URL", normaliser))
    if not urls:
        raise ArgumentError(f"urls={value!r} lists no URL (one start URL per line)")
    return urls


def _existing_files(value: str) -> tuple[Path, ...]:
    files: list[Path] = []
    for part in value.split(","):
        name = part.strip()
        if not name:
            continue
        # Absolute, so the paths recorded in the run's meta still work when a
        # later `scrapy report` runs from another folder.
        path = Path(name).expanduser().resolve()
        if path.is_dir():
            found = exports_in_folder(path)
            if not found:
                raise ArgumentError(f"backlinks folder {name!r} has no .csv or .tsv file in it")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ArgumentError(
                f"backlinks: {name!r} does not exist (give export files or a folder, "
                "comma-separated)"
            )
    if not files:
        raise ArgumentError("backlinks is empty: give export files or a folder")
    return tuple(dict.fromkeys(files))


def parse_arguments(
    args: Mapping[str, object], *, normaliser: UrlNormaliser | None = None
) -> CrawlArguments:
    """Validate the ``site`` spider's arguments.

    Parameters
    ----------
    args : mapping
        The ``-a`` arguments. Names starting with ``_`` (Scrapyd's ``_job``)
        are accepted and ignored.
    normaliser : UrlNormaliser, optional
        Normalises the start URLs (the crawl's own normaliser).

    Returns
    -------
    CrawlArguments

    Raises
    ------
    ArgumentError
        With a one-line message naming the argument and what to do.
    """
    normaliser = normaliser or UrlNormaliser()
    given = {str(k): str(v) for k, v in args.items() if not str(k).startswith("_")}
    unknown = sorted(set(given) - set(KNOWN_ARGUMENTS))
    if unknown:
        raise ArgumentError(
            f"unknown argument {unknown[0]!r}: the site spider takes {', '.join(KNOWN_ARGUMENTS)}"
        )
    start_urls: list[str] = []
    if "url" in given:
        start_urls.append(_http_url(given["url"], "url", normaliser))
    if "urls" in given:
        start_urls.extend(_read_url_list(given["urls"], normaliser))
    if not start_urls:
        raise ArgumentError("no start URL: use -a url=https://example.com/ (or -a urls=FILE)")
    start_urls = list(dict.fromkeys(start_urls))

    try:
        scope = Scope.parse(
            given.get("scope", "host"),
            start_urls,
            include=given.get("include"),
            exclude=given.get("exclude"),
        )
    except ScopeError as exc:
        raise ArgumentError(str(exc)) from None

    max_pages = _whole_number("max_pages", given["max_pages"], 1) if "max_pages" in given else None
    max_depth = _whole_number("max_depth", given["max_depth"], 0) if "max_depth" in given else None

    sitemaps = given.get("sitemaps", "auto").strip()
    if sitemaps.lower() in ("auto", "off"):
        sitemaps = sitemaps.lower()
    else:
        sitemaps = _http_url(sitemaps, "sitemaps", normaliser)

    run_dir = None
    if "run_dir" in given:
        if not given["run_dir"].strip():
            raise ArgumentError("run_dir is empty: give a folder path")
        run_dir = Path(given["run_dir"].strip()).expanduser()
        if run_dir.exists() and not run_dir.is_dir():
            raise ArgumentError(f"run_dir={given['run_dir']!r} exists and is not a folder")

    backlink_files = _existing_files(given["backlinks"]) if "backlinks" in given else ()
    priority_file = None
    if "priority" in given:
        priority_file = Path(given["priority"].strip()).expanduser().resolve()
        if not priority_file.is_file():
            raise ArgumentError(f"priority={given['priority']!r}: no such file")

    return CrawlArguments(
        start_urls=tuple(start_urls),
        scope=scope,
        max_pages=max_pages,
        max_depth=max_depth,
        sitemaps=sitemaps,
        run_dir=run_dir,
        backlink_files=backlink_files,
        priority_file=priority_file,
        given=given,
    )
