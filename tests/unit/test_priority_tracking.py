"""Priority URLs and graph lookups use the run's tracking parameters, not the default list.

The run below was crawled with ``LINKSPIDER_TRACKING_PARAMS=ref``: ``ref`` is
dropped (the default list keeps it) and ``utm_source`` is kept (the default
list drops it), so ``/teapots?utm_source=spring`` is a page of its own. With
the default list, ``/kettle?ref=news`` names no page and
``/teapots?utm_source=spring`` names the wrong one.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from linkspider.urlnorm import UrlNormaliser
from pipelines.storedb import StoreError
from reports.config import EquityConfig
from reports.graph import SiteGraph, load_graph
from reports.pipeline import ReportError, generate_report
from reports.priority import (
    PriorityEntry,
    match_priority,
    parse_priority,
    priority_targets,
    read_priority_file,
)
from tests.support.storebuilder import StoreBuilder

RUN_PARAMS = ("ref",)
BASE = "https://site.test"
KETTLE_AS_SHARED = BASE + "/kettle?ref=news"  # a link copied from a newsletter
KETTLE = BASE + "/kettle"  # what the crawl stored
SPRING = BASE + "/teapots?utm_source=spring"  # a page of its own on this site
TEAPOTS = BASE + "/teapots"


def run_site() -> StoreBuilder:
    site = StoreBuilder(BASE, tracking_params=RUN_PARAMS)
    site.page("/", "/kettle?ref=home", "/teapots?utm_source=spring", "/teapots", title="Home")
    site.page("/kettle", "/", title="Kettle")
    site.page("/teapots?utm_source=spring", "/", title="Spring teapots")
    site.page("/teapots", "/", title="Teapots")
    return site


def default_site() -> StoreBuilder:
    """The same links crawled with the default list (``ref`` kept, ``utm_source`` dropped)."""
    site = StoreBuilder(BASE)
    site.page("/", "/kettle?ref=home", "/teapots?utm_source=spring", title="Home")
    site.page("/kettle?ref=home", "/", title="Kettle").page("/teapots", "/", title="Teapots")
    return site


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return run_site().build(tmp_path / "run")


@pytest.fixture
def graph(store: Path) -> SiteGraph:
    return load_graph(store)


def node(graph: SiteGraph, url: str) -> int:
    index = graph._index_of_url.get(url)
    assert index is not None, url
    return index


# -- the graph ------------------------------------------------------------------------


def test_the_graph_resolves_urls_with_the_runs_recorded_list(graph: SiteGraph) -> None:
    assert graph.node(KETTLE_AS_SHARED) == node(graph, KETTLE)
    assert graph.resolve(KETTLE_AS_SHARED).url == KETTLE
    # A URL the crawl stored resolves to itself, not to the page without its query.
    assert graph.node(SPRING) == node(graph, SPRING) != node(graph, TEAPOTS)
    assert graph.normaliser.tracking_params == RUN_PARAMS


def test_load_graph_takes_a_normaliser(store: Path) -> None:
    graph = load_graph(store, normaliser=UrlNormaliser())
    assert graph.resolve(KETTLE_AS_SHARED).outcome == "unknown"
    assert graph.node(SPRING) == node(graph, TEAPOTS)


def test_a_run_that_recorded_no_list_uses_the_default_one(tmp_path: Path) -> None:
    graph = load_graph(default_site().build(tmp_path / "old"))
    assert graph.normaliser.tracking_params == UrlNormaliser().tracking_params
    assert graph.node(SPRING) == node(graph, TEAPOTS)
    assert graph.node(BASE + "/kettle?ref=home") == node(graph, BASE + "/kettle?ref=home")


def test_start_urls_are_normalised_with_the_runs_list(tmp_path: Path) -> None:
    site = StoreBuilder(BASE, tracking_params=RUN_PARAMS)
    site.page("/?utm_source=app", "/", title="App home").page("/", title="Home")
    path = site.build(tmp_path / "run")
    with sqlite3.connect(path) as conn:
        # Only the recorded meta start_urls say where the crawl started.
        conn.execute("DELETE FROM known_urls WHERE source = 'start'")
    conn.close()
    graph = load_graph(path)
    assert graph.start_nodes.tolist() == [node(graph, BASE + "/?utm_source=app")]


def test_a_malformed_recorded_list_is_a_one_line_store_error(tmp_path: Path) -> None:
    path = default_site().meta(tracking_params=42).build(tmp_path / "run")
    with pytest.raises(StoreError, match="recorded tracking_params") as caught:
        load_graph(path)
    assert "\n" not in str(caught.value)


# -- priority entries -----------------------------------------------------------------


def test_parse_priority_normalises_urls_with_the_given_normaliser() -> None:
    lines = [KETTLE_AS_SHARED, SPRING, "re:teapots"]
    default = parse_priority(lines)
    assert [e.pattern for e in default[:2]] == [KETTLE_AS_SHARED, TEAPOTS]
    run = parse_priority(lines, normaliser=UrlNormaliser(tracking_params=RUN_PARAMS))
    assert [e.pattern for e in run] == [KETTLE, SPRING, "teapots"]
    assert [e.text for e in run[:2]] == [KETTLE_AS_SHARED, SPRING]


def test_read_priority_file_passes_the_normaliser_on(tmp_path: Path) -> None:
    path = tmp_path / "money.txt"
    path.write_text(f"{KETTLE_AS_SHARED}\n{SPRING}\n", encoding="utf-8")
    entries = read_priority_file(path, normaliser=UrlNormaliser(tracking_params=RUN_PARAMS))
    assert [e.pattern for e in entries] == [KETTLE, SPRING]


def test_match_priority_resolves_with_the_graphs_normaliser(graph: SiteGraph) -> None:
    entries = [
        PriorityEntry(SPRING, "url", SPRING, "money.txt:1"),
        PriorityEntry(KETTLE_AS_SHARED, "url", KETTLE_AS_SHARED, "money.txt:2"),
    ]
    spring, kettle = match_priority(graph, entries)
    assert (spring.nodes.tolist(), spring.reason) == ([node(graph, SPRING)], "given")
    assert kettle.nodes.tolist() == [node(graph, KETTLE)]


def test_priority_targets_normalise_with_the_runs_list(graph: SiteGraph, tmp_path: Path) -> None:
    expected = [[node(graph, KETTLE)], [node(graph, SPRING)]]
    given = priority_targets(graph, EquityConfig(), [KETTLE_AS_SHARED, SPRING])
    assert [t.nodes.tolist() for t in given] == expected
    assert [t.label for t in given] == [KETTLE, SPRING]
    listing = tmp_path / "money.txt"
    listing.write_text(f"{KETTLE_AS_SHARED}\n{SPRING}\n", encoding="utf-8")
    from_file = priority_targets(graph, EquityConfig(priority_file=str(listing)))
    assert [t.nodes.tolist() for t in from_file] == expected
    from_path = priority_targets(graph, EquityConfig(), listing)
    assert [t.nodes.tolist() for t in from_path] == expected
    patterns = EquityConfig(priority_patterns=(KETTLE_AS_SHARED, SPRING))
    assert [t.nodes.tolist() for t in priority_targets(graph, patterns)] == expected


def test_the_priority_file_the_crawl_recorded(tmp_path: Path) -> None:
    listing = tmp_path / "money.txt"
    listing.write_text(f"{KETTLE_AS_SHARED}\n", encoding="utf-8")
    site = run_site().meta(priority_file=str(listing))
    graph = load_graph(site.build(tmp_path / "run"))
    (target,) = priority_targets(graph, EquityConfig())
    assert target.nodes.tolist() == [node(graph, KETTLE)]


# -- the report -----------------------------------------------------------------------


def _priority_headline(run: Path, out: Path, settings: dict[str, str]) -> dict[str, object]:
    generate_report(run, out_dir=out, settings=settings, analyse=None)
    summary = json.loads((out / "data" / "summary.json").read_text(encoding="utf-8"))
    return {
        "pages": summary["headline"]["priority_pages"],
        "urls": sorted(p["url"] for p in summary["priority_pages"]),
    }


def test_generate_report_finds_priority_pages_with_the_runs_list(
    store: Path, tmp_path: Path
) -> None:
    settings = {"EQUITY_PRIORITY": json.dumps([KETTLE_AS_SHARED, SPRING])}
    # Today's setting differs from the run's: the run's list wins.
    settings["LINKSPIDER_TRACKING_PARAMS"] = "utm_*"
    assert _priority_headline(store.parent, tmp_path / "report", settings) == {
        "pages": 2,
        "urls": [KETTLE, SPRING],
    }


def test_generate_report_falls_back_on_the_setting_for_an_old_run(
    store: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'tracking_params'")
    conn.close()
    settings = {"EQUITY_PRIORITY": json.dumps([KETTLE_AS_SHARED, SPRING])}
    default = _priority_headline(store.parent, tmp_path / "default", settings)
    assert default["urls"] == sorted([KETTLE_AS_SHARED, TEAPOTS])  # one missing, one wrong
    settings["LINKSPIDER_TRACKING_PARAMS"] = "ref"
    assert _priority_headline(store.parent, tmp_path / "setting", settings) == {
        "pages": 2,
        "urls": [KETTLE, SPRING],
    }


def test_generate_report_a_malformed_recorded_list_is_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    default_site().meta(tracking_params={"ref": 1}).build(run)
    with pytest.raises(ReportError, match="LINKSPIDER_TRACKING_PARAMS") as caught:
        generate_report(run, out_dir=tmp_path / "never", settings={})
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "never").exists()
