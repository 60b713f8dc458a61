"""`audiolrp analyze directions` end to end on real (tiny, saved) models: the JSON numbers are
those of the library functions on the same scenes; the CLI's error policy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from audiolrp.cli.app import app
from cli_output import cli_output as _output

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    from audiolrp.models import build_model, save

    tmp = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    save(build_model("intensity", size="tiny"), tmp / "tiny_int", feature="intensity")
    save(build_model("hoa", 2, size="tiny"), tmp / "tiny_hoa2", feature="hoa", order=2)
    return {"int": str(tmp / "tiny_int.json"), "hoa2": str(tmp / "tiny_hoa2.json")}




def _reference(model_json: str, n: int, seed: int, method: str = "paper") -> list:
    """The same scenes explained and analysed with the library functions directly."""
    from audiolrp import lrp
    from audiolrp.analysis.directions import analyse_directions
    from audiolrp.data.datasets import scene_seed
    from audiolrp.evaluation import scene_config_from_recipe
    from audiolrp.models import clip_probabilities, load
    from audiolrp.signal.ambisonics import doa_grid
    from audiolrp.signal.features import compute_features
    from audiolrp.simulation.scenes import NoiseCorpus, simulate_scene

    lm = load(model_json)
    cfg = scene_config_from_recipe({}, lm.order, {"speech": "noise"})
    scenes = [simulate_scene(cfg, scene_seed(seed, "test", i), NoiseCorpus(), split="test")
              for i in range(n)]
    x = np.stack([compute_features(s.mixture, lm.feature, lm.order) for s in scenes])
    e = lrp.explain(lm.model, torch.from_numpy(x.astype(np.float32)), composite=method)
    pred = clip_probabilities(e.logits).argmax(-1).numpy()
    return [
        (s, int(pred[i]), analyse_directions(
            e.relevance[i].numpy(), s.mixture, source_rad=(s.azimuth_rad, s.elevation_rad),
            room_m=s.params["room_m"], source_m=s.params["source_m"],
            receiver_m=s.params["receiver_m"], predicted_rad=doa_grid()[pred[i]]))
        for i, s in enumerate(scenes)
    ]


@pytest.mark.parametrize(("key", "method"), [("int", "paper"), ("hoa2", "epsilon-plus")])
def test_json_numbers_are_the_library_functions(tiny_models, tmp_path, key, method) -> None:
    from audiolrp.analysis.directions import REGIONS

    n, seed = 3, 5
    out = tmp_path / "dirs"
    res = CliRunner().invoke(app, [
        "analyze", "directions", "-m", tiny_models[key], "--n-examples", str(n), "--seed",
        str(seed), "--corpus", "noise", "--method", method, "--n-maps", "1", "--n-boot", "50",
        "--threads", "1", "-o", str(out), "--json", "--no-progress"])
    assert res.exit_code == 0, _output(res)
    printed = json.loads(res.stdout)
    stored = json.loads((out / "directions.json").read_text())
    assert printed["summary"] == stored["summary"] and printed["examples"] == stored["examples"]
    for name in ("directions.json", "direction_map_000.png", "direction_map_mean.png",
                 "angle_profile.png"):
        assert (out / name).is_file() and str(out / name) in printed["files"]
    ref = _reference(tiny_models[key], n, seed, method.replace("-", "_"))
    assert len(stored["examples"]) == n
    for row, (scene, pred, a) in zip(stored["examples"], ref, strict=True):
        assert row["label"] == scene.label and row["predicted"] == pred
        assert row["snr_db"] == pytest.approx(scene.params["snr_db"], rel=1e-12)
        for w, shares in a.shares.items():
            got = [row["shares"][w][r] for r in REGIONS]
            np.testing.assert_allclose(got, shares, rtol=1e-6, atol=1e-9)
    mean_src = np.mean([a.shares["relevance_positive"][0] for _, _, a in ref])
    s = stored["summary"]["shares"]["relevance_positive"]["source"]
    assert s["mean"] == pytest.approx(mean_src, rel=1e-6)
    assert s["ci_low"] <= s["mean"] <= s["ci_high"]
    hist = np.mean([a.normalized_histogram("energy") for _, _, a in ref], axis=0)
    np.testing.assert_allclose(stored["summary"]["mean_histograms"]["energy"], hist,
                               rtol=1e-9, atol=1e-12)
    assert stored["test_data"]["overrides"] == {"speech": "noise"}
    assert stored["order"] == (1 if key == "int" else 2)


def test_dataset_folder(tiny_models, tmp_path) -> None:
    from audiolrp.analysis.directions import REGIONS
    from audiolrp.data.datasets import DatasetSpec, FeatureDataset, generate_dataset
    from audiolrp.simulation.scenes import SceneConfig

    root = tmp_path / "ds"
    generate_dataset(root, DatasetSpec(config=SceneConfig(order=1, speech="noise"), seed=1,
                                       counts={"train": 0, "val": 0, "test": 2}),
                     progress=False)
    res = CliRunner().invoke(app, [
        "analyze", "directions", "-m", tiny_models["int"], "--data", str(root),
        "--n-examples", "5", "--n-boot", "20", "-o", str(tmp_path / "o"), "--no-progress"])
    assert res.exit_code == 0, _output(res)
    rec = json.loads((tmp_path / "o" / "directions.json").read_text())
    ds = FeatureDataset(root, "test", feature="intensity")
    assert rec["test_data"]["source"] == "dataset" and len(rec["examples"]) == 2
    assert [r["label"] for r in rec["examples"]] == ds.labels.tolist()
    for r in rec["examples"]:
        assert sum(r["shares"]["energy"][k] for k in REGIONS) == pytest.approx(1.0)
    assert "relevance_positive" in res.stdout and "wrote" in res.stdout
    # the table shows percent, as the report pages do; directions.json keeps fractions
    from audiolrp.analysis.directions import percent_ci

    assert rec["share_unit"].startswith("fractions (0..1)")
    assert "mean share in % [95 % CI]" in res.stdout
    for w, regs in rec["summary"]["shares"].items():
        line = next(ln for ln in res.stdout.splitlines() if ln.split()[:1] == [w])
        for reg in REGIONS:
            assert 0.0 <= regs[reg]["mean"] <= 1.0
            assert percent_ci(regs[reg]) in line
            assert f"{100 * regs[reg]['mean']:.1f} %" in line


@pytest.mark.parametrize(("args", "message"), [
    (["--snr-db", "a,b"], "--snr-db"),
    (["--rt60-s", "0.5,0.2"], "LOW <= HIGH"),
    (["--method", "lrp-magic"], "unknown --method"),
    (["--target", "other"], "--target"),
    (["--n-examples", "0"], "--n-examples"),
    (["--grid-deg", "0"], "grid spacing"),
    (["--data", "no-such-folder"], "not found"),
    (["--data", ".", "--seed", "3"], "drop --data"),
    (["-m", "no-such-model.json"], "no-such-model"),
])
def test_errors_are_one_line_and_leave_no_folder(tmp_path, args, message) -> None:
    out = tmp_path / "new" / "out"
    res = CliRunner().invoke(app, ["analyze", "directions", *args, "-o", str(out)])
    text = _output(res)
    assert res.exit_code == 2, text
    assert message in text and "Traceback" not in text
    assert len([ln for ln in text.strip().splitlines() if ln.startswith("error:")]) == 1
    assert not (tmp_path / "new").exists()  # checked before anything is written or computed


def test_output_is_a_file(tmp_path) -> None:
    f = tmp_path / "taken"
    f.write_text("x")
    res = CliRunner().invoke(app, ["analyze", "directions", "-o", str(f)])
    assert res.exit_code == 2 and "existing file" in _output(res)
    assert f.read_text() == "x"


def test_help_lists_the_command() -> None:
    res = CliRunner().invoke(app, ["analyze", "--help"])
    assert res.exit_code == 0 and "directions" in res.output
