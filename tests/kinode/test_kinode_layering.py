"""kinode's sub-packages import only downwards: core <- work <- federation <- cli,
and web_ui only the service layer (never storage)."""

import ast
from pathlib import Path

import pytest

import kinode

ROOT = Path(kinode.__file__).resolve().parent.parent
RANK = {"core": 0, "work": 1, "hub": 1, "federation": 2, "cli": 3}


def _part(path: Path) -> str:
    rel = path.relative_to(ROOT / "kinode")
    return rel.parts[0] if len(rel.parts) > 1 and rel.parts[0] in RANK else "core"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _target_part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "kinode" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else "core"


MODULES = sorted(p for p in (ROOT / "kinode").rglob("*.py") if p.name != "__main__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path):
    mine = RANK[_part(path)]
    upward = sorted(m for m in _imports(path) if (t := _target_part(m)) is not None and RANK[t] > mine)
    assert not upward, f"{path.relative_to(ROOT)} ({_part(path)}) imports upward: {upward}"


@pytest.mark.parametrize("path", sorted((ROOT / "web_ui").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_web_ui_never_touches_storage(path):
    assert not [m for m in _imports(path) if m.split(".")[0] == "storage"]


def test_the_scan_sees_every_part():
    assert {_part(p) for p in MODULES} >= {"core", "federation", "cli"}
