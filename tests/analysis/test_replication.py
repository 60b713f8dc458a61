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


def test_bootstrap_mean_ci_matches_explicit_resampling() -> None:
    from audiolrp.analysis.statistics import bootstrap_indices

    rng = np.random.default_rng(3)
    v = rng.normal(1.0, 3.0, 40)
    ci = rp.bootstrap_mean_ci(v, n_boot=500, seed=7)
    idx = bootstrap_indices(40, 500, 7)
    means = sorted(sum(v[j] for j in row) / 40 for row in idx)
    # numpy's default percentile: linear interpolation between order statistics
    def pct(q: float) -> float:
        h = (len(means) - 1) * q
        lo = math.floor(h)
        return means[lo] + (h - lo) * (means[min(lo + 1, len(means) - 1)] - means[lo])
    assert ci["mean"] == pytest.approx(sum(v) / 40)
    assert ci["ci_low"] == pytest.approx(pct(0.025))
    assert ci["ci_high"] == pytest.approx(pct(0.975))
    assert ci["n"] == 40
    with_nan = rp.bootstrap_mean_ci(np.r_[v, np.nan], n_boot=500, seed=7)
    assert with_nan["n"] == 40 and with_nan["ci_low"] == pytest.approx(ci["ci_low"])
    assert math.isnan(rp.bootstrap_mean_ci([])["mean"])
    assert rp.bootstrap_mean_ci([2.0])["ci_low"] == 2.0


def _quality(model_err, classic_err, exact=None, **kw):
    model_err = np.asarray(model_err, dtype=float)
    exact = model_err < 5 if exact is None else exact
    return rp.model_quality(model_err, model_err + 1.0, classic_err, exact, **kw)


def test_quality_flag_fit_when_clearly_better_than_classic_and_within_grid() -> None:
    rng = np.random.default_rng(0)
    model = rng.uniform(0, 12, 200)
    classic = model + rng.uniform(5, 15, 200)
    q = _quality(model, classic)
    assert q["fit"] and q["beats_classic"] and q["median_ok"]
    assert q["n"] == 200
    assert q["refined"]["median_deg"] == pytest.approx(float(np.median(model)))
    assert q["refined"]["mean_deg"] == pytest.approx(float(np.mean(model)))
    assert q["refined"]["within_10_deg"] == pytest.approx(float(np.mean(model <= 10)))
    assert q["class"]["mean_deg"] == pytest.approx(float(np.mean(model + 1)))
    assert q["classic"]["median_deg"] == pytest.approx(float(np.median(classic)))
    assert q["exact_class"] == pytest.approx(float(np.mean(model < 5)))
    assert q["classic_minus_refined_deg"]["mean"] == pytest.approx(float(np.mean(classic - model)))
    assert q["classic_minus_refined_deg"]["ci_low"] > 0


def test_quality_flag_fails_each_way() -> None:
    rng = np.random.default_rng(1)
    model = rng.uniform(0, 12, 200)
    # as good as the classic estimator on average: the CI contains 0 -> not fit
    q = _quality(model, model + rng.normal(0, 5, 200) - 0.0)
    assert not q["beats_classic"] and not q["fit"] and q["median_ok"]
    # better than a bad classic estimator but median beyond 1.5 grid steps -> not fit
    q = _quality(model + 20, model + 80)
    assert q["beats_classic"] and not q["median_ok"] and not q["fit"]
    assert rp.FIT_MAX_MEDIAN_DEG == 15.0
    # the bound is inclusive
    assert _quality(np.full(9, 15.0), np.full(9, 30.0) + np.arange(9))["median_ok"]
    with pytest.raises(AudioLRPError):
        rp.model_quality([1.0, 2.0], [1.0], [1.0, 2.0], [True, True])
    assert rp.model_quality([], [], [], [])["n"] == 0


def test_relevance_order_checks() -> None:
    rng = np.random.default_rng(2)
    good = {"all": 0.3 + 0.01 * rng.standard_normal(50), "all random": np.full(50, 0.1)}
    assert rp.relevance_order_checks(good)["verdict"] == rp.REPRODUCED
    bad = {"all": np.full(50, 0.1), "all random": 0.1 + 0.01 * rng.standard_normal(50)}
    assert rp.relevance_order_checks(bad)["verdict"] == rp.NOT_REPRODUCED
    with pytest.raises(AudioLRPError):
        rp.relevance_order_checks({"all": np.zeros(3)})


def _direct_measures(n: int, rel_shift: float, auc_shift: float, ctrl_shift: float,
                     seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    noise = 0.05 * rng.standard_normal((7, n))
    uni, en = -8.0 + noise[0], -2.0 + noise[1]
    rel = en + rel_shift + noise[2]
    return {"uniform": uni, "energy_weighted": en, "relevance_weighted": rel,
            "control_weighted": rel - ctrl_shift + noise[3],
            "auc_energy": 0.7 + noise[4] / 10, "auc_relevance": 0.7 + auc_shift + noise[5] / 10,
            "auc_control": 0.6 + noise[6] / 10}


def test_direct_sound_checks() -> None:
    res = rp.direct_sound_checks(_direct_measures(80, 2.0, 0.05, 1.0))
    assert list(res["checks"]) == list(rp.DIRECT_CHECKS)
    assert all(res["checks"].values()) and res["verdict"] == rp.REPRODUCED
    assert res["differences"]["relevance_minus_energy_db"]["mean"] == pytest.approx(2.0, abs=0.05)
    # relevance as direct-leaning as the energy, not beyond it; AUC lower; still above uniform
    # and clip-specific -> PARTIAL
    res = rp.direct_sound_checks(_direct_measures(80, -1.0, -0.1, 1.0))
    assert res["checks"] == {"3a relevance-weighted > uniform": True,
                             "3a relevance-weighted > energy-weighted": False,
                             "3b AUC relevance > AUC energy": False,
                             "3c own heatmap > another clip's": True}
    assert res["verdict"] == rp.PARTIAL
    # relevance on residual bins and no clip specificity -> NOT REPRODUCED
    res = rp.direct_sound_checks(_direct_measures(80, -10.0, -0.2, -0.5))
    assert not any(res["checks"].values()) and res["verdict"] == rp.NOT_REPRODUCED
    with pytest.raises(AudioLRPError):
        rp.direct_sound_checks({"uniform": np.zeros(3)})


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


def test_replication_scenes_are_the_card_recipe_off_grid(tiny_models) -> None:
    from audiolrp.app.speech_choice import SpeechChoice
    from audiolrp.models import load
    from audiolrp.training.export import card_test_recipe

    pi, ph = tiny_models
    speech = SpeechChoice(None, "espeak", "test")
    card = card_test_recipe()["config"]
    for path, order in ((pi, 2), (ph, 2)):
        scfg = rp.scenes_for(load(path), rp.ReplicationConfig(), speech)
        assert scfg.direction_sampling == "uniform" and scfg.speech is None
        assert scfg.order == order
        assert list(scfg.snr_db) == card["snr_db"] and list(scfg.rt60_s) == card["rt60_s"]


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
             least_relevant=True, corpus="noise")


def test_replicate_end_to_end(tiny_models, tmp_path) -> None:
    pi, ph = tiny_models
    cfg = rp.ReplicationConfig(**SMALL)
    res = rp.replicate(pi, [ph], tmp_path / "out", cfg, progress=False)
    out = tmp_path / "out"
    for name in ("results.json", "replication.md", "fig3_channel_relevance.png",
                 "fig3_direction_correlation.png", "fig4_pixel_flipping_intensity.png",
                 "fig4_pixel_flipping_hoa2.png", "fig2_panels_hoa2.png",
                 "fig2_panels_intensity.png", "direct_ratio_hoa2.png",
                 "direct_ratio_intensity.png", "fig2_hoa2_relevant_w.wav"):
        assert (out / name).is_file(), name
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["verdicts"] == res["verdicts"] and on_disk["complete"] is True
    # which weights were explained: each model file's hash
    for label, path in (("intensity.json", pi), ("hoa2.json", ph)):
        want = json.loads(path.read_text())["weights_sha256"]
        assert on_disk["models"][label]["weights_sha256"] == want
    assert on_disk["speech"] == {"spec": "noise", "name": "noise",
                                 "reason": "asked for (not speech: a test stand-in)"}
    # the files are named inside the output folder, never by this machine's paths
    assert all("/" not in v and (out / v).is_file() for v in on_disk["files"].values())
    assert set(on_disk["timing_s"]) >= {"intensity.json: pixel flipping",
                                        "hoa2.json: finding 3 (simulate + LRP + measures)",
                                        "total"}
    allowed = {rp.REPRODUCED, rp.PARTIAL, rp.NOT_REPRODUCED}
    assert list(res["verdicts"]) == [
        "intensity.json channel_relevance", "intensity.json pixel_flipping",
        "intensity.json direct_sound", "intensity.json auralization",
        "hoa2.json pixel_flipping", "hoa2.json direct_sound", "hoa2.json auralization"]
    assert set(res["verdicts"].values()) <= allowed
    f = res["findings"]
    ch = f["channel_relevance"]
    assert ch["model"] == "intensity.json"
    assert ch["n_examples"] == 8 and len(ch["axis_checks"]) == 8
    assert {r["group"] for r in ch["stats"]} == {"+x", "-x", "+y", "-y"}
    assert all(r["count"] == 2 for r in ch["stats"])
    assert all(c["margin"]["n"] == 2 for c in ch["axis_checks"])
    # verdict recomputed from the stored numbers follows the documented criteria
    assert ch["verdict_1a"] == rp.verdict_axis_channels(ch["axis_checks"])
    assert ch["verdict_1b"] == rp.verdict_positive(ch["active_minus_reactive"])
    assert ch["verdict"] == rp.combine_two(ch["verdict_1a"], ch["verdict_1b"])
    assert len(ch["generalisation"]["channels"]) == 6
    assert ch["model_quality"]["n"] == 8 and ch["generalisation"]["model_quality"]["n"] == 6
    pf = f["pixel_flipping"]["intensity.json"]
    assert set(pf["curves"]) == {"all", "active", "reactive", "all random",
                                 "all least relevant"}
    for c in pf["curves"].values():
        assert len(c["mean"]) == 3 and np.array(c["ci95"]).shape == (2, 3)
    assert pf["verdict"] == rp.count_verdict(list(pf["checks"].values()))
    assert pf["model_quality"]["n"] == 4  # exactly the flipped examples
    ph_flip = f["pixel_flipping"]["hoa2.json"]
    assert set(ph_flip["curves"]) == {"all", "all random", "all least relevant"}
    assert list(ph_flip["checks"]) == ["2a relevance order beats random"]
    orders = f["channel_orders"]["hoa2.json"]
    assert [o["order"] for o in orders["per_order"]] == [0, 1, 2]
    total = sum(o["share"]["mean"] for o in orders["per_order"])
    assert total == pytest.approx(1.0)
    assert orders["magnitude_share"]["mean"] + orders["phase_share"]["mean"] == \
        pytest.approx(1.0)
    for label in ("intensity.json", "hoa2.json"):
        d, a = f["direct_sound"][label], f["auralization"][label]
        assert d["n_examples"] == a["n_examples"] == 3
        assert d["verdict"] == rp.count_verdict(list(d["checks"].values()))
        assert a["verdict"] == rp.count_verdict(list(a["checks"].values()))
        assert d["model_quality"] == a["model_quality"]  # the same scenes
        assert len(d["profile"]["positive relevance"]) == len(d["profile"]["edges_db"]) - 1
    md = (out / "replication.md").read_text()
    for v in res["verdicts"].values():
        assert v in md
    # random tiny models are not fit to explain, and every cell of the table says so
    assert "NOT FIT" in md
    table = [r for r in md.splitlines() if r.startswith("| intensity.json |")][0]
    assert table.count("**NOT FIT**") == 4


def test_tables_render_from_the_json_alone(tiny_models, tmp_path) -> None:
    from audiolrp.app.replication import report

    pi, ph = tiny_models
    cfg = rp.ReplicationConfig(**{**SMALL, "stages": ("flip", "aural"), "n_general": 0})
    rp.replicate(pi, ph, tmp_path, cfg, progress=False)
    results = json.loads((tmp_path / "results.json").read_text())
    tables = report.tables_markdown(results)
    assert tables in (tmp_path / "replication.md").read_text()
    assert report.tables_markdown(json.loads(json.dumps(results))) == tables
    doc = f"# doc\n\ntext\n\n{report.TABLE_BEGIN}\nold\n{report.TABLE_END}\n\nafter\n"
    new = report.embed_tables(doc, results)
    assert report.generated_block(new) == tables
    assert new.startswith("# doc\n\ntext\n\n") and new.endswith(report.TABLE_END + "\n\nafter\n")
    path = tmp_path / "doc.md"
    path.write_text(doc)
    assert report.update_doc(path, results) and not report.update_doc(path, results)
    assert path.read_text() == new
    with pytest.raises(AudioLRPError):
        report.embed_tables("# no markers\n", results)
    # python -m audiolrp.app.replication RESULTS DOC: the same, and one-line errors
    path.write_text(doc)
    (tmp_path / "replication.md").write_text("stale")
    assert report.main([str(tmp_path / "results.json"), str(path)]) == 0
    assert path.read_text() == new
    assert (tmp_path / "replication.md").read_text() == report.report_markdown(results)
    assert report.main([str(tmp_path / "missing.json")]) == 2
    # a verdict changed in the JSON changes the rendered table
    key = "pixel_flipping"
    first = next(iter(results["findings"][key]))
    results["findings"][key][first]["verdict"] = "CHANGED"
    assert "**CHANGED**" in report.tables_markdown(results)


def test_quality_flag_cell_text() -> None:
    from audiolrp.app.replication.report import quality_flag

    rng = np.random.default_rng(0)
    model = rng.uniform(0, 12, 100)
    fit = _quality(model, model + 10)
    assert quality_flag(fit).startswith("fit (median ")
    unfit = _quality(model + 30, model + 31)
    assert quality_flag(unfit).startswith("**NOT FIT** (median ")
    assert quality_flag(rp.model_quality([], [], [], [])) == "no examples"


def test_replicate_is_deterministic_and_stages(tiny_models, tmp_path) -> None:
    pi, ph = tiny_models
    cfg = rp.ReplicationConfig(**{**SMALL, "stages": ("flip",), "n_flip": 3})
    a = rp.replicate(pi, None, tmp_path / "a", cfg, progress=False)
    b = rp.replicate(pi, None, tmp_path / "b", cfg, progress=False)
    assert set(a["findings"]) == {"pixel_flipping"}
    assert a["findings"]["pixel_flipping"] == b["findings"]["pixel_flipping"]


def test_config_validation(tiny_models, tmp_path) -> None:
    pi, ph = tiny_models
    with pytest.raises(AudioLRPError):
        rp.ReplicationConfig(n_channel=2).validate()
    with pytest.raises(AudioLRPError):
        rp.ReplicationConfig(stages=("bogus",)).validate()
    with pytest.raises(AudioLRPError, match="intensity"):
        rp.replicate(ph, ph, tmp_path, rp.ReplicationConfig(**SMALL), progress=False)
    with pytest.raises(AudioLRPError, match="hoa-models"):
        rp.replicate(pi, [pi], tmp_path, rp.ReplicationConfig(**SMALL), progress=False)
    with pytest.raises(AudioLRPError, match="no models"):
        rp.replicate(None, None, tmp_path, rp.ReplicationConfig(**SMALL), progress=False)


def test_cli_help_and_run(tiny_models, tmp_path) -> None:
    from audiolrp.cli.app import app

    runner = CliRunner()
    res = runner.invoke(app, ["analyze", "replicate", "--help"])
    assert res.exit_code == 0
    assert "--intensity-model" in res.output and "--n-flip" in res.output
    assert "--hoa-models" in res.output
    pi, ph = tiny_models
    res = runner.invoke(app, ["analyze", "replicate", "--intensity-model", str(pi),
                              "--hoa-models", str(ph), "--out", str(tmp_path / "o"),
                              "--stages", "aural", "--n-aural", "2", "--corpus", "noise",
                              "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert set(payload["verdicts"]) == {"intensity.json direct_sound",
                                        "intensity.json auralization",
                                        "hoa2.json direct_sound", "hoa2.json auralization"}
    assert (tmp_path / "o" / "replication.md").is_file()


def test_intensity_model_alone(tiny_models, tmp_path) -> None:
    pi, _ = tiny_models
    cfg = rp.ReplicationConfig(**{**SMALL, "stages": ("aural",)})
    res = rp.replicate(pi, None, tmp_path / "out", cfg, progress=False)
    au = res["findings"]["auralization"]["intensity.json"]
    assert au["filter"]["model_feature"] == "intensity"
    assert au["n_examples"] == cfg.n_aural
    assert (tmp_path / "out" / "fig2_panels_intensity.png").is_file()


def test_cli_defaults_are_the_config_defaults() -> None:
    import inspect

    from audiolrp.cli.analyze import replicate_cmd

    params = inspect.signature(replicate_cmd).parameters
    cfg = rp.ReplicationConfig()
    for name in ("n_channel", "n_general", "n_flip", "flip_steps", "n_aural", "seed",
                 "batch_size", "flip_batch_size", "least_relevant"):
        assert params[name].default == getattr(cfg, name), name
    assert params["stages"].default == ",".join(cfg.stages)
    assert params["intensity_model"].default == rp.DEFAULT_INTENSITY_MODEL
    assert params["hoa_models"].default == ",".join(rp.DEFAULT_HOA_MODELS)
    assert params["corpus"].default is None and cfg.corpus is None
