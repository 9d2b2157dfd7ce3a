"""``scrapy backlinks RUN_DIR FILE...`` run as a user runs it, on a store built by hand."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.storedb import CrawlStore

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "backlinks"
SITE = "https://www.example.com"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "backlinks", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run whose crawl saw the home page, the kettles page and a 404."""
    with CrawlStore(tmp_path, create=True) as store:
        urls = [f"{SITE}/", f"{SITE}/kettles/", f"{SITE}/old-kettle"]
        ids = store.intern(urls)
        store.conn.execute("INSERT INTO known_urls VALUES (?, 'start')", (ids[urls[0]],))
        for url, kind, status in zip(urls, ("html", "html", "error"), (200, 200, 404), strict=True):
            store.conn.execute(
                "INSERT INTO pages (url_id, kind, status) VALUES (?, ?, ?)",
                (ids[url], kind, status),
            )
    return tmp_path


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def test_reports_every_file_and_the_merge(run_dir: Path) -> None:
    done = run(
        str(run_dir),
        fixture("ahrefs_backlinks_utf8.csv"),
        fixture("semrush_backlinks.csv"),
        fixture("gsc_latest_links_crlf.csv"),
        fixture("rejections.csv"),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    ahrefs = fixture("ahrefs_backlinks_utf8.csv")
    assert lines[:4] == [
        f"{ahrefs}: Ahrefs backlinks (current format) [ahrefs/current]; utf-8, comma-separated; "
        "header on line 1",
        "  rows read 7, kept 5, rejected 2; lost 1, nofollow 3, referring domains 4",
        "  rejected: 1 target(s) outside the site, 1 unparsable source URL(s)",
        "    ahrefs_backlinks_utf8.csv:7: target 'https://www.other-shop.com/toasters' is outside "
        "the site (example.com)",
    ]
    out = done.stdout
    assert (
        "  target assumed: https://www.example.com/ (the export has no target column; "
        "set another with --target URL)"
    ) in out
    assert "    rejections.csv:10: unbalanced quotes: the row's quoted field never closes" in out
    assert "merged: " in out and "reported by more than one vendor" in out
    assert "vendors disagreed on followed for 1 (the most recent observation won" in out
    assert (
        "targets vs the crawl: 2 live page, 1 error (lost equity), 1 never fetched (unknown)"
    ) in out
    assert "    rejections.csv:5: no source URL" in out
    assert (
        f"  {SITE}/old-kettle [404] 0 live followed referring domain(s), 1 link(s) "
        f"-> redirect to {SITE}/"
    ) in out
    assert done.stderr == ""


def test_target_option_and_replace(run_dir: Path) -> None:
    run(str(run_dir), fixture("ahrefs_backlinks_utf8.csv"))
    done = run(
        str(run_dir),
        fixture("gsc_more_sample_links.csv"),
        "--target",
        f"{SITE}/kettles/",
        "--replace",
    )
    assert done.returncode == 0, done.stderr
    assert f"target assumed: {SITE}/kettles/" in done.stdout
    assert "store: 2 backlink(s) in the run (2 added, 0 merged into stored ones)" in done.stdout


def test_column_map_for_an_export_we_do_not_know(run_dir: Path) -> None:
    refused = run(str(run_dir), fixture("custom_columns.csv"))
    assert refused.returncode == 2
    done = run(
        str(run_dir),
        fixture("custom_columns.csv"),
        "--columns",
        "source=Referrer,target=Page on our site,anchor=Text,rel=Rel attribute",
    )
    assert done.returncode == 0, done.stderr
    assert "column map given by the user [custom/column-map]" in done.stdout
    assert "rows read 2, kept 2, rejected 0; lost 0, nofollow 1, referring domains 1" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a run folder and at least one export"),
        (("{run}", "unknown_tool_export.csv"), "unrecognised export; header seen: ['Keyword'"),
        (("{run}", "missing.csv"), "missing.csv: no such file"),
        (("{tmp}/not-a-run", "semrush_backlinks.csv"), "no crawl store at"),
        (("{run}", "gsc_more_sample_links.csv", "--target", "ftp://x"), "is not an http(s) URL"),
        (("{run}", "custom_columns.csv", "--columns", "colour=red"), "--columns: unknown column"),
    ],
)
def test_user_mistakes_end_with_one_line_and_exit_code_2(
    run_dir: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    real = [
        a.format(run=run_dir, tmp=tmp_path) if "{" in a else a if a.startswith("-") or "=" in a
        else a if a.startswith("ftp") else fixture(a)
        for a in args
    ]  # fmt: skip
    done = run(*real)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("scrapy backlinks: error: ")
    assert message in lines[0]
    assert "Traceback" not in done.stderr


def test_a_refused_file_writes_nothing(run_dir: Path, tmp_path: Path) -> None:
    xlsx = tmp_path / "export.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    done = run(str(run_dir), fixture("semrush_backlinks.csv"), str(xlsx))
    assert done.returncode == 2
    assert "export.xlsx: is a ZIP archive, probably an Excel workbook (.xlsx)" in done.stderr
    with CrawlStore(run_dir) as store:
        assert (
            store.conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'backlink_imports'"
            ).fetchone()
            == (0,)
            or store.count("backlink_imports") == 0
        )
        assert store.count("backlinks") == 0


def test_folders_are_expanded(run_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("semrush_backlinks.csv", "moz_inbound_links_preamble.csv"):
        shutil.copy(FIXTURES / name, folder / name)
    done = run(str(run_dir), str(folder))
    assert done.returncode == 0, done.stderr
    assert "Moz inbound links (Open Site Explorer)" in done.stdout
    assert "Semrush backlinks (current format)" in done.stdout


def test_a_large_export_is_read_by_worker_processes(run_dir: Path, tmp_path: Path) -> None:
    """Over 16 MiB the command reads the export in regions in worker processes
    (spawned from the scrapy command), with what a single process finds."""
    export = tmp_path / "semrush.csv"
    header = (
        "Page ascore,Source title,Source url,Target url,Anchor,External links,Internal links,"
        "Nofollow,Sponsored,Ugc,Text,Frame,Form,Image,Sitewide,First seen,Last seen,New link,"
        "Lost link\n"
    )
    rows = [
        f"{i % 100},Title {'x' * (i % 40)},https://site{i % 5000}.example.org/p/{i // 5000},"
        f"{SITE}/kettles/,kettles,1,2,{'true' if i % 5 == 0 else 'false'},false,false,true,"
        "false,false,false,false,2025-01-02,2026-03-04,false,false\n"
        for i in range(125_000)
    ]
    rows[70_000] = "broken,row\n"
    export.write_text(header + "".join(rows), encoding="utf-8")
    assert export.stat().st_size > 16 << 20
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "backlinks", str(run_dir), str(export),
         "-s", "BACKLINKS_WORKERS=2"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "rows read 125,000, kept 124,999, rejected 1" in done.stdout
    assert "    semrush.csv:70002: ragged row: 2 cells where the header has 19" in done.stdout
    assert "store: 124,999 backlink(s) in the run (124,999 added" in done.stdout
    with CrawlStore(run_dir) as store:
        assert store.count("backlinks") == 124_999
        assert not store.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'backlinks_building'"
        ).fetchone()
    assert not list(run_dir.glob(".backlinks-stage-*"))  # the stages are gone


def test_targets_are_normalised_with_the_runs_own_tracking_parameters(
    run_dir: Path, tmp_path: Path
) -> None:
    # The crawl dropped `ref` (LINKSPIDER_TRACKING_PARAMS=ref) and recorded it;
    # a later import without that setting must normalise targets the same way.
    with CrawlStore(run_dir) as store:
        store.set_meta("tracking_params", ["ref"])
    export = tmp_path / "exports" / "generic.csv"
    export.parent.mkdir()
    export.write_text(
        "Source URL,Target URL,Anchor\n"
        f"https://blog.example.org/post,{SITE}/kettles/?ref=blog,kettles\n"
        f"https://blog.example.org/post,{SITE}/kettles/?utm_source=blog,kettles again\n",
        encoding="utf-8",
    )
    done = run(str(run_dir), str(export))
    assert done.returncode == 0, done.stderr
    with CrawlStore(run_dir) as store:
        targets = sorted(
            row[0]
            for row in store.conn.execute(
                "SELECT u.url FROM backlinks b JOIN urls u ON u.id = b.target_id"
            )
        )
    # `ref` is dropped as the crawl did; `utm_source` is kept, because the
    # run's list (not today's default) decides.
    assert targets == [f"{SITE}/kettles/", f"{SITE}/kettles/?utm_source=blog"]
