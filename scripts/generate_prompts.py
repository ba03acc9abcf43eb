#!/usr/bin/env python3
"""Generate the kiosk's spoken prompts (assets/sounds/<lang>/<key>.wav) with espeak-ng.

The texts are the `prompt.*` keys of assets/i18n/<lang>.json. The WAV files
are committed, so kiosks need neither espeak-ng nor sox; run this again after
changing a prompt text. 11 kHz mono 16-bit (wider than the telephone band, plenty
for formant speech) keeps them small.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOICES = {"vi": ("vi", "135"), "en": ("en-gb", "140")}  # voice, words per minute


def main() -> int:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (see debian-packages.txt)", file=sys.stderr)
            return 1
    count = 0
    for lang, (voice, speed) in VOICES.items():
        table = json.loads((ROOT / "assets" / "i18n" / f"{lang}.json").read_text("utf-8"))
        out_dir = ROOT / "assets" / "sounds" / lang
        out_dir.mkdir(parents=True, exist_ok=True)
        wanted = {k.removeprefix("prompt."): v for k, v in table.items()
                  if k.startswith("prompt.")}
        for stale in out_dir.glob("*.wav"):
            if stale.stem not in wanted:
                stale.unlink()
        for key, text in sorted(wanted.items()):
            with tempfile.NamedTemporaryFile(suffix=".wav") as raw:
                subprocess.run(["espeak-ng", "-v", voice, "-s", speed, "-w", raw.name, text],
                               check=True)
                subprocess.run(["sox", raw.name, "-r", "11025", "-c", "1", "-b", "16",
                                str(out_dir / f"{key}.wav"), "silence", "1", "0.05", "0.5%",
                                "reverse", "silence", "1", "0.05", "0.5%", "reverse",
                                "norm", "-3"], check=True)
            count += 1
    print(f"{count} prompts written under assets/sounds/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
