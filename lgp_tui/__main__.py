"""``lgp-tui [TARGET] [--env ENV] [--serve] [--port N]``: open the workbench on a project."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from lgp_engine import LGPError, Settings, UsageError, load_settings, workflow_files


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _Parser(
        prog="lgp-tui",
        description="LGP Workbench: pick, read and run LangGraph workflows in the terminal.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "keys (f1 in the app lists them all; ctrl+p finds any action):\n"
            "  ctrl+r run    esc cancel     ctrl+b browse checkpoints (replay, fork, resume)\n"
            "  ctrl+t new workflow from a template    ctrl+s start/stop the HTTP API\n"
            "  f4 open the file in $EDITOR    ctrl+o pick a thread    ctrl+q quit\n\n"
            "examples:\n"
            "  lgp-tui                              # the project's workflows\n"
            "  lgp-tui workflows/approval_workflow.py\n"
            "  lgp-tui --serve --port 8123          # and serve the API while you work"
        ),
    )
    parser.add_argument(
        "target",
        nargs="?",
        default=None,
        help="workflow file, registered name, folder of workflow files or langgraph.json "
        "(default: basic_workflow)",
    )
    parser.add_argument(
        "--env",
        default=None,
        help="environment: config/<ENV>.yaml (default: $LGP_ENV, else experiment)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="start the HTTP API (lgp serve) over the same workflows and checkpoints; "
        "ctrl+s toggles it",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port for the API (default: server.port of the config, 8123)",
    )
    args = parser.parse_args(argv)
    if args.port is not None and not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    return args


def _open_folder(settings: Settings, folder: Path) -> tuple[Settings, str | None]:
    """A folder target: its ``langgraph.json`` if it has one, else its workflow files
    listed in the explorer (the first one opened)."""
    if (folder / "langgraph.json").is_file():
        return settings, str(folder / "langgraph.json")
    workflows = settings.workflows.model_copy(update={"directory": str(folder.resolve())})
    settings = settings.model_copy(update={"workflows": workflows})
    files = workflow_files(folder)
    if not files:
        raise UsageError(
            f"{folder} holds no workflow files (*.py)",
            hint="pass a workflow file, or create one with `lgp create NAME`",
        )
    return settings, str(files[0])


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lgp-tui`` console script; returns the exit code."""
    args = parse_args(argv)
    try:
        settings = load_settings(args.env)
        if args.target is not None and Path(args.target).is_dir():
            settings, args.target = _open_folder(settings, Path(args.target))
        if args.target is not None:
            from lgp_engine import resolve_in_project

            resolve_in_project(args.target, settings)
    except LGPError as exc:
        print(f"lgp-tui: {exc.title.lower()}: {exc}", file=sys.stderr)
        return 2
    from .app import WorkbenchApp

    WorkbenchApp(settings, target=args.target, serve=args.serve, port=args.port).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
