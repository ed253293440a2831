"""``isolation: worktree``: a Claude Code node works in its own git worktree of the
repository, so parallel agents on one repository do not clobber each other.

The worktree of a role on a thread has a stable path (Claude Code files a session
under its working directory, so resuming needs the same one) and a branch,
``lgp/<role>/<thread>-<hash>``, that keeps the agent's work: what it left uncommitted is
committed there before the worktree is removed, and the next invocation starts from
that branch.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError


@dataclass(frozen=True)
class Worktree:
    path: Path
    branch: str


async def _git(repo: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(repo),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace").strip()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:40] or "x"


@asynccontextmanager
async def worktree(
    repository: Path, root: Path, role: str, thread_id: str, *, keep: bool
) -> AsyncIterator[Worktree]:
    """A worktree of ``repository`` under ``root`` for ``role`` on ``thread_id``;
    committed to its branch and removed on exit unless ``keep``."""
    code, top = await _git(repository, "rev-parse", "--show-toplevel")
    if code != 0:
        raise ConfigError(
            f"isolation: worktree needs a git repository, and {repository} is not one",
            field="isolation",
            code="not_a_git_repository",
            hint="run `git init` there (with a first commit), or use isolation: none",
        )
    # slugs keep the names readable; the hash keeps two threads (or repositories)
    # whose slugs agree from sharing a worktree or a branch
    key = hashlib.sha256(f"{top}\0{role}\0{thread_id}".encode()).hexdigest()[:8]
    branch = f"lgp/{_slug(role)}/{_slug(thread_id)}-{key}"
    path = root / f"{_slug(Path(top).name)}-{_slug(role)}-{_slug(thread_id)}-{key}"
    if not (path / ".git").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        await _git(repository, "worktree", "prune")
        has_branch = (await _git(repository, "rev-parse", "--verify", "--quiet", branch))[0] == 0
        args = [str(path), branch] if has_branch else ["-b", branch, str(path), "HEAD"]
        code, out = await _git(repository, "worktree", "add", "--quiet", *args)
        if code != 0:
            raise ConfigError(
                f"cannot create a worktree of {repository} at {path}: {out}",
                field="isolation",
                code="worktree_failed",
                hint="the repository needs at least one commit",
            )
    try:
        yield Worktree(path, branch)
    finally:
        if not keep:
            await asyncio.shield(_save_and_remove(repository, path, role))


async def _save_and_remove(repository: Path, path: Path, role: str) -> None:
    """Commit what the agent left in ``path`` to its branch, then remove the worktree."""
    code, status = await _git(path, "status", "--porcelain")
    if code == 0 and status:
        await _git(path, "add", "-A")
        await _git(
            path,
            "-c",
            "user.name=LGP Workbench",
            "-c",
            "user.email=lgp@localhost",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            f"{role}: work of a Claude Code session (saved by LGP Workbench)",
        )
    await _git(repository, "worktree", "remove", "--force", str(path))
