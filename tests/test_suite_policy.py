"""The test suite's own rules: a global timeout, `make test` runs everything, `make test-fast`
deselects the tests marked slow, and the tests measured over 10 s on the 2-core machine carry
the mark (read from the source, nothing imported or run)."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Tests measured at or over about 10 s on the loaded 2-core machine (``pytest --durations``),
#: as ``file::function``. Parametrised tests are marked as a whole.
MEASURED_SLOW = (
    "tests/test_browser.py::test_report_renders_in_chromium",
    "tests/test_training.py::test_ddp_gloo_two_processes_sync_weights",
    "tests/test_training.py::test_ddp_step_equals_the_single_process_step_on_the_whole_batch",
    "tests/test_cli_demo.py::test_demo_json_outputs_and_prediction",
    "tests/test_cli_demo.py::test_real_subprocess_explain",
    "tests/analysis/test_analyze_methods_cli.py::test_json_matches_library",
    "tests/analysis/test_analysis_pixel_flipping.py::"
    "test_crnn_step_zero_is_the_unperturbed_clip_probability",
    "tests/analysis/test_analysis_pixel_flipping.py::test_fast_inference_model_is_equivalent",
    "tests/test_cli_every_command.py::test_every_command_bad_input_is_one_error_line",
    "tests/test_cli_errors.py::"
    "test_simulate_ctrl_c_with_workers_stops_at_once_silently_and_resumes",
    "tests/test_demo_walk.py::test_demo_walk_meets_the_goal",
    "tests/test_cli_policy.py::test_train_reports_its_first_epoch_when_stderr_is_no_terminal",
    "tests/test_shipped_models.py::test_card_talkers_and_baseline_reproduce_exactly",
    "tests/test_shipped_models.py::test_full_test_set_reproduces_the_card",
)


def _is_slow_mark(node: ast.expr) -> bool:
    """``pytest.mark.slow`` (or a list holding it)."""
    if isinstance(node, ast.List | ast.Tuple):
        return any(_is_slow_mark(e) for e in node.elts)
    return ast.unparse(node).replace(" ", "") == "pytest.mark.slow"


def slow_tests(path: Path) -> tuple[bool, dict[str, bool]]:
    """(whether the module is marked slow, test function -> marked slow)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_slow = any(
        isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)
        and _is_slow_mark(n.value)
        for n in tree.body
    )
    funcs = {
        n.name: any(_is_slow_mark(d) for d in n.decorator_list)
        for n in tree.body
        if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    }
    return module_slow, funcs


def test_measured_slow_tests_are_marked_slow() -> None:
    missing = []
    for entry in MEASURED_SLOW:
        file, name = entry.split("::")
        module_slow, funcs = slow_tests(ROOT / file)
        assert name in funcs, f"{entry} no longer exists: update MEASURED_SLOW"
        if not (module_slow or funcs[name]):
            missing.append(entry)
    assert missing == [], f"tests over 10 s without @pytest.mark.slow: {missing}"


def test_mark_reader_sees_marks() -> None:
    """The reader above finds a decorator mark and a module mark (it is not vacuous)."""
    src = (
        "import pytest\npytestmark = [pytest.mark.slow]\n"
        "@pytest.mark.slow\ndef test_a(): pass\n"
        "@pytest.mark.parametrize('x', [1])\ndef test_b(x): pass\n"
    )
    tree = ast.parse(src)
    assert _is_slow_mark(tree.body[1].value)
    decorated = [_is_slow_mark(d) for f in tree.body[2:] for d in f.decorator_list]
    assert decorated == [True, False]


def test_timeout_and_markers_are_configured() -> None:
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    opts = ini["tool"]["pytest"]["ini_options"]
    assert 0 < int(opts["timeout"]) <= 600
    assert opts["timeout_method"] in ("thread", "signal")
    assert "--strict-markers" in opts["addopts"]
    assert {m.split(":")[0] for m in opts["markers"]} >= {"slow", "browser"}
    dev = ini["project"]["optional-dependencies"]["dev"]
    assert any(d.startswith("pytest-timeout") for d in dev)


def _recipe(makefile: str, target: str) -> str:
    m = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M)
    assert m, f"no make target {target}"
    return m.group(1)


def test_make_test_runs_everything_and_test_fast_deselects_slow() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    def pytest_args(target: str) -> list[str]:
        lines = _recipe(makefile, target).splitlines()
        return [line.split("pytest", 1)[1] for line in lines if "pytest" in line]

    full = pytest_args("test")
    assert full and all(" -m " not in args and " -k " not in args for args in full)
    fast = pytest_args("test-fast")
    assert len(fast) == 1 and re.search(r"-m ['\"]not slow['\"]", fast[0])
