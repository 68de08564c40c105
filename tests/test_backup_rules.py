"""compiler/backup_manifest (pure): checking files against a manifest, and `backup list` as rows,
text and JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from specctl.compiler.backup_manifest import (
    contents,
    human_age,
    human_size,
    list_rows,
    manifest_problems,
    render_list,
    total_size,
)

NOW = 1_800_000_000.0
KB, MB, GB = 1024, 1024**2, 1024**3


def listed(*names: str) -> dict[str, Any]:
    return {"files": [{"name": n, "size": 10, "sha256": n[0] * 64} for n in names]}


def test_entries_without_a_name_are_not_files_of_the_manifest() -> None:
    manifest = {
        "files": [
            "junk",
            {"size": 1},
            {"name": 7},
            {"name": "a.sql", "size": 10, "sha256": "a" * 64},
        ]
    }
    assert manifest_problems(manifest, {"a.sql": (10, "a" * 64)}) == []


def test_every_missing_file_is_named() -> None:
    found = {"c.conf": (10, "c" * 64)}
    assert manifest_problems(listed("a.sql", "b.tar.gz", "c.conf"), found) == [
        "a.sql: missing",
        "b.tar.gz: missing",
    ]


@pytest.mark.parametrize("files", [None, {"a.sql": {}}, "a.sql"])
def test_a_manifest_without_a_list_of_files_says_so(files: object) -> None:
    assert manifest_problems({"files": files}, {"manifest.json": (1, "m" * 64)}) == [
        "the manifest has no list of files"
    ]


@pytest.mark.parametrize(
    ("files", "size"),
    [
        ([{"size": 10}, {"size": 5}], 15),
        ([{"name": "a"}, {"size": None}, {"size": 3}], 3),
        ([{"size": 4}, "junk", 7], 4),
        ([], 0),
    ],
)
def test_the_total_size_counts_files_with_a_size(files: list[Any], size: int) -> None:
    assert total_size({"files": files}) == size
    assert total_size({}) == 0


@pytest.mark.parametrize(
    ("manifest", "words"),
    [
        (
            {"files": [{"name": "nginx.conf"}, {"name": "b.tar.gz"}, {"name": "a.tar.gz"}]},
            ["a", "b", "nginx"],
        ),
        ({"database": {"name": "shop"}, "files": None}, ["database shop"]),
        ({"database": "shop", "files": [{"name": "database.dump"}, "nginx.conf"]}, []),
    ],
)
def test_contents_in_words(manifest: dict[str, Any], words: list[str]) -> None:
    assert contents(manifest) == words


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (KB * 1023 + 1023, "1024.0 KB"),  # 1023.999 KB: not yet a MB
        (MB, "1.0 MB"),
        (3 * MB // 2, "1.5 MB"),
        (GB - 1, "1024.0 MB"),
        (GB, "1.0 GB"),
        (2048 * GB, "2048.0 GB"),  # no bigger unit
    ],
)
def test_sizes_read_in_the_biggest_unit_below_1024(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "0s"),
        (0, "0s"),
        (0.9, "0s"),
        (59, "59s"),
        (60, "1m 0s"),
        (3599, "59m 59s"),
        (3600, "1h 0m"),
        (86399, "23h 59m"),
        (86400, "1d 0h"),
        (90061, "1d 1h"),
    ],
)
def test_ages_read_in_the_two_biggest_units(seconds: float, text: str) -> None:
    assert human_age(seconds) == text


def test_a_row_per_backup_with_stable_keys() -> None:
    manifests = [
        {
            "folder": "20260101-000000-abcdef",
            "id": "other",
            "created": NOW - 90.06,
            "reason": "apply green",
            "files": [{"name": "nginx.conf", "size": 100}],
            "notes": ["no database"],
        },
        {"id": "bare"},
    ]
    assert list_rows(manifests, now=NOW) == [
        {
            "id": "20260101-000000-abcdef",
            "created": NOW - 90.06,
            "age_seconds": 90.1,
            "size": 100,
            "files": 1,
            "contents": ["nginx"],
            "reason": "apply green",
            "notes": ["no database"],
        },
        {
            "id": "bare",
            "created": 0.0,
            "age_seconds": NOW,
            "size": 0,
            "files": 0,
            "contents": [],
            "reason": "",
            "notes": [],
        },
    ]


def test_the_json_list_is_versioned_indented_and_sorted() -> None:
    rows = [{"id": "b1", "size": 3}]
    assert render_list(rows, fmt="json") == (
        "{\n"
        '  "backups": [\n'
        "    {\n"
        '      "id": "b1",\n'
        '      "size": 3\n'
        "    }\n"
        "  ],\n"
        '  "format_version": 1\n'
        "}\n"
    )
    assert json.loads(render_list([], fmt="json")) == {"backups": [], "format_version": 1}


def test_the_text_list_shows_an_empty_backup_as_such() -> None:
    rows = list_rows([{"id": "b1", "created": NOW - 5}], now=NOW)
    assert (
        render_list(rows, fmt="text") == "ID  AGE  SIZE  CONTENTS  REASON\nb1  5s   0 B   (empty)\n"
    )
