"""Signals of the crawl, for the components that keep the run's records.

``crawl_finished`` is sent by the site spider when it closes, *before* any
extension hears ``spider_closed`` (the spider connects first), so the store
can record how the run ended before a post-crawl report reads it.

Handler arguments: ``spider``, ``reason`` (Scrapy's finish reason),
``facts`` (a dict of run facts: complete, caps_hit, fatal_error, ...).

``run_facts_changed`` is sent by the site spider when what ``run_facts()``
says changed during the crawl (a start URL redirected to another host of the
site, which the scope now includes): the store writes the facts again.
Handler argument: ``spider``.
"""

crawl_finished = object()
run_facts_changed = object()
