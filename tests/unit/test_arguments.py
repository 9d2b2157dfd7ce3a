"""The site spider's arguments: every mistake is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkspider.arguments import ArgumentError, parse_arguments


def test_defaults_and_normalisation() -> None:
    args = parse_arguments({"url": " HTTPS://Shop.Example/?utm_source=x ", "_job": "abc"})
    assert args.start_urls == ("https://shop.example/",)
    assert args.scope.mode == "host"
    assert (args.max_pages, args.max_depth, args.sitemaps, args.run_dir) == (
        None,
        None,
        "auto",
        None,
    )
    assert args.given == {"url": " HTTPS://Shop.Example/?utm_source=x "}


def test_every_argument(tmp_path: Path) -> None:
    urls = tmp_path / "starts.txt"
    urls.write_text("# entry points\nhttps://s.example/a\n\nhttps://s.example/b\n", "utf-8")
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "ahrefs.csv").write_text("x", "utf-8")
    (exports / ".hidden").write_text("x", "utf-8")
    priority = tmp_path / "priority.txt"
    priority.write_text("https://s.example/a\n", "utf-8")
    args = parse_arguments(
        {
            "url": "https://s.example/",
            "urls": str(urls),
            "max_pages": "1_000",
            "max_depth": "0",
            "scope": "domain",
            "include": "/",
            "exclude": r"\?sort",
            "sitemaps": "https://s.example/sm.xml",
            "run_dir": str(tmp_path / "run"),
            "backlinks": f"{exports}, {priority}",
            "priority": str(priority),
        }
    )
    assert args.start_urls == ("https://s.example/", "https://s.example/a", "https://s.example/b")
    assert (args.max_pages, args.max_depth) == (1000, 0)
    assert args.sitemaps == "https://s.example/sm.xml"
    assert args.backlink_files == (exports / "ahrefs.csv", priority)
    assert args.priority_file == priority
    assert args.run_dir == tmp_path / "run"


U = "https://s.example/"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "no start URL"),
        ({"url": "example.com"}, "'example.com' has no scheme: use a full URL such as https://example.com"),
        ({"url": "ftp://example.com/"}, "only http and https"),
        ({"url": "https://"}, "is not a valid URL"),
        ({"url": U, "max_pages": "abc"}, "max_pages='abc' is not a whole number"),
        ({"url": U, "max_pages": "0"}, "must be at least 1"),
        ({"url": U, "max_depth": "-1"}, "must be at least 0"),
        ({"url": U, "scope": "everything"}, "unknown scope 'everything'"),
        ({"url": U, "exclude": "[a"}, "exclude='[a' is not a valid regular"),
        ({"url": U, "sitemaps": "maybe"}, "sitemaps 'maybe' has no scheme"),
        ({"url": U, "urls": "/no/such/file"}, "urls='/no/such/file': no such file"),
        ({"url": U, "backlinks": "/no/such"}, "backlinks: '/no/such' does not exist"),
        ({"url": U, "priority": "/no/such"}, "priority='/no/such': no such file"),
        ({"url": U, "depth": "3"}, "unknown argument 'depth'"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line(given: dict[str, str], message: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        parse_arguments(given)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_line_in_url_list_names_file_and_line(tmp_path: Path) -> None:
    urls = tmp_path / "starts.txt"
    urls.write_text("https://s.example/\nwww.s.example/b\n", "utf-8")
    with pytest.raises(ArgumentError, match=r"starts.txt:2: URL 'www.s.example/b' has no scheme"):
        parse_arguments({"urls": str(urls)})


def test_empty_backlinks_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an export", "utf-8")
    with pytest.raises(ArgumentError, match=r"has no \.csv or \.tsv file"):
        parse_arguments({"url": U, "backlinks": str(tmp_path)})


def test_backlinks_folder_takes_csv_and_tsv_and_paths_become_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    for name in ("b.TSV", "a.csv", "readme.md", ".hidden.csv"):
        (exports / name).write_text("x", "utf-8")
    (tmp_path / "money.txt").write_text("/shop/\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    args = parse_arguments({"url": U, "backlinks": "exports", "priority": "money.txt"})
    assert args.backlink_files == (exports / "a.csv", exports / "b.TSV")
    assert args.priority_file == tmp_path / "money.txt"
    assert all(path.is_absolute() for path in (*args.backlink_files, args.priority_file))
