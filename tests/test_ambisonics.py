"""Tests of audiolrp.signal.ambisonics: SH against independent formulations, grid, t-designs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import lpmv

from audiolrp.errors import AudioLRPError
from audiolrp.signal import ambisonics as A

angles_az = st.floats(-math.pi, math.pi, allow_nan=False)
angles_el = st.floats(-math.pi / 2, math.pi / 2, allow_nan=False)


def _sh_reference(order: int, az: float, el: float) -> np.ndarray:
    """Independent float64 real SN3D SH via scipy.special.lpmv (CS phase removed)."""
    out = np.zeros((order + 1) ** 2)
    x = math.sin(el)
    for n in range(order + 1):
        for m in range(-n, n + 1):
            am = abs(m)
            # lpmv includes the Condon-Shortley phase (-1)^m; Ambisonics does not
            p = (-1) ** am * lpmv(am, n, x)
            nrm = math.sqrt((2 - (am == 0)) * math.factorial(n - am) / math.factorial(n + am))
            trig = math.cos(am * az) if m >= 0 else math.sin(am * az)
            out[n * n + n + m] = nrm * p * trig
    return out


def _gauss_product_quadrature(order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss-Legendre in sin(el) x uniform azimuth: exact for degree <= 2*order."""
    n_el = order + 1
    n_az = 2 * order + 2
    x, w = np.polynomial.legendre.leggauss(n_el)
    az = 2 * np.pi * np.arange(n_az) / n_az
    el_g, az_g = np.meshgrid(np.arcsin(x), az, indexing="ij")
    wg = np.repeat(w, n_az) * (2 * np.pi / n_az)
    return az_g.ravel(), el_g.ravel(), wg


@settings(max_examples=50, deadline=None)
@given(angles_az, angles_el)
def test_first_order_closed_forms(az: float, el: float) -> None:
    y = A.sh_matrix(1, az, el)[0]
    expected = [1.0, math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)]
    np.testing.assert_allclose(y, expected, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(angles_az, angles_el)
def test_sh_matches_independent_lpmv_formulation(az: float, el: float) -> None:
    np.testing.assert_allclose(A.sh_matrix(6, az, el)[0], _sh_reference(6, az, el), atol=1e-12)


def test_sh_vectorised_matches_scalar_calls() -> None:
    rng = np.random.default_rng(3)
    az = rng.uniform(-np.pi, np.pi, 17)
    el = rng.uniform(-np.pi / 2, np.pi / 2, 17)
    mat = A.sh_matrix(4, az, el)
    assert mat.shape == (17, 25)
    for i in range(17):
        np.testing.assert_allclose(mat[i], _sh_reference(4, az[i], el[i]), atol=1e-12)


@pytest.mark.parametrize("order", [1, 4, 8])
def test_n3d_orthonormal_by_quadrature(order: int) -> None:
    az, el, w = _gauss_product_quadrature(order)
    y = A.sh_matrix(order, az, el, "n3d")
    gram = (y * w[:, None]).T @ y / (4 * np.pi)
    np.testing.assert_allclose(gram, np.eye((order + 1) ** 2), atol=1e-12)


def test_sn3d_n3d_ratio_and_signal_conversions() -> None:
    rng = np.random.default_rng(0)
    az, el = rng.uniform(-3, 3, 5), rng.uniform(-1.5, 1.5, 5)
    ratio = A.sh_matrix(4, az, el, "n3d") / A.sh_matrix(4, az, el, "sn3d")
    orders = np.array([A.acn_order_degree(k)[0] for k in range(25)])
    np.testing.assert_allclose(ratio, np.broadcast_to(np.sqrt(2 * orders + 1), ratio.shape))
    sig = rng.standard_normal((16, 3, 7))
    conv = A.sn3d_to_n3d(sig)
    np.testing.assert_allclose(conv[9:16], sig[9:16] * math.sqrt(7))
    np.testing.assert_allclose(A.n3d_to_sn3d(conv), sig)
    with pytest.raises(AudioLRPError):
        A.sn3d_to_n3d(np.zeros((5, 10)))


def test_encode_plane_wave() -> None:
    s = np.arange(10, dtype=np.float32)
    b = A.encode_plane_wave(s, 0.3, -0.2, 3)
    assert b.shape == (16, 10) and b.dtype == np.float32
    np.testing.assert_allclose(b, np.outer(_sh_reference(3, 0.3, -0.2), s), rtol=1e-6)
    with pytest.raises(AudioLRPError):
        A.encode_plane_wave(np.zeros((2, 3)), 0.0, 0.0, 1)


def test_acn_index_round_trip() -> None:
    for k in range(49):
        n, m = A.acn_order_degree(k)
        assert A.acn_index(n, m) == k and abs(m) <= n


def test_bad_order_and_normalisation_raise() -> None:
    with pytest.raises(AudioLRPError):
        A.sh_matrix(-1, 0.0, 0.0)
    with pytest.raises(AudioLRPError):
        A.sh_matrix(2, 0.0, 0.0, "fuma")
    with pytest.raises(AudioLRPError):
        A.sh_matrix(2, float("nan"), 0.0)


# FuMa letter -> (n, m), written independently of the module's table
_FUMA_NM = {
    "W": (0, 0), "X": (1, 1), "Y": (1, -1), "Z": (1, 0), "R": (2, 0), "S": (2, 1),
    "T": (2, -1), "U": (2, 2), "V": (2, -2), "K": (3, 0), "L": (3, 1), "M": (3, -1),
    "N": (3, 2), "O": (3, -2), "P": (3, 3), "Q": (3, -3),
}  # fmt: skip


@pytest.mark.parametrize("order", [1, 2, 3])
def test_fuma_to_ambix_against_maxn_definition(order: int) -> None:
    # maxN: every FuMa component (n >= 1) peaks at |1| over the sphere; W = SN3D W / sqrt(2)
    az, el = np.meshgrid(np.linspace(-np.pi, np.pi, 721), np.linspace(-np.pi / 2, np.pi / 2, 361))
    dense = A.sh_matrix(3, az.ravel(), el.ravel())
    peak = np.abs(dense).max(axis=0)
    letters = "WXYZRSTUVKLMNOPQ"[: (order + 1) ** 2]
    rng = np.random.default_rng(order)
    ambix = rng.standard_normal(((order + 1) ** 2, 50))
    fuma = np.empty_like(ambix)
    for i, letter in enumerate(letters):
        n, m = _FUMA_NM[letter]
        acn = n * n + n + m
        fuma[i] = ambix[acn] / (math.sqrt(2.0) if n == 0 else peak[acn])
    # the grid peak is accurate to ~1e-4 relative; wrong weights differ by > 5 %
    np.testing.assert_allclose(A.fuma_to_ambix(fuma), ambix, rtol=2e-4, atol=1e-9)


@pytest.mark.parametrize("n_ch", [1, 5, 25])
def test_fuma_unsupported_channel_counts(n_ch: int) -> None:
    with pytest.raises(AudioLRPError, match="FuMa"):
        A.fuma_to_ambix(np.zeros((n_ch, 4)))


# ---------------------------------------------------------------------------------- DOA grid


def test_doa_grid_count_rings_and_cache() -> None:
    g = A.doa_grid()
    assert g.shape == (425, 2)
    assert A.doa_grid() is g and not g.flags.writeable
    _, counts = np.unique(np.round(np.degrees(g[:, 1]), 6), return_counts=True)
    expected = [1, 7, 13, 19, 24, 28, 32, 34, 36, 37, 36, 34, 32, 28, 24, 19, 13, 7, 1]
    assert counts.tolist() == expected
    assert g[0, 1] == pytest.approx(-np.pi / 2) and g[-1, 1] == pytest.approx(np.pi / 2)
    assert np.all(g[:, 0] >= -np.pi) and np.all(g[:, 0] < np.pi)


def test_float32_cosine_would_give_a_different_count() -> None:
    # the reason the grid uses float64 (documented pitfall): check the count is sensitive
    phi = np.radians(-90.0 + 10.0 * np.arange(19))
    n64 = int(np.sum(np.floor(36.0 * np.cos(phi)) + 1))
    n32 = int(np.sum(np.floor(np.float32(36.0) * np.cos(phi.astype(np.float32))) + 1))
    nround = int(np.sum(np.round(36.0 * np.cos(phi)) + 1))
    assert n64 == 425 and (n32 != 425 or nround != 425)


def test_nearest_class_of_grid_points_is_identity_and_shapes() -> None:
    g = A.doa_grid()
    np.testing.assert_array_equal(A.nearest_class(g[:, 0], g[:, 1]), np.arange(425))
    assert A.nearest_class(0.0, 0.0).shape == ()
    assert A.nearest_class(np.zeros((2, 3)), 0.0).shape == (2, 3)


def test_quantisation_error_and_spacing() -> None:
    rng = np.random.default_rng(11)
    az, el = A.direction_from_vector(rng.standard_normal((40_000, 3)))
    cls = A.nearest_class(az, el)
    g = A.doa_grid()
    err = A.angular_error_deg(az, el, g[cls, 0], g[cls, 1])
    # brute-force check of the nearest class on a subset
    sub = slice(0, 300)
    full = A.angular_error_deg(az[sub, None], el[sub, None], g[None, :, 0], g[None, :, 1])
    np.testing.assert_allclose(err[sub], full.min(axis=1), atol=1e-9)
    assert 3.6 < err.mean() < 3.95  # measured 3.76 deg
    assert 6.5 < err.max() < 7.1  # measured 6.94 deg
    sp = A.class_neighbour_spacing_deg()
    assert sp.shape == (425,)
    assert 8.55 < sp.min() < 8.75  # measured 8.64 deg
    assert 9.9 < sp.max() < 10.1  # measured 10.0 deg


def test_angular_error_is_robust() -> None:
    assert A.angular_error_deg(0.1, 0.2, 0.1 + 1e-9, 0.2) == pytest.approx(
        np.degrees(1e-9 * math.cos(0.2)), rel=1e-6
    )
    assert A.angular_error_deg(0.0, 0.0, np.pi, 0.0) == pytest.approx(180.0)
    assert A.angular_error_deg(0.3, np.pi / 2, 2.0, np.pi / 2) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(angles_az, angles_el, angles_az, angles_el)
def test_angular_error_matches_arccos(a1: float, e1: float, a2: float, e2: float) -> None:
    d = A.angular_error_deg(a1, e1, a2, e2)
    cosang = math.sin(e1) * math.sin(e2) + math.cos(e1) * math.cos(e2) * math.cos(a1 - a2)
    ref = math.degrees(math.acos(max(-1.0, min(1.0, cosang))))
    assert d == pytest.approx(ref, abs=1e-5)
    assert d == pytest.approx(float(A.angular_error_deg(a2, e2, a1, e1)), abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.floats(-3.1, 3.1), st.floats(-1.5, 1.5), st.floats(0.1, 10.0))
def test_unit_vector_round_trip(az: float, el: float, scale: float) -> None:
    v = A.unit_vector(az, el)
    assert np.linalg.norm(v) == pytest.approx(1.0)
    a2, e2 = A.direction_from_vector(scale * v)
    assert float(A.angular_error_deg(az, el, a2, e2)) < 1e-6


def test_zero_vector_raises() -> None:
    with pytest.raises(AudioLRPError):
        A.direction_from_vector([0.0, 0.0, 0.0])


# ----------------------------------------------------------------------------------- designs


def _diffuse_deviation(points: np.ndarray, order: int) -> float:
    az, el = A.direction_from_vector(points)
    y = A.sh_matrix(order, az, el)
    cov = y.T @ y / len(points)
    target = np.diag(
        1.0 / (2.0 * np.array([A.acn_order_degree(k)[0] for k in range(len(cov))]) + 1.0)
    )
    return float(np.abs(cov - target).max())


@pytest.mark.parametrize("degree", [2, 3, 5, 7, 8, 9, 10])
def test_embedded_designs_are_designs(degree: int) -> None:
    pts = A.spherical_t_design(degree)
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 1.0, atol=1e-15)
    az, el = A.direction_from_vector(pts)
    y = A.sh_matrix(degree, az, el, "n3d")
    assert np.abs(y[:, 1:].sum(axis=0)).max() < 1e-12
    assert _diffuse_deviation(pts, degree // 2) < 1e-13


def test_design_sizes_and_selection() -> None:
    sizes = {t: len(A.spherical_t_design(t)) for t in A.spherical_t_design_degrees()}
    assert sizes == {2: 4, 3: 6, 5: 12, 7: 24, 8: 36, 9: 48, 10: 60}
    assert len(A.spherical_t_design(4)) == 12  # icosahedron covers t = 4
    assert len(A.spherical_t_design(8)) == 36  # N = 4 diffuse noise
    with pytest.raises(AudioLRPError):
        A.spherical_t_design(11)


def test_non_designs_are_not_diffuse_at_order_4() -> None:
    assert _diffuse_deviation(A.spherical_t_design(8), 4) < 1e-13
    assert _diffuse_deviation(A.spherical_t_design(7), 4) > 1e-3  # 24 points: t = 7 only
    rng = np.random.default_rng(0)
    rand = rng.standard_normal((240, 3))
    rand /= np.linalg.norm(rand, axis=1, keepdims=True)
    assert _diffuse_deviation(rand, 4) > 1e-2
