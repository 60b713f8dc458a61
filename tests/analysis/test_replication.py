"""Replication study (`audiolrp.app.replication`): verdict logic on synthetic numbers,
forced-class scene seeds, and the whole pipeline on tiny random CRNNs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from audiolrp.app import replication as rp
from audiolrp.errors import AudioLRPError
from audiolrp.models import build_model, save

RECIPE = {"config": {"order": 2, "speech": "noise", "direction_sampling": "grid"}}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: tiny models on a shared 2-core machine (avoids oversubscription)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------ statistics
def test_mean_ci_matches_explicit_formula() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(0.3, 2.0, 57)
    ci = rp.mean_ci(v)
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
    assert ci["mean"] == pytest.approx(m)
    assert ci["ci_low"] == pytest.approx(m - 1.959963984540054 * sd / math.sqrt(len(v)))
    assert ci["ci_high"] == pytest.approx(m + 1.959963984540054 * sd / math.sqrt(len(v)))
    assert ci["n"] == 57
    one = rp.mean_ci([2.0])
    assert one["ci_low"] == one["ci_high"] == 2.0
    assert math.isnan(rp.mean_ci([])["mean"])


# ------------------------------------------------------------------------------ verdicts 1
def _ideal_shares(groups: tuple[str, ...]) -> np.ndarray:
    """Mean shares where the matching axis wins in both families."""
    m = np.full((len(groups), 6), 0.1)
    for gi, g in enumerate(groups):
        c = rp.AXIS_CHANNEL[g]
        m[gi, c], m[gi, 3 + c] = 0.3, 0.2
    return m


GROUPS = ("+x", "-x", "+y", "-y")


def test_axis_checks_all_match_is_reproduced() -> None:
    checks = rp.axis_channel_checks(_ideal_shares(GROUPS), GROUPS)
    assert len(checks) == 8 and all(c["matches"] for c in checks)
    assert rp.verdict_axis_channels(checks) == rp.REPRODUCED


def test_axis_checks_swapped_axes_fail() -> None:
    m = _ideal_shares(GROUPS)[[2, 3, 0, 1]]  # x groups get y patterns and vice versa
    checks = rp.axis_channel_checks(m, GROUPS)
    assert not any(c["matches"] for c in checks)
    assert rp.verdict_axis_channels(checks) == rp.NOT_REPRODUCED
    assert {c["largest_channel"] for c in checks if c["group"] == "+x"} == {"I_a,y", "I_r,y"} or \
        all(c["largest_channel"] != c["expected_channel"] for c in checks)


def test_axis_checks_partial() -> None:
    m = _ideal_shares(GROUPS)
    m[:, 3:] = [0.1, 0.1, 0.3, 0.1, 0.1, 0.3][3:]  # reactive: z always largest
    checks = rp.axis_channel_checks(m, GROUPS)
    assert sum(c["matches"] for c in checks) == 4
    assert rp.verdict_axis_channels(checks) == rp.PARTIAL
    checks[0]["matches"] = False
    assert rp.verdict_axis_channels(checks) == rp.NOT_REPRODUCED
    with pytest.raises(AudioLRPError):
        rp.axis_channel_checks(m[:, :5], GROUPS)


@given(st.floats(-1, 1), st.floats(0.001, 1))
@settings(max_examples=50, deadline=None)
def test_verdict_positive_follows_ci(mean: float, half: float) -> None:
    ci = {"mean": mean, "ci_low": mean - half, "ci_high": mean + half}
    v = rp.verdict_positive(ci)
    if mean - half > 0:
        assert v == rp.REPRODUCED
    elif mean > 0:
        assert v == rp.PARTIAL
    else:
        assert v == rp.NOT_REPRODUCED


def test_combine_and_count() -> None:
    R, P, N = rp.REPRODUCED, rp.PARTIAL, rp.NOT_REPRODUCED
    assert rp.combine_two(R, R) == R
    assert rp.combine_two(N, N) == N
    assert rp.combine_two(R, N) == P and rp.combine_two(P, P) == P and rp.combine_two(N, P) == P
    assert rp.count_verdict([True, True, True]) == R
    assert rp.count_verdict([True, False, False]) == P
    assert rp.count_verdict([False, False]) == N
    assert rp.count_verdict([]) == N


# ------------------------------------------------------------------------------ verdicts 2
def _aopc(all_, act, rea, rnd, n=200, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    return {k: v + noise * rng.standard_normal(n) for k, v in
            (("all", all_), ("active", act), ("reactive", rea), ("all random", rnd))}


def test_pixel_flipping_paper_pattern_is_reproduced() -> None:
    res = rp.pixel_flipping_checks(_aopc(0.30, 0.28, 0.10, 0.05))
    assert all(res["checks"].values())
    assert res["verdict"] == rp.REPRODUCED
    assert res["ratio_active_to_all"] == pytest.approx(0.28 / 0.30, abs=0.01)


def test_pixel_flipping_each_criterion_can_fail() -> None:
    # random as good as relevance order -> 2a fails
    res = rp.pixel_flipping_checks(_aopc(0.30, 0.28, 0.10, 0.30))
    assert not res["checks"]["2a relevance order beats random"] and res["verdict"] == rp.PARTIAL
    # active much weaker than all -> 2b fails
    res = rp.pixel_flipping_checks(_aopc(0.30, 0.15, 0.10, 0.05))
    assert not res["checks"]["2b active ~ all"]
    # reactive as strong as all -> 2c fails
    res = rp.pixel_flipping_checks(_aopc(0.30, 0.28, 0.29, 0.05))
    assert not res["checks"]["2c reactive markedly less"]
    # model never loses score: nothing holds
    res = rp.pixel_flipping_checks(_aopc(-0.01, -0.01, -0.01, 0.0, noise=0.0))
    assert res["verdict"] == rp.NOT_REPRODUCED
    with pytest.raises(AudioLRPError):
        rp.pixel_flipping_checks({"all": np.zeros(3)})


# ------------------------------------------------------------------------------ verdicts 3
def test_auralization_checks() -> None:
    rng = np.random.default_rng(0)
    good = 0.1 + 0.01 * rng.standard_normal(50)
    bad = -0.1 + 0.01 * rng.standard_normal(50)
    assert rp.auralization_checks(good, good)["verdict"] == rp.REPRODUCED
    assert rp.auralization_checks(good, bad)["verdict"] == rp.PARTIAL
    assert rp.auralization_checks(bad, bad)["verdict"] == rp.NOT_REPRODUCED
    noisy = rng.standard_normal(5)  # CI straddles zero
    noisy = noisy - noisy.mean()
    assert rp.auralization_checks(noisy, noisy)["verdict"] == rp.NOT_REPRODUCED


def test_model_quality() -> None:
    q = rp.model_quality(np.array([1, 2, 3, 4]), np.array([1, 2, 3, 5]))
    assert q["accuracy"] == 0.75 and not q["weak"] and q["n"] == 4
    assert q["chance"] == pytest.approx(1 / 425)
    assert rp.model_quality(np.array([1]), np.array([2]))["weak"]


# ------------------------------------------------------------------------------ scenes
def test_forced_class_seeds_give_scenes_of_that_class() -> None:
    from audiolrp.simulation.scenes import simulate_scene

    cfg = rp.replication_scene_config(RECIPE, 1, None)
    seeds = rp.forced_class_seeds(cfg, [3, 200], 2, seed=5)
    assert sorted(c for _, c in seeds) == [3, 3, 200, 200]
    for ss, c in seeds[:2]:
        assert rp.first_label(cfg, ss) == c
    ss, c = seeds[0]
    assert simulate_scene(cfg, ss, split="test").label == c
    again = rp.forced_class_seeds(cfg, [3, 200], 2, seed=5)
    assert [s.entropy for s, _ in again] == [s.entropy for s, _ in seeds]
    uni = rp.replication_scene_config(
        {"config": {**RECIPE["config"], "direction_sampling": "uniform"}}, 1, None)
    (ss, c), = rp.forced_class_seeds(uni, [10], 1, seed=0)
    assert simulate_scene(uni, ss, split="test").label == c == 10


def test_scene_config_corpus_override() -> None:
    assert rp.replication_scene_config(RECIPE, 1, None).speech == "noise"
    assert rp.replication_scene_config(RECIPE, 1, "espeak").speech is None
    assert rp.replication_scene_config(RECIPE, 1, "debian").speech == "debian"
    assert rp.replication_scene_config(RECIPE, 3, None).order == 3


# ------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    mi = build_model("intensity", size="tiny").eval()
    n = 18
    mh = build_model("hoa", 2, size="tiny", norm_mean=torch.rand(n),
                     norm_std=torch.rand(n) + 0.5).eval()
    pi = save(mi, d / "intensity", feature="intensity", data_recipe=RECIPE)
    ph = save(mh, d / "hoa2", feature="hoa", order=2, data_recipe=RECIPE)
    return pi, ph


SMALL = dict(n_channel=8, n_general=6, n_flip=4, flip_steps=2, n_aural=3, batch_size=4,
             least_relevant=True)


def test_replicate_end_to_end(tiny_models, tmp_path) -> None:
    pi, ph = tiny_models
    cfg = rp.ReplicationConfig(**SMALL)
    res = rp.replicate(pi, ph, tmp_path / "out", cfg, progress=False)
    out = tmp_path / "out"
    for name in ("results.json", "replication.md", "fig3_channel_relevance.png",
                 "fig3_direction_correlation.png", "fig4_pixel_flipping.png", "fig2_panels.png",
                 "fig2_relevant_w.wav"):
        assert (out / name).is_file(), name
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["verdicts"] == res["verdicts"] and on_disk["complete"] is True
    # the files are named inside the output folder, never by this machine's paths
    assert all("/" not in v and (out / v).is_file() for v in on_disk["files"].values())
    assert set(on_disk["timing_s"]) >= {"pixel flipping", "auralization", "total"}
    allowed = {rp.REPRODUCED, rp.PARTIAL, rp.NOT_REPRODUCED}
    assert set(res["verdicts"]) == {"channel_relevance", "pixel_flipping", "auralization"}
    assert set(res["verdicts"].values()) <= allowed
    ch = res["findings"]["channel_relevance"]
    assert ch["n_examples"] == 8 and len(ch["axis_checks"]) == 8
    assert {r["group"] for r in ch["stats"]} == {"+x", "-x", "+y", "-y"}
    assert all(r["count"] == 2 for r in ch["stats"])
    assert all(c["margin"]["n"] == 2 for c in ch["axis_checks"])
    # verdict recomputed from the stored numbers follows the documented criteria
    assert ch["verdict_1a"] == rp.verdict_axis_channels(ch["axis_checks"])
    assert ch["verdict_1b"] == rp.verdict_positive(ch["active_minus_reactive"])
    assert ch["verdict"] == rp.combine_two(ch["verdict_1a"], ch["verdict_1b"])
    assert len(ch["generalisation"]["channels"]) == 6
    pf = res["findings"]["pixel_flipping"]
    assert set(pf["curves"]) == {"all", "active", "reactive", "all random",
                                 "all least relevant"}
    for c in pf["curves"].values():
        assert len(c["mean"]) == 3 and np.array(c["ci95"]).shape == (2, 3)
    assert pf["verdict"] == rp.count_verdict(list(pf["checks"].values()))
    au = res["findings"]["auralization"]
    assert au["n_examples"] == 3
    assert au["verdict"] == rp.count_verdict(list(au["checks"].values()))
    assert 0 <= au["model_quality"]["accuracy"] <= 1
    md = (out / "replication.md").read_text()
    for v in res["verdicts"].values():
        assert v in md
    assert "Weak model" in md  # random tiny models are weak and the report says so


def test_replicate_is_deterministic_and_stages(tiny_models, tmp_path) -> None:
    pi, ph = tiny_models
    cfg = rp.ReplicationConfig(**{**SMALL, "stages": ("flip",), "n_flip": 3})
    a = rp.replicate(pi, ph, tmp_path / "a", cfg, progress=False)
    b = rp.replicate(pi, ph, tmp_path / "b", cfg, progress=False)
    assert set(a["findings"]) == {"pixel_flipping"}
    assert a["findings"]["pixel_flipping"]["curves"] == b["findings"]["pixel_flipping"]["curves"]


def test_config_validation(tiny_models, tmp_path) -> None:
    pi, ph = tiny_models
    with pytest.raises(AudioLRPError):
        rp.ReplicationConfig(n_channel=2).validate()
    with pytest.raises(AudioLRPError):
        rp.ReplicationConfig(stages=("bogus",)).validate()
    with pytest.raises(AudioLRPError, match="intensity"):
        rp.replicate(ph, ph, tmp_path, rp.ReplicationConfig(**SMALL), progress=False)
    # the auralization stage takes HOA or intensity models (see the test below); nothing else


def test_cli_help_and_run(tiny_models, tmp_path) -> None:
    from audiolrp.cli.app import app

    runner = CliRunner()
    res = runner.invoke(app, ["analyze", "replicate", "--help"])
    assert res.exit_code == 0
    assert "--intensity-model" in res.output and "--n-flip" in res.output
    pi, ph = tiny_models
    res = runner.invoke(app, ["analyze", "replicate", "--intensity-model", str(pi),
                              "--hoa-model", str(ph), "--out", str(tmp_path / "o"),
                              "--stages", "aural", "--n-aural", "2", "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert set(payload["verdicts"]) == {"auralization"}
    assert (tmp_path / "o" / "replication.md").is_file()


def test_auralization_stage_accepts_the_intensity_model(tiny_models, tmp_path) -> None:
    pi, _ = tiny_models
    cfg = rp.ReplicationConfig(**{**SMALL, "stages": ("aural",)})
    res = rp.replicate(pi, pi, tmp_path / "out", cfg, progress=False)
    au = res["findings"]["auralization"]
    assert au["filter"]["model_feature"] == "intensity"
    assert au["n_examples"] == cfg.n_aural
    assert (tmp_path / "out" / "fig2_panels.png").is_file()
