"""EQUITY_* settings and priority lists: parsing, defaults, one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.storedb import POSITIONS
from reports.config import ConfigError, EquityConfig
from reports.graph import load_graph
from reports.priority import (
    PriorityError,
    guess_priority,
    match_priority,
    parse_priority,
    priority_targets,
    read_priority_file,
)
from tests.support.storebuilder import StoreBuilder


class SettingsLike:
    """Only ``.get``, like scrapy.settings.Settings (values as given with -s)."""

    def __init__(self, values: dict[str, object]) -> None:
        self.values = values

    def get(self, name: str, default: object = None) -> object:
        return self.values.get(name, default)


def test_defaults() -> None:
    config = EquityConfig.from_settings({})
    assert config == EquityConfig()
    assert config.damping == 0.85
    assert config.backlink_mix == 0.85
    assert config.tolerance == 1e-10
    weights = dict(zip(POSITIONS, config.position_weights, strict=True))
    assert weights == {
        "content": 1.0,
        "nav": 0.4,
        "header": 0.4,
        "footer": 0.2,
        "aside": 0.5,
        "breadcrumb": 0.6,
    }


def test_command_line_strings_are_parsed() -> None:
    config = EquityConfig.from_settings(
        SettingsLike(
            {
                "EQUITY_DAMPING": "0.9",
                "EQUITY_POSITION_WEIGHTS": '{"nav": 0.1}',
                "EQUITY_BACKLINK_MIX": "0.5",
                "EQUITY_AUTHORITY": "COUNT",
                "EQUITY_UNKNOWN_AUTHORITY": "0.3",
                "EQUITY_TOLERANCE": "1e-12",
                "EQUITY_SECTIONS": "2",
                "EQUITY_PRIORITY": "priority.txt",
                "EQUITY_PRIORITY_GUESS": "false",
                "EQUITY_PRIORITY_LIMIT": "5",
                "EQUITY_ROUTES": "3",
                "EQUITY_MAX_SECTIONS": "10",
                "EQUITY_WHATIF_RTOL": "0",
                "EQUITY_MAX_ITERATIONS": "50",
            }
        )
    )
    assert config.damping == 0.9
    assert config.weight_of("nav") == 0.1
    assert config.weight_of("content") == 1.0
    assert config.weights_name == "custom"
    assert (config.backlink_mix, config.authority, config.unknown_authority) == (0.5, "count", 0.3)
    assert (config.tolerance, config.section_depth, config.priority_file) == (
        1e-12,
        2,
        "priority.txt",
    )
    assert (config.priority_guess, config.priority_limit, config.routes) == (False, 5, 3)
    assert (config.max_sections, config.whatif_rtol, config.max_iterations) == (10, 0.0, 50)
    assert config.to_dict()["position_weights"]["nav"] == 0.1


def test_presets_groups_and_pattern_lists() -> None:
    uniform = EquityConfig.from_settings({"EQUITY_POSITION_WEIGHTS": "uniform"})
    assert set(uniform.position_weights) == {1.0}
    grouped = EquityConfig.from_settings(
        {"EQUITY_SECTIONS": [["Shop", "/shop/"], ["Blog", "/blog/"]], "EQUITY_PRIORITY": ["re:x"]}
    )
    assert grouped.section_groups == (("Shop", "/shop/"), ("Blog", "/blog/"))
    assert grouped.priority_patterns == ("re:x",)
    assert (
        EquityConfig.from_settings({"EQUITY_UNKNOWN_AUTHORITY": "median"}).unknown_authority is None
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EQUITY_DAMPING", "1", r"EQUITY_DAMPING must be in \(0, 1\)"),
        ("EQUITY_DAMPING", "abc", "EQUITY_DAMPING must be a number"),
        ("EQUITY_POSITION_WEIGHTS", "heavy", "EQUITY_POSITION_WEIGHTS must be one of"),
        ("EQUITY_POSITION_WEIGHTS", '{"sidebar": 1}', "unknown position"),
        ("EQUITY_POSITION_WEIGHTS", '{"nav": -1}', r"EQUITY_POSITION_WEIGHTS\[nav\]"),
        ("EQUITY_POSITION_WEIGHTS", "{nav: 1}", "not valid JSON"),
        ("EQUITY_BACKLINK_MIX", "1.5", "EQUITY_BACKLINK_MIX must be in"),
        ("EQUITY_AUTHORITY", "pagerank", "metric or count"),
        ("EQUITY_TOLERANCE", "0", "EQUITY_TOLERANCE must be in"),
        ("EQUITY_SECTIONS", '{"Shop": "(("}', "not a valid regex"),
        ("EQUITY_SECTIONS", "-1", "EQUITY_SECTIONS must be between"),
        ("EQUITY_PRIORITY_GUESS", "maybe", "true or false"),
        ("EQUITY_PRIORITY_LIMIT", "2.5", "whole number"),
    ],
)
def test_bad_values_give_one_line_errors(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        EquityConfig.from_settings({name: value})
    assert "\n" not in str(caught.value)


def test_all_zero_weights_are_refused() -> None:
    zero = {p: 0 for p in POSITIONS}
    with pytest.raises(ConfigError, match="weight of 0"):
        EquityConfig.from_settings({"EQUITY_POSITION_WEIGHTS": zero})


# -- priority lists ---------------------------------------------------------------


def test_parse_priority_lines() -> None:
    entries = parse_priority(
        [
            "# money pages",
            "",
            "https://Site.test/pricing?utm_source=x  # the plans",
            "re:/products/[^/]+$",
            "https://site.test/shop/*",
        ],
        origin="money.txt",
    )
    assert [(e.kind, e.pattern, e.origin) for e in entries] == [
        ("url", "https://site.test/pricing", "money.txt:3"),
        ("regex", "/products/[^/]+$", "money.txt:4"),
        ("glob", r"^https://site\.test/shop/.*$", "money.txt:5"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/pricing", r"list.txt:1: '/pricing' is not an absolute http\(s\) URL"),
        ("re:([", "list.txt:1: invalid regular expression"),
        ("/shop/*", "list.txt:1: a wildcard pattern must start with"),
    ],
)
def test_bad_priority_lines_name_file_and_line(line: str, message: str) -> None:
    with pytest.raises(PriorityError, match=message):
        parse_priority([line], origin="list.txt")


def test_read_priority_file(tmp_path: Path) -> None:
    path = tmp_path / "priority.txt"
    path.write_text("\ufeffhttps://site.test/a\nre:/b\n", encoding="utf-8")
    assert [e.kind for e in read_priority_file(path)] == ["url", "regex"]
    with pytest.raises(PriorityError, match="does not exist"):
        read_priority_file(tmp_path / "missing.txt")
    (tmp_path / "latin.txt").write_bytes(b"https://site.test/\xe9\n")
    with pytest.raises(PriorityError, match="cannot be read"):
        read_priority_file(tmp_path / "latin.txt")


def test_match_priority_resolves_like_links(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/old", "/products/a", "/products/b").page("/products/a").page("/products/b")
    site.redirect("/old", "/products/a").error("/dead")
    graph = load_graph(site.build(tmp_path))
    entries = parse_priority(
        [
            "https://site.test/old",
            "https://site.test/products/*",
            "https://site.test/dead",
            "https://site.test/never",
            "re:nothing-matches",
        ]
    )
    old, glob, dead, never, nothing = match_priority(graph, entries)
    assert old.nodes.tolist() == [graph.node("https://site.test/products/a")]
    assert "resolves to https://site.test/products/a" in old.reason
    assert glob.nodes.size == 2 and glob.kind == "glob"
    assert not dead.found and "broken" in dead.reason
    assert not never.found and never.reason == "not in the crawl"
    assert not nothing.found
    assert not old.guessed


def test_guess_priority(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/pricing", "/products/a", "/products/b", "/products/c", "/blog/x")
    site.page("/pricing").page("/products/a").page("/products/b").page("/blog/x")
    site.page("/products/c", noindex=True).page("/cart/items").page("/about")
    graph = load_graph(site.build(tmp_path))
    targets = guess_priority(graph)
    assert [t.label for t in targets] == [
        "https://site.test/products/*",
        "https://site.test/pricing",
    ]
    assert all(t.guessed and "guessed" in t.reason for t in targets)
    assert targets[0].nodes.size == 2  # the noindex product is left out
    assert guess_priority(graph, limit=1)[0].label.endswith("/products/*")


def test_priority_targets_dispatch(tmp_path: Path) -> None:
    site = StoreBuilder().page("/", "/pricing").page("/pricing")
    graph = load_graph(site.build(tmp_path))
    listing = tmp_path / "p.txt"
    listing.write_text("https://site.test/\n", encoding="utf-8")
    from_file = EquityConfig(priority_file=str(listing))
    assert priority_targets(graph, from_file)[0].nodes.tolist() == [0]
    assert priority_targets(graph, EquityConfig())[0].guessed
    assert priority_targets(graph, EquityConfig(priority_guess=False)) == []
    assert priority_targets(graph, EquityConfig(), []) == []
    given = priority_targets(graph, EquityConfig(), ["re:pricing"])
    assert np.array_equal(given[0].nodes, [1])
    assert priority_targets(graph, EquityConfig(), listing)[0].kind == "url"


def test_priority_file_recorded_by_the_crawl(tmp_path: Path) -> None:
    listing = tmp_path / "money.txt"
    listing.write_text("https://site.test/pricing\n", encoding="utf-8")
    site = StoreBuilder().page("/", "/pricing").page("/pricing").meta(priority_file=str(listing))
    graph = load_graph(site.build(tmp_path / "run"))
    (target,) = priority_targets(graph, EquityConfig())
    assert (target.kind, target.origin) == ("url", f"{listing}:1")
    listing.unlink()  # gone since the crawl: fall back to guessing
    assert priority_targets(graph, EquityConfig())[0].guessed


def test_scrapy_settings_object() -> None:
    from scrapy.settings import Settings  # noqa: PLC0415 - the shell's type, in one test

    settings = Settings({"EQUITY_DAMPING": "0.8"})
    settings.set("EQUITY_SECTIONS", '[["Shop", "^https://shop"]]', priority="cmdline")
    config = EquityConfig.from_settings(settings)
    assert config.damping == 0.8
    assert config.section_groups == (("Shop", "^https://shop"),)


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="EQUITY_POSITION_WEIGHTS"):
        EquityConfig(position_weights=(0.0,) * len(POSITIONS))
    with pytest.raises(ConfigError, match="EQUITY_BACKLINK_MIX"):
        EquityConfig(backlink_mix=2.0)
