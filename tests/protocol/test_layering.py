"""protocol/ is sans-I/O: it imports no I/O library and never reads the clock."""

import ast
from pathlib import Path

import pytest

import protocol

PACKAGE = Path(protocol.__file__).resolve().parent
MODULES = sorted(PACKAGE.rglob("*.py"))
FORBIDDEN = {"aiohttp", "asyncio", "sqlite3", "sqlite_utils", "zeroconf", "socket", "requests",
             "storage", "kinode", "web_ui"}
CLOCK_CALLS = {("time", "time"), ("time", "time_ns")}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args:
            if isinstance(node.args[0], ast.Constant):
                names.add(str(node.args[0].value))
    return names


def clock_reads(tree: ast.Module) -> list[int]:
    """Lines that call time.time() / time.time_ns(), spelled as an attribute or imported by name."""
    direct = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              and node.module == "time" for alias in node.names if alias.name in ("time", "time_ns")}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and (func.value.id, func.attr) in CLOCK_CALLS:
            lines.append(node.lineno)
        elif isinstance(func, ast.Name) and func.id in direct:
            lines.append(node.lineno)
    return lines


def test_the_scan_sees_the_package():
    assert PACKAGE / "envelope.py" in MODULES and len(MODULES) >= 5


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_io_imports(path):
    bad = sorted(name for name in imported_modules(_tree(path)) if name.split(".")[0] in FORBIDDEN)
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_clock_reads(path):
    assert not clock_reads(_tree(path)), f"{path.name} reads the clock; take `now` as a parameter"


@pytest.mark.parametrize("source, imports, clock", [
    ("import asyncio", {"asyncio"}, False),
    ("from sqlite_utils import Database", {"sqlite_utils"}, False),
    ("import socket as s", {"socket"}, False),
    ("__import__('zeroconf')", {"zeroconf"}, False),
    ("import time\nt = time.time()", {"time"}, True),
    ("from time import time as now\nt = now()", {"time"}, True),
    ("from time import time_ns\nt = time_ns()", {"time"}, True),
    ("import time\nt = time.monotonic()", {"time"}, False),
])
def test_the_scanner_itself(source, imports, clock):
    tree = ast.parse(source)
    assert imported_modules(tree) == imports
    assert bool(clock_reads(tree)) is clock
