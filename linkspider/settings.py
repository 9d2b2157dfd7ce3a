"""Scrapy settings for linkspider: polite by default, every value overridable with -s.

The crawl's own settings use the ``LINKSPIDER_`` prefix, the store pipeline's
``LINKSTORE_``. See docs/crawl.md for what each one does.
"""

BOT_NAME = "linkspider"
SPIDER_MODULES = ["linkspider.spiders"]
NEWSPIDER_MODULE = "linkspider.spiders"
COMMANDS_MODULE = "linkspider.commands"

# -- Identity --------------------------------------------------------------
# Honest and settable: site owners see who crawls them and where to read why.
USER_AGENT = "linkspider/0.1 (+https://github.com/linkspider/linkspider; SEO link audit)"
# The product token robots.txt groups are matched against.
ROBOTSTXT_USER_AGENT = "linkspider"

# -- Politeness --------------------------------------------------------------
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.25  # the floor; robots.txt Crawl-delay raises it per host
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
URLLENGTH_LIMIT = 2083
# Scrapy starts this many tasks per response to process its output; the
# pipeline is synchronous, so more would only cost time (measured: bench/crawl.py).
CONCURRENT_ITEMS = 8
# Search engines crawl without a session: so does the audit.
COOKIES_ENABLED = False
# 429 and 503 are retried by the backoff middleware, which waits (Retry-After).
RETRY_HTTP_CODES = [500, 502, 504, 522, 524, 408]
RETRY_TIMES = 2

# Only http(s) is ever requested.
DOWNLOAD_HANDLERS = {"file": None, "data": None, "s3": None, "ftp": None}
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# -- Breadth-first order ------------------------------------------------------
# Scrapy's default LIFO order is depth-first and makes click depths wrong.
DEPTH_PRIORITY = 1
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
# The spider dedupes normalised URLs itself (one 64-bit key per URL).
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"

# -- Components ---------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "linkspider.middlewares.robots.PoliteRobotsTxtMiddleware": 100,
    "linkspider.middlewares.backoff.BackoffMiddleware": 560,
}
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "linkspider.middlewares.depth.ClickDepthMiddleware": 900,
    # The spider checks URL lengths itself and records what it skips.
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
}
EXTENSIONS = {
    "pipelines.backlinks.extension.BacklinksImport": 500,  # -a backlinks=: import at open
    "scrapy.extensions.throttle.AutoThrottle": None,
    "linkspider.extensions.throttle.PoliteAutoThrottle": 0,
    "linkspider.extensions.gate.ResponseGate": 0,
    "linkspider.extensions.report.ReportExtension": 1000,
}
ITEM_PIPELINES = {
    "pipelines.store.CrawlStorePipeline": 300,
}

# -- Crawl (LINKSPIDER_*) -------------------------------------------------------
LINKSPIDER_MAX_PAGES = 50_000  # default cap when -a max_pages is not given
LINKSPIDER_RUNS_DIR = "runs"
LINKSPIDER_CRAWL_NOFOLLOW = False
LINKSPIDER_CRAWL_CANONICALS = True
LINKSPIDER_MAX_REDIRECTS = 10
# <meta http-equiv="refresh">: a refresh within this many seconds is a redirect
# hop (Google: an instant refresh is a permanent redirect); a later one leaves
# the page a page and its target is followed like one of its links.
LINKSPIDER_META_REFRESH = True
LINKSPIDER_META_REFRESH_INSTANT = 0
LINKSPIDER_MAX_SITEMAPS = 500
LINKSPIDER_MAX_DEFERRED_URLS = 500_000
LINKSPIDER_MAX_CRAWL_DELAY = 60.0
LINKSPIDER_ROBOTS_RETRY_TIMES = 3
LINKSPIDER_ROBOTS_RETRY_DELAY = 30.0
LINKSPIDER_ROBOTS_RETRY_MAX_DELAY = 300.0
LINKSPIDER_BACKOFF_RETRY_TIMES = 5
LINKSPIDER_BACKOFF_BASE = 5.0
LINKSPIDER_BACKOFF_MAX_DELAY = 300.0
LINKSPIDER_BACKOFF_ERROR_RUN = 5
LINKSPIDER_BACKOFF_PAUSE = 60.0
LINKSPIDER_TRAP_SEGMENT_REPEATS = 3
LINKSPIDER_TRAP_MAX_QUERY_PARAMS = 12
LINKSPIDER_TRAP_PATTERN_CAP = 10_000
LINKSPIDER_TRAP_CALENDAR_CAP = 100
LINKSPIDER_TRAP_MAX_PATTERNS = 100_000
LINKSPIDER_SKIP_NON_HTML = True

# -- Store (LINKSTORE_*) ----------------------------------------------------------
LINKSTORE_BATCH_PAGES = 500
LINKSTORE_BATCH_LINKS = 50_000
LINKSTORE_BATCH_SECONDS = 5.0

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
