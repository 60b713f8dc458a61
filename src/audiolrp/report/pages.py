"""Report pages: explain one simulated clip (``audiolrp demo``) or one recording
(``audiolrp explain FILE``) with :mod:`audiolrp.app.pipeline` and write a self-contained report
folder.

Outputs of :func:`run_demo` / :func:`run_recording` in the output folder: ``report.html``
(figures and audio embedded), the figures as PNG, WAV files and ``results.json``.
"""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiolrp import __version__
from audiolrp.analysis.heatmaps import fig2_panels, relevance_map_label
from audiolrp.analysis.pixel_flipping import plot_pixel_flipping
from audiolrp.app.explainer import Explainer
from audiolrp.app.pipeline import (
    DEFAULT_MODEL,
    ClipAnalysis,
    _deg,
    _grid,
    _wrap_deg,
    analysis_dict,
    channel_relevance,
    prediction_dict,
)
from audiolrp.app.recordings import (
    get_window,
    order_from_channels,
    read_ambisonics,
    resample_to_model_rate,
    window_starts,
)
from audiolrp.audio_io import write_wav
from audiolrp.constants import (
    CLIP_SAMPLES,
    FS_HZ,
)
from audiolrp.errors import AudioLRPError
from audiolrp.io import write_json
from audiolrp.models import LoadedModel
from audiolrp.progress import Progress, progress_bar
from audiolrp.report.figures import channel_relevance_figure, doa_map_figure, timeline_figure
from audiolrp.report.html import (
    Audio,
    Block,
    Image,
    JsonBlock,
    Section,
    Table,
    Text,
    figure_png,
    wav_bytes,
    write_atomic,
    write_report,
)
from audiolrp.signal.ambisonics import angular_error_deg
from audiolrp.simulation import scenes


@dataclass
class ClipFigures:
    """PNG bytes of the per-clip figures."""

    doa_map: bytes
    panels: bytes
    channels: bytes
    flipping: bytes | None


def clip_figures(
    handle: LoadedModel,
    a: ClipAnalysis,
    audio: np.ndarray,
    direct: np.ndarray | None = None,
    true_rad: tuple[float, float] | None = None,
    title_suffix: str = "",
) -> ClipFigures:
    """Render the clip's figures: DOA map, Fig. 2 panels (channel W), channel relevance,
    pixel flipping."""

    doa = figure_png(
        doa_map_figure(
            a.probabilities, _grid(), true_rad, (a.azimuth_rad, a.elevation_rad),
            title=f"Clip DOA probability{title_suffix}",
        )
    )
    if a.heatmaps is None or a.channel_relevance is None:
        raise ValueError("clip_figures needs an explained clip (heatmaps, channel relevance)")
    filtered_w = a.filtered_audio[0] if a.filtered_audio is not None else None
    panels = figure_png(
        fig2_panels(
            audio[0],
            a.heatmaps[0],
            None if direct is None else direct[0],
            filtered_w,
            channel_label="Ambisonics channel 0 (W)",
            relevance_label=relevance_map_label(handle.feature),
        ),
        dpi=90,
    )
    channels = figure_png(channel_relevance_figure(a.channel_relevance, handle.channel_names))
    flipping = None
    if a.pixel_flipping is not None:
        n_ex = a.pixel_flipping["n_examples"]
        flipping = figure_png(
            plot_pixel_flipping(
                a.pixel_flipping["results"], band="se" if n_ex > 1 else "none",
                ylabel=f"{a.pixel_flipping.get('class_tracked', 'explained')}-class probability",
                title="Pixel flipping" + (f" (mean of {n_ex} scenes)" if n_ex > 1
                                          else " (this example)"),
            )
        )
    return ClipFigures(doa, panels, channels, flipping)


def clip_blocks(
    handle: LoadedModel,
    a: ClipAnalysis,
    figs: ClipFigures,
    audio: np.ndarray,
    direct: np.ndarray | None = None,
) -> dict[str, list[Any]]:
    """Report blocks of one clip, by section: ``doa``, ``heatmaps``, ``channels``, ``flipping``,
    ``listen``."""

    blocks: dict[str, list[Any]] = {}
    top = prediction_dict(a)["top"]
    blocks["doa"] = [
        Image(
            figs.doa_map,
            "Grey dots: the 425 DOA classes. Colour and size: clip probability (mean over the 50 "
            "frames of the frame softmax). Star: true direction; cross: predicted class.",
            alt="DOA probability map",
        ),
        Table(
            [
                (t["class"], f"{t['azimuth_deg']:.1f}", f"{t['elevation_deg']:.1f}",
                 f"{t['probability']:.4f}")
                for t in top
            ],
            header=("class", "azimuth (deg)", "elevation (deg)", "probability"),
            caption="Most probable classes",
        ),
    ]
    blocks["heatmaps"] = [
        Text(
            "Relevance of the predicted class's pre-softmax score, attributed to every "
            "time-frequency bin ("
            + (
                "magnitude + phase relevance of the W channel"
                if handle.feature == "hoa"
                else "relevance summed over the 6 intensity channels; they mix all four FOA "
                "channels, so one map serves them all and is drawn over the W channel"
            )
            + "; paper Fig. 2). Spectrograms are in dBp: dB relative to their own peak. "
            "Red: evidence for the predicted direction; blue: evidence against. Panels (c) and "
            "(d) compare the noise-free direct sound with the input filtered by the relevance "
            "(Eq. 3, 4)."
        ),
        Image(figs.panels, "Fig. 2-style panels for Ambisonics channel 0 (W).",
              alt="spectrograms and relevance heatmap"),
    ]
    names = handle.channel_names
    assert a.channel_relevance is not None
    total_abs = float(np.abs(a.channel_relevance).sum()) or 1.0
    blocks["channels"] = [
        Image(figs.channels, "Relevance summed over time and frequency per input channel "
              "(paper Fig. 3).", alt="channel relevance"),
        Table(
            [
                (n, f"{v:.4g}", f"{100 * abs(v) / total_abs:.1f} %")
                for n, v in zip(names, a.channel_relevance, strict=True)
            ],
            header=("channel", "relevance", "share of |relevance|"),
        ),
    ]
    if figs.flipping is not None:
        pf = a.pixel_flipping or {}
        if pf.get("class_tracked") == "true":
            scope = (f"{pf['n_examples']} simulated scenes (this one and the next seeds; "
                     "relevance and score of each scene's true class, mean and 95 % band)")
        else:
            scope = "this example (relevance and score of the explained class)"
        blocks["flipping"] = [
            Text(
                "Time-frequency bins are set to zero (the normalised zero), most relevant first "
                "(LRP) or in random order, in all input channels or in one channel group only; "
                "a faithful explanation makes the score fall faster than the random baseline "
                f"(paper Fig. 4). Computed on {scope}."
            ),
            Image(figs.flipping, "Score of the explained class versus removed bins.",
                  alt="pixel flipping curve"),
        ]
    listen: list[Block] = [Audio(wav_bytes(audio[0]), "input, W channel (noisy, reverberant)")]
    if direct is not None:
        listen.append(Audio(wav_bytes(direct[0]), "direct sound only, W channel (noise-free)"))
    if a.filtered_audio is not None:
        listen.append(
            Audio(wav_bytes(a.filtered_audio[0]), "relevance-filtered input, W channel (Eq. 3)")
        )
    listen.append(Text("Players are peak-normalised to -1 dBFS for listening."))
    blocks["listen"] = listen
    return blocks


def _write_png(path: Path, png: bytes) -> Path:

    return write_atomic(path, png)


def _write_wav(path: Path, audio: np.ndarray) -> Path:

    return write_wav(path, np.asarray(audio, dtype=np.float64), FS_HZ)


def _env() -> dict[str, Any]:

    return {
        "audiolrp": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def _model_dict(handle: LoadedModel) -> dict[str, Any]:
    metrics = handle.config.get("metrics") or {}
    return {
        "name": handle.name,
        "feature": handle.feature,
        "order": handle.order,
        "path": handle.path,
        "input_channels": len(handle.channel_names),
        "metrics": metrics,
    }


# ------------------------------------------------------------------------------------- demo
def _simulate(seed: int, order: int, snr_db: float | None, rt60_s: float | None) -> Any:
    """Simulate one reverberant noisy speech scene with :mod:`audiolrp.simulation.scenes`."""

    kwargs: dict[str, Any] = {"order": int(order)}
    for key, value in (("snr_db", snr_db), ("rt60_s", rt60_s)):
        if value is not None:
            kwargs[key] = (float(value), float(value))
    config = scenes.SceneConfig(**kwargs)
    return scenes.simulate_scene(config, seed, split="test")


def run_demo(
    out_dir: str | Path = "audiolrp-demo",
    model: str = DEFAULT_MODEL,
    seed: int = 0,
    order: int | None = None,
    snr_db: float | None = None,
    rt60_s: float | None = None,
    pixel_flipping: bool = True,
    quiet: bool = False,
    pixel_flipping_scenes: int = 4,
) -> dict[str, Any]:
    """Simulate, predict, explain and analyse one scene; write the report folder.

    Pixel flipping runs on ``pixel_flipping_scenes`` scenes (this one and the next seeds),
    explaining and tracking each scene's true class as in the paper's Fig. 4.

    Returns the ``results.json`` content (also written to ``out_dir/results.json``).
    """

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AudioLRPError(f"{out} exists and is not a folder: pass another --out")
    prog = Progress(6 + int(pixel_flipping), enabled=not quiet)
    with prog.step(f"loading model {model!r}", "load_model"):
        ex = Explainer.load(model)
    handle = ex.model
    need_order = ex.order
    scene_order = need_order if order is None else int(order)
    if scene_order < 1 or scene_order > 4:
        raise AudioLRPError(f"--order {scene_order} is out of range: pass 1 to 4")
    if scene_order < need_order:
        raise AudioLRPError(
            f"--order {scene_order} is too low: the {handle.name} model needs order >= "
            f"{need_order}"
        )
    with prog.step(f"simulating a reverberant noisy speech scene (seed {seed})", "simulate"):
        scene = _simulate(seed, scene_order, snr_db, rt60_s)
    audio = np.asarray(scene.mixture, dtype=np.float64)
    direct = np.asarray(scene.direct, dtype=np.float64)
    k = ex.n_audio_channels
    with prog.step("computing features and predicting the DOA", "predict"):
        feats = ex.features(audio)
    a = ex.analyse(audio, features=feats, pixel_flipping=False, seed=seed, progress=prog)
    if pixel_flipping:
        n_pf = max(1, int(pixel_flipping_scenes))
        with prog.step(f"pixel flipping on {n_pf} scene(s)", "pixel_flipping"):
            xs, labels = [feats], [int(scene.label)]
            for j in range(1, n_pf):
                extra = _simulate(seed + j, scene_order, snr_db, rt60_s)
                xs.append(ex.features(np.asarray(extra.mixture, dtype=np.float64)))
                labels.append(int(extra.label))
            x_pf = np.stack(xs)
            r_pf, _ = ex.explain(x_pf, labels)
            a.pixel_flipping = ex.pixel_flipping(x_pf, r_pf, labels, seed=seed)
            a.pixel_flipping["class_tracked"] = "true"
            a.pixel_flipping["seeds"] = [seed + j for j in range(n_pf)]
            a.pixel_flipping["score"] = (
                "clip probability of each scene's true DOA class (relevance of the true class), "
                "mean over scenes"
            )
    true_rad = (float(scene.azimuth_rad), float(scene.elevation_rad))

    err_deg = float(angular_error_deg(a.azimuth_rad, a.elevation_rad, *true_rad))
    with prog.step("rendering figures and writing the report", "report"):
        figs = clip_figures(handle, a, audio, direct, true_rad)
        blocks = clip_blocks(handle, a, figs, audio, direct)
        out.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}
        for name, png in (
            ("doa_map.png", figs.doa_map),
            ("fig2_panels.png", figs.panels),
            ("channel_relevance.png", figs.channels),
            ("pixel_flipping.png", figs.flipping),
        ):
            if png is not None:
                _write_png(out / name, png)
                files[name.removesuffix(".png")] = name
        _write_wav(out / "input_W.wav", audio[0])
        _write_wav(out / "direct_W.wav", direct[0])
        files.update(input_audio="input_W.wav", direct_audio="direct_W.wav")
        if a.filtered_audio is not None:
            _write_wav(out / "relevance_filtered_W.wav", a.filtered_audio[0])
            _write_wav(out / "relevance_filtered_ambix.wav", a.filtered_audio[:k])
            files.update(
                filtered_audio="relevance_filtered_W.wav",
                filtered_ambix="relevance_filtered_ambix.wav",
            )
        params = _scene_params(scene)
        results: dict[str, Any] = {
            "command": "demo",
            "model": _model_dict(handle),
            "scene": {"seed": seed, "order": scene_order, "label": int(scene.label), **params},
            "truth": {
                "class": int(scene.label),
                "azimuth_deg": _wrap_deg(np.degrees(true_rad[0])),
                "elevation_deg": _deg(true_rad[1]),
            },
            "prediction": prediction_dict(a),
            "angular_error_deg": round(err_deg, 2),
            "relevance": analysis_dict(a, handle.channel_names),
            "files": {"report": "report.html", "results": "results.json", **files},
            "environment": _env(),
        }
        summary_rows = [
            ("model", f"{handle.name} ({handle.feature}, order {handle.order})"),
            ("true DOA", f"az {results['truth']['azimuth_deg']:.1f} deg, el "
             f"{results['truth']['elevation_deg']:.1f} deg (class {scene.label})"),
            ("predicted DOA", f"az {results['prediction']['azimuth_deg']:.1f} deg, el "
             f"{results['prediction']['elevation_deg']:.1f} deg (class {a.predicted_class}, "
             f"confidence {a.confidence:.3f})"),
            ("angular error", f"{err_deg:.1f} deg"),
            ("seed", seed),
        ] + [
            (str(k_), _fmt(v)) for k_, v in params.items()
            if k_ not in ("azimuth_rad", "elevation_rad", "label")
        ]
        sections = [
            Section("Scene and prediction", [Table(summary_rows, header=("", "value"))],
                    "summary"),
            Section("Predicted vs true DOA", blocks["doa"], "doa"),
            Section("Relevance heatmaps", blocks["heatmaps"], "heatmaps"),
            Section("Channel relevance", blocks["channels"], "channels"),
        ]
        if "flipping" in blocks:
            sections.append(Section("Pixel flipping", blocks["flipping"], "flipping"))
        sections.append(Section("Listen", blocks["listen"], "listen"))
        results["timing_s"] = dict(prog.timings)
        results["timing_s"]["total"] = round(prog.elapsed_s(), 3)
        sections.append(
            Section("Results", [Text("Machine-readable summary (also in results.json)."),
                                JsonBlock(results)], "results")
        )
        write_report(
            out / "report.html",
            "audiolrp demo: explaining a DOA prediction with LRP",
            sections,
            subtitle=(
                "Simulated reverberant, noisy speech scene; CRNN DOA classifier; Layer-wise "
                "Relevance Propagation and the audio analyses of Kiyan et al."
            ),
            footer="Generated by audiolrp demo. Works offline: all figures and audio embedded.",
        )
    results["timing_s"]["total"] = round(prog.elapsed_s(), 3)
    write_json(out / "results.json", results, ensure_ascii=False)  # once, with the final timing
    results["output_dir"] = str(out)
    return results


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list | tuple) and v and all(isinstance(e, float) for e in v):
        return "(" + ", ".join(f"{e:.3g}" for e in v) + ")"
    return str(v)


def _scene_params(scene: Any) -> dict[str, Any]:
    """JSON-ready scene parameters (``scene.params``, NumPy values converted)."""
    params = getattr(scene, "params", None) or {}
    if not isinstance(params, dict):

        is_instance = dataclasses.is_dataclass(params) and not isinstance(params, type)
        params = dataclasses.asdict(params) if is_instance else {}
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, tuple):
            value = list(value)
        if isinstance(value, float | int | str | bool | list) or value is None:
            out[str(key)] = value
    return out


# ------------------------------------------------------------------------------ recordings
def default_recording_out_dir(path: str | Path) -> Path:
    """Output folder of :func:`run_recording` when none is given: ``./FILE-audiolrp``."""
    return Path(f"{Path(path).stem}-audiolrp")


def run_recording(
    path: str | Path,
    out_dir: str | Path | None = None,
    model: str = DEFAULT_MODEL,
    format: str = "ambix",
    hop_s: float = 0.5,
    windows: Sequence[int] | None = None,
    pixel_flipping: bool = True,
    quiet: bool = False,
    max_detailed: int = 3,
) -> dict[str, Any]:
    """Explain an Ambisonics recording window by window; write the report folder.

    1-s windows hop by ``hop_s``; each window is predicted and explained with LRP (channel
    relevance per window); the detailed analyses (Fig. 2 panels, pixel flipping,
    auralization) are made for ``windows`` (indices) or, by default, the most confident window.
    """

    path = Path(path)
    if not hop_s > 0 or not np.isfinite(hop_s):
        raise AudioLRPError(f"--hop-s {hop_s} is invalid: pass a positive number of seconds")
    out = Path(out_dir) if out_dir is not None else default_recording_out_dir(path)
    if out.exists() and not out.is_dir():
        raise AudioLRPError(f"{out} exists and is not a folder: pass another --out")
    prog = Progress(6, enabled=not quiet)
    with prog.step(f"loading model {model!r}", "load_model"):
        ex = Explainer.load(model)
    handle = ex.model
    with prog.step(f"reading {path.name}", "read"):
        signals, fs = read_ambisonics(
            path, format=format, model=(handle.feature, handle.order, handle.name)
        )
    n_file = signals.shape[1]
    duration_s = n_file / fs
    k = ex.n_audio_channels
    sig16 = resample_to_model_rate(signals[:k], fs)
    hop = max(1, int(round(hop_s * FS_HZ)))
    starts = window_starts(sig16.shape[1], CLIP_SAMPLES, hop)
    n_win = int(starts.size)
    if windows:
        bad = [w for w in windows if not 0 <= int(w) < n_win]
        if bad:
            raise AudioLRPError(
                f"--windows {bad[0]} is out of range: {path.name} has {n_win} windows "
                f"(0..{n_win - 1})"
            )

    def window(i: int) -> np.ndarray:
        return get_window(sig16, int(starts[i]))

    def window_features(idx: Sequence[int]) -> np.ndarray:
        return ex.features(np.stack([window(i) for i in idx]))

    batch = 8
    with prog.step(f"predicting the DOA of {n_win} window(s)", "predict"):
        probs = np.concatenate([
            ex.predict(window_features(range(i, min(i + batch, n_win))))
            for i in range(0, n_win, batch)
        ])
        preds = probs.argmax(axis=1)
        conf = probs[np.arange(n_win), preds]
    chosen = [int(w) for w in windows] if windows else [int(np.argmax(conf))]
    chosen = list(dict.fromkeys(chosen))[: max(1, max_detailed) if not windows else None]
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    cr_all = np.empty((n_win, len(handle.channel_names)))
    total_rel = np.empty(n_win)
    method = ""
    with prog.step(f"explaining {n_win} window(s) with LRP", "lrp"):
        bar = progress_bar(n_win, enabled=not quiet and n_win > batch)
        for i in range(0, n_win, batch):
            idx = list(range(i, min(i + batch, n_win)))
            f = window_features(idx)
            r, method = ex.explain(f, preds[idx].tolist())
            for j, w in enumerate(idx):
                cr_all[w] = channel_relevance(r[j])
                total_rel[w] = float(r[j].sum())
                if w in chosen:
                    kept[w] = (f[j], r[j])
            bar(len(idx))
    grid = _grid()
    times = (starts + CLIP_SAMPLES / 2) / FS_HZ
    table_rows = []
    win_json = []
    for i in range(n_win):
        az = _wrap_deg(np.degrees(grid[preds[i], 0]))
        el = _deg(grid[preds[i], 1])
        win_json.append({
            "index": i,
            "start_s": round(float(starts[i] / FS_HZ), 4),
            "end_s": round(float(min(starts[i] + CLIP_SAMPLES, sig16.shape[1]) / FS_HZ), 4),
            "class": int(preds[i]),
            "azimuth_deg": az,
            "elevation_deg": el,
            "confidence": round(float(conf[i]), 6),
            "total_relevance": total_rel[i],
            "channel_relevance": {
                n: round(float(v), 6)
                for n, v in zip(handle.channel_names, cr_all[i], strict=True)
            },
        })
        table_rows.append((i, f"{starts[i] / FS_HZ:.2f}", f"{az:.1f}", f"{el:.1f}",
                           int(preds[i]), f"{conf[i]:.3f}",
                           "yes" if i in chosen else ""))
    detailed: list[dict[str, Any]] = []
    sections = []
    files: dict[str, str] = {}
    with prog.step(f"detailed analysis of window(s) {', '.join(map(str, chosen))}", "detail"):
        out.mkdir(parents=True, exist_ok=True)
        for w in chosen:
            audio_w = window(w)
            a = ex.analyse(audio_w, features=kept[w][0], relevance=kept[w][1],
                             pixel_flipping=pixel_flipping, seed=w)
            a.relevance_method = method
            figs = clip_figures(handle, a, audio_w, None, None,
                                title_suffix=f", window {w} ({starts[w] / FS_HZ:.2f} s)")
            blocks = clip_blocks(handle, a, figs, audio_w, None)
            stem = f"window{w:03d}"
            for name, png in (("doa_map", figs.doa_map), ("fig2_panels", figs.panels),
                              ("channel_relevance", figs.channels),
                              ("pixel_flipping", figs.flipping)):
                if png is not None:
                    _write_png(out / f"{stem}_{name}.png", png)
                    files[f"{stem}_{name}"] = f"{stem}_{name}.png"
            _write_wav(out / f"{stem}_input_W.wav", audio_w[0])
            files[f"{stem}_input_audio"] = f"{stem}_input_W.wav"
            if a.filtered_audio is not None:
                _write_wav(out / f"{stem}_relevance_filtered_W.wav", a.filtered_audio[0])
                files[f"{stem}_filtered_audio"] = f"{stem}_relevance_filtered_W.wav"
            detailed.append({"window": w, "prediction": prediction_dict(a),
                             **analysis_dict(a, handle.channel_names)})
            body: list[Block] = [Text(f"Window {w}: {starts[w] / FS_HZ:.2f} s to "
                         f"{(starts[w] + CLIP_SAMPLES) / FS_HZ:.2f} s.")]
            for key in ("doa", "heatmaps", "channels", "flipping", "listen"):
                body += blocks.get(key, [])
            sections.append(Section(f"Window {w} in detail", body, f"window{w}"))
    with prog.step("writing the report", "report"):
        tl = figure_png(timeline_figure(times, grid[preds, 0], grid[preds, 1], conf, chosen))
        _write_png(out / "timeline.png", tl)
        files["timeline"] = "timeline.png"
        results: dict[str, Any] = {
            "command": "explain",
            "file": str(path),
            "format": format,
            "sample_rate_hz": int(fs),
            "resampled_to_hz": FS_HZ,
            "duration_s": round(duration_s, 4),
            "channels": int(signals.shape[0]),
            "model": _model_dict(handle),
            "hop_s": hop / FS_HZ,
            "relevance_method": method,
            "windows": win_json,
            "detailed": detailed,
            "files": {"report": "report.html", "results": "results.json", **files},
            "environment": _env(),
        }

        summary = [
            ("file", path.name),
            ("format", f"{format} ({signals.shape[0]} channels, order "
             f"{order_from_channels(signals.shape[0])})"),
            ("sample rate", f"{fs} Hz" + (" (resampled to 16 kHz)" if fs != FS_HZ else "")),
            ("duration", f"{duration_s:.2f} s"),
            ("model", f"{handle.name} ({handle.feature}, order {handle.order})"),
            ("windows", f"{n_win} x 1 s, hop {hop / FS_HZ:.2f} s"),
        ]
        if duration_s < 1.0:
            summary.append(("note", "recording shorter than 1 s: zero-padded to one window"))
        head = [
            Section("Recording", [Table(summary, header=("", "value"))], "summary"),
            Section("DOA over time", [
                Image(tl, "Predicted azimuth and elevation per 1-s window (colour: confidence, "
                      "the clip probability of the predicted class); circled: windows analysed "
                      "in detail below.", alt="DOA timeline"),
                Table(table_rows, header=("window", "start (s)", "azimuth (deg)",
                                          "elevation (deg)", "class", "confidence",
                                          "detailed")),
            ], "timeline"),
        ]
        results["timing_s"] = dict(prog.timings)
        results["timing_s"]["total"] = round(prog.elapsed_s(), 3)
        tail = [Section("Results", [Text("Machine-readable summary (also in results.json)."),
                                    JsonBlock(results)], "results")]
        write_report(
            out / "report.html",
            f"audiolrp explain: {path.name}",
            head + sections + tail,
            subtitle="DOA estimates of an Ambisonics recording explained with Layer-wise "
            "Relevance Propagation.",
            footer="Generated by audiolrp explain. Works offline: all figures and audio embedded.",
        )
    results["timing_s"]["total"] = round(prog.elapsed_s(), 3)
    write_json(out / "results.json", results, ensure_ascii=False)  # once, with the final timing
    results["output_dir"] = str(out)
    return results


__all__ = [
    "ClipFigures",
    "clip_blocks",
    "clip_figures",
    "default_recording_out_dir",
    "run_demo",
    "run_recording",
]
