"""The demo walk of issue 22 (``benchmarks/demo_walk.py``): following the ``model`` argument
of ``audiolrp demo`` from the command to the report takes at most 25 stops and at most 10
returns to a module already left, and the counter itself counts what it says."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _demo_walk() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_walk", ROOT / "benchmarks" / "demo_walk.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_walk"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_returns_count_moves_back_to_a_module_already_left() -> None:
    walk = _demo_walk()
    stops = [walk.Stop(m, "f", "x") for m in
             ("audiolrp.cli.demo", "audiolrp.app.demo", "audiolrp.app.demo",
              "audiolrp.lrp.explain", "audiolrp.app.demo", "audiolrp.report.pages",
              "audiolrp.app.demo")]
    record = walk.summarise(stops)
    assert (record["stops"], record["modules"], record["returns"]) == (7, 4, 2)
    assert record["return_moves"] == ["audiolrp.lrp.explain -> audiolrp.app.demo",
                                      "audiolrp.report.pages -> audiolrp.app.demo"]
    assert record["climbs"] == 1  # lrp (5) back up to app (8); report (9) -> app is down


@pytest.mark.slow
def test_demo_walk_meets_the_goal(tmp_path: Path) -> None:
    walk = _demo_walk()
    record = walk.trace_demo(tmp_path / "demo")
    functions = [(s["module"], s["function"]) for s in record["walk"]]
    # the walk starts at the command, loads, analyses once, and ends in the report
    assert functions[0] == ("audiolrp.cli.demo", "demo")
    assert ("audiolrp.app.explainer", "Explainer.load") in functions
    assert ("audiolrp.app.demo", "analyse_demo") in functions
    assert functions[-2:] == [("audiolrp.report.pages", "write_demo_report"),
                              ("audiolrp.report.pages", "ModelFacts.of")]
    assert record["stops"] <= walk.MAX_STOPS and record["returns"] <= walk.MAX_RETURNS, record
    assert (tmp_path / "demo" / "report.html").is_file()
