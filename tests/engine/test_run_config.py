"""Tests for lgp_engine.run_config: a caller's run config, checked and merged."""

from __future__ import annotations

from typing import Any

import pytest

from lgp_engine.errors import UsageError
from lgp_engine.run_config import check_owned_keys, check_run_config, merge_run_config


def test_merge_keeps_the_callers_values_under_the_engines_own() -> None:
    caller = {
        "configurable": {"user_id": "u1", "thread_id": "t1"},
        "tags": ["a", "lgp"],
        "metadata": {"team": "x", "lgp_run_id": "forged"},
        "recursion_limit": 7,
        "run_name": "nightly",
    }
    own = {
        "configurable": {"thread_id": "t1", "__lgp_scope": object()},
        "metadata": {"lgp_run_id": "r1"},
        "tags": ["lgp"],
        "recursion_limit": 25,
    }
    merged = merge_run_config(caller, own)
    assert merged["configurable"]["user_id"] == "u1"
    assert merged["configurable"]["thread_id"] == "t1"
    assert "__lgp_scope" in merged["configurable"]
    assert merged["metadata"] == {"team": "x", "lgp_run_id": "r1"}
    assert merged["tags"] == ["a", "lgp"]
    assert merged["recursion_limit"] == 7  # the caller may lower the engine's cap
    assert merge_run_config({"recursion_limit": 10**9}, own)["recursion_limit"] == 25
    assert merge_run_config({"recursion_limit": 99}, {})["recursion_limit"] == 99  # no cap
    assert merged["run_name"] == "nightly"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ([1], "must be an object"),
        ({"recursionlimit": 5}, "unknown key(s) in config: recursionlimit"),
        ({"configurable": []}, "configurable in config must be an object"),
        ({"configurable": {"__pregel_send": 1}}, "private keys: __pregel_send"),
        ({"tags": "a"}, "tags in config must be a list"),
        ({"tags": [1]}, "tags in config must be a list of strings"),
        ({"metadata": [1]}, "metadata in config must be an object"),
        ({"recursion_limit": 0}, "recursion_limit in config must be a whole number"),
        ({"recursion_limit": True}, "recursion_limit in config must be a whole number"),
        ({"max_concurrency": 1.5}, "max_concurrency in config must be a whole number"),
        ({"run_name": 3}, "run_name in config must be a string"),
    ],
)
def test_bad_configs_are_refused_with_the_reason(config: Any, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_run_config(config)
    assert words in caught.value.describe()


def test_owned_keys_may_repeat_the_runs_own_but_not_change_them() -> None:
    check_owned_keys({"configurable": {"thread_id": "t1"}}, "t1", None)
    with pytest.raises(UsageError, match="'t2' but the run's is 't1'"):
        check_owned_keys({"configurable": {"thread_id": "t2"}}, "t1", None)
    with pytest.raises(UsageError, match="a new thread"):
        check_owned_keys({"configurable": {"thread_id": "t2"}}, None, None)
    with pytest.raises(UsageError, match="checkpoint_id"):
        check_owned_keys({"configurable": {"checkpoint_id": "c9"}}, "t1", "c1")
