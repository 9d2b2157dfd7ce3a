"""Recognising every vendor's export and normalising its rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.backlinks import (
    Backlink,
    BacklinkError,
    MissingTargetError,
    ParsedExport,
    ReferringDomain,
    Site,
    TargetPage,
    UnrecognisedExportError,
    detect_format,
    parse_backlinks,
    read_backlinks,
)
from pipelines.backlinks.formats import FORMATS, parse_column_map

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "backlinks"
SITE = Site.from_urls(["https://www.example.com/"])


def parse(name: str, **kwargs: Any) -> tuple[ParsedExport, list[Any]]:
    kwargs.setdefault("site", SITE)
    with read_backlinks(FIXTURES / name) as handle:
        parsed = parse_backlinks(handle, file=name, **kwargs)
        return parsed, list(parsed)


def summary(record: Backlink) -> tuple[Any, ...]:
    return (
        record.line,
        record.source_url,
        record.target_url,
        record.anchor,
        record.followed,
        (record.nofollow, record.ugc, record.sponsored),
        record.is_image,
        record.lost,
        record.lost_date,
    )


@pytest.mark.parametrize(
    ("name", "key", "header_line"),
    [
        ("ahrefs_backlinks_utf8.csv", "ahrefs-backlinks", 1),
        ("ahrefs_backlinks_for_excel_utf16.csv", "ahrefs-backlinks", 1),
        ("ahrefs_backlinks_google_sheets.csv", "ahrefs-backlinks", 1),
        ("ahrefs_backlinks_legacy_utf16.tsv", "ahrefs-backlinks-legacy", 1),
        ("ahrefs_referring_domains.csv", "ahrefs-referring-domains", 1),
        ("semrush_backlinks.csv", "semrush-backlinks", 1),
        ("semrush_backlinks_cp1252.csv", "semrush-backlinks", 1),
        ("semrush_backlinks_older.csv", "semrush-backlinks-older", 1),
        ("semrush_referring_domains_semicolon.csv", "semrush-referring-domains", 1),
        ("moz_inbound_links_preamble.csv", "moz-inbound-links", 7),
        ("moz_inbound_links_followable.csv", "moz-inbound-links-followable", 1),
        ("moz_link_explorer.csv", "moz-link-explorer", 3),
        ("majestic_backlinks_broken_row.csv", "majestic-backlinks", 1),
        ("majestic_site_explorer_spaced.csv", "majestic-backlinks-spaced", 1),
        ("gsc_latest_links_crlf.csv", "gsc-linking-pages", 1),
        ("gsc_more_sample_links.csv", "gsc-linking-pages", 1),
        ("gsc_top_linking_sites.csv", "gsc-top-linking-sites", 1),
        ("gsc_top_target_pages.csv", "gsc-top-target-pages", 1),
        ("screamingfrog_all_outlinks.csv", "screamingfrog-inlinks", 1),
        ("screamingfrog_all_inlinks_2017.csv", "screamingfrog-inlinks-2017", 2),
        ("generic_source_target.csv", "generic", 1),
    ],
)
def test_every_fixture_is_recognised(name: str, key: str, header_line: int) -> None:
    parsed, records = parse(name)
    assert (parsed.format.key, parsed.header_line) == (key, header_line)
    assert parsed.report.kept == len(records) > 0
    assert parsed.report.rows_read == parsed.report.kept + parsed.report.rejected


def test_ahrefs_current_flags_lost_metric_and_rejects() -> None:
    parsed, records = parse("ahrefs_backlinks_utf8.csv")
    kettles = "https://www.example.com/kettles/"
    assert [summary(r) for r in records] == [
        (2, "https://www.kitchenreview.com/best-kettles", kettles, "electric kettles", True,
         (False, False, False), False, False, None),
        (3, "https://forum.teatalk.co.uk/t/which-kettle/1234?page=2",
         "https://www.example.com/kettles/steel-kettle", "this one", False,
         (False, True, False), False, False, None),
        (4, "https://gifts.blogspot.com/2025/12/kitchen-gifts.html", "https://www.example.com/",
         "Example Shop", False, (False, False, True), False, False, None),
        (5, "https://deals.example.org/roundup", "https://www.example.com/old-kettle",
         "old kettle page", False, (True, False, False), False, False, None),
        (6, "https://www.kitchenreview.com/archive/2019-kettles", kettles, "", True,
         (False, False, False), True, True, "2026-03-02"),
    ]  # fmt: skip
    forum = records[1]
    assert (forum.metric_name, forum.metric_value, forum.authority) == ("DR", 45.5, 0.455)
    assert (forum.first_seen, forum.last_seen) == ("2024-01-10", "2026-04-01")
    assert records[2].source_domain == "gifts.blogspot.com"  # a private suffix counts
    assert records[1].source_domain == "teatalk.co.uk"
    report = parsed.report
    assert (report.rows_read, report.kept, report.lost, report.nofollow) == (7, 5, 1, 3)
    assert report.referring_domains == {
        "kitchenreview.com",
        "teatalk.co.uk",
        "gifts.blogspot.com",
        "example.org",
    }
    assert [(r.line, r.code) for r in report.rejects] == [(7, "target_outside"), (8, "source_url")]


def test_ahrefs_for_excel_utf16_idn_and_unicode() -> None:
    _, records = parse("ahrefs_backlinks_for_excel_utf16.csv")
    assert records[1].source_url == "https://xn--caf-dma.example.net/blog/th%C3%A9"
    assert records[1].source_host == "xn--caf-dma.example.net"
    assert records[1].anchor == "Bouilloire inox 🍵"
    assert records[2].line == 4 and not records[2].followed


def test_ahrefs_legacy_type_and_status() -> None:
    _, records = parse("ahrefs_backlinks_legacy_utf16.tsv")
    assert [summary(r)[4:] for r in records] == [
        (True, (False, False, False), False, False, None),
        (False, (True, False, False), False, True, "2022-10-01"),
        (False, (True, True, False), False, False, None),
    ]
    assert [(r.metric_name, r.metric_value) for r in records] == [
        ("DR", 64.0),
        ("DR", 40.0),
        ("DR", 22.0),
    ]


def test_google_sheets_hash_column_and_upper_case_booleans() -> None:
    _, records = parse("ahrefs_backlinks_google_sheets.csv")
    assert [(r.source_url, r.followed, r.metric_value) for r in records] == [
        ("https://www.kitchenreview.com/best-kettles", True, 71.0),
        ("https://forum.teatalk.co.uk/t/which-kettle/1234?page=2", False, 45.0),
    ]


def test_referring_domains_exports() -> None:
    _, ahrefs = parse("ahrefs_referring_domains.csv")
    assert all(isinstance(r, ReferringDomain) for r in ahrefs)
    assert [
        (r.domain, r.metric_name, r.authority, r.links, r.lost, r.lost_date) for r in ahrefs
    ] == [
        ("kitchenreview.com", "DR", 0.71, 3, False, None),
        ("teatalk.co.uk", "DR", 0.45, 1, False, None),
        ("example.net", "DR", 0.38, 2, False, None),  # registrable domain of gsc-only.example.net
        ("example.org", "DR", 0.05, 1, True, "2025-08-08"),
    ]
    _, semrush = parse("semrush_referring_domains_semicolon.csv")
    assert [(r.domain, r.metric_name, r.metric_value, r.links) for r in semrush] == [
        ("teatalk.co.uk", "AS", 46.0, 1204),
        ("example.info", "AS", 37.5, 3),
    ]
    _, gsc = parse("gsc_top_linking_sites.csv")
    assert [(r.domain, r.linking_pages, r.target_pages, r.authority) for r in gsc] == [
        ("kitchenreview.com", 3, 2, None),
        ("example.net", 2, 1, None),
    ]


def test_semrush_normalises_urls_like_the_crawl() -> None:
    parsed, records = parse("semrush_backlinks.csv")
    assert [summary(r) for r in records][2:] == [
        (4, "https://www.kitchenreview.com/archive/2019-kettles",
         "https://www.example.com/kettles/", "", True, (False, False, False), True, False, None),
        (5, "http://tiny-blog.example.net/post?id=7",
         "https://www.example.com/kettles/steel-kettle", "steel kettle", True,
         (False, False, False), False, True, None),
    ]  # fmt: skip
    assert [(r.anchor, r.followed, r.metric_name, r.authority) for r in records[:2]] == [
        ("electric kettles", False, "AS", 0.38),
        ("the shop", False, "AS", 0.38),
    ]
    assert parsed.report.lost == 1


def test_semrush_older_and_cp1252() -> None:
    _, older = parse("semrush_backlinks_older.csv")
    assert [(r.metric_name, r.metric_value, r.ugc, r.sponsored) for r in older] == [
        ("PS", 12.0, False, False)
    ]
    _, cp1252 = parse("semrush_backlinks_cp1252.csv")
    assert [(r.source_url, r.anchor) for r in cp1252] == [
        ("https://blog.example.fr/caf%C3%A9s", "Théières à 20 €"),
        ("https://atelier.example.fr/", "l’atelier du thé"),
    ]


def test_semrush_older_without_rel_columns_reports_no_rel() -> None:
    # An older Semrush layout may come without Nofollow (and has no UGC or
    # Sponsored): the rel is then not reported, and no other column is read as it
    # (here the last one, "Lost link", says true).
    header = "Page score,Page trust score,Source url,Target url,Anchor,First seen,Lost link"
    rows = [
        row.split(",")
        for row in (
            header,
            "12,9,https://dir.example.info/shops,https://www.example.com/,Shop,2018-01-01,true",
            "7,3,https://blog.example.info/a,https://www.example.com/,Kettles,2019-02-02,false",
        )
    ]
    parsed = parse_backlinks(rows, file="older.csv", site=SITE)
    assert parsed.format.key == "semrush-backlinks-older"
    records = list(parsed)
    assert [(r.followed, r.nofollow, r.rel_reported, r.lost) for r in records] == [
        (True, False, False, True),
        (True, False, False, False),
    ]
    assert parsed.report.nofollow == 0


def test_moz_exports() -> None:
    _, inbound = parse("moz_inbound_links_preamble.csv")
    assert [(r.line, r.source_url, r.followed, r.metric_name, r.authority) for r in inbound] == [
        (8, "https://www.kitchenreview.com/best-kettles", True, "DA", 0.68),
        (9, "https://blog.example.io/tea", False, "DA", 0.3),
    ]
    assert not inbound[0].lost_reported
    _, followable = parse("moz_inbound_links_followable.csv")
    assert [r.followed for r in followable] == [False, True]
    _, explorer = parse("moz_link_explorer.csv")
    assert [(r.followed, r.metric_name, r.first_seen) for r in explorer] == [
        (True, "DA", "2020-01-01"),
        (False, "DA", "2024-07-01"),
    ]


def test_majestic_flags_and_broken_rows() -> None:
    parsed, records = parse("majestic_backlinks_broken_row.csv")
    assert [
        (r.line, r.followed, r.is_image, r.lost, r.lost_date, r.metric_name) for r in records
    ] == [
        (2, True, False, False, None, "TF"),
        (3, False, False, False, None, "TF"),
        (6, True, True, False, None, "TF"),
        (7, True, False, True, "2025-10-01", "TF"),
    ]
    assert records[0].first_seen == "2024-01-05" and records[0].last_seen == "2026-05-01"
    assert [(r.line, r.code) for r in parsed.report.rejects] == [(4, "quotes"), (5, "ragged")]
    _, spaced = parse("majestic_site_explorer_spaced.csv")
    assert [(r.metric_name, r.metric_value, r.first_seen) for r in spaced] == [
        ("TF", 11.0, "2023-03-01"),
        ("TF", 33.0, "2020-01-02"),
    ]


def test_gsc_links_assume_the_target_and_report_nothing_they_do_not_know() -> None:
    parsed, records = parse("gsc_latest_links_crlf.csv")
    assert parsed.report.target_assumed == "https://www.example.com/"
    assert [(r.source_url, r.last_seen) for r in records] == [
        ("https://xn--caf-dma.example.net/blog/th%C3%A9", "2026-05-01"),
        ("https://wiki.example.org/wiki/Bouilloire_%C3%A9lectrique", "2026-04-28"),
        ("https://www.kitchenreview.com/best-kettles", "2026-05-11"),
        ("http://xn--wgv71a119e.example.jp/%E8%A8%98%E4%BA%8B/1", "2025-09-15"),
    ]
    assert all(r.target_url == "https://www.example.com/" for r in records)
    assert not any(r.rel_reported or r.lost_reported or r.metric_name for r in records)
    _, given = parse("gsc_more_sample_links.csv", target="https://www.example.com/kettles/")
    assert {r.target_url for r in given} == {"https://www.example.com/kettles/"}


def test_gsc_links_without_a_target_or_site_are_refused() -> None:
    with pytest.raises(MissingTargetError, match=r"has no target column.*--target URL"):
        parse("gsc_more_sample_links.csv", site=None)


def test_gsc_top_target_pages() -> None:
    _, records = parse("gsc_top_target_pages.csv")
    assert records == [
        TargetPage("https://www.example.com/kettles/", 12, 4, "gsc", "gsc_top_target_pages.csv", 2),
        TargetPage("https://www.example.com/", 1024, 31, "gsc", "gsc_top_target_pages.csv", 3),
    ]


def test_screaming_frog_exports() -> None:
    parsed, records = parse("screamingfrog_all_outlinks.csv")
    assert [(r.target_url, r.anchor, r.followed, r.is_image) for r in records] == [
        ("https://www.example.com/kettles/", "electric kettles", True, False),
        ("https://www.example.com/", "shop", False, False),
        ("https://www.example.com/kettles/steel-kettle", "steel kettle photo", True, True),
    ]
    assert [(r.line, r.code) for r in parsed.report.rejects] == [
        (5, "target_outside"),
        (6, "target_outside"),
        (7, "not_link"),
    ]
    _, old = parse("screamingfrog_all_inlinks_2017.csv")
    assert [(r.line, r.followed) for r in old] == [(3, True), (4, False)]


def test_unrecognised_export_names_file_header_and_known_formats() -> None:
    with pytest.raises(UnrecognisedExportError) as caught:
        parse("unknown_tool_export.csv")
    message = str(caught.value)
    assert message.startswith("unknown_tool_export.csv: unrecognised export; ")
    assert "header seen: ['Keyword', 'Volume', 'Difficulty']" in message
    for fmt in FORMATS:
        assert fmt.label in message
    assert "--columns" in message and "\n" not in message


def test_column_map_reads_an_unknown_layout() -> None:
    with pytest.raises(UnrecognisedExportError):
        parse("custom_columns.csv")
    columns = parse_column_map(
        "source=Referrer, target=Page on our site,anchor=Text,rel=Rel attribute"
    )
    parsed, records = parse("custom_columns.csv", columns=columns)
    assert parsed.format.key == "custom"
    assert [(r.source_url, r.anchor, r.nofollow, r.sponsored, r.followed) for r in records] == [
        ("https://partner.example.biz/shops", "our partner", True, True, False),
        ("https://partner.example.biz/kettles", "kettles", False, False, True),
    ]
    with pytest.raises(BacklinkError, match="does not match the header"):
        parse("unknown_tool_export.csv", columns={"source": "Backlink"})


@pytest.mark.parametrize(
    "text", ["target=Page", "source", "source=,target=x", "colour=red,source=x"]
)
def test_bad_column_maps(text: str) -> None:
    with pytest.raises(ValueError):
        parse_column_map(text)


REJECTION_LINES = {
    "ragged": 3,
    "source_url": 4,
    "source_missing": 5,
    "target_url": 6,
    "target_outside": 7,
    "internal": 8,
    "value": 9,
    "quotes": 10,
}


@pytest.mark.parametrize(("code", "line"), sorted(REJECTION_LINES.items()))
def test_each_rejection_reason_names_file_and_line(code: str, line: int) -> None:
    parsed, records = parse("rejections.csv")
    rejects = {r.code: r for r in parsed.report.rejects}
    assert rejects[code].line == line
    assert str(rejects[code]).startswith(f"rejections.csv:{line}: ")
    assert [r.line for r in records] == [2, 11]  # the good rows around the bad ones


def test_rejection_messages() -> None:
    parsed, _ = parse("rejections.csv")
    reasons = {r.code: r.reason for r in parsed.report.rejects}
    assert reasons["ragged"] == "ragged row: 5 cells where the header has 4"
    assert reasons["value"] == "unreadable yes/no value 'perhaps' in column 'Nofollow'"
    assert reasons["target_outside"].endswith("is outside the site (example.com)")
    assert parsed.report.reject_counts == dict.fromkeys(REJECTION_LINES, 1)


def test_reject_details_are_capped_but_all_counted() -> None:
    parsed, _ = parse("rejections.csv", reject_details=2)
    assert len(parsed.report.rejects) == 2
    assert parsed.report.rejected == 8 and parsed.report.rejects_not_shown == 6


def test_unreadable_dates_and_metrics_warn_without_costing_the_row() -> None:
    rows = [
        ["Source URL", "Target URL", "First seen"],
        ["https://a.example.org/", "https://www.example.com/", "yesterday"],
        ["https://b.example.org/", "https://www.example.com/", "2026-13-45"],
    ]
    parsed = parse_backlinks(rows, file="dates.csv", site=SITE)
    records = list(parsed)
    assert [r.first_seen for r in records] == [None, None]
    assert parsed.report.warnings == [
        "dates.csv: 2 unreadable value(s) in column 'First seen', left empty "
        "(first: line 2, unreadable date 'yesterday')"
    ]


def test_plain_rows_are_numbered_from_one_and_a_csv_reader_gives_lines() -> None:
    rows = [["Source URL", "Target URL"], ["https://a.example.org/", "https://www.example.com/"]]
    assert [r.line for r in parse_backlinks(rows, site=SITE)] == [2]


def test_detection_prefers_the_most_specific_signature() -> None:
    sf_2025 = ["Type", "Source", "Destination", "Size (Bytes)", "Alt Text", "Anchor",
               "Status Code", "Status", "Follow", "Target", "Rel"]  # fmt: skip
    fmt = detect_format(sf_2025)
    assert fmt is not None and fmt.key == "screamingfrog-inlinks"
    assert detect_format(["Linking page", "Target URL"]) is None  # GSC's is a closed signature
    with_target = parse_backlinks([["Linking page", "Target URL"]], site=SITE)
    assert with_target.format.key == "generic"
    trailing = detect_format(
        ["#", "Domain", "Is spam", " DR ", "Dofollow ref. domains", "Traffic "]
    )
    assert trailing is not None and trailing.key == "ahrefs-referring-domains"


def test_records_are_typed_dataclasses_and_iteration_is_once() -> None:
    parsed, records = parse("generic_source_target.csv")
    assert all(isinstance(r, Backlink) for r in records)
    with pytest.raises(RuntimeError):
        list(parsed)
