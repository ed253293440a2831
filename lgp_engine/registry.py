"""``workflows/config.yaml``: named workflows for ``lgp run NAME`` and the API.

Format::

    workflows:
      basic_workflow:
        path: basic_workflow.py        # relative to this file; may end in :attr
        description: One line about it

Registering a workflow edits the file as text, appending an entry under
``workflows:`` so the user's other entries and comments stay exactly as they were.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ConfigError

_TOP_LEVEL_KEY = re.compile(r"^[^\s#][^:]*:")
HEADER = (
    "# Named workflows: `lgp run NAME` and the hosted API find them here.\n"
    "# Paths are relative to this file; `path: file.py:attr` picks an attribute.\n"
)


@dataclass(frozen=True)
class RegistryEntry:
    """One named workflow."""

    name: str
    path: str
    description: str = ""


class WorkflowRegistry:
    """Read and extend a ``workflows/config.yaml`` file."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()

    @property
    def display_path(self) -> str:
        try:
            return os.path.relpath(self.path)
        except ValueError:
            return str(self.path)

    def entries(self) -> dict[str, RegistryEntry]:
        """All registered workflows, by name (empty when the file does not exist)."""
        if not self.path.is_file():
            return {}
        from .config import read_yaml_with_lines

        data, lines = read_yaml_with_lines(self.path)
        if data is None:
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("workflows") or {}, dict):
            raise ConfigError(f"{self.display_path}:1: expected a `workflows:` mapping")
        out: dict[str, RegistryEntry] = {}
        for name, raw in (data.get("workflows") or {}).items():
            line = lines.get(("workflows", str(name)), 1)
            if isinstance(raw, str):
                out[str(name)] = RegistryEntry(str(name), raw)
            elif isinstance(raw, dict) and isinstance(raw.get("path"), str):
                out[str(name)] = RegistryEntry(
                    str(name), raw["path"], str(raw.get("description") or "")
                )
            else:
                raise ConfigError(
                    f"{self.display_path}:{line}: workflows.{name}: needs a `path: file.py`"
                )
        return out

    def names(self) -> list[str]:
        return sorted(self.entries())

    def get(self, name: str) -> RegistryEntry | None:
        return self.entries().get(name)

    def plan(self, entry: RegistryEntry) -> str | None:
        """The file's new text with ``entry`` added, or None if the name is taken.

        Nothing is written; :class:`ConfigError` if the entry cannot be added safely.
        """
        before = self.entries()
        if entry.name in before:
            return None
        if not self.path.is_file():
            return HEADER + "workflows:\n" + _block(entry, 2, 4)
        text = self.path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        start = next((i for i, ln in enumerate(lines) if re.match(r"^workflows\s*:", ln)), None)
        if start is None:
            lines.append("workflows:\n" + _block(entry, 2, 4))
        else:
            end = start + 1
            while end < len(lines) and not _TOP_LEVEL_KEY.match(lines[end]):
                end += 1
            if re.match(r"^workflows\s*:\s*(#.*)?$", lines[start]):
                child, nested = _indents(lines[start + 1 : end])
                # comments at column 0 just above the next key belong to that key
                at = end
                while at > start + 1 and (not lines[at - 1].strip() or lines[at - 1][0] == "#"):
                    at -= 1
                lines.insert(at, _block(entry, child, nested))
            else:  # flow style (`workflows: {a: ...}`) or empty: rewrite the section as a block
                section = "".join(
                    _block(RegistryEntry(e.name, e.path, e.description), 2, 4)
                    for e in before.values()
                )
                lines[start:end] = ["workflows:\n" + section + _block(entry, 2, 4)]
        new_text = "".join(lines)
        try:
            data = yaml.safe_load(new_text)
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"{self.display_path}: cannot add {entry.name!r} without breaking the file "
                f"({str(exc).splitlines()[0]}); add it by hand"
            ) from None
        names = set((data or {}).get("workflows") or {})
        if not names >= {*before, entry.name}:
            raise ConfigError(
                f"{self.display_path}: cannot add {entry.name!r} safely; add it by hand"
            )
        return new_text

    def register(self, entry: RegistryEntry) -> bool:
        """Add ``entry`` unless its name is already there; True if the file changed."""
        new_text = self.plan(entry)
        if new_text is None:
            return False
        self.write(new_text)
        return True

    def write(self, text: str) -> None:
        """Replace the file's text atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, text)


def _indents(section: list[str]) -> tuple[int, int]:
    """(entry indent, field indent) used by an existing ``workflows:`` block."""
    body = [ln for ln in section if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        return 2, 4
    child = len(body[0]) - len(body[0].lstrip(" "))
    deeper = [len(ln) - len(ln.lstrip(" ")) for ln in body[1:]]
    nested = next((d for d in deeper if d > child), child * 2)
    return child, nested


def _block(entry: RegistryEntry, child: int, nested: int) -> str:
    out = f"{' ' * child}{entry.name}:\n{' ' * nested}path: {_scalar(entry.path)}\n"
    if entry.description:
        out += f"{' ' * nested}description: {_scalar(entry.description)}\n"
    return out


def _scalar(value: str) -> str:
    dumped = yaml.safe_dump(value, default_style=None, width=10_000).strip()
    return dumped.removesuffix("\n...").strip()


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
