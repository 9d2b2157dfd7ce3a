"""Shim for ``scrapyd-deploy``, which builds the egg with ``setup.py bdist_egg``.

All metadata lives in pyproject.toml; without this file scrapyd-deploy would
write its own setup.py that packages the tests and forgets the package data.
"""

from setuptools import setup

setup()
