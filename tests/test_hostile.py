"""Hostile input fed to the real CLI: random and mutated specs (hypothesis) and a corpus of nasty
YAML. specctl never shows a traceback, exits 0 (still valid) or 1 with FILE:LINE:COL problems,
writes nothing for an invalid spec, and refuses oversized or exploding input in bounded memory."""

from __future__ import annotations

import copy
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from specctl.cli import main
from specctl.compiler.compose import dump_yaml
from specctl.compiler.load import MAX_DEPTH, MAX_LINES, MAX_NODES, parse_yaml
from specctl.compiler.nginx import find_upstreams
from tests.conftest import REPO, Result

PROBLEM = re.compile(r"^[^:]+:\d+:\d+: ")
SUMMARY = re.compile(r"^error: the spec is invalid \((\d+) problems?\)$")
# A valid spec can still fail to compile against its nginx base (an upstream renamed away).
BASE_MISMATCH = re.compile(r"^error: nginx\.prod\.conf: upstream .* the base config$")
UNSET = "SPECCTL_HOSTILE_UNSET"
SOURCES = {name: (REPO / "config" / f"{name}.yaml").read_text() for name in ("demo", "spec")}
DATA = {name: parse_yaml(text, filename=name)[0] for name, text in SOURCES.items()}
BASE = (REPO / "config" / "nginx.prod.conf").read_text()


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """`specctl ARGS` in this process, as the console script runs it."""
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def assert_clean(result: Result) -> list[str]:
    """No traceback, exit 0 or 1, and on 1 only FILE:LINE:COL problems, the count, hints.
    Returns the problem lines."""
    assert "Traceback" not in result.out + result.err
    assert "internal error" not in result.err, result.err
    assert result.code in (0, 1), result
    if result.code == 0:
        return []
    lines = result.err.split("\n")  # not splitlines(): \x85, \u2028 must not reach the output
    assert lines[-1] == "", result.err
    assert result.err.splitlines() == lines[:-1], f"a line separator leaked: {result.err!r}"
    lines = lines[:-1]
    if BASE_MISMATCH.match(lines[0]):
        assert all(line.startswith("hint: ") for line in lines[1:]), result.err
        return []
    end = next((i for i, line in enumerate(lines) if SUMMARY.match(line)), None)
    assert end is not None and end > 0, result.err
    assert all(PROBLEM.match(line) for line in lines[:end]), result.err
    summary = SUMMARY.match(lines[end])
    assert summary is not None and int(summary.group(1)) == end, result.err
    assert all(line.startswith("hint: ") for line in lines[end + 1 :]), result.err
    assert "\x1b" not in result.err
    return lines[:end]


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under root, with the bytes of each file."""
    return {
        str(path.relative_to(root)): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


# Every line break YAML knows: a position may count lines by any of them.
# The line breaks the YAML reader counts in its positions: \x85, U+2028 and U+2029 are not
# (a spec with one in a value found the test counting one line more than the error did).
BREAKS = re.compile(r"\r\n|[\r\n]")
LOCATED = re.compile(r"^(.+?):(\d+):(\d+): ")
GENERATED = {
    f"{kind}.{color}.{ext}"
    for color in ("blue", "green")
    for kind, ext in (("compose", "yml"), ("nginx", "conf"))
} | {"compose.shared.yml", "permissions.json"}


def assert_located(problems: list[str], *, shown: str, spec: bytes) -> None:
    """Each problem names the spec file as the user gave it, at a line and column that exist in
    it (1-based), not merely something shaped like FILE:LINE:COL."""
    lines = BREAKS.split(spec.decode("utf-8", "replace"))
    widest = max(len(line.encode("utf-8", "surrogatepass")) for line in lines)
    for problem in problems:
        where = LOCATED.match(problem)
        assert where is not None, problem
        assert where.group(1) == shown, problem
        line, column = int(where.group(2)), int(where.group(3))
        assert 1 <= line <= len(lines) and 1 <= column <= widest + 1, (problem, len(lines), widest)


def assert_compiled(root: Path) -> None:
    """An accepted spec wrote one project's complete set of files, and they parse."""
    (project,) = (p for p in (root / "generated").iterdir() if p.name != "spec.schema.json")
    assert {p.name for p in project.iterdir()} == GENERATED
    for name in GENERATED:
        text = (project / name).read_text(encoding="utf-8")
        if name.endswith(".yml"):
            assert isinstance(YAML(typ="safe", pure=True).load(text)["services"], dict), name
        elif name.endswith(".json"):
            assert isinstance(json.loads(text)["paths"], list)
        else:
            find_upstreams(text, filename=name)


def compile_and_check(capsys: pytest.CaptureFixture[str], spec: bytes) -> Result:
    """Compile `spec` in a fresh project. An accepted spec writes every generated file; a
    rejected one leaves the project untouched and locates each problem in the spec."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        (root / "config" / "nginx.prod.conf").write_text(BASE)
        (root / "config" / "spec.yaml").write_bytes(spec)
        before = snapshot(root)
        result = invoke(capsys, "-f", str(root / "config" / "spec.yaml"), "compile")
        problems = assert_clean(result)
        if result.code == 0:
            assert "unchanged" in result.out
            assert_compiled(root)
        else:
            assert snapshot(root) == before, "something was written for an invalid spec"
            shown = os.path.relpath(root / "config" / "spec.yaml")
            assert_located(problems, shown=shown, spec=spec)
    return result


# --- property-based: random and mutated specs -----------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 65535, 65536, 2**63, 2**64, 10**40, 1.5, 1e308]),
    st.floats(),
    st.text(max_size=24),
    st.sampled_from(
        [
            "",
            f"${{{UNSET}}}",
            f"${{{UNSET}:-x}}",
            "$$",
            "${",
            "../../escape",
            "/etc/passwd",
            "{color}",
            "0755",
            "30s",
            "1G",
            "2020-13-45",
            "\x00",
            "\x1b[31mred",
            "a\u2028b",
            "\u202egnp.exe",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)

Where = tuple[str | int, ...]


def walk(data: Any, path: Where = ()) -> Iterator[Where]:
    """Every path into a document (keys and list indices), the root first."""
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk(value, (*path, index))


def _parent(doc: Any, path: Where) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


def _delete(doc: Any, path: Where, draw: st.DrawFn) -> Any:
    del _parent(doc, path)[path[-1]]
    return doc


def _retype(doc: Any, path: Where, draw: st.DrawFn) -> Any:
    _parent(doc, path)[path[-1]] = draw(VALUES)
    return doc


def _rename(doc: Any, path: Where, draw: st.DrawFn) -> Any:
    parent = _parent(doc, path)
    if isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=12))] = parent.pop(path[-1])
    return doc


def _nest(doc: Any, path: Where, draw: st.DrawFn) -> Any:
    value = _parent(doc, path)[path[-1]]
    for _ in range(draw(st.sampled_from([1, 3, MAX_DEPTH, MAX_DEPTH + 40]))):
        value = [value]
    _parent(doc, path)[path[-1]] = value
    return doc


def _transplant(doc: Any, path: Where, draw: st.DrawFn) -> Any:
    source = draw(st.sampled_from(list(walk(doc))))
    value = doc
    for part in source:
        value = value[part]
    _parent(doc, path)[path[-1]] = copy.deepcopy(value)
    return doc


OPS: list[Callable[[Any, Where, st.DrawFn], Any]] = [_delete, _retype, _rename, _nest, _transplant]


@st.composite
def mutated_specs(draw: st.DrawFn) -> bytes:
    """A valid spec with one to three structural changes, written as YAML or as JSON."""
    doc = copy.deepcopy(DATA[draw(st.sampled_from(sorted(DATA)))])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in walk(doc) if p]
        if not paths:
            break
        doc = draw(st.sampled_from(OPS))(doc, draw(st.sampled_from(paths)), draw)
    if draw(st.booleans()):
        return dump_yaml(doc).encode()
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def damaged_texts(draw: st.DrawFn) -> bytes:
    """A valid spec file damaged at the byte and line level."""
    raw = SOURCES[draw(st.sampled_from(sorted(SOURCES)))].encode()
    for _ in range(draw(st.integers(1, 3))):
        lines = raw.split(b"\n")
        at = draw(st.integers(0, len(raw)))
        row = draw(st.integers(0, len(lines) - 1))
        how = draw(
            st.sampled_from(
                ["bytes", "truncate", "dup-line", "drop-line", "tab", "char", "swap", "indent"]
            )
        )
        if how == "bytes":
            raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
        elif how == "truncate":
            raw = raw[:at]
        elif how == "dup-line":
            raw = b"\n".join([*lines[: row + 1], lines[row], *lines[row + 1 :]])
        elif how == "drop-line":
            raw = b"\n".join(lines[:row] + lines[row + 1 :])
        elif how == "tab":
            raw = b"\n".join([*lines[:row], b"\t" + lines[row], *lines[row + 1 :]])
        elif how == "char":
            char = draw(st.characters(exclude_categories=["Cs"])).encode()
            raw = raw[:at] + char + raw[at + 1 :]
        elif how == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[row], lines[other] = lines[other], lines[row]
            raw = b"\n".join(lines)
        else:
            lines[row] = b"  " + lines[row]
            raw = b"\n".join(lines)
    return raw


@st.composite
def random_documents(draw: st.DrawFn) -> bytes:
    """Anything at all: random values as YAML, random text, random bytes."""
    kind = draw(st.sampled_from(["yaml", "text", "bytes"]))
    if kind == "yaml":
        return dump_yaml(draw(VALUES)).encode()
    if kind == "text":
        return draw(st.text(max_size=400)).encode("utf-8", "surrogatepass")
    return draw(st.binary(max_size=400))


def _outcome(result: Result) -> str:
    """What kind of answer an example got (hypothesis statistics show the spread)."""
    if result.code == 0:
        return "valid"
    first = result.err.split("\n", 1)[0]
    return re.sub(r"^[^:]+:\d+:\d+: ", "", first).split(":")[0][:40]


# HOSTILE_EXAMPLES=2000 for a long hunt; the default keeps the file well under a minute.
HYPOTHESIS = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _no_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET, raising=False)


@HYPOTHESIS
@given(spec=mutated_specs())
def test_mutated_specs_fail_cleanly_and_write_nothing(
    capsys: pytest.CaptureFixture[str], spec: bytes
) -> None:
    event(_outcome(compile_and_check(capsys, spec)))


@HYPOTHESIS
@given(spec=damaged_texts())
def test_damaged_files_fail_cleanly_and_write_nothing(
    capsys: pytest.CaptureFixture[str], spec: bytes
) -> None:
    event(_outcome(compile_and_check(capsys, spec)))


@settings(HYPOTHESIS, max_examples=60)
@given(spec=random_documents())
def test_random_documents_fail_cleanly_and_write_nothing(
    capsys: pytest.CaptureFixture[str], spec: bytes
) -> None:
    result = compile_and_check(capsys, spec)
    event(_outcome(result))
    assert result.code == 1


def test_the_unmutated_sources_compile(capsys: pytest.CaptureFixture[str]) -> None:
    """The properties start from valid specs (else every mutant would fail for the same reason)."""
    for text in SOURCES.values():
        assert compile_and_check(capsys, text.encode()).code == 0


def test_the_checker_catches_a_traceback() -> None:
    with pytest.raises(AssertionError):
        assert_clean(Result(1, "", "Traceback (most recent call last):\n"))
    with pytest.raises(AssertionError):
        assert_clean(
            Result(1, "", "spec.yaml: no position\nerror: the spec is invalid (1 problem)\n")
        )


def test_the_locator_check_catches_a_made_up_position() -> None:
    spec = b"project: x\nservices: {}\n"
    assert_located(["spec.yaml:2:11: services: too few"], shown="spec.yaml", spec=spec)
    for made_up in (
        "spec.yaml:0:1: 0-based line",
        "spec.yaml:2:0: 0-based column",
        "spec.yaml:9:1: past the last line",
        "spec.yaml:1:40: past the widest line",
        "other.yaml:1:1: another file",
    ):
        with pytest.raises(AssertionError):
            assert_located([made_up], shown="spec.yaml", spec=spec)


# --- the corpus: one nasty input each, with the exact message -------------------------------------

SMALL = """\
project: hostile
services:
  web:
    image: app:1
    port: 8080
    host_port: {offset: 1}
    env_files: [".env.{color}"]
proxy:
  image: nginx
  ports: [{host: 26080}]
  upstreams:
    web: {service: web}
  locations: [{path: /, upstream: web}]
"""

LONG = "k" * 10_000
CORPUS: list[tuple[str, str, str, list[str]]] = [
    (
        "tab-in-indentation",
        "    image: app:1",
        "  \t  image: app:1",
        [
            "spec.yaml:4:3: invalid YAML: while scanning for the next token found character "
            "'\\t' that cannot start any token"
        ],
    ),
    (
        "duplicate-nested-key",
        "    port: 8080\n",
        "    port: 8080\n    port: 8081\n",
        [
            'spec.yaml:6:5: invalid YAML: while constructing a mapping found duplicate key "port" '
            'with value "8081" (original value: "8080")'
        ],
    ),
    (
        "unknown-top-level-key",
        "proxy:\n",
        "projetc: x\nproxy:\n",
        ["spec.yaml:8:1: projetc: unknown key; did you mean 'project'?"],
    ),
    (
        "missing-variable",
        "image: app:1",
        f"image: app:${{{UNSET}}}",
        [
            f"spec.yaml:4:5: services.web.image: ${{{UNSET}}} is not set; set it, or give a "
            f"default: ${{{UNSET}:-value}}"
        ],
    ),
    (
        "port-beyond-64-bits",
        "port: 8080",
        f"port: {2**64}",
        [
            "spec.yaml:5:5: services.web.port: number too large (more than 64 bits); quote it if it is text"
        ],
    ),
    (
        "port-within-64-bits",
        "port: 8080",
        f"port: {2**63}",
        [f"spec.yaml:5:5: services.web.port: must be between 1 and 65535 (got {2**63})"],
    ),
    (
        "port-with-5000-digits",
        "port: 8080",
        "port: 1" + "0" * 5000,
        [
            f"spec.yaml:5:11: invalid YAML: '1{'0' * 35}... looks like a number but cannot be "
            "read as one; quote it if it is text"
        ],
    ),
    (
        "port-infinite",
        "port: 8080",
        "port: 1e999",
        ["spec.yaml:5:5: services.web.port: should be a whole number (got inf)"],
    ),
    (
        "10k-character-key",
        "proxy:\n",
        f"? {LONG}\n: 1\nproxy:\n",
        [f"spec.yaml:8:3: {'k' * 40}…(10000 characters): unknown key"],
    ),
    (
        "10k-character-plain-key",
        "proxy:\n",
        f"{LONG}: 1\nproxy:\n",
        [
            "spec.yaml:8:10001: invalid YAML: while scanning a simple key could not find expected ':'"
        ],
    ),
    (
        "control-character",
        "image: app:1",
        "image: app:1\x07",
        [
            "spec.yaml:4:17: invalid YAML: character U+0007 is not allowed (special characters are "
            "not allowed); remove it"
        ],
    ),
    (
        "nul-in-a-value",
        "image: app:1",
        'image: "app:1\\0"',
        ["spec.yaml:4:5: services.web.image: contains a NUL character (\\x00); remove it"],
    ),
    (
        "escape-sequence-in-a-key",
        "  web:\n",
        '  web:\n    "\\e[2J\\e[31mred": 1\n',
        ["spec.yaml:4:5: services.web.\\x1b[2J\\x1b[31mred: unknown key"],
    ),
    (
        "line-separator-in-a-key",
        "  web:\n",
        '  web:\n    "a\\Lb\\Nc\\u202ed": 1\n',
        ["spec.yaml:4:5: services.web.a\\u2028b\\x85c\\u202ed: unknown key"],
    ),
    (
        "python-tag",
        "image: app:1",
        'image: !!python/object/apply:os.system ["touch pwned"]',
        [
            "spec.yaml:4:12: invalid YAML: tags such as !!python/object/apply:os.system are not "
            "supported in a spec; write the plain value"
        ],
    ),
    (
        "impossible-date",
        "image: app:1",
        "image: 2020-13-45",
        [
            "spec.yaml:4:12: invalid YAML: '2020-13-45' looks like a date but cannot be read as "
            "one; quote it if it is text"
        ],
    ),
    (
        "list-as-key",
        "  web:\n",
        "  web:\n    [1, 2]: x\n",
        ["spec.yaml:4:5: invalid YAML: keys must be plain text"],
    ),
    (
        "map-inside-a-list-key",  # unhashable: the YAML library itself used to crash on it
        "  web:\n",
        "  web:\n    ? - {volume: x}\n    : 1\n",
        ["spec.yaml:4:7: invalid YAML: keys must be plain text"],
    ),
    (
        "deep-nesting",
        "image: app:1",
        "image: " + "[" * 100 + "]" * 100,
        [f"spec.yaml:4:73: invalid YAML: nested more than {MAX_DEPTH} levels deep; not a spec"],
    ),
    (
        "alias-chain-deeper-than-the-limit",
        "project: hostile\n",
        "project: hostile\nx0: &x0 [1]\n"
        + "".join(f"x{i}: &x{i} [*x{i - 1}]\n" for i in range(1, 70))
        + "",
        [f"spec.yaml:2:10: nested more than {MAX_DEPTH} levels deep (aliases?)"],
    ),
    (
        "env-file-escaping",
        '[".env.{color}"]',
        '["../.env.{color}"]',
        [
            "spec.yaml:7:17: services.web.env_files[0]: '../.env.{color}' escapes the project "
            "root; keep paths inside it"
        ],
    ),
    (
        "build-context-escaping",
        "    port: 8080\n",
        "    port: 8080\n    build: {context: ../src}\n",
        [
            "spec.yaml:6:13: services.web.build.context: '../src' escapes the project root; keep "
            "paths inside it"
        ],
    ),
    (
        "state-dir-escaping",
        "proxy:\n",
        "state_dir: ../state\nproxy:\n",
        ["spec.yaml:8:1: state_dir: '../state' escapes the project root; keep paths inside it"],
    ),
    (
        "backups-dir-escaping",
        "proxy:\n",
        "backups: {dir: a/../../b}\nproxy:\n",
        ["spec.yaml:8:11: backups.dir: 'a/../../b' escapes the project root; keep paths inside it"],
    ),
    (
        "logs-dir-escaping",
        "proxy:\n",
        "logs: {dir: ../../var/log}\nproxy:\n",
        ["spec.yaml:8:8: logs.dir: '../../var/log' escapes the project root; keep paths inside it"],
    ),
    (
        "managed-path-escaping-through-color",
        "proxy:\n",
        "paths:\n  up: {path: '{color}/../../up'}\nproxy:\n",
        [
            "spec.yaml:9:8: paths.up.path: '{color}/../../up' escapes the project root; keep paths "
            "inside it"
        ],
    ),
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder as the working directory (so messages say `spec.yaml`)."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def assert_refused(
    capsys: pytest.CaptureFixture[str], root: Path, content: str | bytes, *args: str
) -> list[str]:
    """Compile the spec: exit 1, clean problem lines, and the project exactly as before."""
    spec = root / "spec.yaml"
    spec.write_bytes(content.encode() if isinstance(content, str) else content)
    before = snapshot(root.parent)
    result = invoke(capsys, "-f", "spec.yaml", *(args or ("compile",)))
    assert result.code == 1, result
    problems = assert_clean(result)
    assert snapshot(root.parent) == before
    return problems


def test_the_corpus_base_is_valid(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "spec.yaml").write_text(SMALL)
    assert invoke(capsys, "-f", "spec.yaml", "validate").code == 0


@pytest.mark.parametrize(
    ("old", "new", "expected"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_nasty_yaml(
    capsys: pytest.CaptureFixture[str], project: Path, old: str, new: str, expected: list[str]
) -> None:
    assert old in SMALL
    assert assert_refused(capsys, project, SMALL.replace(old, new, 1)) == expected
    assert not (project / "pwned").exists()


def test_a_default_fills_a_missing_variable(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    (project / "spec.yaml").write_text(SMALL.replace("app:1", f"app:${{{UNSET}:-2}}"))
    result = invoke(capsys, "-f", "spec.yaml", "compile")
    assert result.code == 0, result.err
    assert "image: app:2" in (project / "generated" / "hostile" / "compose.blue.yml").read_text()


def test_a_merged_key_is_located_where_it_is_written(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    spec = SMALL.replace("  web:\n", "  web:\n    <<: &extra {imge: x}\n")
    assert assert_refused(capsys, project, spec) == [
        "spec.yaml:4:17: services.web.imge: unknown key; did you mean 'image'?"
    ]


def test_legal_yaml_the_library_warns_about_is_quiet(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    """A reused anchor and a YAML 1.1 float without a dot: ruamel warns (an error under pytest's
    filterwarnings), specctl stays quiet."""
    spec = SMALL.replace("port: 8080", "port: &p 8080\n    resources: {cpus: 5e-1}")
    spec = "%YAML 1.1\n---\n" + spec.replace("{offset: 1}", "{offset: &p 1}")
    (project / "spec.yaml").write_text(spec)
    result = invoke(capsys, "-f", "spec.yaml", "validate")
    assert result.code == 0
    # No YAML warning: only the note that the spec's env files are not on this host.
    assert all(line.startswith("warning: env file") for line in result.err.splitlines())


def test_an_unterminated_default_is_not_quadratic(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    """`${A:-` a hundred thousand times with no `}`: kept as text, in linear time."""
    (project / "spec.yaml").write_text(SMALL.replace("app:1", "'" + "${A:-" * 100_000 + "'"))
    assert invoke(capsys, "-f", "spec.yaml", "validate").code == 0


DOCUMENTS: list[tuple[str, bytes, str]] = [
    ("empty", b"", "spec.yaml:1:1: the spec must be a mapping of keys (the file is empty)"),
    (
        "comments-only",
        b"# nothing\n\n",
        "spec.yaml:1:1: the spec must be a mapping of keys (the file is empty)",
    ),
    (
        "a-list",
        b"- project\n- x\n",
        "spec.yaml:1:1: the spec must be a mapping of keys (got list ['project', 'x'])",
    ),
    ("a-scalar", b"hello\n", "spec.yaml:1:1: the spec must be a mapping of keys (got str 'hello')"),
    (
        "two-documents",
        SMALL.encode() + b"---\nproject: again\n",
        "spec.yaml:14:1: invalid YAML: expected a single document in the stream but found "
        "another document",
    ),
    (
        "latin-1",
        SMALL.replace("app:1", "café").encode("latin-1"),
        "spec.yaml:4:15: not valid UTF-8 text; save the spec as UTF-8",
    ),
    (
        "utf-16-with-bom",
        SMALL.encode("utf-16"),
        "spec.yaml:1:1: UTF-16 text (it starts with a byte order mark); save the spec as UTF-8",
    ),
    (
        "utf-16-without-bom",
        SMALL.encode("utf-16-le"),
        "spec.yaml:1:2: invalid YAML: character U+0000 is not allowed (special characters are not "
        "allowed); remove it",
    ),
    (
        "binary-garbage",
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00",
        "spec.yaml:1:1: invalid YAML: character U+007F is not allowed (special characters are not "
        "allowed); remove it",
    ),
    (
        "all-the-bytes",
        bytes(range(256)),
        "spec.yaml:2:118: not valid UTF-8 text; save the spec as UTF-8",  # 0x80, after the 0x0a
    ),
    (
        "binary-garbage-not-utf-8",
        b"project: x\n\x89PNG\r\n\x1a\n\x00\x00",
        "spec.yaml:2:1: not valid UTF-8 text; save the spec as UTF-8",
    ),
    (
        "too-many-lines",
        b"project: x\n" + b"\n" * MAX_LINES,
        f"spec.yaml:{MAX_LINES + 1}:1: more than {MAX_LINES} lines; not a spec",
    ),
    (
        "too-many-lines-of-carriage-returns",
        b"project: x\r" + b"\r" * MAX_LINES,
        f"spec.yaml:{MAX_LINES + 1}:1: more than {MAX_LINES} lines; not a spec",
    ),
    (
        "too-many-values",
        b"project: [" + b"1," * MAX_NODES + b"1]\n",
        # the mapping, its key and the list are values too: the item that overflows is the
        # (MAX_NODES - 2)th
        f"spec.yaml:1:{len('project: [') + 2 * (MAX_NODES - 3) + 1}: invalid YAML: more than "
        f"{MAX_NODES} values; not a spec",
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"), [d[1:] for d in DOCUMENTS], ids=[d[0] for d in DOCUMENTS]
)
def test_not_a_spec(
    capsys: pytest.CaptureFixture[str], project: Path, content: bytes, expected: str
) -> None:
    assert assert_refused(capsys, project, content) == [expected]


def test_a_utf8_byte_order_mark_is_fine(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "spec.yaml").write_bytes(b"\xef\xbb\xbf" + SMALL.encode())
    assert invoke(capsys, "-f", "spec.yaml", "validate").code == 0


def test_a_folder_is_not_a_spec(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "config").mkdir()
    result = invoke(capsys, "-f", "config", "validate")
    assert assert_clean(result) == ["config:1:1: is a folder, not a spec file"]


# --- files outside the project root --------------------------------------------------------------

BASE_SPEC = SMALL.replace("  image: nginx\n", "  image: nginx\n  base: BASE\n").replace(
    "  locations: [{path: /, upstream: web}]\n", ""
)
NGINX = "events {}\nhttp {\n  upstream web {\n    server x:1;\n  }\n  server { listen 80; }\n}\n"


def _outside(tmp: Path) -> Path:
    secret = tmp / "outside" / "secret.conf"
    secret.parent.mkdir()
    secret.write_text("SECRET-OUTSIDE-THE-ROOT\n" + NGINX)
    return secret


def test_a_base_inside_the_project_compiles(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    (project / "nginx.conf").write_text(NGINX)
    (project / "spec.yaml").write_text(BASE_SPEC.replace("BASE", "nginx.conf"))
    result = invoke(capsys, "-f", "spec.yaml", "compile")
    assert result.code == 0, result.err


@pytest.mark.parametrize("how", ["dot-dot", "absolute", "symlink"])
def test_a_base_outside_the_project_is_refused(
    capsys: pytest.CaptureFixture[str], project: Path, how: str
) -> None:
    secret = _outside(project.parent)
    base = {"dot-dot": "../outside/secret.conf", "absolute": str(secret), "symlink": "nginx.conf"}[
        how
    ]
    if how == "symlink":
        (project / "nginx.conf").symlink_to(secret)
    problems = assert_refused(capsys, project, BASE_SPEC.replace("BASE", base))
    assert problems == [
        f"spec.yaml:10:3: proxy.base: {base!r} resolves to {secret}, outside the project root "
        f"{project}; keep it inside the project"
    ]


def test_an_env_file_linked_out_of_the_project_is_refused(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    secret = _outside(project.parent)
    (project / ".env.blue").write_text("A=1\n")
    (project / ".env.green").symlink_to(secret)
    problems = assert_refused(capsys, project, SMALL)
    assert problems == [
        f"spec.yaml:7:17: services.web.env_files[0]: '.env.{{color}}' resolves to {secret}, "
        f"outside the project root {project}; keep it inside the project"
    ]


def test_an_env_file_named_by_its_absolute_path_may_live_elsewhere(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    secret = _outside(project.parent)
    (project / "spec.yaml").write_text(SMALL.replace('".env.{color}"', f'"{secret}"'))
    result = invoke(capsys, "-f", "spec.yaml", "compile")
    assert result.code == 0, result.err


def test_the_hint_names_the_way_out(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    secret = _outside(project.parent)
    (project / "spec.yaml").write_text(BASE_SPEC.replace("BASE", str(secret)))
    result = invoke(capsys, "-f", "spec.yaml", "validate")
    assert result.err.splitlines()[-1] == (
        "hint: keep the file inside the project (a symlink that leads out does not count); an env "
        "file kept elsewhere can be named by its absolute path"
    )
    assert "SECRET-OUTSIDE-THE-ROOT" not in result.out + result.err


def test_a_missing_base_is_a_located_problem(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    problems = assert_refused(capsys, project, BASE_SPEC.replace("BASE", "nope.conf"))
    assert problems == [
        "spec.yaml:10:3: proxy.base: cannot read 'nope.conf' (No such file or directory)"
    ]


def test_a_base_that_is_not_utf8_is_located_in_the_base(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    (project / "nginx.conf").write_bytes(NGINX.replace("x:1", "h\xf4te:1").encode("latin-1"))
    problems = assert_refused(capsys, project, BASE_SPEC.replace("BASE", "nginx.conf"))
    assert problems == ["nginx.conf:4:13: not valid UTF-8 text; save the nginx config as UTF-8"]


# --- bounded time and memory, in a child process limited to 1 GiB of address space ---------------

GIB = 1024**3


def run_limited(*args: str, cwd: Path) -> Result:
    """`python -m specctl ARGS` with RLIMIT_AS at 1 GiB; fails the test after 60 s."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))

    proc = subprocess.run(
        [sys.executable, "-m", "specctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        preexec_fn=limit,
        timeout=60,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _laughs(levels: int, leaf: str) -> str:
    """The "billion laughs": each level lists the previous one ten times."""
    lines = [f"l0: &l0 {leaf}"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(["project: x", *lines]) + "\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _laughs(10, "lol"),
            f"spec.yaml:3:5: more than {MAX_NODES} values (alias expansion?)",
        ),
        (
            _laughs(4, "'" + "x" * 100_000 + "'"),
            "spec.yaml:2:5: values add up to more than 4 MiB (alias expansion?)",
        ),
    ],
    ids=["a-billion-values", "a-billion-characters"],
)
def test_exponential_aliases_are_refused_in_bounded_memory(
    project: Path, text: str, expected: str
) -> None:
    (project / "spec.yaml").write_text(text)
    result = run_limited("-f", "spec.yaml", "compile", cwd=project)
    assert result.code == 1, result
    assert assert_clean(result) == [expected]
    assert not (project.parent / "generated").exists()


def test_a_50_mb_file_is_refused_unread(project: Path) -> None:
    with (project / "spec.yaml").open("wb") as handle:
        handle.write(b"project: x\nservices: {}\n# " + b"x" * (50 * 1024 * 1024) + b"\n")
    result = run_limited("-f", "spec.yaml", "validate", cwd=project)
    assert result.code == 1, result
    assert assert_clean(result) == [
        "spec.yaml:1:1: file is larger than 4 MiB; refused unread (is it the spec?)"
    ]


def test_an_endless_file_is_refused_unread(project: Path) -> None:
    result = run_limited("-f", "/dev/zero", "validate", cwd=project)
    assert result.code == 1, result
    problems = assert_clean(result)
    assert problems == [
        f"{os.path.relpath('/dev/zero', project)}:1:1: file is larger than 4 MiB; refused unread "
        "(is it the spec?)"
    ]


def test_a_subprocess_run_reports_like_the_in_process_one(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    (project / "spec.yaml").write_text(SMALL.replace("port: 8080", f"port: {2**64}"))
    child = run_limited("-f", "spec.yaml", "compile", cwd=project)
    here = invoke(capsys, "-f", "spec.yaml", "compile")
    assert (child.code, child.err) == (here.code, here.err)
    assert child.code == 1 and "Traceback" not in child.err


def test_a_line_separator_in_a_value_is_not_a_line_of_the_spec(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Found by hypothesis (seed 66009496): U+2028 inside a quoted value, an unknown key after it
    on the same line. The YAML reader counts only \\n and \\r, so the error is at line 1, past
    the separator, and that column exists."""
    spec = '{"version": 1, "domain": "\u2028", "project": "x", "bogus": 1}\n'.encode()
    result = compile_and_check(capsys, spec)
    assert result.code == 1
    assert ":1:47: bogus: unknown key" in result.err, result.err
