"""`make install` puts a working `kinode` where it says, and the README says how to reach it."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None or not (ROOT / ".venv" / "bin" / "kinode").exists(),
                    reason="needs make and the project's .venv")
def test_make_install_links_a_kinode_that_runs(tmp_path):
    bindir = tmp_path / "bin"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    # STAMP= : the venv is already set up (the suite runs in it); do not reinstall it here.
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "install", f"BINDIR={bindir}", "STAMP="],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"{bindir}/kinode" in done.stdout and "not on your PATH" in done.stdout
    version = subprocess.run([str(bindir / "kinode"), "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("kinode ")
    on_path = subprocess.run(["make", "-s", "-C", str(ROOT), "install", f"BINDIR={bindir}", "STAMP="],
                             capture_output=True, text=True, env={**env, "PATH": f"{bindir}:/usr/bin:/bin"}, timeout=60)
    assert "run it as: kinode --help" in on_path.stdout
    subprocess.run(["make", "-s", "-C", str(ROOT), "uninstall", f"BINDIR={bindir}"], check=True, timeout=60)
    assert not (bindir / "kinode").exists()


def test_the_readme_says_where_kinode_is():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/kinode" in readme and "make install" in readme and "~/.local/bin/kinode" in readme


def test_hints_name_kinode_as_it_can_be_typed_here(tmp_path, monkeypatch):
    import sys
    from kinode.cli.output import runnable_kinode
    venv_script = Path(sys.executable).parent / "kinode"
    if not venv_script.exists():
        pytest.skip("needs the kinode script next to the interpreter (a venv)")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.chdir(ROOT)
    assert Path(runnable_kinode()).resolve() == venv_script.resolve()  # e.g. .venv/bin/kinode
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kinode").symlink_to(venv_script)  # what `make install` does
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    assert runnable_kinode() == "kinode"
