"""Downloader and spider middlewares of the crawl (politeness, click depth)."""
