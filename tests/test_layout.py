"""The package layout follows the data path, and nothing imports upward along it.

Layers, lowest first (``docs/conventions.md``): the shared base (``audiolrp``, ``constants``,
``errors``, ``io``, ``audio_io``, ``progress``) -> ``signal`` -> ``simulation`` -> ``data`` ->
``models`` (with ``training`` and ``evaluation`` beside it) -> ``lrp`` -> ``analysis`` ->
``plots`` -> ``app`` -> ``report`` -> ``cli``. A module may import its own layer and the layers
below it. Every import counts, including those inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "audiolrp"

#: Rank of each top-level part of the package; a module may import ranks <= its own.
LAYERS: dict[str, float] = {
    "": 0,  # audiolrp/__init__.py
    "constants": 0,
    "errors": 0,
    "io": 0,
    "audio_io": 0,
    "progress": 0,
    "signal": 1,
    "simulation": 2,
    "data": 3,
    "models": 4,
    "training": 4.5,
    "evaluation": 4.5,
    "yardstick": 4.5,
    "lrp": 5,
    "analysis": 6,
    "plots": 7,
    "app": 8,
    "report": 9,
    "cli": 10,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def _imports(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported audiolrp module) for every import statement of ``module``'s source."""
    package = module if is_package else module.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("audiolrp")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("audiolrp"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append((node.lineno, sub if _is_module(sub) else target))
    return out


def _upward(source: str, module: str, is_package: bool = False) -> list[str]:
    rank = LAYERS[_layer(module)]
    return [
        f"line {line}: {target}"
        for line, target in _imports(source, module, is_package)
        if LAYERS.get(_layer(target), 0) > rank
    ]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_layer() -> None:
    unknown = {_layer(_module_name(p)) for p in _modules()} - LAYERS.keys()
    assert not unknown, f"add these parts of the package to LAYERS and the docs: {unknown}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _module_name(p))
def test_no_upward_import(path: Path) -> None:
    module = _module_name(path)
    upward = _upward(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
    assert not upward, f"{module} imports upward: {upward}"


def test_detector_sees_upward_imports() -> None:
    """The check itself: lazy, relative and ``from audiolrp import x`` imports all count."""
    source = (
        "from audiolrp.constants import FS_HZ\n"
        "from audiolrp import lrp\n"
        "def f():\n"
        "    from audiolrp.cli import main\n"
        "    from ..report import html\n"
        "    from . import ambisonics\n"
    )
    assert _upward(source, "audiolrp.signal.probe") == [
        "line 2: audiolrp.lrp",
        "line 4: audiolrp.cli",
        "line 5: audiolrp.report.html",
    ]
    assert _upward(source, "audiolrp.cli.probe") == []
