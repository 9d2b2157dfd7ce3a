"""Imports into the crawl store: schema, merge with stored rows, domain authority, atomicity."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipelines.backlinks import (
    BacklinkError,
    BacklinkMerger,
    Site,
    UnrecognisedExportError,
    ensure_backlink_schema,
    import_backlinks,
    parse_backlinks,
    read_backlinks,
    site_of_store,
    write_backlinks,
)
from pipelines.backlinks.store import BACKLINK_COLUMNS, drop_backlinks_from
from pipelines.storedb import CrawlStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "backlinks"
SITE = Site.from_urls(["https://www.example.com/"])


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with CrawlStore(tmp_path, create=True) as opened:
        yield opened


def fixture(*names: str) -> list[Path]:
    return [FIXTURES / name for name in names]


def rows(store: CrawlStore, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in store.conn.execute(sql, params)]


def backlink(store: CrawlStore, source: str, target: str) -> dict[str, Any]:
    cursor = store.conn.execute(
        "SELECT b.* FROM backlinks b JOIN urls u ON u.id = b.target_id "
        "WHERE b.source_url = ? AND u.url = ?",
        (source, target),
    )
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    assert row is not None, (source, target)
    return dict(zip(names, row, strict=True))


KETTLES = "https://www.example.com/kettles/"
REVIEW = "https://www.kitchenreview.com/best-kettles"


def test_import_merges_vendors_and_records_everything(store: CrawlStore) -> None:
    files = fixture(
        "ahrefs_backlinks_utf8.csv", "semrush_backlinks.csv", "majestic_backlinks_broken_row.csv"
    )
    result = import_backlinks(store, files, site=SITE)
    # 5 Ahrefs + 4 Semrush + 4 Majestic link rows. The kitchenreview -> kettles link is in all
    # three (Semrush twice), the archive page in Ahrefs and Semrush, the deals roundup in Ahrefs
    # and Majestic.
    assert result.link_rows == 13
    assert result.merged == store.count("backlinks") == result.backlinks == 8
    assert result.multi_vendor == 3
    assert result.added == 8 and result.updated == 0
    review = backlink(store, REVIEW, KETTLES)
    assert json.loads(review["vendors"]) == ["ahrefs", "majestic", "semrush"]
    assert [origin[1] for origin in json.loads(review["origins"])] == [2, 2, 3, 2]
    assert review["links"] == 2  # Semrush listed it twice (two anchors)
    # Semrush (last seen 2026-05-10) says nofollow, Ahrefs (2026-04-01) and Majestic (2026-05-01)
    # say followed: the most recent observation wins, and the disagreement stays visible.
    assert (review["followed"], review["nofollow"], review["rel_seen"]) == (0, 1, "2026-05-10")
    assert json.loads(review["conflicts"]) == ["followed"]
    assert (review["metric_name"], review["authority"], review["authority_source"]) == (
        "DR",
        0.71,
        "link",
    )
    assert (review["first_seen"], review["last_seen"]) == ("2024-01-05", "2026-05-10")
    archive = backlink(store, "https://www.kitchenreview.com/archive/2019-kettles", KETTLES)
    # Ahrefs saw it lost on 2026-03-02, Semrush saw it live on 2026-04-20: live.
    assert (archive["lost"], archive["lost_date"], json.loads(archive["conflicts"])) == (
        0,
        None,
        ["lost"],
    )
    # The deals roundup: Ahrefs (newer) says nofollow and live, Majestic followed and deleted.
    assert result.conflicts == {"followed": 2, "lost": 2}


def test_known_urls_imports_and_target_counts(store: CrawlStore) -> None:
    result = import_backlinks(
        store, fixture("ahrefs_backlinks_utf8.csv", "semrush_backlinks.csv"), site=SITE
    )
    known = rows(
        store,
        "SELECT u.url FROM known_urls k JOIN urls u ON u.id = k.url_id WHERE k.source = 'backlink'",
    )
    targets = {row[0] for row in known}
    assert (
        targets
        == set(result.targets)
        == {
            KETTLES,
            "https://www.example.com/kettles/steel-kettle",
            "https://www.example.com/",
            "https://www.example.com/old-kettle",
        }
    )
    imports = rows(
        store,
        "SELECT format, rows_read, kept, rejected, lost, nofollow, referring_domains, "
        "reject_counts, mode FROM backlink_imports ORDER BY id",
    )
    assert imports == [
        ("ahrefs-backlinks", 7, 5, 2, 1, 3, 4, '{"target_outside":1,"source_url":1}', "add"),
        ("semrush-backlinks", 4, 4, 0, 1, 2, 2, "{}", "add"),
    ]
    counts = dict(
        (url, rest)
        for url, *rest in rows(
            store,
            "SELECT u.url, c.links, c.referring_pages, c.referring_domains, "
            "c.live_followed_domains "
            "FROM backlink_target_counts c JOIN urls u ON u.id = c.target_id",
        )
    )
    # kettles: kitchenreview best-kettles (2 Semrush rows) + the archive page:
    # 3 links, 2 referring pages, 1 referring domain.
    assert counts[KETTLES] == [3, 2, 1, 1]


def test_adding_merges_into_stored_backlinks_and_reimporting_changes_nothing(
    store: CrawlStore,
) -> None:
    import_backlinks(store, fixture("ahrefs_backlinks_utf8.csv"), site=SITE)
    before = rows(store, "SELECT * FROM backlinks ORDER BY id")
    again = import_backlinks(store, fixture("ahrefs_backlinks_utf8.csv"), site=SITE)
    assert (again.added, again.updated) == (0, 5)
    assert rows(store, "SELECT * FROM backlinks ORDER BY id") == before
    more = import_backlinks(store, fixture("semrush_backlinks.csv"), site=SITE)
    assert (more.added, more.updated) == (1, 2)
    assert store.count("backlinks") == 6
    review = backlink(store, REVIEW, KETTLES)
    assert json.loads(review["vendors"]) == ["ahrefs", "semrush"]
    assert review["followed"] == 0  # the same rule as within one import
    assert store.count("backlink_imports") == 3


def test_replace_starts_afresh(store: CrawlStore) -> None:
    import_backlinks(store, fixture("ahrefs_backlinks_utf8.csv"), site=SITE)
    result = import_backlinks(
        store, fixture("semrush_backlinks_older.csv"), site=SITE, replace=True
    )
    assert result.backlinks == store.count("backlinks") == 1
    assert rows(store, "SELECT format, mode FROM backlink_imports") == [
        ("semrush-backlinks-older", "replace")
    ]


@pytest.mark.parametrize("domains_first", [True, False])
def test_domain_authority_fills_links_without_a_metric(
    store: CrawlStore, domains_first: bool
) -> None:
    files = [
        "ahrefs_referring_domains.csv",
        "gsc_more_sample_links.csv",
        "ahrefs_backlinks_utf8.csv",
    ]
    if not domains_first:
        files.reverse()
    for name in files:  # separate imports: the order files arrive in must not matter
        import_backlinks(store, fixture(name), site=SITE)
    gsc = backlink(store, "https://gsc-only.example.net/a", "https://www.example.com/")
    assert (gsc["authority"], gsc["authority_source"], gsc["metric_name"]) == (0.38, "domain", None)
    own = backlink(store, REVIEW, KETTLES)
    assert (own["authority"], own["authority_source"]) == (0.71, "link")  # its own DR stays
    domains = rows(
        store, "SELECT domain, metric_name, authority, links FROM backlink_domains ORDER BY domain"
    )
    assert domains[0] == ("example.net", "DR", 0.38, 2)


def test_a_link_metric_replaces_an_authority_taken_from_the_domain(store: CrawlStore) -> None:
    import_backlinks(
        store, fixture("ahrefs_referring_domains.csv", "gsc_latest_links_crlf.csv"), site=SITE
    )
    row = backlink(store, REVIEW, "https://www.example.com/")
    assert (row["authority"], row["authority_source"]) == (0.71, "domain")
    import_backlinks(store, fixture("screamingfrog_all_outlinks.csv"), site=SITE)  # no metric
    assert backlink(store, REVIEW, "https://www.example.com/")["authority_source"] == "domain"


def test_target_pages_are_stored_per_vendor(store: CrawlStore) -> None:
    import_backlinks(store, fixture("gsc_top_target_pages.csv"), site=SITE)
    assert rows(
        store,
        "SELECT u.url, t.vendor, t.links, t.domains FROM backlink_target_pages t "
        "JOIN urls u ON u.id = t.target_id ORDER BY u.url",
    ) == [
        ("https://www.example.com/", "gsc", 1024, 31),
        (KETTLES, "gsc", 12, 4),
    ]
    assert store.count("known_urls") == 2


def test_a_bad_file_among_good_ones_writes_nothing(store: CrawlStore, tmp_path: Path) -> None:
    import_backlinks(store, fixture("semrush_backlinks_older.csv"), site=SITE)
    with pytest.raises(UnrecognisedExportError, match=r"unknown_tool_export\.csv"):
        import_backlinks(
            store, fixture("ahrefs_backlinks_utf8.csv", "unknown_tool_export.csv"), site=SITE
        )
    with pytest.raises(BacklinkError, match="no such file"):
        import_backlinks(store, [tmp_path / "gone.csv"], site=SITE)
    assert store.count("backlinks") == 1
    assert store.count("backlink_imports") == 1


def test_schema_additions_are_additive_and_idempotent(store: CrawlStore) -> None:
    before = [row[1] for row in store.conn.execute("PRAGMA table_info(backlinks)")]
    ensure_backlink_schema(store)
    ensure_backlink_schema(store)
    after = [row[1] for row in store.conn.execute("PRAGMA table_info(backlinks)")]
    assert after == before + [name for name, _ in BACKLINK_COLUMNS]
    tables = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_master")}
    assert {
        "backlink_domains",
        "backlink_target_pages",
        "backlink_imports",
        "backlink_target_counts",
    } <= tables


def test_equity_contract_columns(store: CrawlStore) -> None:
    """What the equity model reads: target_id, source_domain, followed, lost, authority."""
    import_backlinks(
        store, fixture("gsc_more_sample_links.csv", "moz_inbound_links_preamble.csv"), site=SITE
    )
    got = rows(
        store,
        "SELECT u.url, b.source_domain, b.followed, b.lost, b.authority FROM backlinks b "
        "JOIN urls u ON u.id = b.target_id ORDER BY b.source_url",
    )
    assert got == [
        ("https://www.example.com/", "example.io", 0, 0, 0.3),
        ("https://www.example.com/", "example.net", 1, 0, None),  # GSC: followed assumed
        ("https://www.example.com/", "example.net", 1, 0, None),
        (KETTLES, "kitchenreview.com", 1, 0, 0.68),
    ]


def test_site_of_store(store: CrawlStore) -> None:
    assert site_of_store(store) is None
    ids = store.intern(
        ["https://www.example.com/", "https://shop.example.com/cart", "https://cdn.other.net/x"]
    )
    store.conn.execute(
        "INSERT INTO known_urls VALUES (?, 'start')", (ids["https://www.example.com/"],)
    )
    for url, kind in (
        ("https://shop.example.com/cart", "html"),
        ("https://cdn.other.net/x", "skipped"),
    ):
        store.conn.execute(
            "INSERT INTO pages (url_id, kind, status) VALUES (?, ?, 200)", (ids[url], kind)
        )
    site = site_of_store(store)
    assert site is not None
    assert site.hosts == {"www.example.com", "shop.example.com", "cdn.other.net"}
    assert (site.domains, site.home) == ({"example.com", "other.net"}, "https://www.example.com/")


def test_import_uses_the_given_names_in_messages(store: CrawlStore, tmp_path: Path) -> None:
    copy = tmp_path / "my export.csv"
    shutil.copy(FIXTURES / "rejections.csv", copy)
    result = import_backlinks(store, [copy], site=SITE)
    assert result.reports[0].file == str(copy)
    assert str(result.reports[0].rejects[0]).startswith(f"{copy}:3: ragged row")


def test_writing_merged_records_matches_importing_the_files(tmp_path: Path) -> None:
    """A BacklinkMerger's output goes through the same store path as an import."""
    names = (
        "ahrefs_backlinks_utf8.csv",
        "semrush_backlinks.csv",
        "majestic_backlinks_broken_row.csv",
    )
    merger = BacklinkMerger()
    for name in names:
        with read_backlinks(FIXTURES / name) as handle:
            merger.add_all(parse_backlinks(handle, file=str(FIXTURES / name), site=SITE))
    query = (
        "SELECT source_url, u.url, followed, lost, lost_date, first_seen, last_seen, metric_name, "
        "authority, vendors, origins, links, conflicts, rel_seen, lost_seen FROM backlinks b "
        "JOIN urls u ON u.id = b.target_id ORDER BY source_url, u.url"
    )
    with CrawlStore(tmp_path / "a", create=True) as imported:
        import_backlinks(imported, fixture(*names), site=SITE)
        expected = rows(imported, query)
    with CrawlStore(tmp_path / "b", create=True) as written:
        result = write_backlinks(written, merger)
        assert rows(written, query) == expected
    assert result.merged == len(expected) == 8


@pytest.mark.parametrize(
    "name",
    [
        "ahrefs_backlinks_utf8.csv",
        "gsc_latest_links_crlf.csv",
        "moz_inbound_links_preamble.csv",  # rel reported, no dates
        "majestic_backlinks_broken_row.csv",
        "semrush_backlinks.csv",
    ],
)
def test_stored_seen_dates_match_the_records(tmp_path: Path, name: str) -> None:
    """Single rows get rel_seen/lost_seen (and the rest) in SQL: the records' values."""
    with CrawlStore(tmp_path, create=True) as store:
        import_backlinks(store, fixture(name), site=SITE)
        with read_backlinks(FIXTURES / name) as handle:
            records = list(parse_backlinks(handle, site=SITE))
        keys = Counter((r.source_url, r.target_url) for r in records)
        for record in records:
            if keys[record.source_url, record.target_url] > 1:
                continue  # merged
            row = backlink(store, record.source_url, record.target_url)
            assert (row["rel_seen"], row["lost_seen"]) == (record.rel_seen, record.lost_seen)
            assert (row["rel_reported"], row["lost_reported"]) == (
                record.rel_reported,
                record.lost_reported,
            )
            assert (row["lost_date"], row["first_seen"], row["last_seen"]) == (
                record.lost_date,
                record.first_seen,
                record.last_seen,
            )
            assert (row["metric_name"], row["metric_value"], row["authority"]) == (
                record.metric_name,
                record.metric_value,
                record.authority,
            )
            assert row["authority_source"] == ("link" if record.authority is not None else None)


def test_the_store_connection_is_left_as_it_was(store: CrawlStore) -> None:
    cache_size = store.conn.execute("PRAGMA cache_size").fetchone()[0]
    import_backlinks(store, fixture("semrush_backlinks.csv"), site=SITE)
    assert (
        store.conn.execute("PRAGMA temp_store").fetchone()[0] == 2
    )  # MEMORY, as CrawlStore set it (the key index is sorted in files meanwhile)
    assert store.conn.execute("PRAGMA cache_size").fetchone()[0] == cache_size
    temp = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_temp_master")}
    assert not temp
    assert not store.conn.in_transaction
    databases = [row[1] for row in store.conn.execute("PRAGMA database_list")]
    assert databases == ["main", "temp"]  # stages, repeats and merge results detached


def test_a_temporary_table_of_the_callers_survives_an_import(tmp_path: Path) -> None:
    # Changing temp_store (to sort the key index in files) would drop it: not done then.
    with CrawlStore(tmp_path, create=True) as store:
        store.conn.execute("CREATE TEMP TABLE mine (x)")
        store.conn.execute("INSERT INTO temp.mine VALUES (1)")
        result = import_backlinks(
            store, fixture("ahrefs_backlinks_utf8.csv", "semrush_backlinks.csv"), site=SITE
        )
        assert store.conn.execute("SELECT x FROM temp.mine").fetchall() == [(1,)]
        assert result.backlinks == store.count("backlinks") > 0
        assert "index" in result.timings and "merge" in result.timings


def test_another_connection_can_write_while_files_are_read(tmp_path: Path) -> None:
    """The crawl's pipeline shares the store: reading must not lock it or go stale."""
    with CrawlStore(tmp_path, create=True) as store, CrawlStore(tmp_path) as pipeline:
        import_backlinks(store, fixture("semrush_backlinks_older.csv"), site=SITE)

        def records() -> Any:
            with read_backlinks(FIXTURES / "semrush_backlinks.csv") as handle:
                for number, record in enumerate(parse_backlinks(handle, site=SITE)):
                    if number == 1:  # the crawl writes while the import is reading
                        pipeline.intern(["https://www.example.com/written-meanwhile"])
                        pipeline.set_meta("pages_so_far", 12)
                    yield record

        result = write_backlinks(store, records())
        assert result.backlinks == 4
        assert pipeline.get_meta("pages_so_far") == 12
        assert store.url_id("https://www.example.com/written-meanwhile") is not None


def journal_mode(store: CrawlStore) -> str:
    return str(store.conn.execute("PRAGMA main.journal_mode").fetchone()[0])


def test_a_building_import_writes_through_a_rollback_journal_then_puts_wal_back(
    tmp_path: Path,
) -> None:
    """With the store to itself, a building import's new pages are written once (no
    write-ahead log to copy at close); the store is in WAL mode again after it, and
    closes with its log emptied."""
    modes: list[str] = []
    with CrawlStore(tmp_path, create=True) as store:
        assert journal_mode(store) == "wal"
        result = import_backlinks(
            store,
            fixture("ahrefs_backlinks_utf8.csv", "semrush_backlinks.csv"),
            site=SITE,
            on_file=lambda report: modes.append(
                f"{journal_mode(store)} {store.conn.execute('PRAGMA synchronous').fetchone()[0]}"
            ),
        )
        assert modes == ["delete 2", "delete 2"]  # every commit synced (FULL) meanwhile
        assert journal_mode(store) == "wal"
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again
        assert not store.conn.in_transaction
        backlinks = rows(store, "SELECT * FROM backlinks ORDER BY id")
        assert len(backlinks) == result.backlinks > 0
    wal = tmp_path / "crawl.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed at close
    with CrawlStore(tmp_path) as reopened:
        assert journal_mode(reopened) == "wal"
        assert rows(reopened, "SELECT * FROM backlinks ORDER BY id") == backlinks


def test_an_import_keeps_the_log_when_another_connection_has_the_store(tmp_path: Path) -> None:
    modes: list[str] = []
    with CrawlStore(tmp_path, create=True) as store, CrawlStore(tmp_path) as pipeline:
        result = import_backlinks(
            store,
            fixture("semrush_backlinks.csv"),
            site=SITE,
            on_file=lambda report: modes.append(journal_mode(store)),
        )
        assert modes == ["wal"]  # never waited for the other connection either
        assert journal_mode(store) == "wal"
        assert pipeline.count("backlinks") == result.backlinks > 0


def test_an_interrupted_building_import_puts_wal_back(tmp_path: Path) -> None:
    def interrupt(report: Any) -> None:
        raise KeyboardInterrupt

    with CrawlStore(tmp_path, create=True) as store:
        with pytest.raises(KeyboardInterrupt):
            import_backlinks(store, fixture("semrush_backlinks.csv"), site=SITE, on_file=interrupt)
        assert journal_mode(store) == "wal"
        assert store.count("backlinks") == 0
        tables = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_master")}
        assert "backlinks_building" not in tables


def test_backlinks_from_a_host_found_to_be_the_sites_own_are_removed(store: CrawlStore) -> None:
    files = fixture("ahrefs_backlinks_utf8.csv", "semrush_backlinks.csv")
    import_backlinks(store, files, site=SITE)
    before = rows(store, "SELECT file, kept, rejected FROM backlink_imports ORDER BY id")
    hosts = rows(store, "SELECT source_host, count(*) FROM backlinks GROUP BY source_host")
    assert ("www.kitchenreview.com",) in [(host,) for host, _ in hosts]
    total = store.count("backlinks")
    assert drop_backlinks_from(store, [], why="nothing") == 0
    removed = drop_backlinks_from(store, ["www.kitchenreview.com"], why="it is ours")
    assert removed == dict(hosts)["www.kitchenreview.com"] > 0
    assert store.count("backlinks") == total - removed
    assert not rows(store, "SELECT 1 FROM backlinks WHERE source_host = 'www.kitchenreview.com'")
    after = rows(
        store, "SELECT file, kept, rejected, reject_counts, warnings FROM backlink_imports"
    )
    for (file, kept, rejected), (_, kept_now, rejected_now, counts, warnings) in zip(
        before, after, strict=True
    ):
        dropped = kept - kept_now
        assert rejected_now == rejected + dropped, file
        if dropped:  # both files reported links from that host
            assert json.loads(counts)["internal"] >= dropped
            assert json.loads(warnings)[-1].startswith(
                f"{dropped} backlink(s) from www.kitchenreview.com removed after the import: "
                "it is ours"
            )
    dropped_in_all = sum(b[1] - a[1] for b, a in zip(before, after, strict=True))
    assert dropped_in_all >= removed  # a row two files reported counts in both
    assert drop_backlinks_from(store, ["www.kitchenreview.com"], why="again") == 0
    assert rows(store, "SELECT warnings FROM backlink_imports") == [(a[4],) for a in after]
