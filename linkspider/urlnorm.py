"""URL normalisation shared by the crawl and the backlink importer.

Every URL that enters the store goes through :func:`normalise_url`, so a link
found on a page and a backlink target read from a vendor export compare equal
exactly when they name the same resource. Pure functions: no Scrapy here.

What normalisation does, in order:

1. strips surrounding whitespace and removes tabs and newlines anywhere
   (browsers do the same, per the WHATWG URL standard);
2. resolves the reference against a base URL (the page, or its ``<base href>``);
3. keeps only ``http`` and ``https``; anything else returns ``None`` (use
   :func:`href_kind` to tell ``mailto:`` from ``javascript:``);
4. lower-cases the scheme and host, IDNA-encodes a Unicode host, drops a
   trailing dot, the default port and any user info;
5. removes ``.`` and ``..`` path segments, gives an empty path ``/``;
6. normalises percent-encoding: unreserved characters are decoded, other
   escapes upper-cased, raw non-ASCII and unsafe characters encoded as UTF-8;
7. drops tracking parameters (``utm_*``, ``gclid``, ``fbclid`` ... see
   :data:`DEFAULT_TRACKING_PARAMS`) and an empty query; keeps the order of
   the other parameters (reordering can change what a server answers);
8. drops the fragment.

The result is memoised: template links (navigation, footer) repeat on every
page, and normalisation is the largest cost of link extraction after parsing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

__all__ = [
    "DEFAULT_TRACKING_PARAMS",
    "HrefKind",
    "TrackingParamsError",
    "UrlNormaliser",
    "host_of",
    "href_kind",
    "normalise_url",
    "registrable_domain",
    "run_normaliser",
    "tracking_params_setting",
]

#: Query parameters dropped by default. Entries ending in ``*`` are prefixes.
DEFAULT_TRACKING_PARAMS: tuple[str, ...] = (
    "utm_*",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "fbclid",
    "msclkid",
    "yclid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "rb_clickid",
    "s_cid",
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_STRIP_INSIDE = re.compile(r"[\t\n\r]")
# C0 controls and space, stripped from both ends as browsers do.
_STRIP_ENDS = "".join(chr(c) for c in range(0x21))
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = frozenset("0123456789abcdefABCDEF")
# Characters left as they are in a path or a query (RFC 3986 pchar + "/" + "?").
_PATH_SAFE = frozenset("/:@!$&'()*+,;=") | _UNRESERVED
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


class HrefKind:
    """What an ``href`` points at, by scheme. Plain strings, stored as they are."""

    HTTP = "http"
    MAILTO = "mailto"
    TEL = "tel"
    JAVASCRIPT = "javascript"
    DATA = "data"
    OTHER = "other"
    EMPTY = "empty"


_KNOWN_SCHEMES = {
    "http": HrefKind.HTTP,
    "https": HrefKind.HTTP,
    "mailto": HrefKind.MAILTO,
    "tel": HrefKind.TEL,
    "sms": HrefKind.TEL,
    "javascript": HrefKind.JAVASCRIPT,
    "data": HrefKind.DATA,
}


def href_kind(href: str) -> str:
    """Classify an ``href`` by its scheme.

    Parameters
    ----------
    href : str
        The attribute value as written (relative references are ``http``).

    Returns
    -------
    str
        One of the :class:`HrefKind` constants.
    """
    cleaned = _STRIP_INSIDE.sub("", href.strip(_STRIP_ENDS))
    if not cleaned:
        return HrefKind.EMPTY
    match = _SCHEME_RE.match(cleaned)
    if match is None:
        return HrefKind.HTTP  # relative reference
    return _KNOWN_SCHEMES.get(match.group(1).lower(), HrefKind.OTHER)


def _fix_escapes(part: str, safe: frozenset[str]) -> str:
    """Normalise the percent-encoding of a path or query component."""
    if part.isascii() and "%" not in part and all(ch in safe for ch in part):
        return part  # fast path: nothing to do for most URLs
    out: list[str] = []
    i = 0
    n = len(part)
    while i < n:
        ch = part[i]
        if ch == "%":
            if i + 2 < n and part[i + 1] in _HEX and part[i + 2] in _HEX:
                decoded = chr(int(part[i + 1 : i + 3], 16))
                if decoded in _UNRESERVED:
                    out.append(decoded)
                else:
                    out.append("%" + part[i + 1 : i + 3].upper())
                i += 3
                continue
            out.append("%25")  # a lone "%" is a literal percent sign
        elif ch in safe:
            out.append(ch)
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, for absolute paths."""
    if "." not in path:
        return path
    segments = path.split("/")
    output: list[str] = []
    for segment in segments[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    # A trailing "." or ".." leaves a directory: keep its slash.
    if segments[-1] in (".", ".."):
        output.append("")
    return "/" + "/".join(output)


def _tracking_matcher(params: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    exact = frozenset(p.lower() for p in params if not p.endswith("*"))
    prefixes = tuple(p[:-1].lower() for p in params if p.endswith("*"))
    return exact, prefixes


def _encode_host(host: str) -> str | None:
    host = host.lower().rstrip(".")
    if not host:
        return None
    if host.startswith("["):
        return host  # IPv6 literal, already lower-cased
    if host.isascii():
        if any(ch in host for ch in ' <>"{}|\\^`%'):
            return None
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


@dataclass(frozen=True)
class UrlNormaliser:
    """A configured, memoising URL normaliser.

    Parameters
    ----------
    tracking_params : tuple of str
        Query parameter names to drop; a trailing ``*`` makes a prefix.
    cache_size : int
        Entries kept in each memo (resolution and normalisation).
    """

    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS
    cache_size: int = 65536

    def __post_init__(self) -> None:
        exact, prefixes = _tracking_matcher(self.tracking_params)
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_prefixes", prefixes)
        object.__setattr__(self, "normalise_absolute", lru_cache(self.cache_size)(self._absolute))
        object.__setattr__(self, "_join", lru_cache(self.cache_size)(urljoin))

    def normalise(self, href: str, base: str | None = None) -> str | None:
        """Normalise ``href`` (resolved against ``base``) or return ``None``.

        Parameters
        ----------
        href : str
            A URL or a reference relative to ``base``.
        base : str, optional
            The document's base URL.

        Returns
        -------
        str or None
            The normalised absolute http(s) URL, or ``None`` when ``href`` is
            not an http(s) URL or cannot be parsed.
        """
        href = href.strip(_STRIP_ENDS)
        if "\t" in href or "\n" in href or "\r" in href:
            href = _STRIP_INSIDE.sub("", href)
        if base is not None and not href.startswith(("http://", "https://")):
            if href.startswith("//"):
                scheme = base.partition(":")[0]
                href = f"{scheme}:{href}"
            else:
                # Root-relative and relative references depend on the base;
                # the memo keeps this cheap for template links.
                try:
                    href = self._join(base, href)  # type: ignore[attr-defined]
                except ValueError:
                    return None
        return self.normalise_absolute(href)  # type: ignore[attr-defined]

    def _absolute(self, url: str) -> str | None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        host = _encode_host(parts.hostname or "")
        if host is None:
            return None
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # urlsplit strips the brackets of IPv6 literals
        netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
        path = _fix_escapes(_remove_dot_segments(parts.path or "/"), _PATH_SAFE)
        if not path.startswith("/"):
            path = "/" + path
        query = self._clean_query(parts.query) if parts.query else ""
        return f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"

    def _clean_query(self, query: str) -> str:
        exact: frozenset[str] = self._exact  # type: ignore[attr-defined]
        prefixes: tuple[str, ...] = self._prefixes  # type: ignore[attr-defined]
        kept = []
        for pair in query.split("&"):
            if not pair:
                continue
            name = pair.partition("=")[0].lower()
            if name in exact or (prefixes and name.startswith(prefixes)):
                continue
            kept.append(_fix_escapes(pair, _QUERY_SAFE))
        return "&".join(kept)


_DEFAULT = UrlNormaliser()


class TrackingParamsError(ValueError):
    """A ``LINKSPIDER_TRACKING_PARAMS`` value that is not a list of names."""


def tracking_params_setting(value: object) -> tuple[str, ...]:
    """The tracking parameters a ``LINKSPIDER_TRACKING_PARAMS`` value asks for.

    Every component that normalises URLs (the crawl, the backlink import, the
    report's priority patterns) reads the setting through this one function,
    so they cannot disagree about what an unset or empty value means.

    Parameters
    ----------
    value : object
        The raw setting: ``None`` (unset: :data:`DEFAULT_TRACKING_PARAMS`), a
        comma-separated string or a list of names (``*`` at the end matches a
        prefix). An empty string or list drops no parameter at all.

    Returns
    -------
    tuple of str
        The parameter names, stripped, blanks left out.

    Raises
    ------
    TrackingParamsError
        When the value is neither a string nor a list of strings.
    """
    if value is None:
        return DEFAULT_TRACKING_PARAMS
    if isinstance(value, str):
        names: Iterable[object] = value.split(",")
    elif isinstance(value, (list, tuple)):
        names = value
    else:
        raise TrackingParamsError(
            f"LINKSPIDER_TRACKING_PARAMS={value!r} is not a list of parameter names "
            "(e.g. utm_*,gclid)"
        )
    if not all(isinstance(name, str) for name in names):
        raise TrackingParamsError(
            f"LINKSPIDER_TRACKING_PARAMS={value!r} must list names as strings"
        )
    return tuple(str(name).strip() for name in names if str(name).strip())


def run_normaliser(recorded: object, setting: object) -> UrlNormaliser:
    """The normaliser for work on an existing run (``scrapy backlinks``, ``scrapy report``).

    Parameters
    ----------
    recorded : object
        The run's ``tracking_params`` metadata: the list the crawl used, or
        ``None`` for a run recorded before it was kept.
    setting : object
        The current ``LINKSPIDER_TRACKING_PARAMS`` value, used only when the
        run recorded none.

    Returns
    -------
    UrlNormaliser
        URLs compare equal to the crawl's exactly when they name the same
        page: the run's own list wins over today's setting.
    """
    params = tracking_params_setting(recorded if recorded is not None else setting)
    return UrlNormaliser(tracking_params=params)


def normalise_url(href: str, base: str | None = None) -> str | None:
    """Normalise a URL with the default settings.

    See :meth:`UrlNormaliser.normalise`; the crawl and the backlink importer
    use a normaliser built from the ``LINKSPIDER_TRACKING_PARAMS`` setting.
    """
    return _DEFAULT.normalise(href, base)


def host_of(url: str) -> str:
    """Return the host (with a non-default port) of a normalised URL.

    Parameters
    ----------
    url : str
        A URL as returned by :func:`normalise_url`.

    Returns
    -------
    str
        ``netloc`` of the URL: ``example.com`` or ``example.com:8080``.
    """
    rest = url.partition("://")[2]
    end = len(rest)
    for sep in "/?#":
        pos = rest.find(sep)
        if pos != -1 and pos < end:
            end = pos
    return rest[:end]


@lru_cache(maxsize=1)
def _extractor() -> Any:
    import tldextract  # noqa: PLC0415 - loading the suffix list takes ~50 ms

    # An empty URL tuple means the bundled Public Suffix List snapshot only:
    # never a network fetch at run time, and no cache directory written.
    # Private suffixes count (``github.io``, ``blogspot.com``): each blog on
    # them is its own site, as the backlink vendors count referring domains.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """Return the registrable domain (eTLD+1) of a host.

    Parameters
    ----------
    host : str
        A host name, optionally with a port.

    Returns
    -------
    str
        ``example.co.uk`` for ``www.shop.example.co.uk`` and ``me.github.io``
        for ``www.me.github.io`` (private suffixes count); an IP address or a
        single-label host (``localhost``) is returned as it is, without port.
    """
    name = host.lower()
    if name.startswith("["):
        return name.partition("]")[0] + "]"
    name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    result = _extractor()(name)
    if result.domain and result.suffix:
        return f"{result.domain}.{result.suffix}"
    return name
