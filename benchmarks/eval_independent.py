"""Generalisation check on scenes our simulator did not make: the shipped models and the classic
intensity-vector estimator on independently simulated HOA scenes.

Independent of audiolrp's scene generator in every part that could leak into training:

* rooms: pyroomacoustics' image-source model (``ShoeBox``, Sabine absorption and reflection
  order from ``inverse_sabine``), each visible image source encoded as a plane wave from its
  direction into SN3D/ACN Ambisonics (order 2, or the highest order of the models) with a
  windowed-sinc fractional delay and ``1 / (4 pi r)`` spreading; no stochastic late tail;
* sources at uniformly random (off-grid) directions, 1-3 m away, the error measured against the
  exact direction;
* noise: four reverberant point sources of pink noise in the same room (not diffuse babble) plus
  white sensor noise 30 dB below them, 10-20 dB SNR on W;
* speech: the Debian corpus's *test* speakers (Italian and Dutch voices never used in training;
  needs ``audiolrp corpus debian``), or any ``--corpus``.

Prints mean / median error and the share within 10 deg for the classic estimator, each model,
and the 425-class grid floor (the nearest class to the truth).

Run: ``.venv/bin/python benchmarks/eval_independent.py [--n 200] [--seed 0] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

C_M_S = 343.0
FS = 16000
ORDER = 2  # scenes are rendered at least to this order (more when a model needs it)


def _render_sh_rir(
    images: np.ndarray, gains: np.ndarray, mic: np.ndarray, n_samples: int, order: int = ORDER
) -> np.ndarray:
    """``((order+1)^2, n_samples)`` SN3D RIR from image positions ``(3, N)`` and gains."""
    from audiolrp.signal.ambisonics import direction_from_vector, sh_matrix

    vec = images.T - mic[None]
    dist = np.linalg.norm(vec, axis=1)
    az, el = direction_from_vector(vec)
    y = sh_matrix(order, az, el)  # (N, K)
    amp = gains / (4 * np.pi * np.maximum(dist, 0.1))
    delay = dist / C_M_S * FS
    half = 40
    taps = np.arange(-half, half + 1)
    h = np.zeros((y.shape[1], n_samples + 2 * half + 2))
    start = np.floor(delay).astype(int)
    frac = delay - start
    keep = start + half + 1 < n_samples
    for s0, fr, a, yy in zip(start[keep], frac[keep], amp[keep], y[keep], strict=True):
        t = taps - fr
        kern = np.sinc(t) * (0.5 + 0.5 * np.cos(np.pi * t / (half + 1)))
        h[:, s0 : s0 + 2 * half + 1] += np.outer(a * yy, kern)
    return h[:, half : half + n_samples]


def _ism(room_dim, absorption, max_order, src, mic):  # noqa: ANN001, ANN202
    import pyroomacoustics as pra

    room = pra.ShoeBox(room_dim, fs=FS, materials=pra.Material(absorption), max_order=max_order)
    room.add_source(list(src))
    room.add_microphone(list(mic))
    room.image_source_model()
    s = room.sources[0]
    vis = room.visibility[0][0].astype(bool)
    return s.images[:, vis], s.damping[0, vis]


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size)
    spec[1:] /= np.sqrt(f[1:])
    x = np.fft.irfft(spec, n)
    return x / np.std(x)


def make_scene(
    i: int, seed: int, corpus, order: int = ORDER  # noqa: ANN001
) -> tuple[np.ndarray, float, float]:
    """One independent scene: order-``order`` mixture ``((order+1)^2, 16000)`` and the exact
    source direction. The channels of order <= 2 do not depend on ``order`` (the extra
    channels' sensor noise is drawn after every other draw)."""
    import pyroomacoustics as pra
    from scipy.signal import fftconvolve

    rng = np.random.default_rng([seed, i, 0x1DE9])
    while True:
        dim = rng.uniform([4.0, 3.0, 2.5], [9.0, 7.0, 3.5])
        mic = rng.uniform([0.6] * 3, dim - 0.6)
        v = rng.standard_normal(3)
        v /= np.linalg.norm(v)
        src = mic + rng.uniform(1.0, 3.0) * v
        if np.all(src > 0.3) and np.all(src < dim - 0.3):
            break
    rt60 = float(rng.uniform(0.25, 0.9))
    absorption, max_order = pra.inverse_sabine(rt60, dim)
    max_order = int(min(max_order, 12))
    n_rir = int(0.5 * FS)
    imgs, gains = _ism(dim, absorption, max_order, src, mic)
    rir = _render_sh_rir(imgs, gains, mic, n_rir, order)
    speech = np.asarray(corpus.sample_segment("test", rng, duration_s=1.5), np.float64)
    x = np.stack([fftconvolve(speech, h)[: speech.size] for h in rir])[:, -FS:]
    noise = np.zeros_like(x)
    for _ in range(4):
        pos = rng.uniform([0.3] * 3, dim - 0.3)
        imgs_n, gains_n = _ism(dim, absorption, min(max_order, 6), pos, mic)
        rir_n = _render_sh_rir(imgs_n, gains_n, mic, n_rir, order)
        s_n = _pink(rng, speech.size)
        noise += np.stack([fftconvolve(s_n, h)[: s_n.size] for h in rir_n])[:, -FS:]
    k2 = (ORDER + 1) ** 2
    sensor_rms = 10 ** (-30 / 20) * np.std(noise[0])
    noise[:k2] += sensor_rms * rng.standard_normal((k2, noise.shape[1]))
    snr_db = float(rng.uniform(10.0, 20.0))
    if len(noise) > k2:
        noise[k2:] += sensor_rms * rng.standard_normal((len(noise) - k2, noise.shape[1]))
    gain = math.sqrt(np.mean(x[0] ** 2) / (np.mean(noise[0] ** 2) * 10 ** (snr_db / 10)))
    mix = x + gain * noise
    mix *= 0.05 / math.sqrt(np.mean(mix[0] ** 2))
    az, el = math.atan2(v[1], v[0]), math.asin(float(np.clip(v[2], -1, 1)))
    return mix.astype(np.float32), az, el


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", default="debian")
    ap.add_argument("--models", default="intensity,hoa2")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from audiolrp.models import load
    from audiolrp.signal.ambisonics import angular_error_deg, doa_grid, nearest_class
    from audiolrp.signal.features import compute_features, intensity_vector_direction
    from audiolrp.simulation.scenes import get_corpus

    corpus = get_corpus(args.corpus, 0)
    models = {name: load(name) for name in args.models.split(",") if name}
    order = max([ORDER] + [lm.order for lm in models.values() if lm.feature == "hoa"])
    grid = doa_grid()
    errs: dict[str, list[float]] = {k: [] for k in ["classic", *models, "grid floor"]}
    t0 = time.perf_counter()
    for i in range(args.n):
        mix, az, el = make_scene(i, args.seed, corpus, order)
        baz, bel = intensity_vector_direction(mix[:4])
        errs["classic"].append(float(angular_error_deg(baz, bel, az, el)))
        cls = int(nearest_class(az, el))
        errs["grid floor"].append(float(angular_error_deg(grid[cls, 0], grid[cls, 1], az, el)))
        for name, lm in models.items():
            audio = mix[:4] if lm.feature == "intensity" else mix[: (lm.order + 1) ** 2]
            x = torch.as_tensor(compute_features(audio, lm.feature, lm.order))[None]
            with torch.no_grad():
                p = int(torch.softmax(lm.model(x), -1).mean(1)[0].argmax())
            errs[name].append(float(angular_error_deg(grid[p, 0], grid[p, 1], az, el)))
    summary = {
        k: {
            "mean_deg": float(np.mean(v)),
            "median_deg": float(np.median(v)),
            "within_10_deg": float(np.mean(np.asarray(v) <= 10.0)),
        }
        for k, v in errs.items()
    }
    elapsed = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"n": args.n, "seed": args.seed, "seconds": elapsed,
                          "summary": summary}, indent=1))
        return
    print(f"{args.n} independent scenes (pyroomacoustics ISM, off-grid, 10-20 dB, "
          f"{args.corpus} test speakers), {elapsed:.0f} s")
    print(f"{'estimator':14s} {'mean':>7s} {'median':>7s} {'<=10deg':>8s}")
    for k, s in summary.items():
        print(f"{k:14s} {s['mean_deg']:7.1f} {s['median_deg']:7.1f} {s['within_10_deg']:8.2f}")


if __name__ == "__main__":
    main()
