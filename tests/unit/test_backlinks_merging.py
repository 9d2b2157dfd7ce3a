"""Merging the same link from several exports: the documented rules."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.backlinks import Backlink, BacklinkMerger, MergedBacklink, merge_backlinks
from pipelines.backlinks import store as store_module
from pipelines.backlinks.merging import MergedDomain, merge_domains, merge_records, richness
from pipelines.backlinks.model import ReferringDomain
from pipelines.backlinks.store import _RowMaker, _RowMerge, _StoredRows

SOURCE = "https://www.kitchenreview.com/best-kettles"
TARGET = "https://www.example.com/kettles/"


def link(**changes: Any) -> Backlink:
    values: dict[str, Any] = {
        "source_url": SOURCE,
        "source_host": "www.kitchenreview.com",
        "source_domain": "kitchenreview.com",
        "target_url": TARGET,
        "anchor": "electric kettles",
        "followed": True,
        "nofollow": False,
        "ugc": False,
        "sponsored": False,
        "is_image": False,
        "rel_reported": True,
        "lost": False,
        "lost_date": None,
        "lost_reported": True,
        "first_seen": "2024-01-10",
        "last_seen": "2026-04-01",
        "metric_name": "DR",
        "metric_value": 71.0,
        "authority": 0.71,
        "vendor": "ahrefs",
        "file": "ahrefs.csv",
        "line": 2,
    }
    values.update(changes)
    if values["nofollow"] or values["ugc"] or values["sponsored"]:
        values["followed"] = False
    return Backlink(**values)


def semrush(**changes: Any) -> Backlink:
    base = {
        "vendor": "semrush",
        "file": "semrush.csv",
        "line": 5,
        "metric_name": "AS",
        "metric_value": 38.0,
        "authority": 0.38,
    }
    return link(**{**base, **changes})


def gsc(**changes: Any) -> Backlink:
    base = {
        "vendor": "gsc",
        "file": "gsc.csv",
        "line": 3,
        "anchor": "",
        "rel_reported": False,
        "lost_reported": False,
        "first_seen": None,
        "metric_name": None,
        "metric_value": None,
        "authority": None,
    }
    return link(**{**base, **changes})


def test_one_backlink_per_source_and_target_with_every_vendor_and_origin() -> None:
    merged = merge_backlinks([link(), semrush(anchor="the shop"), gsc(last_seen="2026-05-11")])
    assert len(merged) == 1
    record = merged[0]
    assert isinstance(record, MergedBacklink)
    assert record.vendors == ("ahrefs", "gsc", "semrush")
    assert record.origins == (("ahrefs.csv", 2), ("semrush.csv", 5), ("gsc.csv", 3))
    assert record.anchor == "electric kettles"  # the richer record read first keeps its anchor
    assert (record.first_seen, record.last_seen) == ("2024-01-10", "2026-05-11")
    assert (record.metric_name, record.authority) == ("DR", 0.71)  # DR ranks before AS
    assert record.conflicts == ()


def test_different_targets_or_sources_stay_apart() -> None:
    merged = merge_backlinks(
        [link(), link(target_url="https://www.example.com/"), link(source_url=SOURCE + "?p=2")]
    )
    assert len(merged) == 3


def test_followed_disagreement_most_recent_observation_wins() -> None:
    older_follow = link(last_seen="2026-01-01")
    newer_nofollow = semrush(nofollow=True, last_seen="2026-05-10")
    for a, b in ((older_follow, newer_nofollow), (newer_nofollow, older_follow)):
        merged = merge_records(a, b)
        assert (merged.followed, merged.nofollow) == (False, True)
        assert merged.conflicts == ("followed",)
        assert merged.rel_seen == "2026-05-10"


def test_followed_tie_goes_to_not_followed() -> None:
    merged = merge_records(link(), semrush(ugc=True))
    assert (merged.followed, merged.ugc) == (False, True)
    assert merge_records(semrush(ugc=True), link()).followed is False


def test_a_vendor_that_does_not_report_rel_never_overrides_one_that_does() -> None:
    merged = merge_records(
        semrush(nofollow=True, last_seen="2025-01-01"), gsc(last_seen="2026-06-01")
    )
    assert merged.followed is False and merged.rel_reported
    # ... and its late last-seen does not make the rel look newer than it was observed:
    later = merge_records(merged, link(last_seen="2025-06-01"))
    assert later.followed is True and later.rel_seen == "2025-06-01"


def test_lost_disagreement_latest_observation_wins_and_lost_wins_a_tie() -> None:
    lost = link(lost=True, lost_date="2026-03-02", last_seen="2026-03-02")
    live_later = semrush(last_seen="2026-05-10")
    assert merge_records(lost, live_later).lost is False
    assert merge_records(lost, live_later).conflicts == ("lost",)
    live_same_day = semrush(last_seen="2026-03-02")
    merged = merge_records(live_same_day, lost)
    assert (merged.lost, merged.lost_date) == (True, "2026-03-02")
    assert merge_records(gsc(last_seen="2027-01-01"), lost).lost is True


def test_richest_record_gives_the_anchor() -> None:
    sparse = gsc(anchor="")
    rich = semrush(anchor="the shop")
    assert richness(rich) > richness(sparse)
    assert merge_records(sparse, rich).anchor == "the shop"
    assert merge_records(link(anchor=""), gsc(anchor="from gsc")).anchor == "from gsc"


def test_merge_is_idempotent() -> None:
    once = merge_records(link(), semrush(nofollow=True, last_seen="2026-05-10"))
    again = merge_records(once, link())
    assert again == dataclasses.replace(once)
    assert merge_records(once, once) == once


dates = st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()))


@st.composite
def records(draw: st.DrawFn) -> Backlink:
    rel, lost_reported = draw(st.booleans()), draw(st.booleans())
    lost = lost_reported and draw(st.booleans())
    metric = draw(st.sampled_from([None, "DR", "AS", "TF"]))
    value = None if metric is None else draw(st.floats(0, 100))
    return link(
        vendor=draw(st.sampled_from(["ahrefs", "semrush", "gsc", "majestic"])),
        line=draw(st.integers(1, 50)),
        nofollow=rel and draw(st.booleans()),
        rel_reported=rel,
        lost=lost,
        lost_date=draw(dates) if lost else None,
        lost_reported=lost_reported,
        last_seen=draw(dates),
        first_seen=draw(dates),
        metric_name=metric,
        metric_value=value,
        authority=None if value is None else value / 100,
    )


@settings(max_examples=300, deadline=None)
@given(a=records(), b=records())
def test_followed_lost_and_dates_do_not_depend_on_file_order(a: Backlink, b: Backlink) -> None:
    ab, ba = merge_records(a, b), merge_records(b, a)
    assert (ab.followed, ab.rel_reported) == (ba.followed, ba.rel_reported)
    assert (ab.lost, ab.lost_reported) == (ba.lost, ba.lost_reported)
    assert (ab.first_seen, ab.last_seen, ab.vendors) == (ba.first_seen, ba.last_seen, ba.vendors)
    assert set(ab.origins) == set(ba.origins)
    assert ab.conflicts == ba.conflicts


def test_merger_counts_and_sorted_order() -> None:
    merger = BacklinkMerger()
    for record in (link(), semrush(), link(source_url="https://a.example.org/")):
        merger.add(record)
    assert (merger.rows, len(merger)) == (3, 2)
    assert [r.source_url for r in merger.sorted_by_source()] == ["https://a.example.org/", SOURCE]
    assert merger.targets() == [TARGET]
    assert merger.get(SOURCE, TARGET) is not None


def test_domains_merge_best_metric_and_largest_counts() -> None:
    ahrefs = ReferringDomain("example.net", "DR", 38.0, 0.38, 2, None, None, "2023-03-03", None,
                             False, None, "ahrefs", "rd.csv", 4)  # fmt: skip
    sites = ReferringDomain("example.net", None, None, None, None, 5, 1, None, None, None, None,
                            "gsc", "sites.csv", 2)  # fmt: skip
    merged = merge_domains(MergedDomain.of(sites), MergedDomain.of(ahrefs))
    assert (merged.metric_name, merged.authority, merged.links, merged.linking_pages) == (
        "DR",
        0.38,
        2,
        5,
    )
    assert merged.vendors == ("ahrefs", "gsc") and merged.lost is False


_DAYS = st.one_of(st.none(), st.sampled_from(["2024-01-10", "2025-06-01", "2026-04-01"]))
_METRICS = st.sampled_from(
    [
        (None, None, None),
        ("DR", 71.0, 0.71),
        ("AS", 40.0, 0.4),
        ("UR", 12.0, 0.12),
        ("DR", None, None),
        ("XX", 5.0, 0.05),
    ]
)
_ORIGINS = st.lists(
    st.tuples(st.sampled_from(["a.csv", "b.csv", 'odd "[name].csv']), st.integers(2, 4)),
    min_size=1,
    max_size=3,
    unique=True,
).map(lambda pairs: json.dumps([list(p) for p in pairs], separators=(",", ":")))


@st.composite
def stored_rows(draw: st.DrawFn) -> tuple[Any, ...]:
    """A stored backlinks row (store._RECORD_COLUMNS), any mix of what it can say."""
    return (
        SOURCE,
        "www.kitchenreview.com",
        "kitchenreview.com",
        7,
        draw(st.sampled_from([None, "", "kettles", "tea"])),
        *draw(st.tuples(*[st.integers(0, 1)] * 6)),  # followed ... is_image, lost
        draw(_DAYS),  # lost_date
        draw(_DAYS),  # first_seen
        draw(_DAYS),  # last_seen
        *draw(_METRICS),
        draw(st.sampled_from(['["ahrefs"]', '["semrush"]', '["ahrefs","semrush"]', '["gsc"]'])),
        draw(_ORIGINS),
        draw(st.integers(0, 1)),  # rel_reported
        draw(st.integers(0, 1)),  # lost_reported
        draw(_DAYS),  # rel_seen
        draw(_DAYS),  # lost_seen
        draw(st.sampled_from([None, '["followed"]', '["lost"]', '["followed","lost"]'])),
        draw(st.sampled_from([None, "link", "domain"])),  # authority_source
    )


def merge_layout(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A stored row (store._RECORD_COLUMNS) as the import's merge reads it
    (store._MERGE_COLUMNS: the eight flags in one integer)."""
    flags = sum(row[column] << bit for bit, column in enumerate((5, 6, 7, 8, 9, 10, 19, 20)))
    return (row[4], flags, *row[11:19], row[21], row[22], row[23], row[24])


def columns(merged: tuple[Any, ...]) -> tuple[Any, ...]:
    """What the merge writes (store._MERGE_COLUMNS, then links) as backlinks columns."""
    anchor, flags, *middle, vendors, origins, rel_seen, lost_seen, conflicts, source, links = merged
    bits = [flags >> bit & 1 for bit in range(8)]
    return (
        anchor, *bits[:6], *middle, vendors, origins, *bits[6:], rel_seen, lost_seen, links,
        conflicts, source,
    )  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(rows=st.lists(stored_rows(), min_size=2, max_size=4))
def test_merging_stored_rows_gives_what_merge_records_gives(rows: list[tuple[Any, ...]]) -> None:
    # The import merges repeated keys on stored rows (store._RowMerge), not records.
    reader, maker, merger = _StoredRows(), _RowMaker({TARGET: 7}), _RowMerge()
    records = [reader.record(row, TARGET) for row in rows]
    expected = records[0]
    for record in records[1:]:
        expected = merge_records(expected, record)
    state = merger.state(merge_layout(rows[0]))
    for row in rows[1:]:
        state = merger.merge(state, merger.state(merge_layout(row)))
    assert columns(merger.out(state)) == maker.row(expected)[4:]


_TABLE_COLUMNS = (
    "source_url, source_host, source_domain, target_id, anchor, followed, nofollow, ugc, "
    "sponsored, is_image, lost, lost_date, first_seen, last_seen, metric_name, metric_value, "
    "authority, vendors, origins, rel_reported, lost_reported, rel_seen, lost_seen, conflicts, "
    "authority_source"
)


def _merged_groups(
    groups: list[tuple[tuple[Any, ...], list[tuple[Any, ...]], bool]], sql_pairs: bool
) -> tuple[list[Any], list[Any], tuple[Any, ...]]:
    """Run the import's merge on stored rows and their repeats: (m, n, counts)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {_TABLE_COLUMNS}, links DEFAULT 1)")
    conn.execute("ATTACH DATABASE ':memory:' AS bl_rep")
    conn.executescript(store_module._REPEATS_SCHEMA.replace("PRAGMA", "-- PRAGMA"))
    conn.executescript(store_module._RESULT_SCHEMA.format(schema="bl_rep"))
    seq = 0
    for number, (held, records, other_key) in enumerate(groups, 1):
        source = f"{SOURCE}?g={number}"
        conn.execute(
            f"INSERT INTO t (id, {_TABLE_COLUMNS}) VALUES ({', '.join('?' * 26)})",
            (number, source, *held[1:]),
        )
        for position, record in enumerate(records):
            seq += 1
            key_source = source + "&other" if other_key and position == 0 else source
            conn.execute(
                "INSERT INTO bl_rep.r (hash, seq, grp, cands, source_url, target_id, "
                f"{', '.join(store_module._MERGE_COLUMNS)}) VALUES ({', '.join('?' * 20)})",
                (number * 7919, seq, number, None, key_source, 7, *merge_layout(record)),
            )
    task = store_module.MergeTask(repeats_path="", first_new_id=len(groups) // 2 + 1)
    original = store_module.SQL_PAIRS
    store_module.SQL_PAIRS = sql_pairs
    try:
        result = store_module._merge(conn, "bl_rep", "main.t", task)
    finally:
        store_module.SQL_PAIRS = original
    m = conn.execute("SELECT * FROM bl_rep.m ORDER BY id").fetchall()
    n = conn.execute("SELECT * FROM bl_rep.n ORDER BY rowid").fetchall()
    counts = (result.updated, result.merged_into, result.fresh, result.multi_vendor,
              sorted(result.conflicts.items()))  # fmt: skip
    return m, n, counts


@settings(max_examples=300, deadline=None)
@given(
    groups=st.lists(
        st.tuples(
            stored_rows(), st.lists(stored_rows(), min_size=1, max_size=3), st.booleans()
        ).map(lambda g: (g[0], g[1], g[2] and len(g[1]) > 1)),
        min_size=1,
        max_size=6,
    )
)
def test_pairs_merged_in_sql_give_what_row_merge_gives(
    groups: list[tuple[tuple[Any, ...], list[tuple[Any, ...]], bool]],
) -> None:
    # The import merges the common pair (one repeat of a row, one vendor and one
    # file line each) in SQL, and anything else with _RowMerge: the same rows.
    assert _merged_groups(groups, sql_pairs=True) == _merged_groups(groups, sql_pairs=False)


def test_pairs_merged_in_sql_cover_the_common_case(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without this, the comparison above could pass with SQL merging nothing: the
    # same link in two exports never reaches _RowMerge.
    held = (SOURCE, "www.kitchenreview.com", "kitchenreview.com", 7, "kettles", 1, 0, 0, 0, 0,
            0, None, "2024-01-10", "2025-06-01", "DR", 71.0, 0.71, '["ahrefs"]', '[["a.csv",2]]',
            1, 1, "2025-06-01", "2025-06-01", None, "link")  # fmt: skip
    repeat = (*held[:5], 0, 1, 0, 0, 0, 1, "2026-04-01", *held[12:17], '["semrush"]',
              '[["b.csv",3]]', 1, 1, "2026-04-01", "2026-04-01", None, "link")  # fmt: skip

    def no_row_merge(*args: Any) -> None:
        raise AssertionError("merged row by row")

    monkeypatch.setattr(_RowMerge, "merge", no_row_merge)
    m, _, counts = _merged_groups([(held, [repeat], False)], sql_pairs=True)
    assert counts[:4] == (0, 1, 0, 1) and counts[4] == [("followed", 1), ("lost", 1)]
    # The later observation says nofollow and lost; the richer row keeps its anchor and DR.
    assert m[0][1:] == (
        "kettles", 0b11100010, "2026-04-01", "2024-01-10", "2025-06-01", "DR", 71.0, 0.71,
        '["ahrefs","semrush"]', '[["a.csv",2],["b.csv",3]]', "2026-04-01", "2026-04-01",
        '["followed","lost"]', "link", 1,
    )  # fmt: skip
