"""Topical relevance: TF-IDF cosine over titles, h1s, URLs and the crawl's signatures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reports.graph import SiteGraph, load_graph
from reports.relevance import (
    build_topic_index,
    closest_page,
    fold_term,
    terms_of_text,
    terms_of_url,
)
from tests.support.storebuilder import StoreBuilder

BASE = "https://site.test"


def graph_of(tmp_path: Path) -> SiteGraph:
    site = StoreBuilder(BASE)
    site.page("/", "/shop/boots", "/guides/boot-care", "/guides/tents", title="Home | Brand")
    site.page(
        "/shop/boots",
        title="Waterproof hiking boots | Brand",
        h1="Waterproof hiking boots",
        signature=json.dumps(["boots", "waterproof", "leather", "membrane"]),
    )
    site.page(
        "/guides/boot-care",
        title="Caring for leather boots | Brand",
        signature=json.dumps(["boots", "leather", "wax", "clean", "waterproof"]),
    )
    site.page(
        "/guides/tents",
        title="Pitching a tent in the wind | Brand",
        signature=json.dumps(["tent", "pegs", "wind", "guylines"]),
    )
    site.page("/123")  # no words at all
    return load_graph(site.build(tmp_path))


def test_terms_are_folded_to_a_crude_singular() -> None:
    assert [fold_term(t) for t in ("boots", "accessories", "glass", "status", "bus")] == [
        "boot",
        "accessory",
        "glass",
        "status",
        "bus",
    ]
    assert terms_of_text("Waterproof Boots, 2 pairs!") == ["waterproof", "boot", "pair"]
    assert terms_of_url("https://x.test/shop/hiking-boots.html?colour=red") == [
        "shop",
        "hiking",
        "boot",
        "colour",
        "red",
    ]


def test_related_pages_score_higher_than_unrelated_ones(tmp_path: Path) -> None:
    graph = graph_of(tmp_path)
    index = build_topic_index(graph)
    boots = graph.node(BASE + "/shop/boots")
    care = graph.node(BASE + "/guides/boot-care")
    tents = graph.node(BASE + "/guides/tents")
    blank = graph.node(BASE + "/123")
    assert boots is not None and care is not None and tents is not None and blank is not None
    similarity = index.similarity(boots)
    assert similarity[boots] == pytest.approx(1.0)
    assert similarity[care] > 0.2
    assert similarity[tents] < 0.01  # only the brand, on 4 of 5 pages, in common
    assert similarity[blank] == 0.0 and index.similarity(blank).sum() == 0.0
    assert index.pair(boots, care) == pytest.approx(similarity[care])
    assert np.all((similarity >= 0) & (similarity <= 1 + 1e-12))


def test_a_word_on_every_page_weighs_nothing(tmp_path: Path) -> None:
    graph = graph_of(tmp_path)
    index = build_topic_index(graph)
    column = index.vocabulary["brand"]
    assert index.idf[column] == pytest.approx(np.log(6 / 5))  # on 4 of 5 pages
    site = StoreBuilder(BASE)
    site.page("/", "/a", title="Same Brand")
    site.page("/a", title="Same Brand")
    index = build_topic_index(load_graph(site.build(tmp_path / "same")))
    assert index.pair(0, 1) == 0.0


def test_the_closest_page_to_a_dead_url(tmp_path: Path) -> None:
    graph = graph_of(tmp_path)
    index = build_topic_index(graph)
    match = closest_page(index, graph, BASE + "/shop/waterproof-boots-2019")
    assert match is not None and graph.urls[match.node] == BASE + "/shop/boots"
    assert match.reason == "similar" and match.score > 0
    # Anchors of the backlinks can say what the URL was about.
    match = closest_page(index, graph, BASE + "/p/123", extra_terms=["windy", "tent"])
    assert match is not None and graph.urls[match.node] == BASE + "/guides/tents"
    allowed = np.zeros(graph.n, bool)
    assert closest_page(index, graph, BASE + "/x", allowed=allowed) is None


def test_without_a_shared_word_the_parent_then_the_start_page(tmp_path: Path) -> None:
    site = StoreBuilder(BASE)
    site.page("/", "/2019/", title="Home")
    site.page("/2019/")
    graph = load_graph(site.build(tmp_path))
    index = build_topic_index(graph)
    match = closest_page(index, graph, BASE + "/2019/qqq")
    assert match is not None and (graph.urls[match.node], match.reason) == (
        BASE + "/2019/",
        "parent",
    )
    match = closest_page(index, graph, "https://elsewhere.test/2019/qqq")
    assert match is not None and (graph.urls[match.node], match.reason) == (BASE + "/", "start")
