"""kiosk(1) is written from the argparse definitions: every command is in it, and
groff reads it without a warning (what `make deb` packages as kiosk.1.gz)."""

import subprocess

from kiosk import __version__
from kiosk.cli import build_parser
from kiosk.cli._manpage import _roff, _subcommands, render


def test_every_command_is_in_the_manual_page(tmp_path):
    parser = build_parser()
    page = render(parser, __version__)
    for name, _, sub in _subcommands(parser):
        assert f'.SS "{_roff(f"kiosk {name}")}"' in page
        for inner, _, _ in _subcommands(sub):
            assert f'.SS "{_roff(f"kiosk {name} {inner}")}"' in page
    assert '.SS "kiosk decommission"' in page and "\\-\\-production" in page
    path = tmp_path / "kiosk.1"
    path.write_text(page, encoding="ascii")  # Vietnamese as \[uXXXX] glyphs
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    shown = subprocess.run(["man", "-l", str(path)], capture_output=True, text=True,
                           timeout=60, check=False, env={"MANWIDTH": "100", "LC_ALL": "C.UTF-8",
                                                         "PATH": "/usr/bin:/bin"})
    assert "kiosk config new" in shown.stdout and "Sổ sức khỏe điện tử" in shown.stdout
