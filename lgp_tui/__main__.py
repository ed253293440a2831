"""``lgp-tui [TARGET] [--env ENV]``: open the workbench on a project."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from lgp_engine import LGPError, load_settings


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _Parser(
        prog="lgp-tui",
        description="LGP Workbench: pick, read and run LangGraph workflows in the terminal.",
    )
    parser.add_argument(
        "target", nargs="?", default=None,
        help="workflow file, registered name or langgraph.json (default: basic_workflow)",
    )
    parser.add_argument(
        "--env", default=None,
        help="environment: config/<ENV>.yaml (default: $LGP_ENV, else experiment)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lgp-tui`` console script; returns the exit code."""
    args = parse_args(argv)
    try:
        settings = load_settings(args.env)
        if args.target is not None:
            from lgp_engine import resolve_target

            resolve_target(
                args.target, project_dir=settings.project_dir,
                registry_file=settings.resolve(settings.workflows.registry),
            )
    except LGPError as exc:
        print(f"lgp-tui: {exc.title.lower()}: {exc}", file=sys.stderr)
        return 2
    from .app import WorkbenchApp

    WorkbenchApp(settings, target=args.target).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
