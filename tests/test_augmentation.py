"""Sound-field augmentation (Eq. A1), direction targets (Eq. T1) and the classic estimator,
checked against closed forms in float64, against physics and against invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import (
    acn_order_degree,
    angular_error_deg,
    doa_grid,
    encode_plane_wave,
    sh_matrix,
    unit_vector,
)
from audiolrp.signal.augmentation import (
    FieldTransform,
    apply_field_transforms,
    direction_targets,
    random_field_transforms,
    sh_transform_matrix,
)
from audiolrp.signal.features import intensity_vector_direction
from audiolrp.training import angular_label_targets


def _rotation_about_z_loop(order: int, alpha: float) -> np.ndarray:
    """Closed form: channel (n, m>0) ~ cos(m az), (n, -m) ~ sin(m az), so a rotation by alpha
    maps b_{n,m} -> cos(m a) b_{n,m} - sin(m a) b_{n,-m} and b_{n,-m} -> sin(m a) b_{n,m}
    + cos(m a) b_{n,-m}; written as an explicit loop over channel pairs."""
    k = (order + 1) ** 2
    t = np.zeros((k, k))
    for acn in range(k):
        n, m = acn_order_degree(acn)
        if m == 0:
            t[acn, acn] = 1.0
            continue
        mm = abs(m)
        pos, neg = n * n + n + mm, n * n + n - mm
        c, s = math.cos(mm * alpha), math.sin(mm * alpha)
        if m > 0:
            t[pos, pos], t[pos, neg] = c, -s
        else:
            t[neg, neg], t[neg, pos] = c, s
    return t


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("alpha", [0.0, 0.3, math.pi / 2, 2.5, -1.1])
def test_rotation_matrix_matches_closed_form(order: int, alpha: float) -> None:
    got = sh_transform_matrix(order, FieldTransform(alpha).matrix3())
    np.testing.assert_allclose(got, _rotation_about_z_loop(order, alpha), atol=1e-10)


@pytest.mark.parametrize("order", [1, 2, 4])
def test_mirror_z_flips_the_channels_odd_in_elevation(order: int) -> None:
    # Y_n^m(az, -el) = (-1)^(n + |m|) Y_n^m(az, el) for the real SH without Condon-Shortley
    got = sh_transform_matrix(order, FieldTransform(0.0, False, True).matrix3())
    signs = [(-1.0) ** (n + abs(m)) for n, m in map(acn_order_degree, range((order + 1) ** 2))]
    np.testing.assert_allclose(got, np.diag(signs), atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(
    alpha=st.floats(0, 2 * math.pi),
    my=st.booleans(),
    mz=st.booleans(),
    az=st.floats(-math.pi, math.pi),
    el=st.floats(-1.5, 1.5),
    order=st.integers(0, 4),
)
def test_transform_moves_plane_waves_exactly(alpha, my, mz, az, el, order) -> None:
    tr = FieldTransform(alpha, my, mz)
    r = tr.matrix3()
    t = sh_transform_matrix(order, r)
    v2 = r @ unit_vector(az, el)
    az2, el2 = math.atan2(v2[1], v2[0]), math.asin(max(-1.0, min(1.0, v2[2])))
    np.testing.assert_allclose(
        t @ sh_matrix(order, az, el)[0], sh_matrix(order, az2, el2)[0], atol=1e-10
    )
    # energy per degree is preserved: T is orthogonal (SN3D scales whole degrees)
    np.testing.assert_allclose(t @ t.T, np.eye(t.shape[0]), atol=1e-10)


def test_bad_transform_arguments_are_one_line_errors() -> None:
    with pytest.raises(AudioLRPError, match="orthogonal"):
        sh_transform_matrix(1, np.ones((3, 3)))
    with pytest.raises(AudioLRPError, match="orders 0..5"):
        sh_transform_matrix(9, np.eye(3))
    with pytest.raises(AudioLRPError, match="one transform per example"):
        apply_field_transforms(torch.zeros(2, 5, 10), np.zeros(2), np.zeros(2), [])


def test_augmented_scene_direction_moves_with_the_label() -> None:
    """Physics: a plane wave plus noise, transformed; the intensity vector of the transformed
    audio points where the transformed label says."""
    rng = np.random.default_rng(3)
    n = 8
    az = rng.uniform(-math.pi, math.pi, n)
    el = rng.uniform(-1.2, 1.2, n)
    s = rng.standard_normal(16000)
    audio = np.stack(
        [encode_plane_wave(s, a, e, 2) + 0.01 * rng.standard_normal((9, 16000))
         for a, e in zip(az, el, strict=True)]
    )
    trs = random_field_transforms(n, rng)
    out, az2, el2 = apply_field_transforms(torch.from_numpy(audio), az, el, trs)
    est_az, est_el = intensity_vector_direction(out.numpy())
    assert np.max(angular_error_deg(est_az, est_el, az2, el2)) < 1.0
    # and the transformed direction is R d
    for i, tr in enumerate(trs):
        np.testing.assert_allclose(
            unit_vector(az2[i], el2[i]), tr.matrix3() @ unit_vector(az[i], el[i]), atol=1e-12
        )


def test_random_transforms_are_seeded() -> None:
    a = random_field_transforms(5, np.random.default_rng(1))
    b = random_field_transforms(5, np.random.default_rng(1))
    c = random_field_transforms(5, np.random.default_rng(2))
    assert a == b and a != c
    assert all(not t.mirror_y and not t.mirror_z for t in
               random_field_transforms(20, np.random.default_rng(0), mirrors=False))


def test_direction_targets_match_explicit_loop() -> None:
    rng = np.random.default_rng(0)
    az, el, sigma = rng.uniform(-3, 3, 4), rng.uniform(-1.5, 1.5, 4), 7.0
    got = direction_targets(az, el, sigma).numpy().astype(np.float64)
    grid = doa_grid()
    for b in range(4):
        w = np.array([
            math.exp(-0.5 * (float(angular_error_deg(az[b], el[b], g[0], g[1])) / sigma) ** 2)
            for g in grid
        ])
        np.testing.assert_allclose(got[b], w / w.sum(), atol=2e-6)
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)


def test_direction_targets_on_grid_equal_class_targets() -> None:
    grid = doa_grid()
    idx = np.array([0, 17, 212, 424])
    got = direction_targets(grid[idx, 0], grid[idx, 1], 8.0)
    np.testing.assert_allclose(got.numpy(), angular_label_targets(8.0)[idx].numpy(), atol=1e-5)
    with pytest.raises(AudioLRPError):
        direction_targets(grid[idx, 0], grid[idx, 1], 0.0)


def test_intensity_vector_direction_matches_float64_loop() -> None:
    rng = np.random.default_rng(5)
    audio = rng.standard_normal((4, 16000))
    az, el = intensity_vector_direction(audio)
    # independent formulation: numpy STFT frames with the project's window and offsets
    from audiolrp.signal.features import frame_start_samples, stft_window

    win = stft_window().astype(np.float64)
    acc = np.zeros(3)
    for start in frame_start_samples():
        seg = np.zeros((4, 640))
        lo, hi = max(start, 0), min(start + 640, 16000)
        seg[:, lo - start : hi - start] = audio[:, lo:hi]
        spec = np.fft.rfft(seg * win, n=1024)[:, :512]
        w, y, z, x = spec
        for k in range(512):
            acc += np.real(np.conj(w[k]) * np.array([x[k], y[k], z[k]]))
    ref_az, ref_el = math.atan2(acc[1], acc[0]), math.atan2(acc[2], math.hypot(acc[0], acc[1]))
    assert float(angular_error_deg(az, el, ref_az, ref_el)) < 1e-6


def test_intensity_vector_direction_errors() -> None:
    with pytest.raises(AudioLRPError, match="first-order"):
        intensity_vector_direction(np.zeros((1, 16000)))
    bad = np.zeros((4, 16000))
    bad[0, 3] = np.nan
    with pytest.raises(AudioLRPError, match="NaN"):
        intensity_vector_direction(bad)
