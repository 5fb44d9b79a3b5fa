"""The built wheel carries what `pip install openxms` users need (the web UI's files)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_the_ui_static_files(tmp_path):
    # Build from a copy without the editable install's egg-info: setuptools would otherwise take
    # the file list recorded there and hide a missing package-data entry.
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "*.egg-info", "data", "__pycache__", "node_modules", "build", "dist"
        ),
    )
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    wheel = next(out.glob("openxms-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    static = sorted(p.name for p in (ROOT / "src/openxms/ui/static").iterdir())
    assert static and all(f"openxms/ui/static/{n}" in names for n in static), sorted(names)
