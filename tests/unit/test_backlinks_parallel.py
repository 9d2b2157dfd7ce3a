"""A large import, read in regions by worker processes, stores what one process stores.

The exports are cut into many small regions (``REGION_BYTES`` made tiny) so
that region boundaries fall everywhere: inside records over several lines,
next to broken quotes, between the repeats of a link. Everything the import
writes and reports must equal the single-process import of the same files:
rows (ids included), import records, known URLs, domains, counts, rejects and
warnings with their line numbers.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import random
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from pipelines.backlinks import ImportResult, Site, import_backlinks, parsing, staging
from pipelines.backlinks import store as store_module
from pipelines.storedb import CrawlStore
from tests.support.backlink_exports import AHREFS_HEADER, SEMRUSH_HEADER

SITE = Site.from_urls(["https://www.example.com/"])


def links(rng: random.Random, count: int) -> list[tuple[str, str]]:
    out = []
    for i in range(count):
        domain = rng.randrange(300)  # few domains: repeated hosts, repeated links
        target = rng.choice(["", "kettles/", "teapots/", "blog/tea?page=2", "old-page"])
        out.append(
            (f"https://site{domain}.example.org/p/{i % 500}", f"https://www.example.com/{target}")
        )
    return out


def write_exports(folder: Path) -> list[Path]:
    rng = random.Random(7)
    pairs = links(rng, 1500)
    ahrefs = [AHREFS_HEADER]
    for number, (source, target) in enumerate(pairs):
        row = dict.fromkeys(AHREFS_HEADER, "")
        flag = rng.random()
        row.update({
            "Referring page title": "Title" + "x" * rng.randrange(60),  # lines of any length
            "Right context": "right\ncontext" * (number % 3 == 0),
            "Referring page URL": source, "Domain rating": str(rng.randrange(101)),
            "UR": str(rng.randrange(60)), "Target URL": target,
            "Anchor": rng.choice(["kettle", "", 'the "best" kettle', "tea\tpot", "théière"]),
            "Type": "image" if flag < 0.05 else "text",
            "Nofollow": "true" if flag < 0.3 else "false", "UGC": "false", "Sponsored": "false",
            "First seen": f"2025-0{rng.randrange(1, 10)}-1{rng.randrange(10)}",
            "Last seen": "someday" if number % 97 == 0 else f"2026-0{rng.randrange(1, 10)}-02",
            "Lost": "2026-03-03" if flag > 0.9 else "",
        })  # fmt: skip
        ahrefs.append([row[name] for name in AHREFS_HEADER])
    ahrefs.insert(300, ["broken"])  # a ragged row
    ahrefs.insert(600, AHREFS_HEADER[:3])  # another
    text = io.StringIO()
    csv.writer(text, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(ahrefs)
    lines = text.getvalue().splitlines(keepends=True)
    for at in (1300, 900, 90):  # quotes that never close, each swallowing the next 50 lines
        lines.insert(at, '"unbalanced\tquote\r\n')
    (folder / "ahrefs.csv").write_bytes(b"\xff\xfe" + "".join(lines).encode("utf-16-le"))

    semrush = io.StringIO()
    writer = csv.writer(semrush, lineterminator="\n")
    writer.writerow(SEMRUSH_HEADER)
    for number, (source, target) in enumerate(pairs[::3] + links(rng, 500)):
        writer.writerow([
            str(rng.randrange(101)), "Two\nlines" if number % 5 == 0 else "T" * rng.randrange(30),
            source, target,
            rng.choice(["kettle", "tea, pot", ""]), "1", "2",
            "true" if number % 4 == 0 else "false", "false", "false", "true", "false", "false",
            "false", "false", "2025-01-01", f"2026-0{rng.randrange(1, 10)}-05", "false",
            "true" if number % 11 == 0 else "false",
        ])  # fmt: skip
        if number in (100, 400):  # a quote that never closes: the next 50 lines are read again
            semrush.write(f'44,"Unclosed,{source},{target},x,1,2,false,false\n')
        if number == 200:
            semrush.write(
                "44,Off site,https://a.example.net/,https://elsewhere.example/,x,"
                + "1," * 13
                + "x\n"
            )
    data = semrush.getvalue().encode("utf-8")
    # A few lines in cp1252 after the first 64 KiB (read line by line as such).
    data = data[:70_000] + data[70_000:].replace(b"tea, pot", "th\u00e9 pot".encode("cp1252"), 5)
    (folder / "semrush.csv").write_bytes(data)

    (folder / "gsc.csv").write_text(
        "Linking page,Last crawled\n"
        + "".join(f"https://site{i}.example.org/p/{i},2026-05-0{i % 9 + 1}\n" for i in range(40))
    )
    (folder / "domains.csv").write_text(
        "#,Domain,Is spam,DR,Dofollow ref. domains,Dofollow linked domains,Traffic ,Keywords ,"
        "Links to target,New links,Lost links,Dofollow links,First seen,Lost\n"
        + "".join(
            f"{i},site{i}.example.org,false,{i % 90},1,1,1,1,1,0,0,1,2024-01-10,\n"
            for i in range(0, 300, 7)
        )
    )
    return [folder / name for name in ("ahrefs.csv", "semrush.csv", "gsc.csv", "domains.csv")]


def everything(store: CrawlStore, result: ImportResult) -> dict[str, Any]:
    conn = store.conn
    reports = [
        (r.file, r.format.key, r.header_line, r.rows_read, r.kept, r.rejected, r.lost,
         r.nofollow, len(r.referring_domains), dict(r.reject_counts),
         [(j.line, j.code, j.reason) for j in r.rejects], r.warnings, r.encoding, r.delimiter)
        for r in result.reports
    ]  # fmt: skip
    return {
        "backlinks": conn.execute("SELECT * FROM backlinks ORDER BY id").fetchall(),
        "imports": conn.execute(
            "SELECT * FROM backlink_imports ORDER BY id"
        ).fetchall(),
        "domains": conn.execute("SELECT * FROM backlink_domains ORDER BY domain").fetchall(),
        "known": conn.execute("SELECT * FROM known_urls ORDER BY url_id, source").fetchall(),
        "urls": conn.execute("SELECT * FROM urls ORDER BY id").fetchall(),
        "counts": conn.execute("SELECT * FROM backlink_target_counts").fetchall(),
        "result": (
            result.backlinks, result.added, result.updated, result.link_rows, result.merged,
            result.multi_vendor, dict(result.conflicts), result.domains,
            result.authority_filled, result.targets,
        ),
        "reports": reports,
    }  # fmt: skip


def without_times(found: dict[str, Any]) -> dict[str, Any]:
    found = dict(found)
    found["imports"] = [row[:1] + row[2:] for row in found["imports"]]  # imported_at
    return found


@pytest.mark.parametrize(
    ("replace_second", "start"), [(False, "fork"), (True, "fork"), (False, "spawn")]
)
def test_regions_read_by_workers_store_what_one_process_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace_second: bool, start: str
) -> None:
    files = write_exports(tmp_path)
    monkeypatch.setattr(store_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(store_module, "REGION_BYTES", 4096)
    # Workers fork from a plain process, and start afresh (spawn) in a crawl's.
    monkeypatch.setattr(store_module, "_worker_context", lambda: multiprocessing.get_context(start))
    found = []
    for workers in (1, 2):
        with CrawlStore(tmp_path / f"run-{workers}", create=True) as store:
            first = import_backlinks(store, files, site=SITE, workers=workers)
            snapshot = without_times(everything(store, first))
            # Again, into the stored backlinks (or replacing them).
            second = import_backlinks(
                store, files[:2], site=SITE, workers=workers, replace=replace_second
            )
            found.append((snapshot, without_times(everything(store, second))))
    (one_first, one_second), (many_first, many_second) = found
    assert many_first == one_first
    assert many_second == one_second
    # The files did cut into many regions, and the run holds what they say.
    report = one_first["reports"][0]
    assert report[3] > 1000  # rows read
    assert {"ragged", "quotes"} <= set(report[9])  # the broken rows are counted as such
    assert any("unreadable value(s) in column 'Last seen'" in w for w in report[11])
    assert any("not valid UTF-8" in w for w in one_first["reports"][1][11])
    assert one_first["result"][5] > 100  # links seen by both vendors
    vendors = {json.loads(row[18]) == ["ahrefs", "semrush"] for row in one_first["backlinks"]}
    assert vendors == {True, False}


def test_keys_that_share_a_hash_are_told_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every key hashed alike: the real keys decide, and nothing is merged by mistake,
    also when the rows a new import merges into were stored before (they then
    share one hash)."""
    files = write_exports(tmp_path)[:2]
    query = (
        "SELECT b.source_url, u.url, b.anchor, b.followed, b.lost, b.first_seen, b.last_seen, "
        "b.metric_name, b.vendors, b.origins, b.links, b.conflicts FROM backlinks b "
        "JOIN urls u ON u.id = b.target_id ORDER BY b.source_url, u.url"
    )

    def counts(result: ImportResult) -> tuple[Any, ...]:
        return (result.merged, result.updated, result.multi_vendor, result.conflicts)

    def run(folder: str) -> list[Any]:
        found: list[Any] = []
        with CrawlStore(tmp_path / folder, create=True) as store:
            found.append(counts(import_backlinks(store, files, site=SITE, workers=1)))
            found.append(store.conn.execute(query).fetchall())
            # Again, into the stored rows; then the Semrush file alone.
            found.append(counts(import_backlinks(store, files, site=SITE, workers=1)))
            found.append(counts(import_backlinks(store, files[1:], site=SITE, workers=1)))
            found.append(store.conn.execute(query).fetchall())
        return found

    expected = run("plain")

    # Residues modulo 1 are all 0, and so is every target's mix: one hash for all.
    monkeypatch.setattr(parsing, "KEY_PRIMES", (1, 1))
    monkeypatch.setattr(staging, "target_mix", lambda url: 0)
    assert run("colliding") == expected
    assert expected[2][1] > 1000  # the second import merged into stored rows


def test_workers_fork_only_from_a_plain_process() -> None:
    plain = store_module._worker_context().get_start_method()
    if sys.platform == "linux" and "twisted.internet.reactor" not in sys.modules:
        assert plain == "fork"
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:  # another thread (a crawl's): never fork
        assert store_module._worker_context().get_start_method() == "spawn"
    finally:
        release.set()
        other.join()


_MERGE_REPEATS = store_module.merge_repeats


def _merge_noting_what_it_reads(task: store_module.MergeTask) -> store_module.MergeResult:
    """merge_repeats, noting the databases its connection opened."""
    real_connect = sqlite3.connect
    opened: list[str] = []

    def connect(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(path, *args, **kwargs)
        opened.append(str(path))
        conn.set_trace_callback(
            lambda sql: opened.append(sql) if sql.upper().startswith("ATTACH") else None
        )
        return conn

    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        return _MERGE_REPEATS(task)
    finally:
        sqlite3.connect = real_connect  # type: ignore[assignment]
        Path(task.result_path + ".opened").write_text("\n".join(opened))


@pytest.mark.parametrize("alone", [True, False])
def test_workers_merge_from_the_repeats_file_while_the_table_is_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alone: bool
) -> None:
    """The workers merge from the repeats file alone (the records, and the rows
    they merge into, copied there as the repeats were met), never the store: so
    they can merge while the table is indexed through a rollback journal (whose
    commit a reader of the store would keep waiting). With the store to itself
    the table is written through the journal; with another connection open it
    stays in WAL mode."""
    files = write_exports(tmp_path)[:2]
    monkeypatch.setattr(store_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(store_module, "REGION_BYTES", 4096)
    monkeypatch.setattr(
        store_module, "_worker_context", lambda: multiprocessing.get_context("fork")
    )
    monkeypatch.setattr(store_module, "merge_repeats", _merge_noting_what_it_reads)
    opened: list[str] = []
    with CrawlStore(tmp_path / "run", create=True) as store:
        other = None if alone else sqlite3.connect(store.path)
        if other is not None:
            other.execute("SELECT count(*) FROM backlinks").fetchone()

        def apply_merges(run: Any, parts: Any) -> None:
            for part in range(len(parts)):
                opened.extend(
                    Path(run._merge_task(part).result_path + ".opened").read_text().splitlines()
                )
            apply(run, parts)

        apply = store_module._Import._apply_merges
        monkeypatch.setattr(store_module._Import, "_apply_merges", apply_merges)
        modes: list[str] = []
        result = import_backlinks(
            store,
            files,
            site=SITE,
            workers=2,
            on_file=lambda report: modes.append(
                store.conn.execute("PRAGMA main.journal_mode").fetchone()[0]
            ),
        )
        after = store.conn.execute("PRAGMA main.journal_mode").fetchone()[0]
        if other is not None:
            other.close()
    assert modes == (["delete", "delete"] if alone else ["wal", "wal"])
    assert after == "wal"  # the store's own mode, once the import is over
    # Both parts merged in the workers, from their own file and the repeats file.
    assert len([line for line in opened if line.startswith("ATTACH")]) == 2
    assert not any(str(store.path) in line for line in opened)
    assert result.multi_vendor > 100
