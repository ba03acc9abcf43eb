"""A venv built under one directory is rewritten to name only its final path."""

import os

import pytest

from kiosk.ops.relocate import RelocateError, relocate_tree


def test_scripts_config_and_links_are_rewritten_bytecode_dropped(tmp_path):
    built = tmp_path / "image/opt/kiosk/releases/1.0/venv"
    (built / "bin").mkdir(parents=True)
    (built / "lib").mkdir()
    script = built / "bin/kiosk"
    script.write_text(f"#!{built}/bin/python\nimport sys\n")
    script.chmod(0o755)
    (built / "pyvenv.cfg").write_text(f"home = /usr/bin\ncommand = python3 -m venv {built}\n")
    (built / "lib/mod.cpython-311.pyc").write_bytes(b"\x00\x01" + str(built).encode())
    (built / "lib/untouched.so").write_bytes(b"\x7fELF\x00\xff no path here")
    (built / "bin/python").symlink_to("/usr/bin/python3")
    (built / "bin/self").symlink_to(built / "bin/kiosk")
    final = "/opt/kiosk/releases/1.0/venv"

    changed = relocate_tree(built, built, type(built)(final))

    assert script.read_text().startswith(f"#!{final}/bin/python\n")
    assert os.stat(script).st_mode & 0o777 == 0o755
    assert f"venv {final}" in (built / "pyvenv.cfg").read_text()
    assert not (built / "lib/mod.cpython-311.pyc").exists()  # compiled again in place
    assert os.readlink(built / "bin/python") == "/usr/bin/python3"
    assert os.readlink(built / "bin/self") == f"{final}/bin/kiosk"
    assert sorted(p.name for p in changed) == ["kiosk", "pyvenv.cfg", "self"]
    assert relocate_tree(built, built, built) == []  # in place: nothing to do


def test_a_binary_naming_the_build_directory_is_refused(tmp_path):
    built = tmp_path / "venv"
    built.mkdir()
    (built / "lib.so").write_bytes(b"\xff\xfe" + str(built).encode() + b"\x00")
    with pytest.raises(RelocateError, match="binary file names the build directory"):
        relocate_tree(built, built, tmp_path / "elsewhere")
