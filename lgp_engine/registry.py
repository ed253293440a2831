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

    def register(self, entry: RegistryEntry) -> bool:
        """Add ``entry`` unless its name is already there; True if the file changed."""
        if entry.name in self.entries():
            return False
        block = f"  {entry.name}:\n    path: {_scalar(entry.path)}\n"
        if entry.description:
            block += f"    description: {_scalar(entry.description)}\n"
        if not self.path.is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.path, HEADER + "workflows:\n" + block)
            return True
        text = self.path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        start = next((i for i, ln in enumerate(lines) if re.match(r"^workflows:\s*(#.*)?$", ln)),
                     None)
        if start is None:
            # `workflows: {}` or no key at all: rewrite that key as a block mapping
            inline = next((i for i, ln in enumerate(lines) if ln.startswith("workflows:")), None)
            if inline is not None:
                lines[inline] = "workflows:\n" + block
            else:
                lines.append("workflows:\n" + block)
        else:
            end = start + 1
            while end < len(lines) and not _TOP_LEVEL_KEY.match(lines[end]):
                end += 1
            # keep trailing blank lines/comments of the next section where they are
            insert_at = end
            while insert_at > start + 1 and not lines[insert_at - 1].strip():
                insert_at -= 1
            lines.insert(insert_at, block)
        new_text = "".join(lines)
        try:
            yaml.safe_load(new_text)
        except yaml.YAMLError as exc:  # never leave a file we could not read back
            raise ConfigError(f"{self.display_path}: cannot register {entry.name}: {exc}") from None
        _write_atomic(self.path, new_text)
        if entry.name not in self.entries():
            raise ConfigError(f"{self.display_path}: registering {entry.name} failed")
        return True


def _scalar(value: str) -> str:
    dumped = yaml.safe_dump(value, default_style=None, width=10_000).strip()
    return dumped.removesuffix("\n...").strip()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
