"""The bundled demo site's routes, served from the package data."""

from __future__ import annotations

import urllib.request

from linkspider.demo.server import DemoServer, DemoSite

BASE = "http://127.0.0.1:8000"


def test_routes() -> None:
    site = DemoSite()
    home = site.answer("/", BASE)
    assert (home.status, home.content_type) == (200, "text/html; charset=utf-8")
    assert f'<link rel="canonical" href="{BASE}/">'.encode() in home.body
    assert b"{{base}}" not in home.body
    assert site.answer("/shop/boots/summit-pro", BASE).status == 200
    assert site.answer("/shop/accessories/?page=2", BASE).body.count(b'class="card"') == 2
    assert site.answer("/shop/accessories/?sort=price", BASE).body.count(b'class="card"') == 6
    sale = site.answer("/sale", BASE)
    assert (sale.status, sale.location) == (301, "/shop/")
    assert site.answer("/shop/tents/discontinued-dome", BASE).status == 410
    assert site.answer("/guides/winter-camping-checklist", BASE).status == 404
    robots = site.answer("/robots.txt", BASE)
    assert robots.content_type.startswith("text/plain")
    assert f"Sitemap: {BASE}/sitemap.xml".encode() in robots.body
    assert site.answer("/files/size-chart.pdf", BASE).content_type == "application/pdf"
    for sneaky in ("/../routes.json", "/%2e%2e/routes.json", "/../../etc/passwd"):
        assert site.answer(sneaky, BASE).status == 404


def test_server_answers_over_http() -> None:
    with DemoServer() as server, urllib.request.urlopen(server.base + "/sitemap.xml") as answer:
        assert server.base.encode() + b"/sitemap-pages.xml" in answer.read()
