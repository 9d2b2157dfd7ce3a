"""Scheduled runs on Scrapyd: build the egg as `scrapyd-deploy` does, deploy it to a
real Scrapyd server on 127.0.0.1, schedule a crawl of a local site and read its store.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.crawl import ROOT, StoreView
from tests.support.server import TestServer
from tests.support.site import SiteBuilder

pytestmark = pytest.mark.slow

SCRAPYD_DEPLOY = Path(sys.executable).with_name("scrapyd-deploy")


def _free_port() -> int:
    # Scrapyd cannot report a port it chose itself, so take one the OS just freed.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    for name, (filename, content) in files.items():
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Scrapyd server in its own folder; yields its base URL."""
    home = tmp_path_factory.mktemp("scrapyd")
    port = _free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        "eggs_dir = eggs\nlogs_dir = logs\nitems_dir =\ndbs_dir = dbs\n"
        "poll_interval = 0.2\nmax_proc = 1\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "scrapyd"],
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": ""},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _request(f"{base}/daemonstatus.json")["status"] == "ok":
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def _build_egg(tmp_path: Path) -> Path:
    """Build the egg exactly as `scrapyd-deploy` does, from a copy of the project."""
    project = tmp_path / "project"
    shutil.copytree(
        ROOT,
        project,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "runs", "build", "*.egg-info", "__pycache__", "bench", "test-artifacts"
        ),
    )
    egg = tmp_path / "linkspider.egg"
    subprocess.run(
        [str(SCRAPYD_DEPLOY), "--build-egg", str(egg)],
        cwd=project,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return egg


def test_scheduled_crawl_on_scrapyd_writes_store_and_report(scrapyd: str, tmp_path: Path) -> None:
    egg = _build_egg(tmp_path)
    body, content_type = _multipart(
        {"project": "linkspider", "version": "1"}, {"egg": ("linkspider.egg", egg.read_bytes())}
    )
    added = _request(f"{scrapyd}/addversion.json", body, {"Content-Type": content_type})
    assert added["status"] == "ok", added
    assert "site" in _request(f"{scrapyd}/listspiders.json?project=linkspider")["spiders"]

    site = (
        SiteBuilder()
        .robots("User-agent: *\nDisallow: /private/\n")
        .page("/", "Home", content='<a href="/a">A</a> <a href="/private/x">X</a>')
        .page("/a", "Page A", content='<a href="/">Home</a> <a href="/b">B</a>')
        .page("/b", "Page B", content='<a href="/a">Back to A</a>')
    )
    run_dir = tmp_path / "run"
    with TestServer(site.build()) as server:
        form = urllib.parse.urlencode(
            [
                ("project", "linkspider"),
                ("spider", "site"),
                ("url", server.url("/")),
                ("run_dir", str(run_dir)),
                ("setting", "AUTOTHROTTLE_ENABLED=False"),
                ("setting", "DOWNLOAD_DELAY=0"),
            ]
        ).encode()
        job = _request(f"{scrapyd}/schedule.json", form)
        assert job["status"] == "ok", job
        deadline = time.monotonic() + 120
        while True:
            jobs = _request(f"{scrapyd}/listjobs.json?project=linkspider")
            if any(j["id"] == job["jobid"] for j in jobs["finished"]):
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(0.3)
        assert "/private/x" not in server.paths()

    view = StoreView(run_dir / "crawl.sqlite", server.base)
    try:
        meta = view.meta()
        pages = view.pages()
    finally:
        view.close()
    assert meta["finish_reason"] == "finished"
    assert meta["complete"] is True
    assert {path for path, page in pages.items() if page["kind"] == "html"} == {"/", "/a", "/b"}
    assert pages["/b"]["depth"] == 2
    assert pages["/private/x"]["kind"] == "blocked"
    # The report's templates and CSS are package data: they must be in the egg.
    report = (run_dir / "report" / "index.html").read_text("utf-8")
    assert "Page B" in report
    assert (run_dir / "report" / "data" / "pages.csv").is_file()
