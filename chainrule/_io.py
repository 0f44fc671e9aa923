"""Reading and writing files, shared by every package: regular-file checks, atomic writes of files and of whole
folders, strict-JSON values, plots as embeddable PNGs."""

from __future__ import annotations

import base64
import contextlib
import glob
import io
import json
import math
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


def check_regular_file(path: str | os.PathLike[str], where: str) -> None:
    """Raise unless ``path`` is a regular file: FIFOs and devices (``/dev/zero``) never end, folders aren't data.

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: something is there but it is not a regular file (the message says what it is).

    >>> check_regular_file("/dev/null", "load_file")
    Traceback (most recent call last):
    ...
    ValueError: load_file: '/dev/null' is not a regular file (it is a character device); expected a data file
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no file at {str(path)!r}") from None
    except NotADirectoryError:
        raise FileNotFoundError(f"{where}: no file at {str(path)!r} (a parent of it is a file)") from None
    if not stat.S_ISREG(mode):
        kinds = {stat.S_ISDIR: "a folder", stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device",
                 stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}
        kind = next((name for test, name in kinds.items() if test(mode)), "not a file")
        raise ValueError(f"{where}: {str(path)!r} is not a regular file (it is {kind}); expected a data file")


def _default_mode(folder: bool = False) -> int:
    # mkstemp and mkdtemp create 0600/0700 whatever the umask; files we publish get what open() would give.
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


def _write_bytes(f: BinaryIO, data: bytes) -> None:
    f.write(data)  # its own function so that tests can simulate a crash mid-write


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` so that readers see the old file or the new one, never half of one.

    The bytes go to a temporary file in the same directory, are flushed and fsynced, then
    ``os.replace`` swaps it in; on any error the temporary file is removed. Parent folders are created.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> atomic_write(path, "hello")
    >>> open(path).read()
    'hello'
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_writers(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"), f".{path.name}.")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp")
    try:
        os.fchmod(fd, _default_mode())
        with os.fdopen(fd, "wb") as f:
            _write_bytes(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # make a rename durable where the platform allows
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# ---------------------------------------------------------------------------- folders written as a unit

_STAGING = ".{name}.tmp-"  # a staging folder's name: this prefix, then the writer's pid and a random suffix


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 with RENAME_EXCHANGE); False where the system can't."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this file system can't exchange
        return False
    raise OSError(errno, os.strerror(errno), str(b))


def remove_stale_staging(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the staging folders of ``folder`` left by writers that were killed; returns what was removed.

    A staging folder whose writer still runs is left alone, so two runs never delete each other's work.
    """
    folder = Path(folder)
    prefix = _STAGING.format(name=folder.name)
    return _remove_dead_writers(folder.parent.glob(glob.escape(prefix) + "*"), prefix)


def _remove_dead_writers(candidates: Iterable[Path], prefix: str) -> list[Path]:
    """Delete the temporaries named ``<prefix><pid>-...`` whose writing process no longer runs."""
    removed = []
    for candidate in candidates:
        pid = candidate.name.removeprefix(prefix).partition("-")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue  # not one of ours (another naming), or its writer is still at work
        if candidate.is_dir():
            shutil.rmtree(candidate, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                candidate.unlink()
        removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is writing anew: what it left under its own id is from an earlier attempt
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Write a whole folder so that ``path`` always holds the complete old folder or the complete new one.

    The body writes into the yielded staging folder (a sibling of ``path``, under a folder of the same name so
    that pages titled by their folder read right); on success a manifest is written last, then the staging
    folder replaces ``path`` in one atomic exchange where the system allows (Linux), else in two renames
    (between them no folder is at ``path``; readers that need the manifest never see a half one). Nothing of an
    earlier folder at ``path`` survives; on any error the staging folder is removed and ``path`` is untouched.
    Staging folders left by killed writers are removed first.

    >>> import os, tempfile
    >>> run = os.path.join(tempfile.mkdtemp(), "run")
    >>> with atomic_folder(run) as staging:
    ...     _ = (staging / "a.txt").write_text("new")
    >>> sorted(os.listdir(run))
    ['a.txt', 'manifest.json']
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{str(path)!r} exists and is not a folder; expected a folder to write into")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(path)
    holder = Path(tempfile.mkdtemp(dir=path.parent, prefix=_STAGING.format(name=path.name) + f"{os.getpid()}-"))
    staging = holder / path.name
    try:
        staging.mkdir(mode=_default_mode(folder=True))
        yield staging
        write_manifest(staging)
        staging.chmod(_default_mode(folder=True))
        if not path.exists():
            os.rename(staging, path)
        elif not _exchange(staging, path):
            old = holder / "old"
            os.rename(path, old)  # not atomic: a crash right here leaves no folder at path (the old one is in holder)
            os.rename(staging, path)
        _fsync_folder(path.parent)
    finally:
        shutil.rmtree(holder, ignore_errors=True)


MANIFEST = "manifest.json"


def write_manifest(folder: str | os.PathLike[str]) -> Path:
    """Write ``folder``/manifest.json, the name and size of every file in it; call it once the folder is complete.

    Written last, it is what says a folder is whole: readers (``check_manifest``) refuse a folder without one, so
    a folder still being written, one left by a killed writer, or an old one moved aside is never shown as a run.
    """
    folder = Path(folder)
    # Its own files only, not subfolders': run folders are flat, and write_report may be pointed at a big folder.
    files = {p.name: p.stat().st_size
             for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")}
    atomic_write(folder / MANIFEST, json.dumps({"complete": True, "files": files}, indent=2) + "\n")
    return folder / MANIFEST


def check_manifest(folder: str | os.PathLike[str], where: str, rebuilt: Collection[str] = ()) -> None:
    """Raise unless ``folder`` has a manifest and every file it lists is there with the listed size.

    Files named in ``rebuilt`` (what the reader writes anew, such as a report page) are not checked.

    Raises:
        ValueError: no manifest (the folder was not finished), an unreadable one, or a listed file missing or of
            another size; the message names the folder and the file.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ValueError(f"{where}: {str(folder)!r} has no {MANIFEST}, so it is not a complete run folder (its "
                         f"writer was killed or is still at work, or it was not written by chainrule); run again")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' is not a dict")
    except (ValueError, UnicodeDecodeError, RecursionError, KeyError, TypeError) as error:
        raise ValueError(f"{where}: {path} is not a manifest written by chainrule ({error!r})") from None
    for name, size in files.items():
        if name in rebuilt:
            continue
        listed = Path(folder) / name
        if not listed.is_file():
            raise ValueError(f"{where}: {str(folder)!r} is incomplete: {MANIFEST} lists {name!r}, which is missing")
        if listed.stat().st_size != size:
            raise ValueError(f"{where}: {str(folder)!r} is incomplete or changed: {MANIFEST} lists {name!r} with "
                             f"{size} bytes, the file has {listed.stat().st_size}")


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON: NumPy scalars as plain numbers, NaN and infinities as None, keys as strings.

    >>> json_safe({"loss": float("nan"), 1: [np.float32(0.5), float("inf")]})
    {'loss': None, '1': [0.5, None]}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def agg_figure(width: float, height: float, dpi: float = 100) -> Any:
    """A matplotlib Figure on the Agg canvas: no pyplot, no display, and the user's backend left alone."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def png_base64(fig: Any) -> str:
    """``fig`` as a base64 PNG at its own dpi, for ``<img src="data:image/png;base64,...">``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
