"""Architecture rules a tool can check: import direction, module size, types, lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = ["wire", "proxy", "control_plane", "fake_provider", "dragonfly"]


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_contracts_hold() -> None:
    """proxy and control_plane never import each other; wire imports neither; pure modules do no I/O."""
    result = run(str(BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_stay_under_the_size_cap(package: str) -> None:
    too_big = {str(p.relative_to(ROOT)): n for p in (ROOT / package).rglob("*.py")
               if (n := len(p.read_text().splitlines())) > 500}
    assert not too_big, f"split these by concern: {too_big}"


def test_no_grab_bag_modules() -> None:
    banned = {"utils.py", "helpers.py", "common.py", "misc.py", "manager.py"}
    found = [str(p.relative_to(ROOT)) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if p.name in banned]
    assert not found


def test_ruff_is_clean() -> None:
    result = run(str(BIN / "ruff"), "check", *PACKAGES, "tests")
    assert result.returncode == 0, result.stdout


def test_mypy_strict_is_clean() -> None:
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout[-5000:]
