"""The spherical t-designs shipped as package data (``audiolrp/signal/tdesigns.json``).

The check is independent of the library's spherical harmonics: a t-design's equal-weight mean
of every monomial ``x^a y^b z^c`` of degree ``a + b + c <= t`` equals the monomial's mean over
the unit sphere, ``(a-1)!! (b-1)!! (c-1)!! / (a+b+c+1)!!`` when a, b, c are all even and 0
otherwise. The stored numbers (read as they are, before any normalisation) meet this and are
unit vectors to rounding (about 1e-16); corrupting any coordinate by 1e-12 of its value breaks
one of the two checks, and a checksum of the float64 values pins them bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from audiolrp.signal import ambisonics as A

#: Point count of each stored degree (Hardin & Sloane's table).
SIZES = {2: 4, 3: 6, 5: 12, 7: 24, 8: 36, 9: 48, 10: 60}
#: Largest allowed deviation (the stored designs reach about 1.3e-16).
TOL = 1e-15
#: sha256 over the degrees in order: ``str(t)`` then the ``(P, 3)`` little-endian float64 bytes.
SHA256 = "2e0308c31311f4d7b12d508da1232339fabbe3617adc904033b99c1bd3e973cc"


def _stored() -> dict[int, np.ndarray]:
    """The designs as written in the JSON file, parsed here without the library's loader."""
    text = resources.files("audiolrp.signal").joinpath("tdesigns.json").read_text("utf-8")
    return {int(t): np.array(p, dtype=np.float64) for t, p in json.loads(text)["designs"].items()}


def _double_factorial(n: int) -> int:
    out = 1
    while n > 1:
        out *= n
        n -= 2
    return out


def _sphere_mean(a: int, b: int, c: int) -> float:
    """Mean of ``x^a y^b z^c`` over the unit sphere."""
    if a % 2 or b % 2 or c % 2:
        return 0.0
    num = _double_factorial(a - 1) * _double_factorial(b - 1) * _double_factorial(c - 1)
    return num / _double_factorial(a + b + c + 1)


def _design_error(points: np.ndarray, degree: int) -> float:
    """Largest of: ``| |x_j| - 1 |`` and the error of the equal-weight cubature of every
    monomial of degree <= ``degree`` (explicit loops over the exponents)."""
    err = float(np.abs(np.linalg.norm(points, axis=1) - 1.0).max())
    x, y, z = points.T
    for a in range(degree + 1):
        for b in range(degree + 1 - a):
            for c in range(degree + 1 - a - b):
                mean = float(np.mean(x**a * y**b * z**c))
                err = max(err, abs(mean - _sphere_mean(a, b, c)))
    return err


def test_sphere_means_of_the_oracle() -> None:
    assert _sphere_mean(0, 0, 0) == 1.0
    assert _sphere_mean(2, 0, 0) == pytest.approx(1 / 3)
    assert _sphere_mean(4, 0, 0) == pytest.approx(1 / 5)
    assert _sphere_mean(2, 2, 0) == pytest.approx(1 / 15)
    assert _sphere_mean(2, 2, 2) == pytest.approx(1 / 105)
    assert _sphere_mean(1, 2, 0) == 0.0


def test_stored_degrees_and_sizes() -> None:
    stored = _stored()
    assert {t: len(p) for t, p in stored.items()} == SIZES
    assert A.spherical_t_design_degrees() == tuple(sorted(SIZES))
    for t, pts in stored.items():
        assert pts.shape == (SIZES[t], 3)


@pytest.mark.parametrize("degree", sorted(SIZES))
def test_stored_designs_are_exact_t_designs(degree: int) -> None:
    pts = _stored()[degree]
    assert _design_error(pts, degree) < TOL
    # and not designs of the next degree: the check can tell the difference
    assert _design_error(pts, degree + 1) > 1e-5


@pytest.mark.parametrize("degree", sorted(SIZES))
def test_a_corrupted_number_fails_the_check(degree: int) -> None:
    pts = _stored()[degree]
    for j, axis in ((0, 0), (len(pts) // 2, 1), (len(pts) - 1, 2)):
        bad = pts.copy()
        bad[j, axis] *= 1.0 + 1e-12
        assert _design_error(bad, degree) > TOL, (j, axis)


def test_stored_numbers_are_pinned() -> None:
    h = hashlib.sha256()
    for t, pts in sorted(_stored().items()):
        h.update(str(t).encode())
        h.update(np.ascontiguousarray(pts, dtype="<f8").tobytes())
    assert h.hexdigest() == SHA256


def test_library_returns_the_stored_designs() -> None:
    stored = _stored()
    for t in range(0, 11):
        got = A.spherical_t_design(t)
        want_t = min(k for k in stored if k >= max(t, 1))
        want = stored[want_t] / np.linalg.norm(stored[want_t], axis=1, keepdims=True)
        np.testing.assert_array_equal(got, want)


def test_designs_are_read_once_and_not_shared_mutably() -> None:
    A._designs_xyz.cache_clear()
    for t in (2, 8, 10, 8):
        A.spherical_t_design(t)
    A.spherical_t_design_degrees()
    info = A._designs_xyz.cache_info()
    assert (info.misses, info.currsize) == (1, 1)
    cached = A._designs_xyz()[8]
    assert not cached.flags.writeable
    out = A.spherical_t_design(8)
    out[0, 0] = 5.0  # the caller's copy
    assert cached[0, 0] != 5.0
    assert A.spherical_t_design(8)[0, 0] != 5.0


def test_designs_file_is_package_data() -> None:
    root = Path(__file__).resolve().parents[1]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["setuptools"]["package-data"]["audiolrp"]
    assert f"signal/{A.TDESIGNS_FILE}" in shipped
    assert (root / "src/audiolrp/signal" / A.TDESIGNS_FILE).is_file()
