"""Tests of audiolrp.evaluation: metrics against hand-computed values, geometry, end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audiolrp.evaluation import (
    axis_sign_folded_error_deg,
    breakdown,
    compute_metrics,
    evaluate,
    format_metrics,
    great_circle_deg,
    neighbour_spacing_deg,
    predict_examples,
    speaker_breakdown,
)
from audiolrp.models import build_model, save

pytestmark = pytest.mark.usefixtures("one_thread")


D = math.radians
# four directions: +x, +y, +z, -x
GRID = np.array([[0.0, 0.0], [D(90), 0.0], [0.0, D(90)], [D(180), 0.0]])


def test_metrics_match_hand_computed_values() -> None:
    pred = np.array([0, 1, 2, 0, 3])
    label = np.array([0, 0, 2, 3, 3])
    # exact true directions: 10 deg off class 0 in azimuth, others on their class direction
    az = np.array([D(10), 0.0, 0.0, D(180), D(180)])
    el = np.zeros(5)
    el[2] = D(90)
    m = compute_metrics(
        pred,
        label,
        az,
        el,
        grid_rad=GRID,
        snr_db=np.array([0, 0, 10, 10, 20]),
        rt60_s=None,
        n_bins=2,
    )
    assert m["n_examples"] == 5
    assert m["accuracy"] == pytest.approx(3 / 5)
    # class errors: 0, 90, 0, 180, 0 ; direction errors: 10, 90, 0, 180, 0
    assert m["error_vs_true_class_deg"]["mean"] == pytest.approx(270 / 5)
    assert m["error_vs_true_class_deg"]["median"] == pytest.approx(0.0)
    assert m["error_vs_true_direction_deg"]["mean"] == pytest.approx(280 / 5)
    assert m["error_vs_true_direction_deg"]["median"] == pytest.approx(10.0)
    # the grid's neighbour spacing is 90 deg -> only the 180-deg miss is outside
    assert m["neighbour_tolerance_deg"] == pytest.approx(90.0)
    assert m["accuracy_within_neighbour"] == pytest.approx(4 / 5)
    assert m["by_rt60_s"] == []
    # SNR quantile edges of [0,0,10,10,20] at 0, .5, 1: 0, 10, 20 -> bins [0,10) and [10,20]
    lo, hi = m["by_snr_db"]
    assert (lo["low"], lo["high"], lo["n"]) == (0.0, 10.0, 2)
    assert lo["accuracy"] == pytest.approx(0.5) and lo["mean_error_deg"] == pytest.approx(50.0)
    assert (hi["n"], hi["accuracy"]) == (3, pytest.approx(2 / 3))
    assert hi["median_error_deg"] == pytest.approx(0.0)


def test_metrics_default_to_class_directions_and_check_inputs() -> None:
    m = compute_metrics(np.array([1, 1]), np.array([1, 2]), grid_rad=GRID)
    assert m["error_vs_true_direction_deg"] == m["error_vs_true_class_deg"]
    assert m["error_vs_true_class_deg"]["mean"] == pytest.approx(45.0)
    with pytest.raises(ValueError, match="labels"):
        compute_metrics(np.array([1]), np.array([1, 2]), grid_rad=GRID)
    with pytest.raises(ValueError, match="0..3"):
        compute_metrics(np.array([4]), np.array([1]), grid_rad=GRID)


def test_breakdown_explicit_edges_and_nan() -> None:
    rows = breakdown(
        np.array([0.1, 0.5, np.nan, 0.9]),
        np.array([1.0, 0.0, 1.0, 1.0]),
        np.array([0.0, 30.0, 0.0, 5.0]),
        edges=np.array([0.0, 0.5, 1.0]),
    )
    assert [r["n"] for r in rows] == [1, 2]
    assert rows[1]["accuracy"] == pytest.approx(0.5) and rows[1]["mean_error_deg"] == 17.5


def _acos_deg(a1: float, e1: float, a2: float, e2: float) -> float:
    """Spherical law of cosines, explicit float64 (independent of the vector formulation)."""
    c = math.sin(e1) * math.sin(e2) + math.cos(e1) * math.cos(e2) * math.cos(a1 - a2)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


angle = st.floats(-math.pi, math.pi, allow_nan=False)
elev = st.floats(-math.pi / 2, math.pi / 2, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(a1=angle, e1=elev, a2=angle, e2=elev)
def test_great_circle_matches_law_of_cosines(a1: float, e1: float, a2: float, e2: float) -> None:
    got = float(great_circle_deg(a1, e1, a2, e2))
    assert got == pytest.approx(_acos_deg(a1, e1, a2, e2), abs=1e-5)
    assert 0.0 <= got <= 180.0
    assert got == pytest.approx(float(great_circle_deg(a2, e2, a1, e1)), abs=1e-12)


def test_neighbour_spacing_of_the_doa_grid() -> None:
    from audiolrp.signal.ambisonics import class_neighbour_spacing_deg, doa_grid

    spacing = neighbour_spacing_deg(doa_grid())
    assert spacing == pytest.approx(float(np.max(class_neighbour_spacing_deg())), abs=1e-9)
    assert 9.0 < spacing <= 10.0 + 1e-9


class _FixedPredictor:
    """A LoadedModel stand-in: class ``(sum of W) mod 4`` with probability 0.8, in batches."""

    n_audio_channels = 4

    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict(self, clips: np.ndarray, batch_size: int = 16):
        from audiolrp.models import DirectionRefinement, Prediction

        self.batches.append(len(clips))
        k = np.round(clips[:, 0].sum(axis=1)).astype(int) % 4
        p = np.full((len(clips), 425), 0.2 / 424)
        p[np.arange(len(clips)), k] = 0.8
        return Prediction.from_probabilities(p, DirectionRefinement(), np.zeros(len(clips)))


def test_predict_examples_batches_and_meta() -> None:
    examples = []
    for i in range(5):
        x = np.zeros((9, 16000))
        x[0, 0] = i
        meta = {"snr_db": float(i), "speaker": f"s{i % 2}"} if i else {}
        examples.append((x, i % 4, meta))
    model = _FixedPredictor()
    preds = predict_examples(model, examples, batch_size=2)  # type: ignore[arg-type]
    assert model.batches == [2, 2, 1]
    assert preds.speaker.tolist() == ["", "s1", "s0", "s1", "s0"]
    assert preds.pred.tolist() == [0, 1, 2, 3, 0]
    assert preds.label.tolist() == [0, 1, 2, 3, 0]
    assert np.isnan(preds.snr_db[0]) and preds.snr_db[4] == 4.0
    assert np.all(np.isnan(preds.azimuth_rad))
    assert preds.confidence[0] == pytest.approx(0.8)
    grid = np.asarray(__import__("audiolrp").signal.ambisonics.doa_grid())
    np.testing.assert_allclose(preds.refined_azimuth_rad, grid[preds.pred, 0], atol=1e-9)


def test_evaluate_on_a_fresh_seeded_simulated_test_set(tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = save(
        build_model("hoa", 1, size="tiny"),
        tmp_path / "m",
        feature="hoa",
        order=1,
        data_recipe={"config": {"order": 1, "snr_db": [5.0, 25.0]}},
    )
    first = evaluate(path, n_examples=4, seed=7, out_dir=tmp_path / "ev", batch_size=3)
    again = evaluate(path, n_examples=4, seed=7, plot=False)
    assert first.metrics == again.metrics
    assert first.predictions.label.tolist() == again.predictions.label.tolist()
    assert first.test_data["scene_config"]["snr_db"] == [5.0, 25.0]
    assert np.all((first.predictions.snr_db >= 5.0) & (first.predictions.snr_db <= 25.0))
    other = evaluate(path, n_examples=4, seed=8, plot=False)
    assert other.predictions.label.tolist() != first.predictions.label.tolist()
    ref = compute_metrics(
        first.predictions.pred,
        first.predictions.label,
        first.predictions.azimuth_rad,
        first.predictions.elevation_rad,
        snr_db=first.predictions.snr_db,
        rt60_s=first.predictions.rt60_s,
    )
    assert ref["accuracy"] == first.metrics["accuracy"]
    talkers = first.metrics["by_speaker"]
    assert sum(r["n"] for r in talkers) == 4 and all(r["speaker"] for r in talkers)
    assert {r["speaker"] for r in talkers} == set(first.predictions.speaker.tolist())
    assert all(np.isfinite(r["baseline_mean_error_deg"]) for r in talkers)
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert saved["metrics"]["n_examples"] == 4 and saved["test_data"]["seed"] == 7
    assert (tmp_path / "ev" / "errors.png").stat().st_size > 1000


def test_cli_evaluate_help_bad_arguments_and_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from audiolrp.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["evaluate", "--help"])
    assert res.exit_code == 0 and "--model" in res.output and "--data" in res.output
    assert runner.invoke(app, ["evaluate"]).exit_code == 2  # --model is required
    res = runner.invoke(app, ["evaluate", "--model", "no-such-model"])
    assert res.exit_code == 2 and "error:" in res.output
    torch.manual_seed(0)
    path = save(build_model("intensity", size="tiny"), tmp_path / "m", feature="intensity")
    res = runner.invoke(app, ["evaluate", "--model", str(path), "--batch-size", "0"])
    assert res.exit_code == 2 and "batch-size" in res.output
    res = runner.invoke(app, ["evaluate", "--model", str(path), "--data", str(tmp_path / "x")])
    assert res.exit_code == 2 and "not found" in res.output
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(path),
            "--n-examples",
            "2",
            "--seed",
            "1",
            "--no-progress",
            "--out",
            str(tmp_path / "ev"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "accuracy (exact class)" in res.output
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert saved["metrics"]["n_examples"] == 2 and saved["test_data"]["source"] == "simulated"


@settings(max_examples=40, deadline=None)
@given(
    az1=st.floats(-math.pi, math.pi),
    el1=st.floats(-math.pi / 2, math.pi / 2),
    az2=st.floats(-math.pi, math.pi),
    el2=st.floats(-math.pi / 2, math.pi / 2),
    flips=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)
def test_axis_sign_folded_error_matches_haversine_and_ignores_mirrors(
    az1: float, el1: float, az2: float, el2: float, flips: tuple[bool, bool, bool]
) -> None:
    def folded(az: float, el: float) -> tuple[float, float]:
        # independent form: fold the angles, not the vectors
        x, y = abs(math.cos(az)), abs(math.sin(az))
        return math.atan2(y, x), abs(el)

    fa, fe = folded(az1, el1)
    ga, ge = folded(az2, el2)
    h = math.sin((ge - fe) / 2) ** 2 + math.cos(fe) * math.cos(ge) * math.sin((ga - fa) / 2) ** 2
    expected = math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))
    got = float(
        axis_sign_folded_error_deg(np.array(az1), np.array(el1), np.array(az2), np.array(el2))
    )
    assert got == pytest.approx(expected, abs=1e-6)
    # any mirror image of direction 1 (sign flips of x, y, z) has zero folded error
    x = math.cos(el1) * math.cos(az1)
    y = math.cos(el1) * math.sin(az1)
    z = math.sin(el1)
    x, y, z = (-x if flips[0] else x), (-y if flips[1] else y), (-z if flips[2] else z)
    maz, mel = math.atan2(y, x), math.asin(max(-1.0, min(1.0, z)))
    mirror = float(
        axis_sign_folded_error_deg(np.array(az1), np.array(el1), np.array(maz), np.array(mel))
    )
    assert mirror == pytest.approx(0.0, abs=1e-5)


def test_metrics_report_the_sign_ignoring_error() -> None:
    # class 3 (azimuth 180) is the mirror image of class 0 (azimuth 0) in the y-z plane
    m = compute_metrics(np.array([3, 1]), np.array([0, 1]), grid_rad=GRID)
    assert m["error_vs_true_class_deg"]["mean"] == pytest.approx(90.0)
    assert m["error_ignoring_axis_signs_deg"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert "ignoring the signs" in format_metrics(m)


def test_cli_evaluate_test_set_overrides(tmp_path: Path) -> None:
    """--off-grid / --corpus / --snr-db / --point-noise / --speech-tilt change the simulated test
    set; bad values are errors."""
    from typer.testing import CliRunner

    from audiolrp.cli import app

    torch.manual_seed(0)
    path = save(build_model("intensity", size="tiny"), tmp_path / "m", feature="intensity",
                data_recipe={"config": {"order": 1, "speech": "noise"}})
    runner = CliRunner()

    def rejects(flag: str, bad_values: tuple[str, ...]) -> None:
        for bad in bad_values:
            res = runner.invoke(app, ["evaluate", "--model", str(path), flag, bad])
            assert res.exit_code == 2 and flag in res.output, bad

    def run(*args: str) -> dict:
        res = runner.invoke(
            app, ["evaluate", "--model", str(path), "--seed", "2", *args, "--json", "--no-progress"]
        )
        assert res.exit_code == 0, res.output
        return json.loads(res.output)

    rejects("--snr-db", ("10", "a,b", "20,10"))
    res = runner.invoke(
        app, ["evaluate", "--model", str(path), "--off-grid", "--data", str(tmp_path)]
    )
    assert res.exit_code == 2 and "drop --data" in res.output
    out = run("--n-examples", "3", "--off-grid", "--snr-db", "12,14")
    cfg = out["test_data"]["scene_config"]
    assert cfg["direction_sampling"] == "uniform" and cfg["snr_db"] == [12.0, 14.0]
    assert "baseline_intensity_vector" in out["metrics"]
    rejects("--point-noise", ("1", "0,2", "3,1", "a,b"))
    cfg = run("--n-examples", "2", "--point-noise", "1,2")["test_data"]["scene_config"]
    assert cfg["n_point_noise"] == [1, 2] and cfg["point_noise_kind"] == "pink"
    assert cfg["point_noise_share"] == [0.3, 1.0]
    rejects("--speech-tilt", ("-6", "-30,-30", "2,1", "a,b"))
    cfg = run("--n-examples", "2", "--speech-tilt=-6,-3")["test_data"]["scene_config"]
    assert cfg["speech_tilt_db_per_octave"] == [-6.0, -3.0]
    rejects("--speech-lowpass", ("4000", "100,4000", "5000,4000", "4000,9000", "a,b"))
    cfg = run("--n-examples", "2", "--speech-lowpass", "4000,4000")["test_data"]["scene_config"]
    assert cfg["speech_lowpass_hz"] == [4000.0, 4000.0]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40))
def test_speaker_breakdown_matches_a_loop(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    speaker = np.array(rng.choice(["", "ann", "bob", "cy"], size=n), dtype=object)
    correct = rng.integers(0, 2, size=n).astype(np.float64)
    err = rng.uniform(0, 180, size=n)
    base = np.where(rng.uniform(size=n) < 0.2, np.nan, rng.uniform(0, 180, size=n))
    rows = speaker_breakdown(speaker, correct, err, base)
    names = sorted({str(x) for x in speaker.tolist() if x})
    assert [r["speaker"] for r in rows] == names
    for r in rows:
        idx = [i for i in range(n) if speaker[i] == r["speaker"]]
        assert r["n"] == len(idx)
        assert r["accuracy"] == pytest.approx(sum(correct[i] for i in idx) / len(idx))
        assert r["mean_error_deg"] == pytest.approx(sum(err[i] for i in idx) / len(idx))
        assert r["median_error_deg"] == pytest.approx(float(np.median([err[i] for i in idx])))
        finite = [base[i] for i in idx if not math.isnan(base[i])]
        if finite:
            assert r["baseline_mean_error_deg"] == pytest.approx(sum(finite) / len(finite))
        else:
            assert math.isnan(r["baseline_mean_error_deg"])
    assert "baseline_mean_error_deg" not in (speaker_breakdown(speaker, correct, err) or [{}])[0]
    m = compute_metrics(np.zeros(n, np.int64), np.zeros(n, np.int64), speaker=speaker)
    assert sum(r["n"] for r in m["by_speaker"]) == sum(1 for x in speaker if x)


def test_card_extra_test_set_commands_reproduce_their_metrics(tmp_path: Path) -> None:
    """Each extra test set on a card lists an `audiolrp evaluate` command; run as printed (the
    model name swapped for the exported file), it reproduces that set's metrics."""
    import shlex

    from typer.testing import CliRunner

    from audiolrp.cli import app
    from audiolrp.evaluation import point_noise_overrides
    from audiolrp.training import export_model

    torch.manual_seed(0)
    path = save(build_model("intensity", size="tiny"), tmp_path / "m", feature="intensity",
                data_recipe={"config": {"order": 1, "speech": "noise"}})
    sets = {
        "off-grid, 12-14 dB": {"direction_sampling": "uniform", "snr_db": [12.0, 14.0]},
        "point noise": point_noise_overrides(1, 2),
        "duller talker": {"speech_tilt_db_per_octave": [-6.0, -6.0]},
        "band-limited talker": {"speech_lowpass_hz": [4000.0, 4000.0]},
    }
    files = export_model(path, "x1", tmp_path / "exp", eval_examples=2, eval_seed=5,
                         extra_test_sets=sets)
    card = json.loads(files["json"].read_text())
    extras = card["evaluation"]["extra_test_sets"]
    assert [e["name"] for e in extras] == list(sets)
    runner = CliRunner()
    for extra in extras:
        argv = shlex.split(extra["command"])
        assert argv[:4] == ["audiolrp", "evaluate", "--model", "x1"]
        argv[3] = str(files["json"])
        res = runner.invoke(app, [*argv[1:], "--json", "--no-progress"])
        assert res.exit_code == 0, res.output
        out = json.loads(res.output)
        config = out["test_data"]["scene_config"]
        for key, value in extra["overrides"].items():  # the command builds the same test set
            assert config[key] == value, key
        got = out["metrics"]
        assert got["accuracy"] == extra["metrics"]["accuracy"]
        assert got["error_vs_true_direction_deg"] == pytest.approx(
            extra["metrics"]["error_vs_true_direction_deg"]
        )


def test_evaluate_is_the_test_split_of_its_seed_clip_by_clip(tmp_path: Path) -> None:
    """``evaluate`` without a dataset re-simulates scene ``scene_seed(seed, "test", i)`` of the
    given recipe with the corpus' test talkers: checked clip by clip against an independent
    simulation (labels, directions, SNR, RT60, talker, classic estimate, prediction).

    Drawing the val (or train) split, another seed or the model's training recipe instead of
    the one passed changes the labels, SNRs or talkers (the eSpeak splits have disjoint
    talkers), so each of those mistakes fails here."""
    from audiolrp.data.spec import scene_seed
    from audiolrp.models import clip_probabilities, load
    from audiolrp.signal.features import compute_features, intensity_vector_direction
    from audiolrp.simulation.scenes import SceneConfig, simulate_scene

    torch.manual_seed(0)
    path = save(build_model("hoa", 1, size="tiny"), tmp_path / "m", feature="hoa", order=1,
                data_recipe={"config": {"order": 1, "snr_db": [5.0, 25.0]}})
    recipe = {"config": {"order": 1, "snr_db": [10.0, 20.0], "rt60_s": [0.3, 0.5]}}
    seed, n = 31, 3
    res = evaluate(path, n_examples=n, seed=seed, recipe=recipe, plot=False)
    p = res.predictions
    assert res.test_data["split"] == "test" and res.test_data["seed"] == seed
    model = load(path).model.eval()
    config = SceneConfig.from_dict(recipe["config"])
    for i in range(n):
        scene = simulate_scene(config, scene_seed(seed, "test", i), split="test")
        assert scene.params["split"] == "test"
        assert p.label[i] == scene.label
        assert (p.azimuth_rad[i], p.elevation_rad[i]) == (scene.azimuth_rad, scene.elevation_rad)
        assert p.snr_db[i] == scene.params["snr_db"] and p.rt60_s[i] == scene.params["rt60_s"]
        assert p.speaker[i] == scene.params["speaker"] != ""
        baz, bel = intensity_vector_direction(scene.mixture[:4])
        assert p.baseline_azimuth_rad[i] == pytest.approx(float(baz), abs=1e-9)
        assert p.baseline_elevation_rad[i] == pytest.approx(float(bel), abs=1e-9)
        x = torch.as_tensor(compute_features(scene.mixture, "hoa", 1))[None]
        with torch.no_grad():
            probs = clip_probabilities(model(x))[0]
        assert p.pred[i] == int(probs.argmax())
        assert p.confidence[i] == pytest.approx(float(probs.max()), rel=1e-5)
    # the test talkers are not the val talkers: a split mix-up could not pass the checks above
    from audiolrp.simulation.scenes import get_corpus

    corpus = get_corpus(config.speech, config.corpus_seed)
    assert set(p.speaker) <= set(corpus.speakers("test"))
    assert not set(corpus.speakers("test")) & set(corpus.speakers("val"))


def test_a_misspelt_override_is_an_error_not_the_unchanged_test_set() -> None:
    from audiolrp.errors import AudioLRPError
    from audiolrp.evaluation import scene_config_from_recipe

    cfg = scene_config_from_recipe({"config": {"order": 2, "legacy_field": 1}}, 1,
                                   {"direction_sampling": "uniform"})
    assert cfg.order == 2 and cfg.direction_sampling == "uniform"
    with pytest.raises(AudioLRPError, match="unknown scene settings.*direction_samplng"):
        scene_config_from_recipe(None, 1, {"direction_samplng": "uniform"})
