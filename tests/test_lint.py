"""The Python is lint-clean (ruff) and the library's layers hold (import-linter: imports only downward, no cycles)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_ruff_is_clean(root):
    ruff = shutil.which("ruff") or "ruff"
    done = subprocess.run([ruff, "check", "src", "workflow/scripts", "tests", "bench"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_layers_and_no_cycles_hold(root):
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([lint, "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout
