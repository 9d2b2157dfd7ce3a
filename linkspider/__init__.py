"""linkspider: an SEO link-equity auditor built on Scrapy."""

#: The project's version (pyproject.toml's), shown in reports.
__version__ = "0.1.0"
