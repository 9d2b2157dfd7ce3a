"""Backlink exports: read every vendor's format, merge, store, tie to the crawl.

Reading is two pure steps, as in ``networkx.readwrite``:
:func:`read_backlinks` opens and decodes a file and splits it into rows;
:func:`parse_backlinks` recognises the vendor and variant from the header and
normalises each row into a :class:`Backlink`. :class:`BacklinkMerger` merges
records about the same link (rules in :mod:`pipelines.backlinks.merging`);
:func:`import_backlinks` runs a whole import into a run's store; and
:func:`resolve_targets` says what each backlink target lands on in the crawl.

No Scrapy import here except in :mod:`pipelines.backlinks.extension`.
"""

from pipelines.backlinks.formats import FORMATS, detect_format
from pipelines.backlinks.merging import BacklinkMerger, merge_backlinks, merge_records
from pipelines.backlinks.model import (
    Backlink,
    BacklinkError,
    ExportFormat,
    ImportReport,
    MergedBacklink,
    MissingTargetError,
    ReferringDomain,
    Reject,
    TargetPage,
    UnreadableExportError,
    UnrecognisedExportError,
)
from pipelines.backlinks.parsing import ParsedExport, parse_backlinks
from pipelines.backlinks.reading import BacklinkFile, expand_backlink_paths, read_backlinks
from pipelines.backlinks.resolve import (
    LostEquity,
    TargetResolution,
    lost_equity,
    resolve_targets,
    summarise_outcomes,
)
from pipelines.backlinks.store import (
    ImportResult,
    ensure_backlink_schema,
    fill_domain_authority,
    import_backlinks,
    site_of_store,
    write_backlinks,
)
from pipelines.backlinks.urls import ExportUrls, Site

__all__ = [
    "FORMATS",
    "Backlink",
    "BacklinkError",
    "BacklinkFile",
    "BacklinkMerger",
    "ExportFormat",
    "ExportUrls",
    "ImportReport",
    "ImportResult",
    "LostEquity",
    "MergedBacklink",
    "MissingTargetError",
    "ParsedExport",
    "ReferringDomain",
    "Reject",
    "Site",
    "TargetPage",
    "TargetResolution",
    "UnreadableExportError",
    "UnrecognisedExportError",
    "detect_format",
    "ensure_backlink_schema",
    "expand_backlink_paths",
    "fill_domain_authority",
    "import_backlinks",
    "lost_equity",
    "merge_backlinks",
    "merge_records",
    "parse_backlinks",
    "read_backlinks",
    "resolve_targets",
    "site_of_store",
    "summarise_outcomes",
    "write_backlinks",
]
