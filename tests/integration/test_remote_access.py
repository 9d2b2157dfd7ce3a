"""No crawl accepts commands from outside (issue 2: telnet console and remote control off).

Scrapy 2.19 has two extensions that listen on a socket and run what they are
sent: the telnet console (``TelnetConsole``, a Python shell on port 6023) and
the remote control HTTP server (``RemoteControl``, ``POST /execute`` runs
Python code). Both are on by default in Scrapy; the project's settings turn
them off. ``scrapy.utils.test.get_crawler`` turns them off by itself, so only
a real crawl with the project's settings shows the truth.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.crawl import run_crawl
from tests.support.server import Response, TestServer

#: Scrapy's extensions that accept commands over the network.
LISTENERS = (
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.remote_control.RemoteControl",
)


def enabled_extensions(log: str) -> list[str]:
    """The list Scrapy logs after ``Enabled extensions:``."""
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("Enabled extensions:"))
    names = []
    for line in lines[start + 1 :]:
        names.append(line.strip(" [],'"))
        if line.endswith("]"):
            return names
    raise AssertionError("the list of enabled extensions does not end")


def test_a_crawl_runs_no_telnet_console_and_no_remote_control(tmp_path: Path) -> None:
    routes = {"/": Response("<a href='/a'>A</a>"), "/a": Response("a")}
    with TestServer(routes) as server:
        done = run_crawl(server.url("/"), tmp_path / "run", args={"sitemaps": "off"})
    assert done.returncode == 0, done.stderr[-3000:]
    enabled = enabled_extensions(done.stderr)
    assert "scrapy.extensions.corestats.CoreStats" in enabled  # the list was read
    assert [name for name in enabled if name in LISTENERS] == []
    assert "Telnet console listening" not in done.stderr
    assert "Remote control HTTP server listening" not in done.stderr
