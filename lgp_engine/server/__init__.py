"""The hosted HTTP API over the engine (``lgp serve``).

``create_app(settings, target)`` builds the FastAPI app; it serves the same
workflows, checkpointer and run store as the CLI and the workbench.
"""

from .app import create_app

__all__ = ["create_app"]
