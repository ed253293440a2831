"""One exception hierarchy for everything the engine reports to a user.

Errors speak in the engine's terms and carry fields, not front-end wording:

* ``message``: what went wrong. Where it names a parameter it writes ``{field}``,
  which each front end replaces with its own name for it (``--interrupt-before``
  in the CLI, ``interrupt_before`` in the HTTP API).
* ``field``: the parameter at fault (``input``, ``value``, ``interrupt_before``...).
* ``code``: a stable name for the kind of problem (``unknown_thread``,
  ``value_required``...), so a front end can add its own advice.
* ``hint``: advice that holds in every front end (``set LGP_API_KEY``); it may
  write ``{field}`` too.
* ``details``: the values involved (``thread_id=...``).

The CLI prints ``describe()`` as one line and exits with ``exit_code`` (2 for usage,
configuration and loading problems, 1 for a failed run); the HTTP API answers it as
JSON with a 4xx status; the workbench shows it as a notification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

FIELD = "{field}"


class LGPError(Exception):
    """Base of every error the engine raises on purpose."""

    title: ClassVar[str] = "Error"
    exit_code: ClassVar[int] = 2

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        hint: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.hint = hint
        self.details = details

    def describe(self, field_name: Callable[[str], str] | None = None, *, hint: bool = True) -> str:
        """The message with ``{field}`` spelled by ``field_name`` (the field itself
        by default), followed by the hint in parentheses."""
        name = self.field or "value"
        spelled = field_name(name) if field_name else name
        text = self.message.replace(FIELD, spelled)
        if hint and self.hint:
            return f"{text} ({self.hint.replace(FIELD, spelled)})"
        return text

    def __str__(self) -> str:
        return self.describe()


class ConfigError(LGPError):
    """A configuration file is missing, malformed or invalid."""

    title = "Configuration error"


class UsageError(LGPError):
    """The user asked for something that cannot be done as asked (bad JSON, bad name...)."""

    title = "Invalid input"


class AmbiguousError(UsageError):
    """A shortened id matches more than one thread, checkpoint or run."""

    title = "Ambiguous id"


class ConflictError(UsageError):
    """The request is valid but the thread or run is not in a state that allows it
    (a run in progress, a run that already ended...)."""

    title = "Conflict"


class WorkflowLoadError(LGPError):
    """A workflow could not be found, imported or turned into a runnable graph."""

    title = "Workflow load error"


class TemplateError(LGPError):
    """A template is unknown or a workflow cannot be created from it."""

    title = "Template error"


class CheckpointError(LGPError):
    """The checkpoint store cannot be opened or does not hold what was asked for."""

    title = "Checkpoint error"


class NotFoundError(CheckpointError):
    """A thread, checkpoint or run does not exist."""

    title = "Not found"


class StoreError(LGPError):
    """The long-term store (LangGraph ``BaseStore``) cannot be read or written."""

    title = "Long-term store"


class RunError(LGPError):
    """A workflow run failed inside the workflow's own code."""

    title = "Run failed"
    exit_code = 1
