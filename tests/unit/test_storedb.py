"""The crawl store's access layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
