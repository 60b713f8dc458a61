"""`audiolrp analyze directions`: where in the sound field the network listened.

For each example (freshly simulated scenes, or a dataset folder that stores the room geometry)
the command predicts, explains the prediction (an LRP preset or another attribution method) and
maps the relevance of every time-frequency bin to the bin's active-intensity direction
(:mod:`audiolrp.analysis.directions`). It writes

* ``directions.json`` -- settings, per-example shares and the set summary (mean shares with
  bootstrap CIs, relevance-vs-energy difference and ratio, SNR and RT60 groups, mean maps);
* ``direction_map_NNN.png`` -- the maps of the first ``--n-maps`` examples (true source,
  first-order image sources and prediction marked; :mod:`audiolrp.plots.sphere`);
* ``direction_map_mean.png`` and ``angle_profile.png`` -- the set's mean maps and the weight by
  angle from the true source.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from audiolrp.cli.analyze import _echo_json, _guard, _write_json, analyze_app
from audiolrp.cli.app import prepare_output_dir
from audiolrp.errors import AudioLRPError

EPILOG = """\
Examples:

  audiolrp analyze directions --model intensity --n-examples 100 -o directions-intensity

  audiolrp analyze directions -m hoa2 --snr-db 20,30 --rt60-s 0.2,0.4 --json

  audiolrp analyze directions -m runs/hoa2/model.json --data data/hoa4 --split test
"""

#: Scene metadata every example needs (dataset folders written by ``audiolrp simulate``).
GEOMETRY_KEYS: tuple[str, ...] = ("room_m", "source_m", "receiver_m", "azimuth_rad",
                                  "elevation_rad")


def _range(text: str | None, option: str, example: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise AudioLRPError(f"{option} {text!r} is not LOW,HIGH: pass e.g. {option} {example}"
                            ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise AudioLRPError(f"{option} {text!r} needs finite LOW <= HIGH: pass e.g. {example}")
    return low, high


def resolve_method(method: str) -> tuple[str, str]:
    """``(method, composite)`` for :func:`audiolrp.lrp.explain` from ``--method``: an LRP
    preset (``paper``, ``epsilon_plus``, ...; hyphens accepted) or a reference method
    (``gradient``, ``gradient_x_input``, ``integrated_gradients``, ``smoothgrad``,
    ``occlusion``)."""
    from audiolrp.lrp.composites import PRESETS
    from audiolrp.lrp.explain import METHODS

    m = method.strip().lower().replace("-", "_")
    if m in PRESETS:
        return "lrp", m
    if m in METHODS and m != "lrp":
        return m, "paper"
    raise AudioLRPError(
        f"unknown --method {method!r}: pass an LRP preset ({', '.join(PRESETS)}) or one of "
        f"{', '.join(x for x in METHODS if x != 'lrp')}"
    )


def simulated_examples(
    loaded: Any, n: int, seed: int, overrides: dict[str, Any]
) -> tuple[Iterator[tuple[np.ndarray, int, dict[str, Any]]], dict[str, Any]]:
    """Scene ``i`` = ``simulate_scene(config, scene_seed(seed, "test", i), split="test")`` with
    the model card's test recipe (else its data recipe) and ``overrides``; yields
    ``(audio, label, params)`` and returns the test-set description beside the iterator."""
    from audiolrp.data.datasets import scene_seed
    from audiolrp.evaluation import scene_config_from_recipe
    from audiolrp.simulation.scenes import get_corpus, simulate_scene

    card = dict(loaded.config.get("evaluation") or {})
    recipe = card.get("recipe") or loaded.data_recipe
    cfg = scene_config_from_recipe(recipe, max(1, loaded.order), overrides)
    corpus = get_corpus(cfg.speech, cfg.corpus_seed)

    def gen() -> Iterator[tuple[np.ndarray, int, dict[str, Any]]]:
        for i in range(n):
            sc = simulate_scene(cfg, scene_seed(seed, "test", i), corpus, split="test")
            yield sc.mixture, sc.label, {"index": i, **sc.params}

    desc = {"source": "simulated", "n_examples": n, "seed": seed, "split": "test",
            "scene_config": cfg.to_dict(), "overrides": overrides}
    return gen(), desc


def dataset_examples(
    root: Path, split: str, loaded: Any, n_max: int
) -> tuple[Iterator[tuple[np.ndarray, int, dict[str, Any]]], dict[str, Any]]:
    """The first ``n_max`` examples of a dataset split that stores the room geometry."""
    from audiolrp.data.datasets import FeatureDataset

    if not root.is_dir():
        raise AudioLRPError(f"dataset folder {root} not found: create it with `audiolrp simulate`")
    ds = FeatureDataset(root, split, feature=loaded.feature,
                        order=loaded.order if loaded.feature == "hoa" else None)
    if ds.stored_order < 1:
        raise AudioLRPError(f"{root} stores order-0 audio: bin directions need first order "
                            "(W, X, Y, Z); simulate with --order >= 1")
    n = min(len(ds), n_max)
    if n == 0:
        raise AudioLRPError(f"split {split!r} of {root} is empty: pass another --split")
    missing = [k for k in GEOMETRY_KEYS if k not in ds.meta(0)]
    if missing:
        raise AudioLRPError(f"{root} does not store the scene geometry ({', '.join(missing)}): "
                            "re-simulate it with `audiolrp simulate`")
    k_order = max(1, loaded.order)

    def gen() -> Iterator[tuple[np.ndarray, int, dict[str, Any]]]:
        for i in range(n):
            yield ds.audio(i, order=k_order), int(ds.labels[i]), {"index": i, **ds.meta(i)}

    desc = {"source": "dataset", "path": str(root.resolve()), "split": split, "n_examples": n}
    return gen(), desc


def analyse_examples(
    loaded: Any,
    examples: Iterator[tuple[np.ndarray, int, dict[str, Any]]],
    n: int,
    *,
    method: str = "paper",
    target: str = "predicted",
    grid_rad: np.ndarray | None = None,
    radius_deg: float = 15.0,
    batch_size: int = 8,
    progress: bool = False,
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Explain every example and map its relevance onto directions.

    Returns
    -------
    (analyses, rows)
        One :class:`~audiolrp.analysis.directions.DirectionAnalysis` and one JSON-ready row
        (index, label, prediction, error, SNR, RT60, DRR, shares) per example.
    """
    import torch

    from audiolrp import lrp
    from audiolrp.analysis.directions import REGIONS, analyse_directions
    from audiolrp.models import clip_probabilities
    from audiolrp.progress import progress_bar
    from audiolrp.signal.ambisonics import angular_error_deg, doa_grid
    from audiolrp.signal.features import compute_features

    meth, composite = resolve_method(method)
    classes = np.asarray(doa_grid())
    update = progress_bar(n, progress, unit="example")
    analyses: list[Any] = []
    rows: list[dict[str, Any]] = []
    batch: list[tuple[np.ndarray, int, dict[str, Any]]] = []

    def flush() -> None:
        x = np.stack([np.asarray(compute_features(a, loaded.feature, loaded.order), np.float32)
                      for a, _, _ in batch])
        labels = np.array([lab for _, lab, _ in batch], dtype=np.int64)
        tgt = torch.from_numpy(labels) if target == "true" else None
        e = lrp.explain(loaded.model, torch.from_numpy(x), target=tgt, composite=composite,
                        method=meth)
        rel = e.relevance.detach().cpu().numpy()
        pred = clip_probabilities(e.logits.detach()).argmax(-1).cpu().numpy()
        for j, (audio, label, p) in enumerate(batch):
            a = analyse_directions(
                rel[j], audio, source_rad=(p["azimuth_rad"], p["elevation_rad"]),
                room_m=p["room_m"], source_m=p["source_m"], receiver_m=p["receiver_m"],
                predicted_rad=classes[int(pred[j])], grid_rad=grid_rad, radius_deg=radius_deg,
            )
            analyses.append(a)
            err = float(angular_error_deg(p["azimuth_rad"], p["elevation_rad"],
                                          *classes[int(pred[j])]))
            rows.append({
                "index": int(p["index"]), "label": int(label), "predicted": int(pred[j]),
                "explained": int(e.target[j]), "error_deg": round(err, 4),
                "snr_db": p.get("snr_db"), "rt60_s": p.get("rt60_s"), "drr_db": p.get("drr_db"),
                "shares": {w: dict(zip(REGIONS, s.tolist(), strict=True))
                           for w, s in (a.shares or {}).items()},
                "relevance_total": a.totals["relevance_positive"]
                - a.totals["relevance_negative"],
            })
        update(len(batch))
        batch.clear()

    for item in examples:
        batch.append(item)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return analyses, rows


def _float(v: Any) -> float:
    return math.nan if v is None else float(v)


@analyze_app.command("directions", epilog=EPILOG)
def directions_cmd(
    model: Annotated[str, typer.Option(
        "--model", "-m", help="Shipped model name (intensity, hoa2) or path of a saved "
        "NAME.json.")] = "intensity",
    data: Annotated[Path | None, typer.Option(
        "--data", "-d", help="Dataset folder from `audiolrp simulate` (stores the room "
        "geometry); default: freshly simulated scenes.")] = None,
    split: Annotated[str, typer.Option(help="Dataset split (with --data).")] = "test",
    n_examples: Annotated[int, typer.Option(
        help="Examples (simulated, or the first ones of --data).")] = 100,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the simulated scenes (default: the model card's test seed, else 0).")
    ] = None,
    snr_db: Annotated[str | None, typer.Option(
        "--snr-db", help="SNR range LOW,HIGH in dB of the simulated scenes (default: card's).")
    ] = None,
    rt60_s: Annotated[str | None, typer.Option(
        "--rt60-s", help="RT60 range LOW,HIGH in s of the simulated scenes (default: card's).")
    ] = None,
    corpus: Annotated[str | None, typer.Option(
        help="Speech of the simulated scenes: espeak, debian, noise or a folder (default: "
        "card's).")] = None,
    method: Annotated[str, typer.Option(
        help="LRP preset (paper, epsilon_plus, epsilon_plus_flat, epsilon_alpha2_beta1, "
        "epsilon) or gradient, gradient_x_input, integrated_gradients, smoothgrad, occlusion."
    )] = "paper",
    target: Annotated[str, typer.Option(
        help="Class explained: predicted or true.")] = "predicted",
    grid_deg: Annotated[float, typer.Option(
        help="Spacing of the direction grid of the maps (10 = the 425 DOA classes).")] = 10.0,
    radius_deg: Annotated[float, typer.Option(
        help="Radius of the source and image-source regions.")] = 15.0,
    n_maps: Annotated[int, typer.Option(help="Examples drawn as maps.")] = 3,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of the CIs.")] = 2000,
    batch_size: Annotated[int, typer.Option(help="Examples per explain batch.")] = 8,
    threads: Annotated[int | None, typer.Option(
        help="torch intra-op threads (default: torch's choice).")] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder (created if missing).")] = Path("analysis-directions"),
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr.")] = True,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the results as JSON instead of a summary.")] = False,
) -> None:
    """Relevance in space: map each time-frequency bin's relevance to the direction of its
    active intensity; shares within --radius-deg of the true source, of its first-order image
    sources and elsewhere, next to the shares of the energy |W|^2 (does the network listen to
    the direct sound more than its energy would suggest?)."""

    def job() -> None:
        t0 = time.perf_counter()
        for name, v, low in (("--n-examples", n_examples, 1), ("--batch-size", batch_size, 1),
                             ("--n-maps", n_maps, 0), ("--n-boot", n_boot, 10)):
            if v < low:
                raise AudioLRPError(f"{name} must be >= {low}, got {v}")
        if threads is not None and threads < 1:
            raise AudioLRPError(f"--threads must be >= 1, got {threads}")
        if not 0.0 < radius_deg < 90.0:
            raise AudioLRPError(f"--radius-deg {radius_deg} is out of range: pass 0 < r < 90")
        if target not in ("predicted", "true"):
            raise AudioLRPError(f"--target {target!r} is unknown: pass predicted or true")
        resolve_method(method)
        overrides: dict[str, Any] = {}
        snr, rt60 = (_range(snr_db, "--snr-db", "10,20"), _range(rt60_s, "--rt60-s", "0.2,0.5"))
        if snr is not None:
            overrides["snr_db"] = list(snr)
        if rt60 is not None:
            if rt60[0] <= 0:
                raise AudioLRPError(f"--rt60-s {rt60_s!r} must be positive: pass e.g. 0.2,0.5")
            overrides["rt60_s"] = list(rt60)
        if corpus is not None:
            overrides["speech"] = corpus
        if data is not None and (overrides or seed is not None):
            raise AudioLRPError("--seed, --snr-db, --rt60-s and --corpus describe simulated "
                                "scenes: drop them or drop --data")
        from audiolrp.analysis.directions import direction_grid

        grid = direction_grid(grid_deg)
        prepare_output_dir(out)
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        from audiolrp.app.pipeline import load_model

        loaded = load_model(model)
        if data is not None:
            examples, test_data = dataset_examples(data, split, loaded, n_examples)
        else:
            card = dict(loaded.config.get("evaluation") or {})
            s = int(card.get("seed", 0)) if seed is None else seed
            examples, test_data = simulated_examples(loaded, n_examples, s, overrides)
        n = int(test_data["n_examples"])
        analyses, rows = analyse_examples(
            loaded, examples, n, method=method, target=target, grid_rad=grid,
            radius_deg=radius_deg, batch_size=batch_size, progress=progress and not as_json,
        )
        t_analyse = time.perf_counter() - t0
        record, files = write_outputs(out, loaded, analyses, rows, test_data, method=method,
                                      target=target, grid_deg=grid_deg, n_maps=n_maps,
                                      n_boot=n_boot)
        record["timing_s"] = {"analysis": round(t_analyse, 2),
                              "total": round(time.perf_counter() - t0, 2)}
        _write_json(out / "directions.json", record)
        if as_json:
            _echo_json({**record, "files": files})
            return
        echo_summary(record)
        typer.echo(f"wrote {', '.join(files)}")

    _guard(job)


def write_outputs(
    out: Path, loaded: Any, analyses: list[Any], rows: list[dict[str, Any]],
    test_data: dict[str, Any], *, method: str, target: str, grid_deg: float, n_maps: int,
    n_boot: int,
) -> tuple[dict[str, Any], list[str]]:
    """Summary (:func:`~audiolrp.analysis.directions.summarize_directions`), figures and the
    JSON record of :func:`directions_cmd` (``directions.json`` is written by the caller)."""
    from audiolrp.analysis.directions import summarize_directions
    from audiolrp.io import atomic_path
    from audiolrp.plots.sphere import (
        WEIGHT_LABELS,
        plot_angle_profile,
        plot_direction_analysis,
        plot_direction_map,
    )

    def save(fig: Any, name: str) -> str:
        path = out / name
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        return str(path)

    summary = summarize_directions(
        analyses, [_float(r["snr_db"]) for r in rows], [_float(r["rt60_s"]) for r in rows],
        n_boot=n_boot, seed=0,
    )
    files = [str(out / "directions.json")]
    for a, r in list(zip(analyses, rows, strict=True))[:n_maps]:
        files.append(save(plot_direction_analysis(
            a, title=f"Example {r['index']}: SNR {_float(r['snr_db']):.1f} dB, RT60 "
            f"{_float(r['rt60_s']):.2f} s, error {r['error_deg']:.1f}°"),
            f"direction_map_{r['index']:03d}.png"))
    mean_h = summary["mean_histograms"]
    files.append(save(plot_direction_map(
        {f"{WEIGHT_LABELS[w]}, mean of {len(analyses)} examples' maps": mean_h[w]
         for w in ("relevance_positive", "energy") if w in mean_h},
        analyses[0].grid_rad),
        "direction_map_mean.png"))
    if "mean_profiles" in summary:
        files.append(save(plot_angle_profile(
            summary["profile_edges_deg"],
            {w: summary["mean_profiles"][w] for w in
             ("relevance_positive", "relevance_negative", "energy", "bins")
             if w in summary["mean_profiles"]},
            radius_deg=summary["radius_deg"],
            title=f"Weight by angle from the true source ({len(analyses)} examples)"),
            "angle_profile.png"))
    errors = np.array([r["error_deg"] for r in rows])
    record = {
        "model": loaded.name, "feature": loaded.feature, "order": loaded.order,
        "method": method, "target": target, "test_data": test_data,
        "grid": {"spacing_deg": grid_deg, "n_directions": int(analyses[0].grid_rad.shape[0])},
        "directions": "active intensity Re{conj(W) [X, Y, Z]} of the raw STFT per bin",
        "energy": "|W|^2 per bin",
        "bin_relevance": "relevance summed over the input channels of the bin",
        "model_error_deg": {"mean": float(errors.mean()), "median": float(np.median(errors))},
        "summary": summary, "examples": rows,
    }
    return record, files


def echo_summary(record: dict[str, Any]) -> None:
    """The human-readable summary of :func:`directions_cmd`."""
    from audiolrp.analysis.directions import REGIONS, format_ci

    s = record["summary"]
    typer.echo(f"{s['n_examples']} examples, model {record['model']} ({record['method']}), "
               f"regions within {s['radius_deg']:g} deg (chance source share "
               f"{100 * s['cap_fraction']:.1f} %); mean share [95 % CI]:")
    typer.echo(f"  {'weight':20s}" + "".join(f"{r:>26s}" for r in REGIONS))
    for w, regs in (s.get("shares") or {}).items():
        typer.echo(f"  {w:20s}" + "".join(f"{format_ci(regs[r]):>26s}" for r in REGIONS))
    a, b = s["compare"]
    if s.get("difference"):
        typer.echo(f"  {a} - {b}, source: {format_ci(s['difference']['source'])}; ratio "
                   f"{format_ci(s['ratio']['source'], 2)}")
    for key, unit in (("by_snr_db", "dB"), ("by_rt60_s", "s")):
        for g in s.get(key) or []:
            sh = g["source_share"]
            typer.echo(f"  {key[3:]:6s} {g['low']:6.2f}..{g['high']:6.2f} {unit} (n={g['n']:3d}): "
                       f"source share {a} {format_ci(sh.get(a))}, {b} {format_ci(sh.get(b))}")


__all__ = ["analyse_examples", "dataset_examples", "directions_cmd", "resolve_method",
           "simulated_examples"]
