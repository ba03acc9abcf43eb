"""Assets and the demo configuration are found from a built wheel, not only the checkout."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_assets_and_finds_them(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    [wheel] = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(site)
    assert "kiosk/_assets/fonts/DejaVuSans.ttf" in names
    assert "kiosk/config/demo.toml" in names
    assert not (site / "kiosk" / "_assets").is_symlink()
    probe = (
        "import kiosk, kiosk.assets as a, kiosk.config as c;"
        "print(kiosk.__file__); print(a.asset_path('fonts', 'DejaVuSans.ttf'));"
        "print(c.demo_config().facility.code)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=tmp_path, env={"PYTHONPATH": str(site)}).stdout.split()
    assert out[0].startswith(str(site))
    assert out[1].startswith(str(site)) and out[2] == "01824"
