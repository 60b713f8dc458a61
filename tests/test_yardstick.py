"""The recordings yardstick (audiolrp.yardstick): seeded scenes per talker family at drawn
levels, pooled metrics against explicit computation, conditions and their orders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiolrp import models, yardstick
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import unit_vector, vector_angle_deg
from audiolrp.signal.levels import rms_to_dbfs, w_rms

IDEAL = next(c for c in yardstick.CONDITIONS if c.key == "ideal")


@pytest.fixture(scope="module")
def synthetic() -> yardstick.YardstickScenes:
    return yardstick.simulate_family_scenes(IDEAL, ["synthetic"], 3, seed=5)["synthetic"]


def test_scenes_are_seeded_at_their_drawn_levels(synthetic) -> None:
    again = yardstick.simulate_family_scenes(IDEAL, ["synthetic"], 3, seed=5)["synthetic"]
    np.testing.assert_array_equal(again.audio, synthetic.audio)
    assert synthetic.audio.shape == (3, 25, 16000)  # order 4: every model reads it
    lo, hi = yardstick.LEVEL_RANGE_DBFS
    assert np.all((synthetic.level_dbfs >= lo) & (synthetic.level_dbfs <= hi))
    np.testing.assert_allclose(rms_to_dbfs(w_rms(synthetic.audio)), synthetic.level_dbfs,
                               atol=1e-9)
    for k, i in enumerate(synthetic.scene_indices):
        rng = np.random.default_rng(np.random.SeedSequence([5, int(i), yardstick.LEVEL_STREAM]))
        assert synthetic.level_dbfs[k] == pytest.approx(rng.uniform(lo, hi))
    other = yardstick.simulate_family_scenes(IDEAL, ["synthetic"], 3, seed=6)["synthetic"]
    assert not np.allclose(other.audio[0], synthetic.audio[0])


def test_off_grid_directions_and_classic_baseline(synthetic) -> None:
    from audiolrp.signal.ambisonics import doa_grid
    from audiolrp.signal.features import intensity_vector_direction

    grid = np.asarray(doa_grid())
    gv = unit_vector(grid[:, 0], grid[:, 1])
    off = np.min(vector_angle_deg(synthetic.true_vectors[:, None, :], gv[None]), axis=1)
    assert np.all(off > 1e-3), "yardstick directions must be off the class grid"
    for a, t, b in zip(synthetic.audio, synthetic.true_vectors, synthetic.baseline_error_deg,
                       strict=True):
        est = unit_vector(*intensity_vector_direction(a[:4]))
        assert float(vector_angle_deg(est, t)) == pytest.approx(b)


def test_summaries_pool_equal_families_explicitly() -> None:
    rng = np.random.default_rng(0)
    errs = [{"refined": rng.uniform(0, 30, 5), "class": rng.uniform(0, 30, 5),
             "exact": (rng.uniform(size=5) > 0.5).astype(float)} for _ in range(2)]
    base = [rng.uniform(0, 40, 5) for _ in range(2)]
    s = yardstick.summarise(errs, base)
    ref = np.concatenate([errs[0]["refined"], errs[1]["refined"]])
    b = np.concatenate(base)
    assert s["n"] == 10
    assert s["refined_deg"]["median"] == pytest.approx(float(np.median(ref)))
    assert s["refined_deg"]["mean"] == pytest.approx(float(np.mean(ref)))
    assert s["refined_deg"]["within_10_deg"] == pytest.approx(float(np.mean(ref <= 10)))
    assert s["classic_deg"]["median"] == pytest.approx(float(np.median(b)))
    assert s["model_closer_than_classic"] == pytest.approx(float(np.mean(ref < b)))


def test_run_with_a_tiny_model_and_the_level_comparison(tmp_path, synthetic) -> None:
    torch.manual_seed(0)
    path = models.save(models.build_model("hoa", 1, size="tiny"), tmp_path / "t",
                       feature="hoa", order=1)
    lm = models.load(path)
    report = yardstick.run_yardstick([lm], n=3, seed=5, conditions=["ideal"],
                                     families=["synthetic"])
    entry = report["results"]["ideal"]["t"]
    direct = yardstick.model_errors(lm, synthetic)
    assert entry["headline"]["refined_deg"]["median"] == pytest.approx(
        float(np.median(direct["refined"])))
    assert entry["headline"]["n"] == 3 and "headline_without_level_gain" in entry
    assert sum(b["n"] for b in entry["by_level"]) == 3
    sweep = entry["level_sweep"]
    assert set(sweep) == {"-60", "-10"}
    assert sweep["-60"]["median"] == pytest.approx(sweep["-10"]["median"], abs=1e-3)
    assert report["settings"]["headline_families"] == ["synthetic"]
    assert "t" in yardstick.format_yardstick(report)
    entry_card = yardstick.card_entry(report, "t", "cmd")
    assert entry_card["conditions"]["ideal"]["headline"] == entry["headline"]
    assert "3 scenes per talker family" in entry_card["description"]
    table = yardstick.markdown_table(report)
    assert f"{entry['headline']['refined_deg']['median']:.2f}" in table.splitlines()[2]
    with pytest.raises(AudioLRPError, match="no results"):
        yardstick.card_entry(report, "other", "cmd")


def test_conditions_apply_to_their_orders_and_bad_names_fail() -> None:
    by_key = {c.key: c for c in yardstick.CONDITIONS}

    class M:
        def __init__(self, order: int) -> None:
            self.order = order

    assert by_key["tetra"].applies_to(M(1)) and not by_key["tetra"].applies_to(M(2))  # type: ignore[arg-type]
    assert by_key["sphere32"].applies_to(M(4)) and not by_key["sphere32"].applies_to(M(1))  # type: ignore[arg-type]
    with pytest.raises(AudioLRPError, match="unknown conditions"):
        yardstick.run_yardstick([], conditions=["studio"])
    with pytest.raises(AudioLRPError, match="unknown families"):
        yardstick.run_yardstick([], families=["podcast"])
    fake = yardstick.Condition("x", "x", {"no_such_setting": 1})
    with pytest.raises(AudioLRPError, match="lacks"):
        yardstick.simulate_family_scenes(fake, ["synthetic"], 1)


def test_debian_families_split_one_stream_by_talker() -> None:
    from ci_policy import need_debian_corpus

    need_debian_corpus("the yardstick's studio and game families")
    got = yardstick.simulate_family_scenes(IDEAL, ["studio", "game"], 2, seed=3)
    assert all(s.startswith("asterisk-") for s in got["studio"].speakers)
    assert all(s.startswith("fillets-") for s in got["game"].speakers)
    both = np.concatenate([got["studio"].scene_indices, got["game"].scene_indices])
    assert len(set(both.tolist())) == 4  # one stream, each scene used once


def test_every_condition_builds_its_scene_config() -> None:
    """Each condition's scenes are simulated at its own order with its microphone (the tetra
    array encodes orders 0-1 only, so the card recipe's order 2 must not leak in)."""
    for cond in yardstick.CONDITIONS:
        cfg = yardstick._config(cond, "espeak")
        assert cfg.order == cond.scene_order
        assert cfg.direction_sampling == "uniform"
        assert getattr(cfg, "mic", "ideal") == cond.overrides.get("mic", "ideal")
    tetra = next(c for c in yardstick.CONDITIONS if c.key == "tetra")
    got = yardstick.simulate_family_scenes(tetra, ["synthetic"], 1, seed=2)["synthetic"]
    assert got.audio.shape == (1, 4, 16000)
