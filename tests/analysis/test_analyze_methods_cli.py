"""`audiolrp analyze methods` end to end on a real (tiny, saved) model: the JSON's numbers are
the library's, the files are written, and user errors are one line before any work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from audiolrp.cli.app import app

pytestmark = pytest.mark.usefixtures("one_thread")

ARGS = ["--n-examples", "3", "--methods", "paper,epsilon-plus,gradient,random", "--steps", "3",
        "--sanity-examples", "2", "--n-boot", "200", "--seed", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from audiolrp.models import files

    torch.manual_seed(0)
    model = files.build_model("intensity", size="tiny", norm_mean=[0.1] * 6,
                              norm_std=[2.0] * 6).eval()
    path = tmp_path_factory.mktemp("model") / "tiny.json"
    files.save(model, path, feature="intensity")
    return path


@pytest.mark.slow
def test_json_matches_library(tiny_model, tmp_path) -> None:
    out = tmp_path / "methods"
    res = CliRunner().invoke(app, ["analyze", "methods", "-m", str(tiny_model), "-o", str(out),
                                   *ARGS, "--json"])
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout)
    saved = json.loads((out / "methods.json").read_text())
    assert printed == saved
    for name in ("methods.json", "methods.md", "methods.html", "flipping_curves.png",
                 "aopc_bars.png", "randomisation.png"):
        assert (out / name).stat().st_size > 0
        assert str(out / name) in saved["files"]

    # the same examples and settings through the library
    from audiolrp.analysis import method_comparison as mc
    from audiolrp.app.methods import simulated_examples
    from audiolrp.models import load as load_model

    loaded = load_model(str(tiny_model))
    x, y, _ = simulated_examples(loaded, 3, 1)
    comp = mc.compare_methods(loaded.model, x, y, "paper,epsilon_plus,gradient,random",
                              steps=3, n_sanity=2, seed=1, n_boot=200)
    lib = comp.summary()
    assert saved["n_examples"] == 3 and saved["data"]["n_examples"] == 3
    assert list(saved["methods"]) == ["paper", "epsilon_plus", "gradient", "random"]
    assert saved["cascade"] == lib["cascade"]
    for name, m in saved["methods"].items():
        want = lib["methods"][name]
        for key in ("mrf", "lrf", "gap"):
            for field in ("mean", "ci_low", "ci_high"):
                assert m["aopc"][key][field] == pytest.approx(want["aopc"][key][field],
                                                              rel=1e-9, abs=1e-15)
        np.testing.assert_allclose(m["curves"]["mrf"]["mean"], want["curves"]["mrf"]["mean"],
                                   rtol=1e-9)
        got = [r["mean"] for r in m["randomisation"]["spearman_abs"]]
        exp = [r.estimate for r in map(comp.interval, comp.methods[name].spearman_abs)]
        np.testing.assert_allclose(got, exp, rtol=1e-9)
        assert m["explain_s_per_example"] >= 0
    # the same rules give the same relevance: paired difference exactly 0
    assert saved["methods"]["epsilon_plus"]["vs_paper"]["gap"] == {
        "mean": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    assert "vs_random" in saved["methods"]["paper"] and "vs_paper" not in saved["methods"]["paper"]
    assert "# Attribution methods" in (out / "methods.md").read_text()


def test_table_output(tiny_model, tmp_path) -> None:
    res = CliRunner().invoke(app, ["analyze", "methods", "-m", str(tiny_model), "-o",
                                   str(tmp_path / "t"), *ARGS, "--sanity-examples", "0",
                                   "--no-progress"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("method") and "AOPC MRF" in lines[0]
    assert [ln.split()[0] for ln in lines[1:5]] == ["paper", "epsilon_plus", "gradient",
                                                    "random"]
    assert "wrote" in lines[-1]
    saved = json.loads((tmp_path / "t" / "methods.json").read_text())
    assert saved["cascade"] == ["trained"] and not (tmp_path / "t" / "randomisation.png").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--methods", "paper,lime"], "unknown method"),
        (["--steps", "0"], "--steps must be >= 1"),
        (["--n-examples", "0"], "--n-examples must be >= 1"),
        (["--threads", "0"], "--threads must be >= 1"),
        (["--data", "no-such-folder"], "dataset folder"),
    ],
)
def test_errors_are_one_line_before_any_work(tiny_model, tmp_path, extra, message) -> None:
    out = tmp_path / "never"
    res = CliRunner().invoke(app, ["analyze", "methods", "-m", str(tiny_model), "-o", str(out),
                                   *extra])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not out.exists()


def test_output_is_a_file(tiny_model, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = CliRunner().invoke(app, ["analyze", "methods", "-m", str(tiny_model), "-o",
                                   str(blocker)])
    assert res.exit_code == 2 and "existing file" in res.output


def test_unknown_model(tmp_path) -> None:
    res = CliRunner().invoke(app, ["analyze", "methods", "-m", str(tmp_path / "none.json"),
                                   "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "Traceback" not in res.output
