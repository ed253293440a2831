"""Running what ``lgp deploy`` wrote: the image's command here, health-checked, and
the tools that apply a deployment (``docker``, ``docker compose``, ``kubectl``).

Nothing here prints: results and problems come back as values and
:class:`~lgp_engine.ops.deploy.DeployError`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .deploy import (
    PORT,
    POSTGRES_PASSWORD_ENV,
    ApplyError,
    DeployError,
    DeployPlan,
    HealthCheckError,
    Target,
)

# `lgp serve` says where it listens: "[lgp] Server: http://127.0.0.1:PORT"
_SERVER_LINE = re.compile(r"\bServer: http://[^\s/]+:(\d+)\b")
_TOOL_TIMEOUT = 15.0


@dataclass(frozen=True)
class HealthResult:
    """The image's command answered ``/health``."""

    url: str
    seconds: float  # from start to the first 200
    body: dict[str, Any]


def local_argv(command: list[str]) -> list[str]:
    """The image's command as a process here: this Python's ``lgp``, any free port."""
    if command[:1] != ["lgp"]:
        raise ValueError(f"not an lgp command: {command}")
    argv = [sys.executable, "-m", "lgp_engine", *command[1:]]
    if "--port" in argv:
        argv[argv.index("--port") + 1] = "0"
    return argv


def health_check(
    plan: DeployPlan,
    *,
    cwd: Path,
    environ: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> HealthResult:
    """Start the image's command here (``LGP_ENV`` as in the image; the port is any
    free one), wait for ``/health`` to answer 200 for this workflow and environment,
    then stop it (SIGTERM, as a container runtime does).

    Raises:
        HealthCheckError: the process ended first, ``/health`` answered something
            else, or ``timeout`` seconds passed.
    """
    env = dict(os.environ if environ is None else environ)
    env["LGP_ENV"] = plan.environment
    env["LGP_SERVE_PASSIVE"] = "1"  # on a live database: take over no run, fire no cron
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        local_argv(plan.command),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    lines: list[str] = []
    reader = threading.Thread(target=_collect, args=(proc.stdout, lines), daemon=True)
    reader.start()
    try:
        return _wait_healthy(plan, proc, lines, t0, timeout)
    finally:
        _stop(proc)
        reader.join(2)


def _collect(stream: Any, lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))


def _wait_healthy(
    plan: DeployPlan, proc: subprocess.Popen[str], lines: list[str], t0: float, timeout: float
) -> HealthResult:
    deadline = time.monotonic() + timeout
    port: int | None = None
    last = ""
    while time.monotonic() < deadline:
        if port is None:
            port = next((int(m[1]) for ln in list(lines) if (m := _SERVER_LINE.search(ln))), None)
        if port is not None:
            url = f"http://127.0.0.1:{port}/health"
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = json.loads(response.read().decode("utf-8"))
                return _checked(plan, url, body, time.perf_counter() - t0)
            except urllib.error.HTTPError as exc:
                last = f"{url} answered {exc.code}"
            except (OSError, ValueError) as exc:
                last = f"{url}: {exc}"
        if proc.poll() is not None:
            time.sleep(0.1)  # the reader's last lines
            raise HealthCheckError(
                f"the image's command exited with {proc.returncode} before answering "
                f"/health: {_last_error(lines)}",
                code="did_not_start",
            )
        time.sleep(0.05)
    raise HealthCheckError(
        f"no answer from /health within {timeout:g} s ({last or 'no port announced'})",
        code="health_timeout",
    )


def _checked(plan: DeployPlan, url: str, body: Any, seconds: float) -> HealthResult:
    if not isinstance(body, dict):
        raise HealthCheckError(f"{url} answered something else than a JSON object")
    if body.get("environment") != plan.environment:
        raise HealthCheckError(
            f"{url} runs environment {body.get('environment')!r}, not {plan.environment!r}"
        )
    if plan.served not in (body.get("workflows") or []):
        raise HealthCheckError(f"{url} does not serve {plan.served!r}: {body.get('workflows')}")
    return HealthResult(url=url, seconds=seconds, body=body)


def _last_error(lines: list[str]) -> str:
    """The process's own reason: its last ❌ line, else its last line naming an error
    (a traceback's last line), else its last line."""
    for line in reversed(lines):
        if "❌" in line:
            return line.split("❌", 1)[1].strip()
    for line in reversed(lines):
        if re.search(r"(Error|Exception)\b", line):
            return line.strip()
    lines = [ln for ln in lines if ln.strip()]
    return lines[-1].strip() if lines else "(no output)"


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- apply


def _probe(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=_TOOL_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"no answer within {_TOOL_TIMEOUT:g} s")
    except OSError as exc:
        return subprocess.CompletedProcess(argv, 127, "", exc.strerror or str(exc))


def _first_line(result: subprocess.CompletedProcess[str]) -> str:
    text = (result.stderr or result.stdout or "").strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else f"exit status {result.returncode}"


def apply_commands(
    plan: DeployPlan, target: Target, out_dir: Path, project_dir: Path
) -> list[list[str]]:
    """The commands that apply the files, run from the project folder."""
    out = _rel(out_dir, project_dir)
    if target == "k8s":
        return [["kubectl", "apply", "-f", f"{out}/k8s/"]]
    if target == "compose":
        return [["docker", "compose", "-f", f"{out}/compose.yaml", "up", "-d", "--build"]]
    run = ["docker", "run", "-d", "--name", plan.name, "-p", f"{PORT}:{PORT}"]
    for var in plan.env:
        if var.secret:
            run += ["-e", var.name]  # the value from this process's environment
        else:
            run += ["-e", f"{var.name}={var.value or ''}"]
    return [
        ["docker", "build", "-f", f"{out}/Dockerfile", "-t", plan.image, "."],
        [*run, plan.image],
    ]


def check_tools(
    target: Target,
    *,
    environ: Mapping[str, str] | None = None,
    instead: str | None = None,
    postgres: bool = True,
) -> str:
    """Whether the tool that applies ``target`` can run here; what it will use
    (``postgres``: the compose file runs PostgreSQL, whose password the shell gives).

    Raises:
        DeployError: (code ``cannot_apply``, ``instead`` as its hint) the tool is
            missing, the Docker daemon does not answer, Compose is not installed, or
            kubectl has no context.
    """

    def _cannot(reason: str) -> DeployError:
        return DeployError(f"cannot apply: {reason}", code="cannot_apply", hint=instead)

    env = os.environ if environ is None else environ
    path = env.get("PATH")
    problems: list[str] = []
    if target == "k8s":
        if shutil.which("kubectl", path=path) is None:
            raise _cannot("kubectl is not installed (no kubectl on PATH)")
        result = _probe(["kubectl", "config", "current-context"], env)
        context = result.stdout.strip()
        if result.returncode != 0 or not context:
            raise _cannot(f"kubectl has no current context ({_first_line(result)})")
        return f"kubectl, context {context}"
    if shutil.which("docker", path=path) is None:
        raise _cannot("docker is not installed (no docker on PATH)")
    server = _probe(["docker", "version", "--format", "{{.Server.Version}}"], env)
    if server.returncode != 0 or not server.stdout.strip():
        problems.append(f"the Docker daemon is not reachable ({_first_line(server)})")
    if target == "compose":
        compose = _probe(["docker", "compose", "version"], env)
        if compose.returncode != 0:
            problems.append(f"Docker Compose is not installed ({_first_line(compose)})")
        elif postgres and not env.get(POSTGRES_PASSWORD_ENV):
            problems.append(f"{POSTGRES_PASSWORD_ENV} is not set (PostgreSQL's password)")
    if problems:
        raise _cannot("; ".join(problems))
    return f"Docker {server.stdout.strip()}"


def run_apply(commands: list[list[str]], *, cwd: Path) -> None:
    """Run the apply commands one after the other, their output going to ours.

    Raises:
        ApplyError: a command could not start or failed.
    """
    for argv in commands:
        try:
            code = subprocess.call(argv, cwd=cwd, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise ApplyError(f"`{' '.join(argv)}` could not start: {exc.strerror}") from None
        if code != 0:
            raise ApplyError(f"`{' '.join(argv)}` failed (exit status {code})")


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()
