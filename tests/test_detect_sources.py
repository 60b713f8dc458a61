"""Several talkers in a user's clips: ``LoadedModel.detect_sources`` of a multi-source model,
checked against the evaluation path that made its card, across input levels, on silence, and
the one-line errors when a model of the other kind is asked."""

from __future__ import annotations

import numpy as np
import pytest

from audiolrp.data.multisource import generate_multisource_dataset, multisource_spec
from audiolrp.data.spec import DatasetSpec
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation.multisource import dataset_clips, detections, model_activity
from audiolrp.models import LoadedModel, SourcesPrediction, load
from audiolrp.models.multisource import SourceDetector
from audiolrp.signal.ambisonics import doa_grid
from audiolrp.simulation.multisource import MultiSourceConfig
from audiolrp.simulation.scenes import SceneConfig


@pytest.fixture(scope="module")
def multi() -> LoadedModel:
    return load("multi-intensity")


@pytest.fixture(scope="module")
def clips_and_truth(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, list]:
    root = tmp_path_factory.mktemp("detect") / "data"
    base = DatasetSpec(config=SceneConfig(order=1, speech="noise", rt60_s=(0.2, 0.4)), seed=5,
                       counts={"train": 0, "val": 0, "test": 4}, shard_size=8)
    generate_multisource_dataset(root, multisource_spec(base, MultiSourceConfig((1, 3))))
    return dataset_clips(root, "test")


def test_detect_sources_is_the_card_path(multi: LoadedModel, clips_and_truth) -> None:
    """Same maps and detections as the evaluation that measured the card (raw features at
    the simulator's level, the file's detector), up to the level gain's float rounding."""
    clips, _ = clips_and_truth
    sp = multi.detect_sources(clips)
    maps = model_activity(multi.model, clips, multi.feature)
    np.testing.assert_allclose(sp.activity, maps, atol=2e-5)
    ref = detections(maps, multi.detector)
    assert [len(d) for d in ref] == sp.counts.tolist()
    for a, b in zip(ref, sp.directions_rad, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)
    assert not sp.silent.any()
    # the rows say the same in degrees, azimuth in [-180, 180)
    for row, d in zip(sp.rows(), sp.directions_rad, strict=True):
        assert row["n_sources"] == len(d)
        for src, (az, el) in zip(row["sources"], d, strict=True):
            assert -180 <= src["azimuth_deg"] < 180
            assert np.isclose(np.cos(np.radians(src["azimuth_deg"])), np.cos(az), atol=1e-3)
            assert np.isclose(src["elevation_deg"], np.degrees(el), atol=0.01)


@pytest.mark.parametrize("gain_db", [-80.0, -30.0, 20.0])
def test_detect_sources_is_level_invariant(multi: LoadedModel, clips_and_truth,
                                           gain_db: float) -> None:
    clips, _ = clips_and_truth
    ref = multi.detect_sources(clips)
    got = multi.detect_sources(clips * 10 ** (gain_db / 20))
    assert got.counts.tolist() == ref.counts.tolist()
    for a, b in zip(ref.classes, got.classes, strict=True):
        assert a.tolist() == b.tolist()
    for a, b in zip(ref.directions_rad, got.directions_rad, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)
    np.testing.assert_allclose(got.level_dbfs - ref.level_dbfs, gain_db, atol=1e-6)


def test_silence_has_no_sources(multi: LoadedModel, clips_and_truth) -> None:
    clips, _ = clips_and_truth
    x = np.concatenate([np.zeros_like(clips[:1]), clips[:1]])
    sp = multi.detect_sources(x)
    assert sp.silent.tolist() == [True, False]
    assert sp.counts[0] == 0 and not sp.activity[0].any() and sp.counts[1] >= 1
    assert sp.rows()[0] == {"silent": True, "level_dbfs": None, "n_sources": 0, "sources": []}


def test_the_other_kind_of_model_is_a_one_line_error(multi: LoadedModel) -> None:
    x = np.zeros((1, 4, 16000))
    with pytest.raises(AudioLRPError, match="detect_sources"):
        multi.predict(x)
    with pytest.raises(AudioLRPError, match="one talker per clip"):
        load("intensity").detect_sources(x)


def test_sources_prediction_from_maps() -> None:
    """Two explicit bumps on a flat map give two sources at the bumps, strongest first; the
    concatenation of two batches is the batch."""
    grid = doa_grid()
    a, b = 100, 300
    m = np.full((2, len(grid)), 0.01)
    m[0, a], m[0, b] = 0.9, 0.5
    m[1, b] = 0.8
    det = SourceDetector(threshold=0.3, min_separation_deg=25.0, refine_radius_deg=0.0)
    sp = SourcesPrediction.from_activity(m, det, level_dbfs=np.array([-20.0, -30.0]))
    assert [c.tolist() for c in sp.classes] == [[a, b], [b]]
    np.testing.assert_allclose(sp.directions_rad[0], grid[[a, b]])
    vec = sp.directions()[1][0]
    az, el = grid[b]
    np.testing.assert_allclose(vec, [np.cos(az) * np.cos(el), np.sin(az) * np.cos(el),
                                     np.sin(el)])
    both = SourcesPrediction.concatenate([
        SourcesPrediction.from_activity(m[:1], det), SourcesPrediction.from_activity(m[1:], det)
    ])
    assert both.counts.tolist() == [2, 1] and len(both) == 2
    assert sp.rows()[0]["sources"][0]["activity"] == 0.9
    with pytest.raises(AudioLRPError, match="shape"):
        SourcesPrediction.from_activity(m[0], det)



def test_locate_lists_each_windows_talkers(tmp_path, multi: LoadedModel, clips_and_truth) -> None:
    """`audiolrp locate --model multi-intensity`: per window the talkers detect_sources finds
    in it (JSON, table, plots), a silent window with none."""
    import json

    import soundfile as sf
    from typer.testing import CliRunner

    from audiolrp.cli.app import app

    clips, _ = clips_and_truth
    x = np.concatenate([clips[0], clips[1], np.zeros_like(clips[0])], axis=1)
    path = tmp_path / "two.wav"
    sf.write(path, (0.1 * x).T, 16000, subtype="FLOAT")
    out = tmp_path / "doa"
    res = CliRunner().invoke(app, ["locate", str(path), "-m", "multi-intensity", "--json",
                                   "-q", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["task"] == "multi" and "views" not in data and data["n_windows"] == 3
    assert (out / "directions.png").stat().st_size > 0
    want = multi.detect_sources(np.stack([clips[0], clips[1]]) * 0.1).rows()
    for w, ref in zip(data["windows"][:2], want, strict=True):
        assert w["n_sources"] == ref["n_sources"] >= 1
        assert [s["class"] for s in w["sources"]] == [s["class"] for s in ref["sources"]]
    assert data["windows"][2]["silent"] and data["windows"][2]["sources"] == []
    res = CliRunner().invoke(app, ["locate", str(path), "-m", "multi-intensity", "-q"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["window", "start_s", "n"] and len(lines) == 4
    assert lines[-1].endswith("silent")
    # views belong to one-talker models: one line, and no output folder is made
    res = CliRunner().invoke(app, ["locate", str(path), "-m", "multi-intensity", "-q",
                                   "--views", "4", "--out", str(tmp_path / "never")])
    assert res.exit_code != 0 and "--views 4 does not apply" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "never").exists()
