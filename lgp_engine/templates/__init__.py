"""Workflow templates: ``<name>/workflow.py`` + ``template.yaml``.

The bundled templates are package data of this package (read with
:mod:`importlib.resources`, so they work from a wheel); ``workflows.templates`` in
the config points at a folder of your own instead. ``template.yaml`` holds
``name``, ``description``, ``complexity`` (beginner, intermediate, advanced),
``default_input`` and ``files`` (extra files copied next to the new workflow).
:func:`create_workflow` writes ``workflows/NAME.py`` from a template and registers
it in ``workflows/config.yaml``; :func:`save_workflow_as` does the same with source
text of your own (the workbench's Save As).
"""

from __future__ import annotations

import keyword
import os
import re
import unicodedata
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from ..config import Settings
from ..errors import TemplateError, UsageError
from ..registry import RegistryEntry, WorkflowRegistry, write_atomic

COMPLEXITIES = ("beginner", "intermediate", "advanced")
_WORKFLOW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def bundled_templates() -> Traversable:
    """The templates shipped with the package."""
    return files(__name__)


@dataclass(frozen=True)
class Template:
    """A template a workflow can be created from."""

    name: str
    description: str
    complexity: str
    directory: Traversable
    default_input: dict[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    @property
    def workflow_file(self) -> Traversable:
        return self.directory / "workflow.py"

    def source(self) -> str:
        """The template's workflow code."""
        return self.workflow_file.read_text(encoding="utf-8")


@dataclass(frozen=True)
class CreatedWorkflow:
    """What :func:`create_workflow` wrote."""

    name: str
    path: Path
    registry: Path
    registered: bool
    files: tuple[Path, ...]
    template: Template


def templates_dir(settings: Settings | None = None) -> Traversable:
    """The template folder: from config, else the bundled one."""
    if settings is not None and settings.workflows.templates:
        return settings.resolve(settings.workflows.templates)
    return bundled_templates()


def list_templates(directory: Traversable | None = None) -> list[Template]:
    """All templates, simplest first."""
    root = directory if directory is not None else bundled_templates()
    if not root.is_dir():
        raise TemplateError(f"template folder not found: {root}")
    found = [
        _read(d)
        for d in sorted(root.iterdir(), key=lambda d: d.name)
        if d.is_dir() and (d / "template.yaml").is_file()
    ]
    return sorted(found, key=lambda t: (COMPLEXITIES.index(t.complexity), t.name))


def get_template(name: str, directory: Traversable | None = None) -> Template:
    """One template by name; :class:`TemplateError` listing the known ones if absent."""
    templates = {t.name: t for t in list_templates(directory)}
    if name not in templates:
        raise TemplateError(
            f"unknown template {name!r}", hint=f"available: {', '.join(sorted(templates))}"
        )
    return templates[name]


def normalize_workflow_name(text: str) -> str:
    """A workflow name from what a person typed: ``"My Flow"`` -> ``"my_flow"``.

    Lowercase ASCII (accents dropped), each run of other characters one ``_``, none
    at either end, a trailing ``.py`` dropped. The result may still be refused by
    :func:`validate_workflow_name` (empty, a leading digit, a Python keyword).
    """
    text = text.strip()
    if text.lower().endswith(".py"):
        text = text[:-3]
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def validate_workflow_name(name: str) -> str:
    """``name`` if it can be a workflow (and Python module) name, else :class:`UsageError`."""
    if not _WORKFLOW_NAME.match(name) or keyword.iskeyword(name):
        raise UsageError(
            f"invalid workflow name {name!r}",
            hint="use lowercase letters, digits and '_', starting with a letter (e.g. my_flow)",
        )
    return name


def create_workflow(
    name: str, template_name: str, settings: Settings, *, force: bool = False
) -> CreatedWorkflow:
    """Write ``<workflows dir>/NAME.py`` from a template and register it.

    Everything is checked before anything is written: an invalid name, an unknown
    template or an existing workflow without ``force`` leave the project untouched.
    """
    validate_workflow_name(name)
    template = get_template(template_name, templates_dir(settings))
    target, registry = _new_workflow(name, settings, force=force)
    target_dir = target.parent
    rel_path = Path(os.path.relpath(target, registry.path.parent)).as_posix()
    entry = RegistryEntry(name, rel_path, template.description)
    registry_text = registry.plan(entry)  # raises before anything is written
    extra = []
    for rel in template.files:
        src = template.directory / rel
        if not src.is_file():
            raise TemplateError(f"template {template.name!r} lists a missing file: {rel}")
        extra.append((src, target_dir / rel))

    target_dir.mkdir(parents=True, exist_ok=True)
    header = f"# Created by `lgp create {name} --template {template.name}`.\n"
    write_atomic(target, header + template.source())
    copied = []
    for src, dst in extra:
        if dst.exists() and not force:
            continue  # another workflow from the same template may share it
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
        copied.append(dst)
    if registry_text is not None:
        registry.write(registry_text)
    registered = registry_text is not None
    return CreatedWorkflow(name, target, registry.path, registered, tuple(copied), template)


def check_new_workflow(name: str, settings: Settings) -> Path:
    """The file a new workflow called ``name`` would be written to.

    Raises :class:`UsageError` for an invalid name, :class:`TemplateError`
    (``code="workflow_exists"``) when the file exists or the name is registered, and
    :class:`~lgp_engine.errors.ConfigError` for an unreadable registry.
    """
    validate_workflow_name(name)
    return _new_workflow(name, settings, force=False, can_force=False)[0]


@dataclass(frozen=True)
class SavedWorkflow:
    """What :func:`save_workflow_as` wrote."""

    name: str
    path: Path
    registry: Path


def save_workflow_as(
    name: str, source: str, settings: Settings, *, description: str = ""
) -> SavedWorkflow:
    """Write ``source`` as ``<workflows dir>/NAME.py`` and register it (Save As).

    Never replaces anything: a name that is invalid, taken by a file or already
    registered raises (see :func:`check_new_workflow`) before anything is written,
    and a file that appears meanwhile is not overwritten. If registering fails, the
    new file is removed again.
    """
    target, registry = _new_workflow(
        validate_workflow_name(name), settings, force=False, can_force=False
    )
    rel_path = Path(os.path.relpath(target, registry.path.parent)).as_posix()
    registry_text = registry.plan(RegistryEntry(name, rel_path, description))
    if registry_text is None:  # registered meanwhile
        raise _exists(
            f"workflow {name!r} is already registered in {registry.display_path}", can_force=False
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.new")
    tmp.write_text(source, encoding="utf-8")
    taken = _exists(f"workflow {name!r} already exists: {_rel(target, settings)}", can_force=False)
    try:
        os.link(tmp, target)  # fails if the file appeared since the check
    except FileExistsError:
        raise taken from None
    except OSError:  # no hard links on this file system: check, then rename
        if target.exists():
            raise taken from None
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    try:
        registry.write(registry_text)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return SavedWorkflow(name, target, registry.path)


def _new_workflow(
    name: str, settings: Settings, *, force: bool, can_force: bool = True
) -> tuple[Path, WorkflowRegistry]:
    """(file to write, registry) for a new workflow ``name``; unless ``force``,
    :class:`TemplateError` if the file exists or the name is registered."""
    target = settings.resolve(settings.workflows.directory) / f"{name}.py"
    registry = WorkflowRegistry(settings.resolve(settings.workflows.registry))
    if not force:
        if target.exists():
            raise _exists(
                f"workflow {name!r} already exists: {_rel(target, settings)}", can_force=can_force
            )
        if registry.get(name) is not None:
            raise _exists(
                f"workflow {name!r} is already registered in {registry.display_path}",
                can_force=can_force,
            )
    return target, registry


def _exists(message: str, *, can_force: bool = True) -> TemplateError:
    if not can_force:
        return TemplateError(message, hint="pick another name", code="workflow_exists")
    return TemplateError(
        message,
        hint="pick another name, or overwrite it with {field}",
        field="force",
        code="workflow_exists",
    )


def _read(directory: Traversable) -> Template:
    meta_file = directory / "template.yaml"
    try:
        meta = yaml.safe_load(meta_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TemplateError(f"{meta_file}: invalid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise TemplateError(f"{meta_file}: expected a mapping")
    complexity = str(meta.get("complexity", "beginner"))
    if complexity not in COMPLEXITIES:
        raise TemplateError(
            f"{meta_file}: complexity must be one of {', '.join(COMPLEXITIES)}, not {complexity!r}"
        )
    if not (directory / "workflow.py").is_file():
        raise TemplateError(f"{directory}: a template needs a workflow.py")
    default_input = meta.get("default_input") or {}
    if not isinstance(default_input, dict):
        raise TemplateError(f"{meta_file}: default_input must be a mapping")
    return Template(
        name=str(meta.get("name") or directory.name),
        description=str(meta.get("description") or "").strip(),
        complexity=complexity,
        directory=directory,
        default_input=default_input,
        files=tuple(str(f) for f in meta.get("files") or ()),
    )


def _rel(path: Path, settings: Settings) -> str:
    try:
        return str(path.relative_to(settings.project_dir))
    except ValueError:
        return str(path)
