"""What code running as root may do in a folder another user can write.

The kiosk user owns its state directory (/var/lib/kiosk), so it can put a
symlink at any name in it. Root must therefore never open, chmod or chown a
name there by path: a link `last-update.json.tmp → /usr/lib/python3/…/x.pth`
would hand that file to the kiosk user (decision 0100). The rules:

* root's own state lives in a root-only directory (`private_dir`);
* a file root writes into a foreign directory is created with
  O_CREAT|O_EXCL|O_NOFOLLOW relative to the directory's descriptor, changed
  with fchmod/fchown on the open file and renamed over the name (rename
  replaces a link, it never follows one) — `write_in`;
* root never opens the kiosk's SQLite database: SQLite opens and chowns the
  -wal/-shm/-journal beside it by path. Such work runs as the directory's
  owner (`run_as_kwargs`) or is refused (`refuse_as_root`).

Below every layer: the store, ops and cli all use it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Any

# The names SQLite creates beside a database, by path, following links.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class UnsafePathError(RuntimeError):
    """Root was asked to act on a path another user controls."""


def is_root() -> bool:
    return os.geteuid() == 0


def foreign_owner(directory: Path) -> tuple[int, int] | None:
    """(uid, gid) of `directory` when root runs and another user owns it, else None."""
    if not is_root():
        return None
    st = os.stat(directory)
    return (st.st_uid, st.st_gid) if st.st_uid != 0 else None


def refuse_as_root(database: Path) -> None:
    """Stop root from opening a SQLite database in a folder another user owns."""
    folder = database.parent
    try:
        owner = foreign_owner(folder)
    except FileNotFoundError:
        return
    if owner is not None:
        raise UnsafePathError(
            f"{database} is in {folder}, which uid {owner[0]} owns: root does not open it "
            "(SQLite would follow links planted beside it); run this command as that "
            "user, e.g. `runuser -u kiosk -- kiosk …`")


def read_only_uri(database: Path) -> str:
    """A SQLite URI to read `database`. Root reading another user's database opens the
    main file only (immutable=1: no -wal/-shm, no locks), so figures may miss the
    un-checkpointed tail of the WAL — fine for counts, never used to write."""
    uri = f"file:{database}?mode=ro"
    try:
        foreign = foreign_owner(database.parent) is not None
    except FileNotFoundError:
        foreign = False
    return uri + "&immutable=1" if foreign else uri


def run_as_kwargs(owner: tuple[int, int] | None) -> dict[str, Any]:
    """subprocess.run() arguments that start the child as `owner` (no extra groups)."""
    if owner is None:
        return {}
    return {"user": owner[0], "group": owner[1], "extra_groups": []}


def private_dir(path: Path) -> Path:
    """Create (0700) or check a directory only root — the caller — may change."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() \
            or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafePathError(f"{path} must be a directory owned by uid {os.geteuid()} that "
                              "no group or other user may write")
    return path


def _open_dir(directory: Path) -> int:
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


def write_in(directory: Path, name: str, data: bytes, mode: int,
             owner: tuple[int, int] | None = None) -> Path:
    """Atomically replace `directory/name` without following any link there: a fresh
    temporary (O_EXCL|O_NOFOLLOW, random name) changed on its descriptor, fsynced and
    renamed over `name`. `owner` (uid, gid) is applied with fchown."""
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"not a plain file name: {name!r}")
    dfd = _open_dir(directory)
    try:
        tmp = f".{name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb", closefd=False) as fh:
                fh.write(data)
                fh.flush()
                if owner is not None:
                    os.fchown(fd, *owner)
                os.fchmod(fd, mode)  # after fchown, which may clear set-id bits
                os.fsync(fd)
        except BaseException:
            os.unlink(tmp, dir_fd=dfd)
            raise
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return directory / name


def set_owner_mode(path: Path, mode: int, owner: tuple[int, int] | None = None) -> None:
    """chmod/chown `path` itself, refusing a link (the change is made on a descriptor
    opened with O_NOFOLLOW, so a link swapped in afterwards is not followed either)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafePathError(f"{path} is a symbolic link: not changed") from exc
        raise
    try:
        st = os.fstat(fd)
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            raise UnsafePathError(f"{path} is not a file or directory: not changed")
        if owner is not None:
            os.fchown(fd, *owner)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
