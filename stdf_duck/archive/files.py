"""The archive's files on disk: durable renames into place, deletions, the writers' lock."""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

#: fsync temporary files before they are published and directories after (power-loss safety).
FSYNC = True


def fsync_path(path: str, directory: bool = False) -> None:
    if not FSYNC:
        return
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove(path: str) -> None:
    """Delete a file if it exists."""
    try:
        os.unlink(path)
    except OSError:
        pass


def unlink_output(path: str) -> None:
    """Delete a Parquet file of the archive and the partition directories it leaves empty."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    d = os.path.dirname(path)
    for _ in range(3):  # lot_id=, then test_stage=, then part_typ=
        try:
            os.rmdir(d)
        except OSError:
            break
        d = os.path.dirname(d)


def move_into_place(moves: Iterable[tuple[str, str]]) -> None:
    """Rename each staged file (source, destination) into place, creating the directories, then
    fsync the directories: the one rule of materialize's commit and of `stdf-duck convert`."""
    dirs: set[str] = set()
    for src, dst in moves:
        d = os.path.dirname(dst)
        if d not in dirs:
            os.makedirs(d, exist_ok=True)
            dirs.add(d)
        os.replace(src, dst)
    for d in dirs:
        fsync_path(d, directory=True)


@contextmanager
def staging_dir(parent: str) -> Iterator[str]:
    """A temporary folder inside `parent` (same file system: renames out of it are atomic),
    removed with whatever is left in it when the block ends."""
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".stdf-duck-tmp-", dir=parent)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class FileLock:
    """An exclusive, non-blocking OS lock on a file (released by the OS when the process dies)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if sys.platform == "win32":  # pragma: no cover
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        info = f"pid {os.getpid()} on {socket.gethostname()} since {_dt.datetime.now().isoformat(timespec='seconds')}\n"
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0) if hasattr(os, "pwrite") else os.write(fd, info.encode())
        except OSError:
            pass
        return True

    def holder(self) -> str:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                return f.read().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd is not None:
            try:
                if sys.platform != "win32":
                    import fcntl

                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
