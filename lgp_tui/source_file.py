"""Reading and saving the workflow file the source pane edits (no widgets here).

A save is atomic (a temporary file in the same folder, then a rename over the file,
its permission bits kept), so the file watcher sees one complete new version, never a
half-written one. It refuses to write over a change made outside since the file was
read (the caller offers it to the user) and over a read-only file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SaveOutcome:
    """What :func:`save_source` did.

    Attributes:
        path: The file.
        text: The text that was to be written.
        error: Why nothing was written (phrased for the user), or None.
        theirs: The file's text when it changed since it was read: nothing was
            written, the caller asks what to keep. None otherwise.
    """

    path: Path
    text: str
    error: str | None = None
    theirs: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.theirs is None


def read_source(path: Path) -> str:
    """The file's text (UTF-8); OSError / UnicodeDecodeError if it cannot be read."""
    return path.read_text(encoding="utf-8")


def save_source(path: Path, text: str, expected: str | None, *, force: bool = False) -> SaveOutcome:
    """Write ``text`` to ``path`` atomically.

    ``expected`` is the file's text when it was last read or saved: if the file now
    holds something else, nothing is written and the outcome carries ``theirs``
    (unless ``force``: the user chose to overwrite). A file deleted meanwhile is
    written again.
    """
    real = path.resolve()  # a symlink keeps pointing at the file it names
    try:
        current: str | None = read_source(real)
    except FileNotFoundError:
        current = None
    except (OSError, UnicodeDecodeError) as exc:
        return SaveOutcome(path, text, error=_reason(exc))
    if not force and current is not None and current not in (expected, text):
        return SaveOutcome(path, text, theirs=current)
    mode: int | None = None
    if current is not None:
        try:
            mode = stat.S_IMODE(real.stat().st_mode)
        except OSError as exc:
            return SaveOutcome(path, text, error=_reason(exc))
        if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(real, os.W_OK):
            return SaveOutcome(path, text, error="the file is read-only")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, real)
        tmp = None
    except OSError as exc:
        return SaveOutcome(path, text, error=_reason(exc))
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return SaveOutcome(path, text)


def _reason(exc: BaseException) -> str:
    """A short reason for a failed read or write: "permission denied", "disk full"..."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
