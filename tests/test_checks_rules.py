"""Check results as text and as versioned JSON, exactly (compiler/show/checks.py); pure."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from specctl.compiler.show.checks import (
    document,
    failed,
    render,
    render_json,
    render_text,
    summary,
    summary_line,
)


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    detail: str = ""
    seconds: float = 0.0


ROWS = [
    Result("disk", "pass", "12 GB free", 0.0123),
    Result("env_files", "fail", "a.env is 0644; b.env is owned by 1000", 1.5),
    Result("tls", "warn", "", 0.25),
]


def test_the_text_of_three_results() -> None:
    assert render_text(ROWS, title="Pre-deployment checks (green)") == (
        "Pre-deployment checks (green)\n"
        "\n"
        "  ✓ disk       12 GB free  (0.01s)\n"
        "  ✗ env_files  a.env is 0644  (1.50s)\n"
        "               b.env is owned by 1000\n"
        "  ! tls          (0.25s)\n"
        "\n"
        "Checks: 1 passed, 1 warning, 1 failed.\n"
    )


def test_colour_wraps_each_symbol_and_an_unknown_status_is_a_question_mark() -> None:
    rows = [*ROWS, Result("odd", "skip")]
    text = render_text(rows, title="t", color=True).split("\n")
    assert text[2].startswith("  \033[32m✓\033[0m disk ")
    assert text[3].startswith("  \033[31m✗\033[0m env_files ")
    assert text[5].startswith("  \033[33m!\033[0m tls ")
    assert text[6].startswith("  ?\033[0m odd ")
    assert render_text(rows, title="t").split("\n")[6].startswith("  ? odd ")


def test_no_results_say_so_with_the_noun() -> None:
    assert render_text([], title="Probes", noun="probes") == "Probes\n\nNo probes to run.\n"
    assert render_text([], title="T") == "T\n\nNo checks to run.\n"


@pytest.mark.parametrize(
    ("statuses", "line"),
    [
        ([], "Checks: 0 passed, 0 warnings, 0 failed."),
        (["warn"], "Checks: 0 passed, 1 warning, 0 failed."),
        (["warn", "warn", "pass"], "Checks: 1 passed, 2 warnings, 0 failed."),
        (["fail", "fail"], "Checks: 0 passed, 0 warnings, 2 failed."),
    ],
)
def test_the_summary_line_counts_each_status(statuses: list[str], line: str) -> None:
    rows = [Result(f"c{i}", s) for i, s in enumerate(statuses)]
    assert summary_line(rows) == line


def test_the_summary_line_takes_a_noun() -> None:
    assert summary_line(ROWS, noun="probes") == "Probes: 1 passed, 1 warning, 1 failed."
    assert render_text(ROWS, title="t", noun="probes").endswith(
        "\nProbes: 1 passed, 1 warning, 1 failed.\n"
    )


def test_summary_and_failed() -> None:
    rows = [*ROWS, Result("x", "fail"), Result("y", "other")]
    assert summary(rows) == {"pass": 1, "warn": 1, "fail": 2, "total": 5}
    assert failed(rows) == ["env_files", "x"]


def test_the_json_document() -> None:
    doc = document(ROWS, kind="pre", project="shop", target="green")
    assert doc == {
        "format_version": 1,
        "kind": "pre",
        "project": "shop",
        "target": "green",
        "checks": [
            {"name": "disk", "status": "pass", "detail": "12 GB free", "seconds": 0.012},
            {
                "name": "env_files",
                "status": "fail",
                "detail": "a.env is 0644; b.env is owned by 1000",
                "seconds": 1.5,
            },
            {"name": "tls", "status": "warn", "detail": "", "seconds": 0.25},
        ],
        "summary": {"pass": 1, "warn": 1, "fail": 1, "total": 3},
    }
    text = render_json(ROWS, kind="pre", project="shop", target="green")
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "✓" not in text and '"kind": "pre"' in text


def test_render_picks_the_format() -> None:
    kw = {"kind": "post", "project": "p", "target": "blue", "title": "T"}
    assert render(ROWS, "json", **kw) == render_json(ROWS, kind="post", project="p", target="blue")
    assert render(ROWS, "text", **kw) == render_text(ROWS, title="T")
    assert render(ROWS, "text", noun="probes", color=True, **kw) == render_text(
        ROWS, title="T", noun="probes", color=True
    )


def test_non_ascii_details_stay_as_written_in_json() -> None:
    rows = [Result("naïve", "pass", "déjà vu → ok")]
    text = render_json(rows, kind="pre", project="p", target="blue")
    assert "déjà vu → ok" in text and "naïve" in text


def test_render_without_results_uses_the_default_noun() -> None:
    kw = {"kind": "post", "project": "p", "target": "blue", "title": "T"}
    assert render([], "text", **kw) == "T\n\nNo checks to run.\n"
