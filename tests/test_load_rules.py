"""Loading a spec (compiler/load.py): YAML shapes, bounds, keys, variables and the messages a
person reads; plus the error types (schemas/errors.py) and per-colour services (schemas/spec.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from specctl.compiler import load
from specctl.compiler.load import _problem, dotted, interpolate, load_spec, parse_yaml
from specctl.schemas.errors import Problem, SpecctlError, SpecError
from specctl.schemas.spec import Upstream
from tests.test_spec_errors import GOOD

PORT = "    port: 8080\n"
SURROGATES = (
    "holds unpaired surrogates; write the character itself, or one escape for it such as "
    "\\U0001F600"
)


def rendered(error: SpecError) -> list[str]:
    assert all(isinstance(p.path, str) for p in error.problems)  # "" when it is the whole file
    return [p.render() for p in error.problems]


def spec_problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(text, filename="spec.yaml", env=env)
    return rendered(info.value)


def yaml_problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_yaml(text, filename="spec.yaml")
    return rendered(info.value)


def values(text: str) -> Any:
    return parse_yaml(text, filename="spec.yaml")[0]


# --- The file as a whole -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("- 1\n- 2\n", "got list [1, 2]"),
        ("a" * 38, "got str '" + "a" * 38 + "'"),  # a shown value of 40 characters is whole
        ("a" * 39, "got str '" + "a" * 36 + "..."),  # one more is cut to 37 and "..."
    ],
)
def test_a_file_that_is_not_a_mapping_is_refused_with_what_it_holds(
    text: str, expected: str
) -> None:
    assert spec_problems(text) == [
        f"spec.yaml:1:1: the spec must be a mapping of keys ({expected})"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "#" * (4 * 1024 * 1024 + 1),
            "spec.yaml:1:1: file is larger than 4 MiB; not a spec",
            id="one-byte-over-4-mib",
        ),
        pytest.param(  # an unpaired surrogate is 3 bytes once written out
            "\ud800" * (4 * 1024 * 1024 // 3 + 1),
            "spec.yaml:1:1: file is larger than 4 MiB; not a spec",
            id="surrogates-over-4-mib",
        ),
        pytest.param(  # exactly 4 MiB is not too large: its 4 Mi lines are what is refused
            "\n" * (4 * 1024 * 1024),
            "spec.yaml:100001:1: more than 100000 lines; not a spec",
            id="exactly-4-mib",
        ),
        pytest.param(
            "\n" * 100_001,
            "spec.yaml:100001:1: more than 100000 lines; not a spec",
            id="lines-lf",
        ),
        pytest.param(
            "\r" * 100_001,
            "spec.yaml:100001:1: more than 100000 lines; not a spec",
            id="lines-cr",
        ),
        pytest.param(
            "\u2028" * 50_000 + "\x85" * 50_001,
            "spec.yaml:100001:1: more than 100000 lines; not a spec",
            id="lines-unicode-breaks",
        ),
    ],
)
def test_a_file_too_large_to_be_a_spec_is_refused_unread(text: str, expected: str) -> None:
    assert yaml_problems(text) == [expected]


def test_a_file_of_exactly_the_most_lines_is_read() -> None:
    assert parse_yaml("\n" * 100_000, filename="spec.yaml") == (None, {})


# --- YAML that cannot be read, located ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "a: " + "[" * 70 + "]" * 70,
            "spec.yaml:1:67: invalid YAML: nested more than 64 levels deep; not a spec",
            id="nested-too-deep",
        ),
        pytest.param(
            "a: !!int x\n",
            "spec.yaml:1:4: invalid YAML: tags such as !!int are not supported in a spec; write "
            "the plain value",
            id="tag-int",
        ),
        pytest.param(
            "a: !custom x\n",
            "spec.yaml:1:4: invalid YAML: tags such as !custom are not supported in a spec; write "
            "the plain value",
            id="tag-local",
        ),
        pytest.param(
            "a: !<tag:yaml.org,2002:str> x\n",
            "spec.yaml:1:4: invalid YAML: tags such as !tag:yaml.org,2002:str are not supported "
            "in a spec; write the plain value",
            id="tag-verbatim",
        ),
        pytest.param(
            "? [a, b]\n: 1\n",
            "spec.yaml:1:3: invalid YAML: keys must be plain text",
            id="list-as-key",
        ),
        pytest.param(
            "a:\n  ? {b: 1}\n  : 1\n",
            "spec.yaml:2:5: invalid YAML: keys must be plain text",
            id="map-as-key",
        ),
        pytest.param(
            "a: " + "1" * 5000 + "\n",
            "spec.yaml:1:4: invalid YAML: '" + "1" * 36 + "... looks like a number but cannot be "
            "read as one; quote it if it is text",
            id="number-of-5000-digits",
        ),
        pytest.param(
            "a:\n  b: 2020-13-45\n",
            "spec.yaml:2:6: invalid YAML: '2020-13-45' looks like a date but cannot be read as "
            "one; quote it if it is text",
            id="impossible-date",
        ),
        pytest.param(
            "a: &a\n  <<: *a\n",
            "spec.yaml:1:4: invalid YAML: cannot read this value (AttributeError: 'NoneType' "
            "object has no attribute 'add_referent')",
            id="map-merged-into-itself",
        ),
        pytest.param(
            "\nab\x07",
            "spec.yaml:2:3: invalid YAML: character U+0007 is not allowed (special characters "
            "are not allowed); remove it",
            id="control-character-on-line-2",
        ),
        pytest.param(
            "a: 1\nb: 2\nc: \x07",
            "spec.yaml:3:4: invalid YAML: character U+0007 is not allowed (special characters "
            "are not allowed); remove it",
            id="control-character-on-line-3",
        ),
        pytest.param(
            "a: \x07\nb: 1\n",
            "spec.yaml:1:4: invalid YAML: character U+0007 is not allowed (special characters "
            "are not allowed); remove it",
            id="control-character-before-more-lines",
        ),
        pytest.param(
            "a: 1\n---\nb: 2\n",
            "spec.yaml:2:1: invalid YAML: expected a single document in the stream but found "
            "another document",
            id="two-documents",
        ),
    ],
)
def test_yaml_that_cannot_be_read_is_refused_where_it_is(text: str, expected: str) -> None:
    assert yaml_problems(text) == [expected]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (YAMLError("the reader\n   gave up"), "invalid YAML: the reader gave up"),
        (MarkedYAMLError(problem="went wrong"), "invalid YAML: went wrong"),
    ],
)
def test_a_yaml_error_without_a_position_is_reported_at_the_start(
    monkeypatch: pytest.MonkeyPatch, error: Exception, expected: str
) -> None:
    def fail(self: YAML, text: str) -> None:
        raise error

    monkeypatch.setattr(YAML, "load", fail)
    assert yaml_problems("a: 1\n") == [f"spec.yaml:1:1: {expected}"]


# --- Keys and values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "a:\n  1: x\n  '1': y\n", "spec.yaml:3:3: a: duplicate key '1'", id="same-as-text"
        ),
        pytest.param('"a\\0": 1\n', "spec.yaml:1:1: keys must be plain text", id="nul-in-a-key"),
        pytest.param(
            'a:\n  "b\\0": 1\n', "spec.yaml:2:3: a: keys must be plain text", id="nul-in-a-sub-key"
        ),
        pytest.param(
            f"{2**64}: 1\n", "spec.yaml:1:1: keys must be plain text", id="key-beyond-64-bits"
        ),
        pytest.param(
            'x: 1\ny: "\\0"\n',
            "spec.yaml:2:1: y: contains a NUL character (\\x00); remove it",
            id="nul-in-a-value",
        ),
        pytest.param(
            'a:\n  b: [x, "\\0"]\n',
            "spec.yaml:2:10: a.b[1]: contains a NUL character (\\x00); remove it",
            id="nul-in-a-list-item",
        ),
        pytest.param(
            f"a:\n  b: {2**64}\n",
            "spec.yaml:2:3: a.b: number too large (more than 64 bits); quote it if it is text",
            id="number-beyond-64-bits",
        ),
        pytest.param(
            f"a: [1, -{2**64}]\n",
            "spec.yaml:1:8: a[1]: number too large (more than 64 bits); quote it if it is text",
            id="negative-number-beyond-64-bits",
        ),
    ],
)
def test_a_key_or_value_no_spec_can_use_is_refused_where_it_is(text: str, expected: str) -> None:
    assert yaml_problems(text) == [expected]


def test_keys_are_text_and_values_keep_their_type() -> None:
    text = (
        f"~: null\n1.5: 1.5\n2020-01-01: 2020-01-01\ntrue: true\n{2**64 - 1}: {2**64 - 1}\n"
        f"n: -{2**64 - 1}\ns: ! text\nl: [1, x]\n"
    )
    loaded = values(text)
    assert loaded == {
        "None": None,
        "1.5": 1.5,
        "2020-01-01": date(2020, 1, 1),
        "True": True,
        str(2**64 - 1): 2**64 - 1,
        "n": -(2**64 - 1),
        "s": "text",
        "l": [1, "x"],
    }
    assert [type(v) for v in loaded.values()] == [
        type(None),
        float,
        type(loaded["2020-01-01"]),
        bool,
        int,
        int,
        str,
        list,
    ]


def test_every_key_and_item_is_located() -> None:
    text = "a:\n  b: [x, y]\nc: 1\n"
    assert parse_yaml(text, filename="spec.yaml")[1] == {
        ("a",): (1, 1),
        ("a", "b"): (2, 3),
        ("a", "b", 0): (2, 7),
        ("a", "b", 1): (2, 10),
        ("c",): (3, 1),
    }


def test_a_merged_key_is_located_where_its_anchor_wrote_it() -> None:
    text = "base: &b\n  k: 1\nuse:\n  <<: *b\n  j: 2\n"
    data, positions = parse_yaml(text, filename="spec.yaml")
    assert data == {"base": {"k": 1}, "use": {"j": 2, "k": 1}}
    assert positions[("use", "k")] == (2, 3)
    assert positions[("use", "j")] == (5, 3)


def test_a_key_merged_twice_over_is_located_at_the_mapping_that_merges_it() -> None:
    text = "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b}\n"
    data, positions = parse_yaml(text, filename="spec.yaml")
    assert data["c"] == {"x": 1, "y": 2}
    assert (positions[("b", "x")], positions[("c", "y")], positions[("c", "x")]) == (
        (1, 8),
        (2, 16),
        (3, 1),
    )


# --- What aliases may expand to -----------------------------------------------------------------


def test_values_beyond_the_node_bound_are_refused_while_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(load, "MAX_NODES", 4)
    assert values("[0, 0, 0]") == [0, 0, 0]  # the list and its 3 items: exactly the bound
    monkeypatch.setattr(load, "MAX_NODES", 3)
    assert yaml_problems("[0, 0, 0]") == [
        "spec.yaml:1:8: invalid YAML: more than 3 values; not a spec"
    ]


ALIASED = "a: &a [x, x, x]\nb: [*a, *a]\n"  # 10 values written, 16 once the aliases expand


@pytest.mark.parametrize(
    ("bound", "text", "expected"),
    [
        (15, ALIASED, "spec.yaml:1:14: more than 15 values (alias expansion?)"),
        (16, ALIASED + "c: 1\n", "spec.yaml:3:1: more than 16 values (alias expansion?)"),
    ],
)
def test_aliases_that_expand_beyond_the_node_bound_are_refused(
    monkeypatch: pytest.MonkeyPatch, bound: int, text: str, expected: str
) -> None:
    monkeypatch.setattr(load, "MAX_NODES", 16)
    assert values(ALIASED)["b"] == [["x", "x", "x"], ["x", "x", "x"]]
    monkeypatch.setattr(load, "MAX_NODES", bound)
    assert yaml_problems(text) == [expected]


def _characters(padding: int) -> str:
    """Keys a, b, c (3) + 64 x 65535 aliased characters + padding: 4 MiB at padding 61."""
    return "a: &a " + "x" * 65535 + "\nb: [" + ", ".join(["*a"] * 63) + "]\nc: " + "y" * padding


def test_aliases_that_expand_beyond_4_mib_of_text_are_refused() -> None:
    assert len(values(_characters(61))["b"]) == 63
    assert yaml_problems(_characters(62)) == [
        "spec.yaml:3:1: values add up to more than 4 MiB (alias expansion?)"
    ]


def _chain(levels: int) -> str:
    return "x0: &x0 [1]\n" + "".join(f"x{i}: &x{i} [*x{i - 1}]\n" for i in range(1, levels + 1))


def test_aliases_that_nest_deeper_than_the_bound_are_refused() -> None:
    assert "x62" in values(_chain(62))  # its 1 is 64 levels deep: the bound
    assert yaml_problems(_chain(63)) == [
        "spec.yaml:1:10: nested more than 64 levels deep (aliases?)"
    ]


# --- Text Python holds but UTF-8 cannot ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '"\\ud800": 1\n',
            ["spec.yaml:1:1: \ud800: not valid Unicode text: \\ud800 " + SURROGATES],
        ),
        (
            'a:\n  "k\\udc00": 1\n',
            ["spec.yaml:2:3: a.k\udc00: not valid Unicode text: \\udc00 " + SURROGATES],
        ),
        (
            'a: ["\\ud800", ok, "\\udc00"]\n',
            [
                "spec.yaml:1:5: a[0]: not valid Unicode text: \\ud800 " + SURROGATES,
                "spec.yaml:1:19: a[2]: not valid Unicode text: \\udc00 " + SURROGATES,
            ],
        ),
    ],
    ids=["key", "sub-key", "list-items"],
)
def test_unpaired_surrogates_are_refused_in_keys_and_items(text: str, expected: list[str]) -> None:
    assert spec_problems(text) == expected


# --- ${VAR} -------------------------------------------------------------------------------------

ENV = {"A": "1", "B": "2", "EMPTY": ""}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${A}", "1"),
        ("${A}-${B}", "1-2"),
        ("${A}$$", "1$"),
        ("$${A}", "${A}"),
        ("p$$q", "p$q"),
        ("cost $5", "cost $5"),
        ("x${A", "x${A"),
        ("${A:-d}", "1"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY}", ""),
        ("${UNSET:-d}", "d"),
        ("${UNSET:-}", ""),
        (["${A}", 5, True], ["1", 5, True]),
        ({"k": "${B}"}, {"k": "2"}),
        (5, 5),
    ],
)
def test_variables_are_filled_like_compose_fills_them(value: Any, expected: Any) -> None:
    assert interpolate({"v": value}, ENV, {}, "spec.yaml") == {"v": expected}


def test_a_variable_in_the_spec_comes_from_the_environment_given() -> None:
    text = GOOD.replace("image: shop/web:1", "image: shop/web:${TAG}")
    assert load_spec(text, filename="spec.yaml", env={"TAG": "2"}).services["web"].image == (
        "shop/web:2"
    )
    assert spec_problems(text.replace("image: nginx", "image: nginx:${NGINX}")) == [
        "spec.yaml:7:5: services.web.image: ${TAG} is not set; set it, or give a default: "
        "${TAG:-value}",
        "spec.yaml:11:3: proxy.image: ${NGINX} is not set; set it, or give a default: "
        "${NGINX:-value}",
    ]


# --- Messages about the model -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "project: shop\n",
            "",
            ["spec.yaml:1:1: project: required key is missing"],
            id="missing-top-level-key",
        ),
        pytest.param(
            "  image: nginx\n",
            "",
            ["spec.yaml:10:1: proxy.image: required key is missing"],
            id="missing-nested-key",
        ),
        pytest.param(
            PORT,
            PORT + "    zzzz: 1\n",
            ["spec.yaml:9:5: services.web.zzzz: unknown key"],
            id="unknown-key-like-none",
        ),
        pytest.param(
            "proxy:",
            "deploy: {health_retries: x}\nproxy:",
            ["spec.yaml:10:10: deploy.health_retries: should be a whole number (got 'x')"],
            id="wrong-type",
        ),
        pytest.param(
            "    host_port: {offset: 1}\n",
            "    host_port: abc\n  db:\n    image: db\n    host_port: def\n",
            [
                "spec.yaml:9:5: services.web.host_port: should be a mapping or a whole number "
                "(got 'abc')",
                "spec.yaml:12:5: services.db.host_port: should be a mapping or a whole number "
                "(got 'def')",
            ],
            id="two-union-values",
        ),
        pytest.param(
            "    host_port: {offset: 1}\n",
            "    host_port: abc\n  db:\n    image: db\n    port: 70000\n",
            [
                "spec.yaml:9:5: services.web.host_port: should be a mapping or a whole number "
                "(got 'abc')",
                "spec.yaml:12:5: services.db.port: must be between 1 and 65535 (got 70000)",
            ],
            id="union-value-then-another",
        ),
        pytest.param(
            "    host_port: {offset: 1}\n",
            "    host_port: {offset: x}\n  db:\n    image: db\n    port: 70000\n",
            [
                "spec.yaml:9:17: services.web.host_port.offset: should be a whole number (got 'x')",
                "spec.yaml:12:5: services.db.port: must be between 1 and 65535 (got 70000)",
            ],
            id="union-form-then-another",
        ),
        pytest.param(
            "proxy:",
            "paths:\n  Bad: 5\nproxy:",
            [
                "spec.yaml:11:3: paths.Bad: a name starts with a lowercase letter, then lowercase "
                "letters, digits, _ or - (got 'Bad')",
                "spec.yaml:11:3: paths.Bad: should be a mapping (got 5)",
            ],
            id="bad-name-and-bad-value",
        ),
        pytest.param(
            "port: 8080",
            "port: 0",
            ["spec.yaml:8:5: services.web.port: must be between 1 and 65535 (got 0)"],
            id="port-zero",
        ),
        pytest.param(
            "{service: web}",
            "{servce: web}",
            [
                "spec.yaml:14:5: proxy.upstreams.web.service: required key is missing",
                "spec.yaml:14:11: proxy.upstreams.web.servce: unknown key; did you mean 'service'?",
            ],
            id="typo-in-a-model-or-text",
        ),
        pytest.param(
            "{offset: 1}",
            "{offset: 1, bleu: 2}",
            ["spec.yaml:9:28: services.web.host_port.bleu: unknown key; did you mean 'blue'?"],
            id="typo-in-a-model-or-number",
        ),
        pytest.param(
            PORT,
            PORT + "    healthcheck: {http: /, intervl: 5s}\n",
            [
                "spec.yaml:9:28: services.web.healthcheck.intervl: unknown key; did you mean "
                "'interval'?"
            ],
            id="typo-in-an-optional-model",
        ),
        pytest.param(
            "upstream: web}",
            "upstream: web, websockt: true}",
            [
                "spec.yaml:15:40: proxy.locations[0].websockt: unknown key; did you mean "
                "'websocket'?"
            ],
            id="typo-in-a-list-item",
        ),
        pytest.param(
            "proxy:",
            "notify:\n  channels: [{kind: slack, url_env: HOOK, evnts: []}]\nproxy:",
            ["spec.yaml:11:43: notify.channels[0].evnts: unknown key; did you mean 'events'?"],
            id="typo-in-a-tagged-union",
        ),
        pytest.param(
            PORT,
            PORT + "    command: [serve, 1]\n",
            ["spec.yaml:9:22: services.web.command[1]: should be text (got 1)"],
            id="wrong-type-in-a-union-list",
        ),
    ],
)
def test_a_model_problem_names_the_key_and_what_is_wrong(
    old: str, new: str, expected: list[str]
) -> None:
    assert old in GOOD
    assert spec_problems(GOOD.replace(old, new, 1)) == expected


def test_every_model_problem_is_reported_at_once() -> None:
    text = GOOD.replace("port: 8080", "port: 0").replace("proxy:", "deploy: {drain: 5}\nproxy:")
    assert spec_problems(text) == [
        "spec.yaml:8:5: services.web.port: must be between 1 and 65535 (got 0)",
        "spec.yaml:10:10: deploy.drain: must be a duration with a unit such as 30s or 5m (got 5)",
    ]


class Cat(BaseModel):
    species: Literal["cat"]


class Dog(BaseModel):
    species: Literal["dog"]


class Shapes(BaseModel):
    """Rules the spec's own types do not use (yet): their messages are plain words too."""

    model_config = ConfigDict(extra="forbid", strict=True)
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]+$")] = "A"
    pair: list[int] = Field(default=[1, 2], min_length=2)
    pet: Annotated[Cat | Dog, Field(discriminator="species")] = Cat(species="cat")
    even: int = 0

    @field_validator("even")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:  # pydantic words an AssertionError "Assertion failed, ..."
            raise AssertionError("must be even")
        return value


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"code": "abc"}, "t.yaml:3:5: code: must match ^[A-Z]+$ (got 'abc')"),
        ({"pair": [1]}, "t.yaml:3:5: pair: needs at least 2 item(s)"),
        (
            {"pet": {"species": "bird"}},
            "t.yaml:3:5: pet: 'species' must be one of cat, dog (got 'bird')",
        ),
        ({"pet": {}}, "t.yaml:3:5: pet: required key 'species' is missing"),
        ({"even": 3}, "t.yaml:3:5: even: must be even"),
    ],
)
def test_a_rule_the_spec_does_not_use_yet_gets_a_message_in_words(
    data: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValidationError) as info:
        Shapes.model_validate(data)
    [error] = info.value.errors()
    assert _problem(error, data, {(*data,): (3, 5)}, "t.yaml").render() == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("services", "web", "env_files", 0), "services.web.env_files[0]"),
        ((0, "a"), "[0].a"),
        (("k" * 60,), "k" * 60),
        (("k" * 61, "x"), "k" * 40 + "…(61 characters).x"),
        ((), ""),
    ],
)
def test_a_path_is_written_with_dots_and_indexes(
    path: tuple[str | int, ...], expected: str
) -> None:
    assert dotted(path) == expected


# --- schemas/errors.py --------------------------------------------------------------------------


def test_an_error_renders_its_message_and_its_hint() -> None:
    plain = SpecctlError("green.service.ml: not healthy")
    assert (str(plain), plain.message, plain.hint) == (
        "green.service.ml: not healthy",
        plain.message,
        None,
    )
    assert plain.render() == "green.service.ml: not healthy"
    hinted = SpecctlError("lock held", hint="specctl unlock")
    assert (hinted.message, hinted.hint) == ("lock held", "specctl unlock")
    assert hinted.render() == "lock held\nhint: specctl unlock"


def test_a_spec_error_lists_every_problem_one_a_line() -> None:
    problems = [
        Problem("spec.yaml", 8, 5, "services.web.port", "must be between 1 and 65535"),
        Problem("spec.yaml", 1, 1, "", "the file is empty"),
    ]
    error = SpecError(problems, hint="fix the spec")
    assert error.problems == problems
    assert str(error) == (
        "spec.yaml:8:5: services.web.port: must be between 1 and 65535\n"
        "spec.yaml:1:1: the file is empty"
    )
    assert error.render() == f"{error.message}\nhint: fix the spec"
    assert SpecError(problems).hint is None


# --- schemas/spec.py: a service as one colour runs it -------------------------------------------

HOST_PORT = "    host_port: {offset: 1}\n"
PER_COLOR = (
    HOST_PORT
    + "    environment: {A: '1', B: '2'}\n"
    + "    compose: {stop_grace_period: 5s}\n"
    + "    per_color:\n"
    + "      green: {image: shop/web:2, environment: {B: '3'}, compose: {init: true}}\n"
    + "  db:\n"
    + "    build: {context: db}\n"
    + "    per_color: {green: {command: [serve, --green]}}\n"
)


def test_a_colour_merges_its_environment_and_replaces_the_other_keys() -> None:
    spec = load_spec(GOOD.replace(HOST_PORT, PER_COLOR), filename="spec.yaml")
    web = spec.services["web"]
    assert web.for_color("blue") is web
    green = web.for_color("green")
    assert (green.image, green.environment, green.compose) == (
        "shop/web:2",
        {"A": "1", "B": "3"},
        {"init": True},
    )
    assert (green.port, green.host_port, green.per_color) == (8080, web.host_port, {})
    db = spec.services["db"].for_color("green")
    assert (db.command, db.build, db.image) == (
        ["serve", "--green"],
        spec.services["db"].build,
        None,
    )


def test_an_upstream_written_as_a_name_is_an_upstream_of_that_service() -> None:
    spec = load_spec(GOOD.replace("{service: web}", "web"), filename="spec.yaml")
    assert spec.upstream("web") == Upstream(service="web")
    written = load_spec(GOOD, filename="spec.yaml")
    assert written.upstream("web") is written.proxy.upstreams["web"]


def test_a_problem_only_one_colour_has_is_named_for_that_colour() -> None:
    text = GOOD.replace(
        PORT, PORT + "    pull: always\n    per_color: {green: {build: {context: web}}}\n"
    )
    assert spec_problems(text) == [
        "spec.yaml:6:3: services.web: per_color.green: pull applies to registry images; this "
        "service is built from build.context (its image is tagged by the build, never pulled)"
    ]


def test_a_problem_of_the_service_itself_blames_no_colour() -> None:
    text = GOOD.replace(
        "    host_port: {offset: 1}\n",
        "    bind: 127.0.0.1\n    per_color: {green: {environment: {A: b}}}\n",
    )
    assert spec_problems(text) == [
        "spec.yaml:6:3: services.web: bind needs host_port (bind is the host address it is "
        "published on)"
    ]
