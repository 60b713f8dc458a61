"""InputLayout, the one owner of the model-input channel layout, against the conventions
(``docs/conventions.md``), the features it describes and every place that asks it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import encode_plane_wave
from audiolrp.signal.features import compute_features, feature_channels, stft
from audiolrp.signal.layout import InputLayout

CONVENTIONS = Path(__file__).resolve().parents[1] / "docs" / "conventions.md"
INTENSITY = ("I_a,x", "I_a,y", "I_a,z", "I_r,x", "I_r,y", "I_r,z")


@pytest.mark.parametrize("order", range(5))
def test_hoa_counts_names_and_groups(order: int) -> None:
    lay = InputLayout("hoa", order)
    k = (order + 1) ** 2
    assert lay.n_audio_channels == k and lay.n_channels == 2 * k == feature_channels("hoa", order)
    expected = [f"ACN{i} mag" for i in range(k)] + [f"ACN{i} phase" for i in range(k)]
    assert list(lay.names) == expected
    g = lay.groups
    assert g["all"] is None
    assert g["magnitude"] == tuple(range(k)) and g["phase"] == tuple(range(k, 2 * k))
    per_order = [g[f"order {n}"] for n in range(order + 1)]
    flat = sorted(c for grp in per_order for c in grp)
    assert flat == list(range(2 * k))  # the orders partition the channels
    for n, grp in enumerate(per_order):  # order n: ACN n^2 .. (n+1)^2 - 1, magnitude and phase
        acn = {int(lay.names[c].split()[0][3:]) for c in grp}
        assert acn == set(range(n * n, (n + 1) ** 2))
    assert list(lay.part_groups) == ["magnitude channels", "phase channels"]


@pytest.mark.parametrize("order", range(5))
def test_hoa_axes_are_the_first_order_dipoles(order: int) -> None:
    lay = InputLayout("hoa", order)
    want = {"ACN1": "y", "ACN2": "z", "ACN3": "x"}
    for c, name in enumerate(lay.names):
        assert lay.axis_name(c) == want.get(name.split()[0])


def test_intensity_layout() -> None:
    lay = InputLayout("intensity", 3)  # intensity always reads first-order audio
    assert lay.order == 1 and lay.n_audio_channels == 4
    assert lay.n_channels == 6 == feature_channels("intensity", 4)
    assert lay.names == INTENSITY
    assert lay.axes == (0, 1, 2, 0, 1, 2)
    assert lay.groups == {"all": None, "active": (0, 1, 2), "reactive": (3, 4, 5)}
    assert lay.part_groups == {"active intensity": (0, 1, 2), "reactive intensity": (3, 4, 5)}
    assert lay == InputLayout.of("intensity")


def test_the_conventions_state_the_same_layout() -> None:
    text = CONVENTIONS.read_text(encoding="utf-8")
    assert "[" + ", ".join(INTENSITY) + "]" in text
    assert "HOA order N: 2(N+1)^2 channels" in text


def test_words() -> None:
    assert InputLayout("hoa", 2).describe_audio() == (
        ">= 9 Ambisonics channels (2nd-order AmbiX, ACN/SN3D)"
    )
    assert InputLayout("intensity").describe_audio().startswith(">= 4 Ambisonics channels (1st")
    assert InputLayout("intensity").heatmap_label == "sum over the 6 intensity channels"
    assert InputLayout("hoa", 1).heatmap_label == "magnitude + phase"


@pytest.mark.parametrize(
    "make",
    [lambda: InputLayout("stereo", 1), lambda: InputLayout("hoa", -1),
     lambda: InputLayout.of("hoa", None)],
)
def test_bad_layouts_are_user_errors(make) -> None:
    with pytest.raises(AudioLRPError):
        make()


# ------------------------------------------------------------- the names describe the data
@pytest.mark.parametrize("order", [0, 1, 2, 4])
def test_hoa_names_match_the_features(order: int) -> None:
    """Channel "ACNi mag" is |STFT(ACN i)| and "ACNi phase" is its angle (float64 reference)."""
    lay = InputLayout("hoa", order)
    rng = np.random.default_rng(order)
    audio = rng.standard_normal((lay.n_audio_channels, 16000))
    feats = compute_features(audio, "hoa", order)
    spec = stft(audio)
    assert feats.shape == (lay.n_channels, 50, 512)
    for c, name in enumerate(lay.names):
        acn, part = name.split()
        ref = np.abs(spec[int(acn[3:])]) if part == "mag" else np.angle(spec[int(acn[3:])])
        np.testing.assert_allclose(feats[c], ref, atol=1e-9)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_axes_point_along_the_source(axis: int) -> None:
    """A plane wave along +axis: the active-intensity channel of that axis carries the energy
    (positive, the largest), and the first-order dipole of that axis has the largest magnitude."""
    az, el = [(0.0, 0.0), (math.pi / 2, 0.0), (0.0, math.pi / 2)][axis]
    s = np.random.default_rng(0).standard_normal(16000)
    audio = np.asarray(encode_plane_wave(s, az, el, 1))
    inten = InputLayout("intensity")
    active = compute_features(audio, "intensity").sum(axis=(-2, -1))[:3]
    c = int(np.argmax(active))
    assert inten.axes[c] == axis and active[c] > 0
    assert inten.axis_name(c) == "xyz"[axis]
    hoa = InputLayout("hoa", 1)
    mags = compute_features(audio, "hoa", 1).sum(axis=(-2, -1))
    best = 1 + int(np.argmax(mags[1:4]))  # magnitude channels of ACN 1..3
    assert hoa.axes[best] == axis


# ------------------------------------------------------------------ every owner asks it
@pytest.mark.parametrize(("feature", "order"), [("hoa", 0), ("hoa", 2), ("intensity", None)])
def test_model_files_use_the_layout(tmp_path, feature: str, order: int | None) -> None:
    from audiolrp.models import build_model, load, n_input_channels, save

    lay = InputLayout.of(feature, order)
    assert n_input_channels(feature, order) == lay.n_channels
    save(build_model(feature, order, size="tiny"), tmp_path / "m", feature=feature, order=order)
    loaded = load(tmp_path / "m.json")
    assert loaded.layout == lay and loaded.channel_names == lay.names
    assert loaded.config["input_channels"] == list(lay.names)


def test_analysis_groups_and_axes_are_the_layouts() -> None:
    from audiolrp.analysis.channel_relevance import INTENSITY_CHANNEL_AXES, channel_relevance_stats
    from audiolrp.analysis.pixel_flipping import INTENSITY_GROUPS, hoa_channel_groups

    assert INTENSITY_GROUPS == InputLayout("intensity").groups
    assert hoa_channel_groups(3) == InputLayout("hoa", 3).groups
    assert INTENSITY_CHANNEL_AXES == InputLayout("intensity").axes
    stats = channel_relevance_stats(np.ones((2, 6)), ["+x", "+x"])
    assert stats.channel_names == INTENSITY
