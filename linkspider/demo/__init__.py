"""The bundled demo site: a small outdoor-gear shop with a guides section.

Static files in ``site/`` (package data, so they ship in the Scrapyd egg),
special answers in ``routes.json``, backlink exports in ``backlinks/``;
:mod:`linkspider.demo.server` serves it. ``scripts/build_demo_site.py``
regenerates all of it.
"""
