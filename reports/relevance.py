"""Topical relevance between pages: TF-IDF cosine over their titles, h1s, URLs and terms.

Each crawled page already carries a *signature* in the store: its top terms
(title and h1 counted three times, then the main text), as the crawl computed
them. A page's document here is that signature plus the words of its title, its
h1 and its URL path, each word folded to a crude singular (``boots`` ->
``boot``, ``accessories`` -> ``accessory``) so a product page and a guide about
the same thing share terms.

Weights are TF-IDF: ``tf = 1 + ln(count)`` with the title and h1 words counted
twice, ``idf = ln((1 + N) / (1 + df))``, rows scaled to unit length, so the
relevance of two pages is the dot product of their rows: a cosine in [0, 1].
Unlike scikit-learn's smoothed idf there is no ``+ 1``: a word on every page
(the brand in every title) weighs exactly 0, so it never makes two pages look
related.

Why not scikit-learn's ``TfidfVectorizer``: the text is already reduced to
terms by the crawl, so what the library would add here (tokenising, n-grams,
stop words) is not used; what remains is the idf weighting, the row norms and
a sparse product, a few lines on ``scipy.sparse``, which the model already
needs. scikit-learn 1.9 would add 31.5 MB installed (a 9.3 MB wheel) plus
joblib and threadpoolctl to every install and to the Scrapyd egg's
environment (measured 2026-11-21).
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import unquote, urlsplit

import numpy as np
import scipy.sparse as sp

from pipelines.storedb import CrawlStore
from reports.graph import SiteGraph

__all__ = [
    "PageMatch",
    "TopicIndex",
    "build_topic_index",
    "closest_page",
    "fold_term",
    "terms_of_text",
    "terms_of_url",
]

# The crawl's own term pattern (linkspider.extract): letters only, 3 or more.
_TERM: Final = re.compile(r"[^\W\d_]{3,}")
_HEADING_WEIGHT: Final = 2
# Path words that name the URL's machinery rather than its topic.
_URL_NOISE: Final = frozenset({"html", "htm", "php", "asp", "aspx", "jsp", "index", "www", "http"})
# Pages whose path bonus is looked at when suggesting a redirect target.
_BONUS_POOL: Final = 200


@lru_cache(maxsize=65_536)
def fold_term(term: str) -> str:
    """A crude singular, applied to both sides of every comparison.

    ``accessories`` -> ``accessory``, ``boots`` -> ``boot``; words ending in
    ``ss``/``us``/``is`` and short words are left alone.
    """
    if len(term) > 4 and term.endswith("ies"):
        return term[:-3] + "y"
    if len(term) > 3 and term.endswith("s") and not term.endswith(("ss", "us", "is")):
        return term[:-1]
    return term


def terms_of_text(text: str | None) -> list[str]:
    """Folded terms of a piece of text (a title, an anchor)."""
    if not text:
        return []
    return [fold_term(t) for t in _TERM.findall(text.casefold())]


def terms_of_url(url: str) -> list[str]:
    """Folded terms of a URL's path and query values (the host is left out)."""
    # Normalised absolute URLs: everything after the host, without urlsplit's cost.
    rest = url.split("://", 1)[-1]
    cut = rest.find("/")
    text = rest[cut:].split("#", 1)[0] if cut >= 0 else ""
    if "%" in text:
        text = unquote(text)
    return [t for t in terms_of_text(text) if t not in _URL_NOISE]


@dataclass(frozen=True, eq=False)
class TopicIndex:
    """TF-IDF rows of every page (node order), unit length.

    Attributes
    ----------
    matrix : scipy.sparse.csr_array, shape (n, V)
        Row ``i`` is page ``i``'s TF-IDF vector (all zero for a page with no
        terms).
    vocabulary : dict of str to int
        Column of each term.
    idf : ndarray of float64, shape (V,)
    """

    matrix: sp.csr_array
    vocabulary: dict[str, int]
    idf: np.ndarray

    @property
    def n(self) -> int:
        """Number of pages."""
        return int(self.matrix.shape[0])

    def similarity(self, page: int) -> np.ndarray:
        """Relevance of every page to ``page`` (cosine, 0-1; 1 for the page itself
        unless it has no terms)."""
        row = self.matrix[[page]].toarray().ravel()
        return np.asarray(self.matrix @ row).ravel()

    def pair(self, a: int, b: int) -> float:
        """Relevance of two pages."""
        left = self.matrix[[a]]
        right = self.matrix[[b]]
        return float((left @ right.T).toarray()[0, 0])

    def vector(self, terms: Iterable[str]) -> np.ndarray:
        """The unit TF-IDF vector of a bag of (already folded) terms; unknown terms drop out."""
        counts = Counter(t for t in terms if t in self.vocabulary)
        query = np.zeros(int(self.matrix.shape[1]))
        for term, count in counts.items():
            column = self.vocabulary[term]
            query[column] = (1.0 + math.log(count)) * self.idf[column]
        norm = float(np.linalg.norm(query))
        return query / norm if norm > 0 else query

    def query(self, terms: Iterable[str]) -> np.ndarray:
        """Relevance of every page to a bag of folded terms (e.g. a dead URL's words)."""
        return np.asarray(self.matrix @ self.vector(terms)).ravel()


def _document_terms(
    url: str, title: str | None, h1: str | None, signature: str | None
) -> Iterator[tuple[str, int]]:
    """``(term, weight)`` pairs of one page; a term may come several times."""
    heading_terms = terms_of_text(title)
    if h1 and h1 != title:
        heading_terms += terms_of_text(h1)
    elif h1:
        heading_terms += heading_terms
    for term in heading_terms:
        yield term, _HEADING_WEIGHT
    for term in terms_of_url(url):
        yield term, 1
    if signature:
        try:
            terms = json.loads(signature)
        except ValueError:
            terms = []
        if isinstance(terms, list):
            for term in terms:
                if isinstance(term, str):
                    yield fold_term(term.casefold()), 1


def build_topic_index(
    graph: SiteGraph, store: CrawlStore | sqlite3.Connection | None = None
) -> TopicIndex:
    """Build the TF-IDF index of a run's pages.

    Parameters
    ----------
    graph : SiteGraph
        The pages (nodes) to index, in node order.
    store : CrawlStore or sqlite3.Connection, optional
        Where the h1s and signatures are read; default the graph's store file.
        Without one, titles and URLs alone are used.

    Returns
    -------
    TopicIndex
    """
    n = graph.n
    facts: dict[int, tuple[str | None, str | None]] = {}
    conn: sqlite3.Connection | None = None
    own = False
    if isinstance(store, CrawlStore):
        conn = store.conn
    elif store is not None:
        conn = store
    elif graph.store_path is not None and graph.store_path.is_file():
        conn = sqlite3.connect(f"file:{graph.store_path}?mode=ro", uri=True)
        own = True
    if conn is not None:
        try:
            cursor = conn.execute("SELECT url_id, h1, signature FROM pages WHERE kind = 'html'")
            while batch := cursor.fetchmany(20_000):
                for url_id, h1, signature in batch:
                    node = int(graph.node_of_url[url_id]) if url_id < graph.node_of_url.size else -1
                    if node >= 0:
                        facts[node] = (h1, signature)
        finally:
            if own:
                conn.close()
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    columns: list[int] = []
    counts: list[int] = []
    for node in range(n):
        h1, signature = facts.get(node, (None, None))
        for term, weight in _document_terms(graph.urls[node], graph.title[node], h1, signature):
            rows.append(node)
            columns.append(vocabulary.setdefault(term, len(vocabulary)))
            counts.append(weight)
    size = max(len(vocabulary), 1)
    # Repeated (page, term) pairs add up into the term's count on the page.
    raw = sp.csr_array(
        (np.asarray(counts, dtype=np.float64), (np.asarray(rows), np.asarray(columns))),
        shape=(n, size),
    )
    raw.sum_duplicates()
    tf = sp.csr_array((1.0 + np.log(raw.data), raw.indices, raw.indptr), shape=(n, size))
    df = np.bincount(raw.indices, minlength=size).astype(np.float64)
    idf = np.log((1.0 + n) / (1.0 + df))
    weighted = tf @ sp.diags_array(idf)
    weighted = sp.csr_array(weighted)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    matrix = sp.csr_array(sp.diags_array(scale) @ weighted)
    return TopicIndex(matrix=matrix, vocabulary=vocabulary, idf=idf[: len(vocabulary)])


@dataclass(frozen=True)
class PageMatch:
    """The live page closest to a dead URL.

    Attributes
    ----------
    node : int
    score : float
        Text similarity (cosine of the URL's words and the backlinks' anchors
        with the page's document) plus the path bonus; 0 when chosen by the
        fallback.
    reason : str
        ``similar`` (by words), ``parent`` (closest page up the path) or
        ``start`` (the start page).
    """

    node: int
    score: float
    reason: str


def _directories(url: str) -> list[str]:
    parts = urlsplit(url)
    return [s for s in parts.path.split("/")[:-1] if s]


def closest_page(
    index: TopicIndex,
    graph: SiteGraph,
    url: str,
    *,
    extra_terms: Iterable[str] = (),
    allowed: np.ndarray | None = None,
    path_bonus: float = 0.1,
) -> PageMatch | None:
    """The live page most similar to a URL by its path words and title.

    Scores every allowed page by the cosine between the URL's words (plus
    ``extra_terms``, e.g. the anchors of the backlinks pointing at it) and the
    page's document, plus ``path_bonus`` times the fraction of the URL's
    directories the page shares from the left (``/shop/old-kettle`` prefers
    pages under ``/shop/`` at equal words). When no page shares a word, falls
    back to the closest page up the path, then to the start page.

    Parameters
    ----------
    index : TopicIndex
    graph : SiteGraph
    url : str
        The dead URL (absolute).
    extra_terms : iterable of str
        More words describing it (folded here).
    allowed : ndarray of bool, optional
        Pages that may be suggested (default: every page but noindex ones).
    path_bonus : float

    Returns
    -------
    PageMatch or None
        ``None`` when the graph has no allowed page.
    """
    n = graph.n
    mask = ~graph.noindex if allowed is None else allowed.copy()
    own = graph.resolve(url).node
    if own is not None:
        mask[own] = False
    if n == 0 or not mask.any():
        return None
    words = terms_of_url(url) + [fold_term(t) for t in extra_terms]
    score = index.query(words) if words else np.zeros(n)
    score = np.where(mask, score, 0.0)
    if score.any():
        # The bonus only reorders pages that share words: look at the best few.
        top = np.flatnonzero(score > 0)
        if top.size > _BONUS_POOL:
            top = top[np.argpartition(-score[top], _BONUS_POOL - 1)[:_BONUS_POOL]]
        directories = _directories(url)
        bonus = np.zeros(top.size)
        if directories and path_bonus > 0:
            parts = urlsplit(url)
            base = f"{parts.scheme}://{parts.netloc}/"
            for keep in range(1, len(directories) + 1):
                stem = base + "/".join(directories[:keep]) + "/"
                hit = np.fromiter((graph.urls[i].startswith(stem) for i in top), bool, top.size)
                bonus[hit] = path_bonus * keep / len(directories)
        total = score[top] + bonus
        order = np.lexsort((top, -total))
        best = int(top[order[0]])
        return PageMatch(best, float(total[order[0]]), "similar")
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    for keep in range(len(segments) - 1, -1, -1):
        stem = f"{parts.scheme}://{parts.netloc}/" + "/".join(segments[:keep])
        for candidate in (stem + "/", stem) if keep else (stem,):
            node = graph.resolve(candidate).node if candidate != url else None
            if node is not None and mask[node]:
                return PageMatch(node, 0.0, "parent")
    for node in graph.start_nodes.tolist():
        if mask[node]:
            return PageMatch(int(node), 0.0, "start")
    return None
