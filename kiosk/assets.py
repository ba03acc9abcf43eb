"""Locate bundled assets (fonts, images, sounds, translations) at run time.

In a checkout `kiosk/_assets` is a symlink to the top-level `assets/`; in a
wheel the same files are packaged as `kiosk/_assets`. `$KIOSK_ASSETS`
overrides both (a hospital's own artwork or wording).
"""

from __future__ import annotations

import os
from pathlib import Path

import kiosk


def assets_dir() -> Path:
    override = os.environ.get("KIOSK_ASSETS")
    if override:
        return Path(override)
    return Path(kiosk.__file__).resolve().parent / "_assets"


def asset_path(*parts: str) -> Path:
    """Path of a bundled asset; raises FileNotFoundError naming it when missing."""
    path = assets_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"asset {'/'.join(parts)} not found under {assets_dir()}")
    return path
