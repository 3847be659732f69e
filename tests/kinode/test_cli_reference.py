"""docs/cli.md is generated from the parser and stays true (as sqlite-utils checks its CLI reference)."""

import re
import subprocess
import sys
from pathlib import Path

from cli_support import ok, run
from kinode.cli.output import CLI_CODES
from kinode.errors import KeystoreError
from protocol.errors import ALL_CODES

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "cli.md"


def test_the_cli_reference_is_up_to_date():
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "generate_cli.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + "\n(regenerate it with: .venv/bin/python docs/generate_cli.py)"


def test_every_subcommand_in_kinode_help_has_a_section():
    listed = re.findall(r"^    (\w[\w-]*)\s", ok(run("--help")), re.MULTILINE)
    assert len(listed) >= 14
    text = REFERENCE.read_text(encoding="utf-8")
    missing = [name for name in listed if f"### `kinode {name}`" not in text]
    assert not missing, f"docs/cli.md lacks {missing}"


def test_every_code_the_cli_gives_is_documented():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "kinode" / "cli").glob("*.py"))
    given = set(re.findall(r"""code=["']([a-z_]+)["']""", source)) | set(re.findall(r"""report_error\(args, ["']([a-z_]+)""", source))
    keystore = {cls.code for cls in KeystoreError.__subclasses__()}
    undocumented = sorted((given | keystore) - set(CLI_CODES) - set(ALL_CODES))
    assert not undocumented, f"codes missing from kinode/cli/output.py CLI_CODES: {undocumented}"
    text = REFERENCE.read_text(encoding="utf-8")
    assert all(f"| `{code}` |" in text for code in CLI_CODES)
