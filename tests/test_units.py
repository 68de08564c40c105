"""Durations, sizes, modes, addresses and ports as a spec writes them (schemas/units.py)."""

from __future__ import annotations

import pytest

from specctl.schemas.units import (
    _check_port,
    compose_duration,
    parse_address,
    parse_duration,
    parse_mode,
    parse_size,
    seconds,
    size_bytes,
)

DURATION_HINT = "must be a duration with a unit such as 30s or 5m (got {!r})"


@pytest.mark.parametrize("text", ["30s", "5m", "1h30m", "250ms", "1.5s", "2d", "1h2m3s4ms"])
def test_a_duration_is_kept_as_written(text: str) -> None:
    assert parse_duration(text) == text
    assert parse_duration(f"  {text}\n") == text


@pytest.mark.parametrize("value", ["30", "1m30", "s", "", "30 s", "-5s", "5x", 30, 1.5, True, None])
def test_a_duration_without_a_unit_is_refused_with_what_was_written(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value) == DURATION_HINT.format(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", 30.0),
        ("1m30s", 90.0),
        ("250ms", 0.25),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1.5m", 90.0),
        ("1h1m1s1ms", 3661.001),
    ],
)
def test_seconds(text: str, expected: float) -> None:
    assert seconds(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", "30s"),
        ("1m30s", "90s"),
        ("1d", "86400s"),
        ("250ms", "250ms"),
        ("1.5s", "1500ms"),
        ("1s1ms", "1001ms"),
    ],
)
def test_compose_duration_is_whole_seconds_or_milliseconds(text: str, expected: str) -> None:
    assert compose_duration(text) == expected


@pytest.mark.parametrize("text", ["512M", "4G", "1k", "100", "2.5g", "10mb", "1TB", " 8G "])
def test_a_size_is_kept_as_written(text: str) -> None:
    assert parse_size(text) == text.strip()


def test_a_size_may_be_a_plain_number_of_bytes() -> None:
    assert parse_size(1024) == "1024"


@pytest.mark.parametrize("value", ["4X", "G", "", "-1G", "4 G", 1.5, True, None, ["4G"]])
def test_a_bad_size_is_refused(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_size(value)
    assert str(caught.value) == f"must be a size such as 512M or 4G (got {value!r})"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", 100),
        ("1k", 1024),
        ("1K", 1024),
        ("2m", 2 * 1024**2),
        ("4G", 4 * 1024**3),
        ("1t", 1024**4),
        ("1.5k", 1536),
        ("10mb", 10 * 1024**2),
        (" 3g ", 3 * 1024**3),
    ],
)
def test_size_bytes(text: str, expected: int) -> None:
    assert size_bytes(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0755", "0755"),
        ("755", "0755"),
        ("0600", "0600"),
        ("1755", "1755"),
        ("01755", "1755"),
        ("644", "0644"),
        ("0000", "0000"),
    ],
)
def test_a_mode_is_four_octal_digits(value: str, expected: str) -> None:
    assert parse_mode(value) == expected


@pytest.mark.parametrize("value", ["0999", "75", "077777", "rwx", "", "0o755", "7 55", None, 7.5])
def test_a_bad_mode_is_refused(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_mode(value)
    assert str(caught.value) == f'must be an octal mode in quotes such as "0755" (got {value!r})'


@pytest.mark.parametrize("value", [755, 493, 0])
def test_an_unquoted_mode_is_refused_with_the_reason(value: int) -> None:
    with pytest.raises(ValueError) as caught:
        parse_mode(value)
    assert str(caught.value) == (
        f'must be an octal mode in quotes such as "0755" (got {value}: YAML reads an unquoted '
        "mode as a decimal number)"
    )


def test_a_boolean_mode_is_refused_as_not_a_string() -> None:
    with pytest.raises(ValueError, match=r"got True\)$"):
        parse_mode(True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        (" 0.0.0.0 ", "0.0.0.0"),
        ("::1", "::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("2001:DB8::1", "2001:db8::1"),
    ],
)
def test_an_address_is_canonical(value: str, expected: str) -> None:
    assert parse_address(value) == expected


@pytest.mark.parametrize("value", ["localhost", "256.0.0.1", "", 127, None])
def test_a_bad_address_is_refused(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_address(value)
    assert str(caught.value) == (
        f"must be an IP address such as 127.0.0.1 or 0.0.0.0 (got {value!r})"
    )
    if isinstance(value, str):  # ipaddress's own error is not chained to ours
        assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("port", [1, 80, 65535])
def test_a_port_in_range(port: int) -> None:
    assert _check_port(port) == port


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_a_port_out_of_range(port: int) -> None:
    with pytest.raises(ValueError) as caught:
        _check_port(port)
    assert str(caught.value) == f"must be between 1 and 65535 (got {port})"
