"""Output files: a folder holds a command's old set of files or its new set, never a mix.

Every command that writes a set of files into a folder goes through :func:`write_folder`:

1. an exclusive, non-blocking lock on ``FOLDER/.campaignlab.lock`` (``flock``: the OS drops
   it when the process dies, so a killed run never blocks the next one; a second run into
   the same folder at the same time is refused instead of interleaving its files);
2. under the lock, temporaries a killed run left (``.<name>.*.tmp``) are removed;
3. every file is written to a temporary in the folder, the summary (the file that describes
   the run) last, with the sha256 and size of each data file it belongs with;
4. the old summary is unlinked *before* the data files are renamed into place, and the new
   summary is renamed last.

A reader therefore sees the old pair, data files without a summary (a run was cut short:
incomplete), or the new pair; the summary's ``files`` lets it check a file belongs to it.
An ``OSError`` while writing (a read-only folder, a full disk, ``--out`` naming a file)
becomes an :class:`~optimizer.errors.InputError` naming the folder, and whatever was staged
is removed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs into one folder are then not serialised
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "atomic_write", "default_folder", "neutralised", "output_folder", "slug", "staged", "write_folder"]

#: The lock file every writing command holds in its output folder while it writes.
LOCK_NAME = ".campaignlab.lock"

Writer = Callable[[Path], None]
#: ``{file name: {"sha256": hex, "bytes": size}}`` of the data files a summary belongs with.
Manifest = dict[str, dict[str, Any]]


def slug(name: str) -> str:
    """``name`` as one safe path component: letters, digits, ``-``, ``_`` and inner ``.``; others become ``_``.

    Default output folders are built from a scenario's ``name``; an absolute name or one
    with ``../`` must not put files outside ``out/``.
    """
    text = re.sub(r"[^A-Za-z0-9._-]", "_", str(name)).lstrip(".")
    return text or "scenario"


def default_folder(name: str) -> Path:
    """``out/<slug of name>``: where a command writes when no ``--out`` is given."""
    return Path("out") / slug(name)


#: Leading characters a spreadsheet reads as the start of a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralised(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell (and column name) that starts a formula prefixed by ``'``.

    For CSVs meant to be opened by people in a spreadsheet (contact lists, what-if tables): a
    customer id ``=HYPERLINK(...)`` must not run there. Numbers stay numbers; files that
    campaignlab reads back (plan.csv, generated input tables) are written raw instead.
    """

    def cell(value: Any) -> Any:
        return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value

    out = table.rename(columns=cell)
    for column in out.columns:
        dtype = out[column].dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
            out[column] = out[column].astype(object).map(cell)
    return out


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
            pairs.append((_temporary(path), path))
        yield [tmp for tmp, _ in pairs]
        for tmp, path in pairs:
            os.replace(tmp, path)
    finally:
        for tmp, _ in pairs:
            tmp.unlink(missing_ok=True)


def _temporary(path: Path) -> Path:
    """An empty ``.<name>.XXXX.tmp`` beside ``path`` with the permissions a plain open() gives."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    mask = os.umask(0)  # mkstemp creates 0600; reading the umask means setting it
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    return Path(tmp)


def atomic_write(path: Path, writer: Writer) -> Path:
    """One file, atomically: ``writer`` fills a temporary path that is then renamed to ``path``."""
    with staged([path]) as (tmp,):
        writer(tmp)
    return path


@contextmanager
def output_folder(folder: Path, names: Iterable[str]) -> Iterator[Path]:
    """Hold ``folder``'s lock and clear the temporaries of ``names`` a killed run left.

    An ``OSError`` inside the block is an output failure: it becomes an InputError naming
    the folder (exit 2), not a traceback.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError("is a file, not a folder; choose another --out", file=str(folder))
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _lock(folder):
            _remove_stale(folder, set(names))
            yield folder
    except BaseException as exc:
        if created:  # a failed first run leaves no folder behind
            with suppress(OSError):
                (folder / LOCK_NAME).unlink(missing_ok=True)
                folder.rmdir()
        if isinstance(exc, OSError):
            raise InputError(
                f"cannot write the outputs here ({exc.strerror or exc}); free space, fix the permissions or choose another --out",
                file=str(folder),
            ) from None
        raise


@contextmanager
def _lock(folder: Path) -> Iterator[None]:
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InputError(
                    "another campaignlab run is writing to this folder (lock held); wait for it or choose another --out",
                    file=str(folder),
                ) from None
        yield
    finally:
        os.close(fd)  # closing drops the lock; the file stays (unlinking it would race a waiting run)


def _remove_stale(folder: Path, names: set[str]) -> None:
    for entry in folder.iterdir():
        if entry.name.endswith(".tmp") and any(entry.name.startswith(f".{name}.") for name in names):
            entry.unlink(missing_ok=True)


def write_folder(
    folder: Path,
    files: Sequence[tuple[str, Writer]],
    *,
    summary: tuple[str, Callable[[Manifest], str]] | None = None,
    remove: Iterable[str] = (),
) -> list[Path]:
    """Write ``files`` (name, writer) and then ``summary`` into ``folder`` as one consistent set.

    ``summary`` is a name and a function of the data files' manifest returning the summary's
    text; it is unlinked before the data files are renamed and renamed last. ``remove``
    names files of an earlier run that this run does not write (``plan.csv`` when there is
    no plan): they go right after the old summary. Returns the paths written, summary last.
    """
    remove = list(remove)
    names = [name for name, _ in files] + ([summary[0]] if summary else [])
    for name in names + remove:
        if Path(name).name != name or name in ("", ".", ".."):
            raise ValueError(f"output name {name!r} must be a plain file name")
    with output_folder(folder, names + remove) as out:
        return _publish(out, files, summary, remove)


def _publish(
    out: Path, files: Sequence[tuple[str, Writer]], summary: tuple[str, Callable[[Manifest], str]] | None, remove: list[str]
) -> list[Path]:
    staged_files: list[tuple[Path, Path]] = []
    try:
        manifest: Manifest = {}
        for name, writer in files:
            tmp = _temporary(out / name)
            staged_files.append((tmp, out / name))
            writer(tmp)
            manifest[name] = {"sha256": _sha256(tmp), "bytes": tmp.stat().st_size}
        if summary is not None:
            tmp = _temporary(out / summary[0])
            staged_files.append((tmp, out / summary[0]))
            tmp.write_text(summary[1](manifest), encoding="utf-8")
            (out / summary[0]).unlink(missing_ok=True)
        for name in remove:
            (out / name).unlink(missing_ok=True)
        for tmp, path in staged_files:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged_files:
            tmp.unlink(missing_ok=True)
    return [path for _, path in staged_files]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
