"""One exception hierarchy for everything the engine reports to a user.

Every error carries a message a user can act on. Front ends print ``str(error)``
(the CLI as one line, the TUI as a notification); ``exit_code`` tells the CLI how
to exit: 2 for usage, configuration and loading problems, 1 for a failed run.
"""

from __future__ import annotations


class LGPError(Exception):
    """Base of every error the engine raises on purpose."""

    title = "Error"
    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class ConfigError(LGPError):
    """A configuration file is missing, malformed or invalid."""

    title = "Configuration error"


class UsageError(LGPError):
    """The user asked for something that cannot be done as asked (bad JSON, bad name...)."""

    title = "Invalid input"


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


class RunError(LGPError):
    """A workflow run failed inside the workflow's own code."""

    title = "Run failed"
    exit_code = 1
