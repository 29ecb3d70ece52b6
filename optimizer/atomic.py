"""Atomic file output: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["atomic_write", "write_atomically"]


def write_atomically(outputs: Iterable[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write every ``(path, writer)`` to a temporary file beside its target, then rename all.

    Every writer runs before the first rename, so a failure in any of them leaves no output
    of this call in place (the temporaries are removed).
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, writer in outputs:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            staged.append((Path(tmp), path))
            writer(Path(tmp))
            # mkstemp creates 0600; give the final file the permissions a plain open() would
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp, 0o666 & ~mask)
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            if tmp.exists():
                tmp.unlink()


def atomic_write(path: Path, writer: Callable[[Path], None]) -> Path:
    """One file, atomically: ``writer`` fills a temporary path that is then renamed to ``path``."""
    write_atomically([(path, writer)])
    return path
