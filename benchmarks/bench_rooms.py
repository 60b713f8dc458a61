"""Benchmark: order-4 HOA RIR (audiolrp.simulation.rooms) vs pyroomacoustics' single omni ISM RIR.

For several rooms and target RT60s (0.2 - 1.0 s) this prints the median wall time of

* ``audiolrp.simulation.rooms.simulate_hoa_rir(..., order=4)`` - 25 ACN/SN3D channels, image
sources up to
  the mixing time + diffuse exponential tail;
* pyroomacoustics ``ShoeBox`` + ``compute_rir()`` - ONE omnidirectional channel, image sources
  with absorption and ``max_order`` from ``pra.inverse_sabine`` (its documented recipe),

their ratio, and the RT60 measured on both responses by Schroeder backward integration (T30,
-5..-35 dB; W channel for ours) against the target.

Run: ``.venv/bin/python benchmarks/bench_rooms.py`` (about a minute on one core).
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np

from audiolrp.simulation.rooms import measure_rt60, simulate_hoa_rir

FS = 16000
CASES = [
    ((6.0, 4.0, 3.0), (1.5, 1.2, 1.4), (4.1, 2.7, 1.6)),
    ((10.0, 3.0, 3.0), (1.0, 1.0, 1.5), (8.5, 2.0, 1.2)),
    ((4.0, 3.5, 2.6), (1.0, 1.0, 1.2), (2.8, 2.5, 1.5)),
    ((8.0, 6.0, 3.5), (2.0, 2.0, 1.5), (5.5, 4.2, 1.6)),
]
RT60S = (0.2, 0.4, 0.6, 0.8, 1.0)


def _median_time(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    warnings.filterwarnings("ignore")
    import pyroomacoustics as pra

    header = (
        f"{'room (m)':>16} {'RT60':>5} | {'ours ms':>8} {'pra ms':>8} {'pra/ours':>8} | "
        f"{'T30 ours':>8} {'err':>6} | {'T30 pra':>8} {'err':>6} {'pra order':>9}"
    )
    print(header)
    print("-" * len(header))
    ratios, err_ours, err_pra = [], [], []
    for room, src, rec in CASES:
        for rt60 in RT60S:

            def ours(room=room, src=src, rec=rec, rt60=rt60):
                return simulate_hoa_rir(room, src, rec, rt60, order=4, fs_hz=FS, seed=1)

            t_ours, r = _median_time(ours, repeats=7)
            e_abs, max_order = pra.inverse_sabine(rt60, list(room))

            def theirs(room=room, src=src, rec=rec, e_abs=e_abs, max_order=max_order):
                shoebox = pra.ShoeBox(
                    list(room), fs=FS, materials=pra.Material(e_abs), max_order=max_order
                )
                shoebox.add_source(list(src))
                shoebox.add_microphone(np.array(rec)[:, None])
                shoebox.compute_rir()
                return shoebox.rir[0][0]

            t_pra, h_pra = _median_time(theirs, repeats=3)
            m_ours = measure_rt60(r.full[0], FS)
            m_pra = measure_rt60(h_pra, FS)
            ratios.append(t_pra / t_ours)
            err_ours.append(m_ours / rt60 - 1)
            err_pra.append(m_pra / rt60 - 1)
            print(
                f"{str(room):>16} {rt60:5.2f} | {1e3 * t_ours:8.2f} {1e3 * t_pra:8.2f} "
                f"{t_pra / t_ours:8.1f} | {m_ours:8.3f} {100 * (m_ours / rt60 - 1):+5.1f}% | "
                f"{m_pra:8.3f} {100 * (m_pra / rt60 - 1):+5.1f}% {max_order:9d}"
            )
    print("-" * len(header))
    print(
        f"speed-up pra/ours: median {statistics.median(ratios):.1f}x, min {min(ratios):.1f}x; "
        f"|T30 error| ours: max {100 * max(map(abs, err_ours)):.1f}%, "
        f"pra: max {100 * max(map(abs, err_pra)):.1f}%"
    )


if __name__ == "__main__":
    main()
