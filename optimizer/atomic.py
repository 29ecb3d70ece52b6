"""Atomic file output: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_write", "staged", "write_atomically"]


@contextmanager
def staged(paths: Iterable[Path]) -> Iterator[list[Path]]:
    """Temporary files beside each of ``paths``, renamed onto them when the block succeeds.

    For writers that fill several files in one pass (a chunked generator writes its options
    and customers from the same draws): if the block raises, no output is put in place and
    the temporaries are removed.
    """
    pairs: list[tuple[Path, Path]] = []
    try:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            pairs.append((Path(tmp), path))
        yield [tmp for tmp, _ in pairs]
        # mkstemp creates 0600; give the final files the permissions a plain open() would
        mask = os.umask(0)
        os.umask(mask)
        for tmp, path in pairs:
            os.chmod(tmp, 0o666 & ~mask)
        for tmp, path in pairs:
            os.replace(tmp, path)
    finally:
        for tmp, _ in pairs:
            if tmp.exists():
                tmp.unlink()


def write_atomically(outputs: Iterable[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write every ``(path, writer)`` to a temporary file beside its target, then rename all.

    Every writer runs before the first rename, so a failure in any of them leaves no output
    of this call in place (the temporaries are removed).
    """
    outputs = list(outputs)
    with staged(path for path, _ in outputs) as temporaries:
        for tmp, (_, writer) in zip(temporaries, outputs):
            writer(tmp)


def atomic_write(path: Path, writer: Callable[[Path], None]) -> Path:
    """One file, atomically: ``writer`` fills a temporary path that is then renamed to ``path``."""
    write_atomically([(path, writer)])
    return path
