"""Who cannot read what: the words of every permission message (decision 0120)."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path


def describe(path: Path) -> str:
    """`path (0600 root:root)`: what a technician needs to fix a permission."""
    try:
        st = path.stat()
    except OSError:
        return str(path)
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"{path} ({stat.S_IMODE(st.st_mode):04o} {owner}:{group})"


def whoami() -> str:
    uid = os.geteuid()
    try:
        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"
