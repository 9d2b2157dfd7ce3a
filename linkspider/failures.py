"""Failed downloads in words, for the spider's records and the robots.txt middleware.

One place decides what a failure is called (``DNS lookup failed``,
``connection refused``, ``timed out``...) and which failures mean the host
cannot be reached at all, so the crawl store, the log and the last line of
``scrapy crawl`` use the same words.
"""

from __future__ import annotations

from typing import Final

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
)
from twisted.internet.error import ConnectionRefusedError as TxConnectionRefusedError
from twisted.internet.error import DNSLookupError, TimeoutError

__all__ = ["UNREACHABLE", "describe_failure"]

#: Failures that mean the host cannot be reached at all: waiting will not help.
UNREACHABLE: Final = (
    CannotResolveHostError,
    DNSLookupError,
    DownloadConnectionRefusedError,
    TxConnectionRefusedError,
)


def describe_failure(exc: BaseException | None) -> str:
    """A failed download in a few words.

    Parameters
    ----------
    exc : BaseException or None
        What the download raised (``failure.value``).

    Returns
    -------
    str
        ``DNS lookup failed``, ``connection refused``, ``timed out``, or the
        exception's type and the first line of its message.
    """
    if exc is None:
        return "unknown failure"
    if isinstance(exc, CannotResolveHostError | DNSLookupError):
        return "DNS lookup failed"
    if isinstance(exc, DownloadConnectionRefusedError | TxConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, DownloadTimeoutError | TimeoutError):
        return "timed out"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
