"""Which workflows a server offers: one file, a folder, a langgraph.json, or the
project's registry (``workflows/config.yaml``)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assistants import system_assistant_id
from ..config import Settings
from ..errors import LGPError, NotFoundError, WorkflowLoadError
from ..loader import (
    LoadedWorkflow,
    WorkflowSource,
    list_langgraph_graphs,
    load_workflow,
    resolve_langgraph_json,
    resolve_target,
    workflow_files,
)
from ..registry import WorkflowRegistry

log = logging.getLogger(__name__)


def assistant_id_for(name: str) -> str:
    """The assistant id LangGraph's server would give the graph ``name`` (the engine's
    system assistant id)."""
    return system_assistant_id(name)


@dataclass
class Catalog:
    """Served workflows by name (the graph id, also the assistant name)."""

    workflows: dict[str, LoadedWorkflow] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        return sorted(self.workflows)

    def get(self, name_or_assistant: str) -> LoadedWorkflow:
        """By workflow name or assistant id; :class:`NotFoundError` if unknown."""
        if name_or_assistant in self.workflows:
            return self.workflows[name_or_assistant]
        for name, wf in self.workflows.items():
            if assistant_id_for(name) == name_or_assistant:
                return wf
        raise NotFoundError(
            f"unknown workflow {name_or_assistant!r}",
            hint=f"served: {', '.join(self.names()) or 'none'}",
        )

    def describe(self, name: str, project_dir: Path) -> dict[str, Any]:
        """Name, description, kind, assistant id and source (relative to the project)."""
        wf = self.workflows[name]
        return {
            "name": name,
            "description": wf.source.description,
            "kind": wf.kind,
            "assistant_id": assistant_id_for(name),
            "source": _relative(wf.source.label, project_dir),
        }


def _relative(label: str, project_dir: Path) -> str:
    root = str(project_dir.resolve())
    if label.startswith(root + os.sep):
        return label[len(root) + 1 :]
    return label if not os.path.isabs(label.split(":", 1)[0]) else os.path.basename(label)


def build_catalog(settings: Settings, target: str | None = None) -> Catalog:
    """Load the workflows named by ``target`` (see ``lgp serve --help``).

    An explicit single file or graph that fails to load is an error; in a folder or
    registry, a workflow that fails is skipped and reported.
    """
    catalog = Catalog()
    sources = _sources(settings, target)
    single = len(sources) == 1 and target is not None
    for source in sources:
        try:
            catalog.workflows[source.name] = load_workflow(source)
        except LGPError as exc:
            if single:
                raise
            catalog.skipped[source.name] = str(exc)
            log.info("skipped workflow %s: %s", source.name, exc)  # front ends say it
    return catalog


def _sources(settings: Settings, target: str | None) -> list[WorkflowSource]:
    root = settings.project_dir
    registry = settings.resolve(settings.workflows.registry)
    if target is None:
        reg = WorkflowRegistry(registry)
        names = reg.names()
        if not names:
            raise WorkflowLoadError(
                f"no workflows registered in {reg.display_path}",
                hint="pass a workflow file, a folder or a langgraph.json to serve",
            )
        return [resolve_target(n, project_dir=root, registry_file=registry) for n in names]
    path = Path(target)
    path = path if path.is_absolute() else root / path
    if path.is_dir() and (path / "langgraph.json").is_file():
        path = path / "langgraph.json"
    if path.suffix == ".json" and path.is_file():
        return [resolve_langgraph_json(path, g, cwd=root) for g in list_langgraph_graphs(path)]
    if path.is_dir():
        files = workflow_files(path)
        if not files:
            raise WorkflowLoadError(f"no Python files in {target}")
        return [WorkflowSource(name=p.stem, path=p.resolve(), base_dir=root) for p in files]
    return [resolve_target(target, project_dir=root, registry_file=registry)]
