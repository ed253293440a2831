"""The run input last used with each workflow, kept across sessions.

Stored as JSON in the project's ``.lgp/workbench.json`` (next to the checkpoint
database); a missing or unreadable file just means nothing is remembered yet.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


class InputMemory:
    """``get(workflow)`` / ``put(workflow, text)``; ``put`` writes the file atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inputs: dict[str, str] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        inputs = data.get("inputs") if isinstance(data, dict) else None
        if isinstance(inputs, dict):
            self._inputs = {str(k): v for k, v in inputs.items() if isinstance(v, str)}

    def get(self, workflow: str) -> str | None:
        return self._inputs.get(workflow)

    def put(self, workflow: str, text: str) -> None:
        if self._inputs.get(workflow) == text:
            return
        self._inputs[workflow] = text
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".workbench-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"inputs": self._inputs}, f, indent=2, ensure_ascii=False)
            os.replace(tmp, self.path)
        except OSError:
            pass  # remembering is a convenience; a read-only project still runs
