"""The crawl store's access layer."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pipelines import storedb
from pipelines.storedb import (
    EDGE_FLAG_FOLLOWED,
    EDGE_FLAG_INTERNAL,
    CrawlStore,
    StoreError,
    pack_edges,
    unpack_edges,
)


def test_intern_is_stable_and_bounded(tmp_path: Path) -> None:
    with CrawlStore(tmp_path, create=True, url_cache_size=3) as store:
        first = store.intern(f"https://ex.com/{i}" for i in range(10))
        again = store.intern(["https://ex.com/3", "https://ex.com/new", "https://ex.com/3"])
        assert again["https://ex.com/3"] == first["https://ex.com/3"]
        assert len(set(first.values())) == 10
        assert store.count("urls") == 11
        assert len(store._url_ids) <= 3


def test_edges_round_trip() -> None:
    flags = [2 | EDGE_FLAG_FOLLOWED, EDGE_FLAG_INTERNAL, 0]
    dst, got = unpack_edges(pack_edges([5, 2**40, 0], flags))
    assert dst.tolist() == [5, 2**40, 0]
    assert got.tolist() == flags
    assert isinstance(dst, np.ndarray)


def test_reader_refuses_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no crawl store"):
        CrawlStore(tmp_path)
    (tmp_path / "crawl.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError):
        CrawlStore(tmp_path)


def test_meta_round_trip(tmp_path: Path) -> None:
    with CrawlStore(tmp_path, create=True) as store:
        store.set_meta("finish_reason", "finished")
        store.set_meta("finish_reason", "shutdown")
    with CrawlStore(tmp_path) as store:
        assert store.get_meta("finish_reason") == "shutdown"
        assert store.get_meta("absent", 7) == 7


def _hold_a_rollback_journal_write(path: Path, seconds: float) -> threading.Thread:
    """Another connection switched to a rollback journal, writing for ``seconds``
    (what a large backlink import does between its commits)."""
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    assert writer.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO meta (key, value) VALUES ('writing', '1')")

    def finish() -> None:
        time.sleep(seconds)
        writer.execute("COMMIT")
        writer.close()

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def test_opening_waits_for_a_writer_out_of_wal_mode(tmp_path: Path) -> None:
    CrawlStore(tmp_path, create=True).close()
    thread = _hold_a_rollback_journal_write(tmp_path / "crawl.sqlite", 0.4)
    began = time.monotonic()
    with CrawlStore(tmp_path) as store:  # failed at once with "database is locked"
        waited = time.monotonic() - began
        assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store.get_meta("writing") == 1
    thread.join()
    assert 0.3 < waited < 5


def test_opening_gives_up_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    CrawlStore(tmp_path, create=True).close()
    monkeypatch.setattr(storedb, "WAL_WAIT_SECONDS", 0.2)
    thread = _hold_a_rollback_journal_write(tmp_path / "crawl.sqlite", 1.0)
    try:
        with pytest.raises(StoreError, match="being written by another process"):
            CrawlStore(tmp_path)
    finally:
        thread.join()
