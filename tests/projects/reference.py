"""Run graphs as ``langgraph dev`` runs them, with LangGraph alone: what ``lgp run`` on
the same project is compared with.

``python reference.py JOBS``, where ``JOBS`` is a JSON list of objects:

* ``cwd``: the folder ``langgraph dev`` is started in;
* ``sys_path``: folders appended to ``sys.path`` (relative to ``cwd``): what
  ``langgraph dev`` appends (the working directory and each dependency folder) and
  where ``langgraph build`` would have installed the dependency packages;
* ``graph``: ``path/to/file.py:attr``, relative to ``cwd``;
* ``env_file`` (optional): the ``env`` of ``langgraph.json``, relative to ``cwd``;
* ``input``: the graph's input.

Each job runs in a forked child (LangGraph is imported once), which imports the file
by path under a synthetic module name, as ``langgraph-api`` does, and invokes the
graph. One JSON line per job, in order: the final state, or ``{"error": "..."}``.
Nothing of the workbench is imported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import langgraph.graph  # noqa: F401 - imported once, before the children fork


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    os.chdir(job["cwd"])
    if job.get("env_file"):
        from dotenv import dotenv_values

        os.environ.update({k: v for k, v in dotenv_values(job["env_file"]).items() if v})
    sys.path.extend(str(Path(p).resolve()) for p in job["sys_path"])
    file, attr = job["graph"].rsplit(":", 1)
    name = file.replace("/", "__").removesuffix(".py").replace(" ", "_").lstrip(".")
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return getattr(module, attr).invoke(job["input"])


def main() -> None:
    del sys.path[0]  # this script's folder: not part of any project
    for job in json.loads(sys.argv[1]):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one job, its result into the pipe, and out
            os.close(read)
            try:
                try:
                    out: dict[str, Any] = run_job(job)
                except Exception as exc:  # noqa: BLE001 - reported to the test
                    out = {"error": f"{type(exc).__name__}: {exc}"}
                with os.fdopen(write, "w", encoding="utf-8") as pipe:
                    pipe.write(json.dumps(out))
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, encoding="utf-8") as pipe:
            line = pipe.read()
        os.waitpid(pid, 0)
        print(line, flush=True)


if __name__ == "__main__":
    main()
