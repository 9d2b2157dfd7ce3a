"""Scrapy extensions of the crawl (response gate, throttle with robots floors)."""
