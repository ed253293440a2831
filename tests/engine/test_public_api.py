"""The package's public API: every name in ``__all__`` resolves, and the server's
names load the web stack only when first used (checked in fresh subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys

WEB = ("fastapi", "starlette", "uvicorn")


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_importing_the_engine_loads_no_web_library() -> None:
    proc = run(
        "import json, sys, lgp_engine\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {WEB!r})))"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_server_names_load_on_first_use_and_every_public_name_resolves() -> None:
    proc = run(
        "import json, sys, lgp_engine\n"
        "from lgp_engine import BackgroundServer\n"
        "from lgp_engine.server.background import BackgroundServer as real\n"
        "assert BackgroundServer is real\n"
        "missing = [n for n in lgp_engine.__all__ if not hasattr(lgp_engine, n)]\n"
        "unlisted = set(lgp_engine.__all__) - set(dir(lgp_engine))\n"
        "try:\n"
        "    lgp_engine.no_such_name\n"
        "except AttributeError as exc:\n"
        "    error = str(exc)\n"
        "web = 'fastapi' in sys.modules\n"
        "print(json.dumps([missing, sorted(unlisted), error, web]))"
    )
    assert proc.returncode == 0, proc.stderr
    missing, unlisted, error, web = json.loads(proc.stdout)
    assert missing == [] and unlisted == []
    assert error == "module 'lgp_engine' has no attribute 'no_such_name'"
    assert web  # the server's module did load once asked for
