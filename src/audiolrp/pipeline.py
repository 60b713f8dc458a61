"""End-to-end orchestration: explain one simulated clip (``audiolrp demo``) or one recording
(``audiolrp explain FILE``) and write a self-contained report folder.

For one 1-s clip the steps are those of the paper:

1. features (HOA magnitude/phase or active/reactive intensity; section "Experimental Setup"),
2. DOA prediction: clip probabilities = mean over the 50 frames of the frame softmax,
3. LRP relevance of the predicted class's pre-softmax score (paper composite: alpha1-beta0
   for convolutions, epsilon = 0.01 for dense and LSTM layers; Eq. 2 and its variants),
4. channel relevance (relevance summed over time and frequency per input channel; Fig. 3),
5. pixel flipping (time-frequency bins zeroed in order of relevance while the explained
   class's score is tracked; Fig. 4),
6. auralization (relevance-filtered input, Eq. 3 and Eq. 4; Fig. 2(d)).

Outputs of :func:`run_demo` / :func:`run_recording` in the output folder: ``report.html``
(figures and audio embedded), the figures as PNG, WAV files and ``results.json``.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch

from audiolrp.constants import (
    CLIP_SAMPLES,
    FS_HZ,
    INTENSITY_CHANNEL_NAMES,
    hoa_feature_channel_names,
)
from audiolrp.errors import AudioLRPError

DEFAULT_MODEL = "intensity"
PIXEL_FLIPPING_STEPS = 10


# ------------------------------------------------------------------------------------ progress
class Progress:
    """Step messages with timings on a text stream (stderr by default; silent when disabled).

    Parameters
    ----------
    total
        Number of steps announced, for the ``[i/total]`` prefix.
    enabled
        Print nothing when ``False``.
    stream
        Where messages go (stderr keeps ``--json`` stdout clean).
    """

    def __init__(self, total: int, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.index = 0
        self.t0 = time.perf_counter()
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, message: str, key: str | None = None) -> Iterator[None]:
        self.index += 1
        t = time.perf_counter()
        if self.enabled:
            print(f"[{self.index}/{self.total}] {message} ...", file=self.stream, flush=True)
        yield
        dt = time.perf_counter() - t
        self.timings[key or message] = round(dt, 3)
        if self.enabled:
            print(f"      done in {dt:.1f} s", file=self.stream, flush=True)

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.t0


def _bar(total: int, enabled: bool) -> Any:
    """A tqdm progress bar on stderr (or a no-op); call the result with the increment."""
    if not enabled:
        return lambda n: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="window", file=sys.stderr, leave=False)

    def update(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return update


# ------------------------------------------------------------------------------------- models
@dataclass
class ModelHandle:
    """A model plus what the pipeline needs to know about it."""

    model: torch.nn.Module
    name: str
    feature: str
    order: int
    path: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def channel_names(self) -> tuple[str, ...]:
        if self.feature == "intensity":
            return INTENSITY_CHANNEL_NAMES
        return hoa_feature_channel_names(self.order)


def load_model(name_or_path: str) -> ModelHandle:
    """Load a shipped model by name (``"hoa2"``, ``"intensity"``) or a saved model by path."""
    from audiolrp.models import load

    loaded = load(name_or_path)
    feature = str(loaded.config.get("feature"))
    order = 1 if feature == "intensity" else int(loaded.config.get("order"))
    model = loaded.model.eval()
    return ModelHandle(model, loaded.name, feature, order, str(loaded.path), dict(loaded.config))


# ----------------------------------------------------------------------------- clip analysis
@dataclass
class ClipAnalysis:
    """Everything computed for one 1-s clip (arrays are NumPy, one example)."""

    features: np.ndarray  # (C, 50, 512)
    frame_scores: np.ndarray  # (50, 425) pre-softmax
    probabilities: np.ndarray  # (425,) mean frame softmax
    predicted_class: int
    confidence: float
    azimuth_rad: float
    elevation_rad: float
    target_class: int
    relevance: np.ndarray | None = None  # (C, 50, 512)
    relevance_method: str = ""
    channel_relevance: np.ndarray | None = None  # (C,)
    heatmaps: np.ndarray | None = None  # (K_audio, 50, 512)
    pixel_flipping: dict[str, Any] | None = None
    filtered_audio: np.ndarray | None = None  # (K_audio, 16000)


def _grid() -> np.ndarray:
    from audiolrp.ambisonics import doa_grid

    return np.asarray(doa_grid(), dtype=np.float64)


def predict(
    handle: ModelHandle, x: np.ndarray, batch_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Frame scores ``(B, 50, 425)`` and clip probabilities ``(B, 425)`` for features ``x``.

    Clip probabilities are the mean over frames of the frame softmax
    (:func:`audiolrp.models.clip_probabilities`).
    """
    from audiolrp.models import clip_probabilities

    scores, probs = [], []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            s = handle.model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size])))
            scores.append(s.numpy())
            probs.append(clip_probabilities(s).numpy())
    return np.concatenate(scores), np.concatenate(probs)


def explain_relevance(
    handle: ModelHandle, x: np.ndarray, targets: Sequence[int]
) -> tuple[np.ndarray, str]:
    """LRP relevance ``(B, C, 50, 512)`` of the pre-softmax scores of ``targets`` (paper composite).

    Uses :func:`audiolrp.lrp.explain` (``composite="paper"``: LRP-alpha1beta0 for convolutions,
    LRP-epsilon 0.01 for dense and LSTM layers).
    """
    from audiolrp import lrp

    xt = torch.from_numpy(np.ascontiguousarray(x))
    tgt = torch.as_tensor(list(targets), dtype=torch.long)
    explanation = lrp.explain(handle.model, xt, target=tgt, composite="paper")
    rel = explanation.relevance
    rel = rel.detach().cpu().numpy() if hasattr(rel, "detach") else np.asarray(rel)
    return rel.astype(np.float64), "LRP (paper composite)"


def channel_relevance(relevance: np.ndarray) -> np.ndarray:
    """Signed relevance per input channel, summed over time and frequency (paper Fig. 3), ``(C,)``.

    Uses :func:`audiolrp.analysis.channel_relevance.channel_relevance` (``absolute=False``).
    """
    from audiolrp.analysis.channel_relevance import channel_relevance as cr

    return np.asarray(cr(relevance, absolute=False), dtype=np.float64)


def pixel_flipping_curves(
    handle: ModelHandle,
    x: np.ndarray,
    relevance: np.ndarray,
    labels: Sequence[int],
    n_steps: int = PIXEL_FLIPPING_STEPS,
    seed: int = 0,
    groups: bool = True,
) -> dict[str, Any]:
    """Pixel flipping (paper Fig. 4, a short version) on one or a few examples.

    Runs :func:`audiolrp.analysis.pixel_flipping.pixel_flipping`: time-frequency bins ranked by
    relevance (summed over the perturbed channels) are set to the normalised zero in ``n_steps``
    equal steps up to 100 %, while the clip probability of ``labels`` is tracked. Curves: all
    channels most relevant first (LRP) and in a seeded random order; with ``groups``, also the
    paper's channel groups, most relevant first: active / reactive intensity for the intensity
    model, magnitude / phase channels for HOA models.

    Parameters
    ----------
    x, relevance
        ``(N, C, T, F)`` inputs and their relevance (``(C, T, F)`` for one example).
    labels
        Class per example whose probability is tracked (the explained class).

    Returns
    -------
    dict
        ``fractions``, ``curves`` (name -> mean scores), ``aopc`` (name -> AOPC),
        ``n_examples`` and the settings; ``results`` holds the
        :class:`~audiolrp.analysis.pixel_flipping.PixelFlippingResult` objects (dropped from
        JSON by the callers).
    """
    from audiolrp.analysis.pixel_flipping import (
        INTENSITY_GROUPS,
        hoa_channel_groups,
        pixel_flipping,
    )

    if x.ndim == 3:
        x, relevance = x[None], relevance[None]
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    r32 = np.ascontiguousarray(relevance, dtype=np.float32)
    runs: dict[str, tuple[str, tuple[int, ...] | None]] = {
        "all channels, most relevant first (LRP)": ("most_relevant", None),
        "all channels, random order": ("random", None),
    }
    if groups:
        if handle.feature == "intensity":
            named = {"active intensity": INTENSITY_GROUPS["active"],
                     "reactive intensity": INTENSITY_GROUPS["reactive"]}
        else:
            g = hoa_channel_groups(handle.order)
            named = {"magnitude channels": g["magnitude"], "phase channels": g["phase"]}
        for name, channels in named.items():
            runs[f"{name} only, most relevant first"] = ("most_relevant", channels)
    results = {
        name: pixel_flipping(
            handle.model, x32, r32, list(labels), n_steps=n_steps,
            order=order, channels=channels, seed=seed,  # type: ignore[arg-type]
        )
        for name, (order, channels) in runs.items()
    }
    first = next(iter(results.values()))
    return {
        "n_examples": int(x32.shape[0]),
        "fractions": [float(v) for v in first.fractions],
        "curves": {k: [float(v) for v in r.mean] for k, r in results.items()},
        "aopc": {k: round(r.aopc, 6) for k, r in results.items()},
        "score": "clip probability of the explained class (mean over examples)",
        "perturbation": f"time-frequency bins set to baseline '{first.baseline}'",
        "results": results,
    }


def analyse_clip(
    handle: ModelHandle,
    audio: np.ndarray,
    *,
    features: np.ndarray | None = None,
    relevance: np.ndarray | None = None,
    pixel_flipping: bool = True,
    pixel_flipping_steps: int = PIXEL_FLIPPING_STEPS,
    auralize: bool = True,
    seed: int = 0,
    progress: Progress | None = None,
) -> ClipAnalysis:
    """Predict, explain and analyse one 1-s AmbiX clip ``(n_sh, 16000)`` at 16 kHz.

    ``features`` / ``relevance`` may be passed when already computed (e.g. batched over the
    windows of a recording).
    """
    from audiolrp.recordings import required_channels, to_model_input

    prog = progress or Progress(0, enabled=False)
    if features is None:
        features = to_model_input(audio, handle.feature, handle.order)
    scores, probs = predict(handle, features[None])
    p = probs[0]
    pred = int(np.argmax(p))
    grid = _grid()
    res = ClipAnalysis(
        features=features,
        frame_scores=scores[0],
        probabilities=p,
        predicted_class=pred,
        confidence=float(p[pred]),
        azimuth_rad=float(grid[pred, 0]),
        elevation_rad=float(grid[pred, 1]),
        target_class=pred,
    )
    if relevance is None:
        with prog.step("explaining the prediction with LRP", "lrp"):
            rel, method = explain_relevance(handle, features[None], [pred])
            relevance = rel[0]
            res.relevance_method = method
    else:
        res.relevance_method = "LRP (paper composite)"
    res.relevance = np.asarray(relevance, dtype=np.float64)
    res.channel_relevance = channel_relevance(res.relevance)
    from audiolrp.analysis.heatmaps import audio_channel_heatmaps

    res.heatmaps = audio_channel_heatmaps(res.relevance, handle.feature, handle.order)
    if pixel_flipping:
        with prog.step("pixel flipping", "pixel_flipping"):
            res.pixel_flipping = pixel_flipping_curves(
                handle, features, res.relevance, [pred], pixel_flipping_steps, seed
            )
    if auralize:
        with prog.step("auralizing the relevance (Eq. 3, 4)", "auralization"):
            from audiolrp.analysis.auralization import auralize as aur

            k = required_channels(handle.feature, handle.order)
            res.filtered_audio = np.asarray(aur(audio[:k], res.heatmaps[:k]), dtype=np.float64)
    return res


# ------------------------------------------------------------------------------- report parts
def _deg(x_rad: float) -> float:
    return round(float(np.degrees(x_rad)), 2)


def _wrap_deg(x_deg: float) -> float:
    return round((float(x_deg) + 180.0) % 360.0 - 180.0, 2)


def prediction_dict(a: ClipAnalysis, top_k: int = 5) -> dict[str, Any]:
    """JSON-ready prediction summary of a clip."""
    grid = _grid()
    top = np.argsort(-a.probabilities)[:top_k]
    return {
        "class": a.predicted_class,
        "azimuth_deg": _wrap_deg(np.degrees(a.azimuth_rad)),
        "elevation_deg": _deg(a.elevation_rad),
        "confidence": round(a.confidence, 6),
        "top": [
            {
                "class": int(i),
                "azimuth_deg": _wrap_deg(np.degrees(grid[i, 0])),
                "elevation_deg": _deg(grid[i, 1]),
                "probability": round(float(a.probabilities[i]), 6),
            }
            for i in top
        ],
    }


def analysis_dict(a: ClipAnalysis, names: Sequence[str]) -> dict[str, Any]:
    """JSON-ready relevance summary (channel relevance, pixel flipping)."""
    out: dict[str, Any] = {
        "method": a.relevance_method,
        "explained_class": a.target_class,
    }
    if a.relevance is not None:
        out["total_relevance"] = float(a.relevance.sum())
        out["explained_score"] = float(a.frame_scores[:, a.target_class].sum())
    if a.channel_relevance is not None:
        out["channel_relevance"] = {
            str(n): round(float(v), 6) for n, v in zip(names, a.channel_relevance, strict=True)
        }
    if a.pixel_flipping is not None:
        out["pixel_flipping"] = {k: v for k, v in a.pixel_flipping.items() if k != "results"}
    return out


@dataclass
class ClipFigures:
    """PNG bytes of the per-clip figures."""

    doa_map: bytes
    panels: bytes
    channels: bytes
    flipping: bytes | None


def clip_figures(
    handle: ModelHandle,
    a: ClipAnalysis,
    audio: np.ndarray,
    direct: np.ndarray | None = None,
    true_rad: tuple[float, float] | None = None,
    title_suffix: str = "",
) -> ClipFigures:
    """Render the clip's figures: DOA map, Fig. 2 panels (channel W), channel relevance,
    pixel flipping."""
    from audiolrp.analysis.heatmaps import fig2_panels, relevance_map_label
    from audiolrp.analysis.pixel_flipping import plot_pixel_flipping
    from audiolrp.report.figures import channel_relevance_figure, doa_map_figure
    from audiolrp.report.html import figure_png

    doa = figure_png(
        doa_map_figure(
            a.probabilities, _grid(), true_rad, (a.azimuth_rad, a.elevation_rad),
            title=f"Clip DOA probability{title_suffix}",
        )
    )
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
    handle: ModelHandle,
    a: ClipAnalysis,
    figs: ClipFigures,
    audio: np.ndarray,
    direct: np.ndarray | None = None,
) -> dict[str, list[Any]]:
    """Report blocks of one clip, by section: ``doa``, ``heatmaps``, ``channels``, ``flipping``,
    ``listen``."""
    from audiolrp.report.html import Audio, Image, Table, Text, wav_bytes

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
                else "relevance summed over the 6 intensity channels, shown for every FOA "
                "channel"
            )
            + "; paper Fig. 2). "
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
    listen = [Audio(wav_bytes(audio[0]), "input, W channel (noisy, reverberant)")]
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
    from audiolrp.report.html import write_atomic

    return write_atomic(path, png)


def _write_wav(path: Path, audio: np.ndarray) -> Path:
    from audiolrp.analysis.auralization import write_wav

    return write_wav(path, np.asarray(audio, dtype=np.float64), FS_HZ)


def _env() -> dict[str, Any]:
    from audiolrp import __version__

    return {
        "audiolrp": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def _model_dict(handle: ModelHandle) -> dict[str, Any]:
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
    """Simulate one reverberant noisy speech scene with :mod:`audiolrp.scenes`."""
    from audiolrp import scenes

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
    from audiolrp.recordings import required_channels
    from audiolrp.report.html import (
        JsonBlock,
        Section,
        Table,
        Text,
        json_dumps,
        write_atomic,
        write_report,
    )

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AudioLRPError(f"{out} exists and is not a folder: pass another --out")
    prog = Progress(6 + int(pixel_flipping), enabled=not quiet)
    with prog.step(f"loading model {model!r}", "load_model"):
        handle = load_model(model)
    need_order = handle.order
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
    k = required_channels(handle.feature, handle.order)
    with prog.step("computing features and predicting the DOA", "predict"):
        from audiolrp.recordings import to_model_input

        feats = to_model_input(audio, handle.feature, handle.order)
    a = analyse_clip(handle, audio, features=feats, pixel_flipping=False, seed=seed,
                     progress=prog)
    if pixel_flipping:
        n_pf = max(1, int(pixel_flipping_scenes))
        with prog.step(f"pixel flipping on {n_pf} scene(s)", "pixel_flipping"):
            xs, labels = [feats], [int(scene.label)]
            for j in range(1, n_pf):
                extra = _simulate(seed + j, scene_order, snr_db, rt60_s)
                xs.append(to_model_input(np.asarray(extra.mixture, dtype=np.float64),
                                         handle.feature, handle.order))
                labels.append(int(extra.label))
            x_pf = np.stack(xs)
            r_pf, _ = explain_relevance(handle, x_pf, labels)
            a.pixel_flipping = pixel_flipping_curves(handle, x_pf, r_pf, labels, seed=seed)
            a.pixel_flipping["class_tracked"] = "true"
            a.pixel_flipping["seeds"] = [seed + j for j in range(n_pf)]
            a.pixel_flipping["score"] = (
                "clip probability of each scene's true DOA class (relevance of the true class), "
                "mean over scenes"
            )
    true_rad = (float(scene.azimuth_rad), float(scene.elevation_rad))
    from audiolrp.ambisonics import angular_error_deg

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
        write_atomic(out / "results.json", json_dumps(results))
    results["timing_s"]["total"] = round(prog.elapsed_s(), 3)
    write_atomic(out / "results.json", json_dumps(results))
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
        import dataclasses

        params = dataclasses.asdict(params) if dataclasses.is_dataclass(params) else {}
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
    from audiolrp.recordings import (
        get_window,
        read_ambisonics,
        required_channels,
        resample_to_model_rate,
        to_model_input,
        window_starts,
    )
    from audiolrp.report.figures import timeline_figure
    from audiolrp.report.html import (
        Image,
        JsonBlock,
        Section,
        Table,
        Text,
        figure_png,
        json_dumps,
        write_atomic,
        write_report,
    )

    path = Path(path)
    if not hop_s > 0 or not np.isfinite(hop_s):
        raise AudioLRPError(f"--hop-s {hop_s} is invalid: pass a positive number of seconds")
    out = Path(out_dir) if out_dir is not None else default_recording_out_dir(path)
    if out.exists() and not out.is_dir():
        raise AudioLRPError(f"{out} exists and is not a folder: pass another --out")
    prog = Progress(6, enabled=not quiet)
    with prog.step(f"loading model {model!r}", "load_model"):
        handle = load_model(model)
    with prog.step(f"reading {path.name}", "read"):
        signals, fs = read_ambisonics(
            path, format=format, model=(handle.feature, handle.order, handle.name)
        )
    n_file = signals.shape[1]
    duration_s = n_file / fs
    k = required_channels(handle.feature, handle.order)
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
        return np.stack([to_model_input(window(i), handle.feature, handle.order) for i in idx])

    batch = 8
    with prog.step(f"predicting the DOA of {n_win} window(s)", "predict"):
        probs = np.concatenate([
            predict(handle, window_features(range(i, min(i + batch, n_win))))[1]
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
        bar = _bar(n_win, enabled=not quiet and n_win > batch)
        for i in range(0, n_win, batch):
            idx = list(range(i, min(i + batch, n_win)))
            f = window_features(idx)
            r, method = explain_relevance(handle, f, preds[idx].tolist())
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
            a = analyse_clip(handle, audio_w, features=kept[w][0], relevance=kept[w][1],
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
            body = [Text(f"Window {w}: {starts[w] / FS_HZ:.2f} s to "
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
        from audiolrp.recordings import order_from_channels

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
        write_atomic(out / "results.json", json_dumps(results))
    results["timing_s"]["total"] = round(prog.elapsed_s(), 3)
    write_atomic(out / "results.json", json_dumps(results))
    results["output_dir"] = str(out)
    return results


__all__ = [
    "DEFAULT_MODEL",
    "ClipAnalysis",
    "ModelHandle",
    "Progress",
    "analyse_clip",
    "channel_relevance",
    "default_recording_out_dir",
    "explain_relevance",
    "load_model",
    "pixel_flipping_curves",
    "predict",
    "run_demo",
    "run_recording",
]

