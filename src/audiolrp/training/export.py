"""Export of a trained model for shipping: model files, test metrics and model card."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from audiolrp.errors import AudioLRPError
from audiolrp.evaluation import DEFAULT_EVAL_SEED, evaluate
from audiolrp.io import atomic_write_bytes
from audiolrp.models import PRETRAINED_DIR, save
from audiolrp.models import load as load_model
from audiolrp.training.cards import model_card_markdown


def export_model(
    model_path: str | os.PathLike[str],
    name: str,
    export_dir: str | os.PathLike[str] | None = None,
    *,
    eval_examples: int = 500,
    eval_seed: int | None = None,
    eval_recipe: dict[str, Any] | None = None,
    extra_test_sets: dict[str, dict[str, Any]] | None = None,
    batch_size: int = 16,
    progress: bool = False,
) -> dict[str, Path]:
    """Evaluate a trained model on a fresh seeded test set and write ``NAME.safetensors``,
    ``NAME.json`` (with ``metrics`` and an ``evaluation`` entry), ``NAME.md`` (model card) and
    ``NAME-errors.png`` into ``export_dir`` (default ``audiolrp/pretrained/``).

    ``audiolrp evaluate --model NAME`` then re-simulates the same test set (seed and recipe from
    the ``evaluation`` entry) and reproduces the card's metrics; the entry also stores the
    predicted class of every test clip, so tests can compare re-simulated predictions one by one.

    ``eval_recipe`` fixes the test-set recipe (default: the model's training data recipe; pass
    an earlier card's recipe to keep test sets comparable across models). ``extra_test_sets``
    maps a name to :class:`~audiolrp.simulation.scenes.SceneConfig` overrides (e.g. off-grid
    directions, another corpus); each is evaluated with the same seed and size and listed on
    the card.

    Returns
    -------
    dict
        Paths of the written files: ``json``, ``weights``, ``card`` and (when the evaluation
        drew one) ``plot``.
    """
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise AudioLRPError(f"export name {name!r} must be letters, digits, '-', '_' or '.'")
    out = Path(export_dir) if export_dir is not None else PRETRAINED_DIR
    out.mkdir(parents=True, exist_ok=True)
    loaded = load_model(model_path)
    seed = DEFAULT_EVAL_SEED if eval_seed is None else int(eval_seed)
    recipe = eval_recipe if eval_recipe is not None else loaded.data_recipe
    # the evaluation's own files go to a scratch folder (only the exported files are written,
    # never beside the source model); its plot is kept in memory for the export
    with tempfile.TemporaryDirectory(prefix=f"audiolrp-export-{name}-") as work:
        result = evaluate(
            loaded,
            n_examples=eval_examples,
            seed=seed,
            recipe=recipe,
            out_dir=Path(work),
            batch_size=batch_size,
            progress=progress,
        )
        plot = Path(result.files["plot"]).read_bytes() if "plot" in result.files else None
    speech = str(((recipe or {}).get("config") or {}).get("speech") or "espeak")
    evaluation: dict[str, Any] = {
        "n_examples": eval_examples,
        "seed": seed,
        "recipe": recipe,
        "command": (
            "audiolrp corpus debian && " if speech == "debian" else ""
        ) + f"audiolrp evaluate --model {name}",
        "predictions": result.predictions.pred.tolist(),
        "extra_test_sets": [],
    }
    for set_name, overrides in (extra_test_sets or {}).items():
        extra = evaluate(
            loaded,
            n_examples=eval_examples,
            seed=seed,
            recipe=recipe,
            overrides=overrides,
            batch_size=batch_size,
            plot=False,
            progress=progress,
        )
        flags = " ".join(
            ["--off-grid"] * (overrides.get("direction_sampling") == "uniform")
            + ([f"--corpus {overrides['speech']}"] if "speech" in overrides else [])
            + (
                [f"--snr-db {overrides['snr_db'][0]:g},{overrides['snr_db'][1]:g}"]
                if "snr_db" in overrides
                else []
            )
            + (
                [f"--point-noise {overrides['n_point_noise'][0]},{overrides['n_point_noise'][1]}"]
                if "n_point_noise" in overrides
                else []
            )
            + (
                ["--speech-tilt={:g},{:g}".format(*overrides["speech_tilt_db_per_octave"])]
                if "speech_tilt_db_per_octave" in overrides
                else []
            )
            + (
                ["--speech-lowpass {:g},{:g}".format(*overrides["speech_lowpass_hz"])]
                if "speech_lowpass_hz" in overrides
                else []
            )
        )
        evaluation["extra_test_sets"].append(
            {
                "name": set_name,
                "overrides": overrides,
                "command": f"audiolrp evaluate --model {name} {flags}".strip(),
                "metrics": {
                    k: extra.metrics.get(k)
                    for k in (
                        "n_examples",
                        "accuracy",
                        "error_vs_true_direction_deg",
                        "baseline_intensity_vector",
                    )
                },
            }
        )
    json_path = save(
        loaded.model,
        out / name,
        feature=loaded.feature,
        order=loaded.order,
        data_recipe=loaded.data_recipe,
        metrics=result.metrics,
        training=loaded.config.get("training") or {},
        extra={"name": name, "evaluation": evaluation},
    )

    card = model_card_markdown(name, load_model(json_path).config)
    atomic_write_bytes(out / f"{name}.md", card.encode("utf-8"))
    files = {"json": json_path, "weights": out / f"{name}.safetensors", "card": out / f"{name}.md"}
    if plot is not None:
        files["plot"] = out / f"{name}-errors.png"
        atomic_write_bytes(files["plot"], plot)
    return files


