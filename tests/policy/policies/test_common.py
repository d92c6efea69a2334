from __future__ import annotations

from typing import Any

from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policy.policies.common import UNKNOWN, get, is_set, parse_json, plain, resolve_config


def test_plain_replaces_unknowns_and_unwraps_proxies() -> None:
    proxied = unknown_checking_proxy(
        {"a": UNKNOWN_STRING_VALUE, "b": [1.0, {"c": UNKNOWN_BOOLEAN_VALUE}], "d": 0.5}
    )
    assert plain(proxied) == {"a": UNKNOWN, "b": [1, {"c": UNKNOWN}], "d": 0.5}


def test_get_walks_dicts_and_lists() -> None:
    value = {"a": [{"b": 1}], "u": UNKNOWN}
    assert get(value, "a", 0, "b") == 1
    assert get(value, "a", 5, "b") is None
    assert get(value, "missing", "b") is None
    assert get(value, "u", "deeper") is UNKNOWN


def test_unknown_counts_as_set_but_empty_does_not() -> None:
    assert is_set(UNKNOWN)
    assert is_set("arn")
    assert not is_set("")
    assert not is_set(None)


def test_parse_json() -> None:
    assert parse_json('{"Statement": []}') == {"Statement": []}
    assert parse_json("not json") is None
    assert parse_json(UNKNOWN) is UNKNOWN


def test_resolve_config_fills_defaults_and_restores_whole_numbers() -> None:
    schema: dict[str, dict[str, Any]] = {
        "days": {"type": "integer", "default": 7},
        "flag": {"type": "boolean"},
    }
    assert resolve_config(schema, {"days": 3.0, "unknown": 1}) == {"days": 3, "flag": None}
