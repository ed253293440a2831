"""``workflows/config.yaml``: :class:`WorkflowRegistry` reads it and extends it as text."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lgp_engine import ConfigError, WorkflowRegistry
from lgp_engine.registry import HEADER, RegistryEntry

NEW = RegistryEntry("new_flow", "new_flow.py", "Does new things: quickly, 'safely' & #1")


def _write(path: Path, text: str) -> WorkflowRegistry:
    path.write_text(text, encoding="utf-8")
    return WorkflowRegistry(path)


def _is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


def _assert_kept(original: str, updated: str) -> None:
    """Every original line is still there, in the same order."""
    assert _is_subsequence(original.splitlines(), updated.splitlines()), updated


# --------------------------------------------------------------------------- reading


def test_entries_of_the_repo_registry(project: Path) -> None:
    reg = WorkflowRegistry(project / "workflows" / "config.yaml")
    assert reg.names() == ["approval_workflow", "basic_workflow", "optimize_evaluate_ollama"]
    entry = reg.get("basic_workflow")
    assert entry is not None
    assert entry.path == "basic_workflow.py"
    assert entry.description.startswith("Greets")
    assert reg.get("nope") is None


def test_entries_of_a_missing_file_are_empty(tmp_path: Path) -> None:
    assert WorkflowRegistry(tmp_path / "nope" / "config.yaml").entries() == {}


def test_entries_accept_the_short_string_form(tmp_path: Path) -> None:
    reg = _write(tmp_path / "config.yaml", "workflows:\n  short: short.py:graph\n")
    assert reg.get("short") == RegistryEntry("short", "short.py:graph")


def test_entry_without_path_is_a_config_error_with_line(tmp_path: Path) -> None:
    reg = _write(
        tmp_path / "config.yaml",
        "workflows:\n  good:\n    path: good.py\n  bad:\n    description: no path\n",
    )
    with pytest.raises(ConfigError) as info:
        reg.entries()
    assert "config.yaml:4" in str(info.value)
    assert "bad" in str(info.value)


def test_non_mapping_workflows_is_a_config_error(tmp_path: Path) -> None:
    reg = _write(tmp_path / "config.yaml", "workflows:\n  - a.py\n")
    with pytest.raises(ConfigError, match="workflows"):
        reg.entries()


# --------------------------------------------------------------------------- registering


def test_register_keeps_comments_and_entries(project: Path) -> None:
    path = project / "workflows" / "config.yaml"
    original = path.read_text("utf-8")
    reg = WorkflowRegistry(path)

    assert reg.register(NEW) is True
    updated = path.read_text("utf-8")
    _assert_kept(original, updated)
    assert updated.startswith(original)  # the workflows block is last: a pure append
    data = yaml.safe_load(updated)
    assert list(data["workflows"]) == [
        "basic_workflow",
        "approval_workflow",
        "optimize_evaluate_ollama",
        "new_flow",
    ]
    assert data["workflows"]["new_flow"] == {"path": NEW.path, "description": NEW.description}
    assert reg.get("new_flow") == NEW


def test_register_is_idempotent(project: Path) -> None:
    path = project / "workflows" / "config.yaml"
    reg = WorkflowRegistry(path)
    assert reg.register(NEW) is True
    once = path.read_bytes()
    assert reg.register(NEW) is False
    assert reg.register(RegistryEntry("new_flow", "elsewhere.py", "other")) is False
    assert path.read_bytes() == once
    assert reg.get("new_flow") == NEW


def test_register_existing_repo_name_changes_nothing(project: Path) -> None:
    path = project / "workflows" / "config.yaml"
    original = path.read_bytes()
    assert WorkflowRegistry(path).register(RegistryEntry("basic_workflow", "x.py")) is False
    assert path.read_bytes() == original


def test_register_when_workflows_is_not_the_last_key(tmp_path: Path) -> None:
    original = (
        "# Registry with more settings after it.\n"
        "workflows:\n"
        "  first:\n"
        "    path: first.py   # keep me\n"
        "\n"
        "defaults:\n"
        "  timeout: 30\n"
        "other: [1, 2]\n"
    )
    reg = _write(tmp_path / "config.yaml", original)
    assert reg.register(NEW) is True
    updated = reg.path.read_text("utf-8")
    _assert_kept(original, updated)
    data = yaml.safe_load(updated)
    assert list(data["workflows"]) == ["first", "new_flow"]
    assert data["defaults"] == {"timeout": 30}
    assert data["other"] == [1, 2]
    lines = updated.splitlines()
    assert lines.index("  new_flow:") < lines.index("defaults:")
    assert lines[lines.index("defaults:") - 1] == ""  # the blank separator stays before it


def test_register_keeps_a_comment_with_the_key_it_introduces(tmp_path: Path) -> None:
    reg = _write(
        tmp_path / "config.yaml",
        "workflows:\n  first:\n    path: first.py\n\n# About defaults:\ndefaults:\n  a: 1\n",
    )
    assert reg.register(NEW) is True
    lines = reg.path.read_text("utf-8").splitlines()
    assert lines[lines.index("defaults:") - 1] == "# About defaults:"
    assert lines.index("  new_flow:") < lines.index("# About defaults:")


def test_register_into_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "workflows" / "config.yaml"
    reg = WorkflowRegistry(path)
    assert reg.register(NEW) is True
    text = path.read_text("utf-8")
    assert text.startswith(HEADER)
    assert yaml.safe_load(text) == {
        "workflows": {"new_flow": {"path": NEW.path, "description": NEW.description}}
    }
    assert reg.register(NEW) is False
    assert path.read_text("utf-8") == text


def test_register_into_empty_braces(tmp_path: Path) -> None:
    original = "# Nothing registered yet.\nworkflows: {}\nother: 2\n"
    reg = _write(tmp_path / "config.yaml", original)
    assert reg.register(NEW) is True
    assert reg.register(RegistryEntry("second", "second.py")) is True
    text = reg.path.read_text("utf-8")
    assert text.startswith("# Nothing registered yet.\n")
    data = yaml.safe_load(text)
    assert list(data["workflows"]) == ["new_flow", "second"]
    assert data["other"] == 2


@pytest.mark.parametrize(
    "original",
    [
        "",
        "workflows:\n",
        "workflows:\nother: 3\n",
        "# only a comment\n",
        "workflows:\n  first:\n    path: first.py",  # no final newline
        "workflows:   # named workflows\n  first: first.py\n",
    ],
    ids=["empty", "null", "null-then-key", "comment-only", "no-final-newline", "key-comment"],
)
def test_register_into_unusual_files(tmp_path: Path, original: str) -> None:
    reg = _write(tmp_path / "config.yaml", original)
    before = {name: entry for name, entry in (yaml.safe_load(original) or {}).items()}.get(
        "workflows"
    ) or {}
    assert reg.register(NEW) is True
    text = reg.path.read_text("utf-8")
    _assert_kept(original, text)
    data = yaml.safe_load(text)
    assert list(data["workflows"]) == [*before, "new_flow"]
    assert reg.get("new_flow") == NEW
    if "other" in original:
        assert data["other"] == 3


def test_register_quotes_awkward_values(tmp_path: Path) -> None:
    reg = _write(tmp_path / "config.yaml", "workflows:\n")
    odd = RegistryEntry("odd", "sub dir/odd file.py:graph", "key: value # not a comment")
    assert reg.register(odd) is True
    assert reg.get("odd") == odd


def test_register_refuses_to_touch_unparseable_file(tmp_path: Path) -> None:
    original = "workflows:\n  a: [unclosed\n"
    reg = _write(tmp_path / "config.yaml", original)
    with pytest.raises(ConfigError):
        reg.register(NEW)
    assert reg.path.read_text("utf-8") == original


def test_register_into_flow_mapping_keeps_entries(tmp_path: Path) -> None:
    reg = _write(tmp_path / "config.yaml", "workflows: {first: {path: first.py}}\n")
    assert reg.register(NEW) is True
    assert reg.names() == ["first", "new_flow"]


def test_register_into_four_space_indented_file(tmp_path: Path) -> None:
    reg = _write(tmp_path / "config.yaml", "workflows:\n    first:\n        path: first.py\n")
    assert reg.register(NEW) is True
    assert reg.names() == ["first", "new_flow"]
