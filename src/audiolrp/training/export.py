"""Export of a trained model for shipping: model files, test metrics and model card.

:func:`export_model` evaluates a model on a fresh seeded test set (plus any extra test sets)
and writes the shipped files. :func:`export_card_model` is the policy of the shipped models:
the same card test set for every model (:data:`CARD_TEST_RECIPE`, :data:`CARD_TEST_SEED`,
:data:`CARD_TEST_EXAMPLES`), so their cards compare, and the extra test sets of
:func:`card_extra_test_sets`. Exported files never quote the folders of the machine a model
was trained on (:func:`audiolrp.training.cards.without_machine_paths`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from audiolrp.data.multisource import multisource_config_of
from audiolrp.data.spec import SPEC_NAME, DatasetSpec
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation import (
    DEFAULT_EVAL_SEED,
    EvaluationResult,
    evaluate,
    point_noise_overrides,
)
from audiolrp.evaluation.multisource import (
    choose_detector,
    dataset_clips,
    detections,
    evaluate_multisource,
    model_activity,
    multisource_metrics,
)
from audiolrp.evaluation.refinement import REFINEMENT_SCENES, choose_model_refinement
from audiolrp.io import atomic_write_bytes
from audiolrp.models import PRETRAINED_DIR, LoadedModel, model_task, save
from audiolrp.models import load as load_model
from audiolrp.models.multisource import SourceDetector
from audiolrp.simulation.multisource import MultiSourceConfig
from audiolrp.training.cards import (
    model_card_markdown,
    multisource_card_markdown,
    without_machine_paths,
)

#: Seed of the card test set: scene i is test-split scene i of ``audiolrp simulate --seed 99``.
CARD_TEST_SEED = 99
#: Size of the card test set and of each extra test set.
CARD_TEST_EXAMPLES = 500
#: The card test set's recipe (every shipped card since the first): sources on the class grid,
#: SNR 0-30 dB, RT60 0.2-0.8 s, rooms 3-10 x 3-8 x 2.5-4 m, sources 1-3 m away, the Debian
#: corpus's test speakers (simulated at the model's order when that is higher than 2).
CARD_TEST_RECIPE: dict[str, Any] = {
    "config": {
        "babble_design_degree": None,
        "corpus_seed": 0,
        "direction_sampling": "grid",
        "extra": {},
        "late_tail": True,
        "max_image_order": None,
        "n_babble_talkers": None,
        "order": 2,
        "receiver_margin_m": 0.5,
        "rir_decay_db": 40.0,
        "rir_max_length_s": None,
        "room_height_m": [2.5, 4.0],
        "room_length_m": [3.0, 10.0],
        "room_width_m": [3.0, 8.0],
        "rotate_babble": True,
        "rt60_s": [0.2, 0.8],
        "snr_db": [0.0, 30.0],
        "source_distance_m": [1.0, 3.0],
        "source_margin_m": 0.3,
        "speech": "debian",
        "speech_lead_in_s": 0.5,
        "target_rms": 0.05,
    }
}


def card_test_recipe() -> dict[str, Any]:
    """A copy of :data:`CARD_TEST_RECIPE`, the scene recipe of every shipped card's test set.

    Returns
    -------
    dict
        ``{"config": SceneConfig fields}``, ready for ``export_model(eval_recipe=...)`` or
        :func:`audiolrp.evaluation.evaluate` (``recipe=``); the caller may change it freely.
    """
    return copy.deepcopy(CARD_TEST_RECIPE)


def card_extra_test_sets() -> dict[str, dict[str, Any]]:
    """The extra test sets of the shipped cards, in card order: each changes one setting of
    the card test set (same seed and size).

    * off-grid directions (sources at uniformly random directions; the error is measured
      against the exact direction);
    * off-grid at 10-20 dB SNR;
    * off-grid with 1-4 reverberant pink-noise point sources beside the babble, carrying
      30-100 % of the noise power (:func:`audiolrp.evaluation.point_noise_overrides`);
    * the target talker band-limited to 4 kHz (recipe step 5d; cards exported since the
      band-limited talker was added; earlier cards list the first three).

    Returns
    -------
    dict
        Test-set name -> :class:`~audiolrp.simulation.scenes.SceneConfig` overrides (a fresh
        dict on every call).
    """
    return {
        "off-grid directions (Debian test speakers)": {"direction_sampling": "uniform"},
        "off-grid, 10-20 dB SNR": {"direction_sampling": "uniform", "snr_db": [10.0, 20.0]},
        "off-grid, 1-4 pink-noise point sources": {
            "direction_sampling": "uniform",
            **point_noise_overrides(1, 4),
        },
        "talker band-limited to 4 kHz": {"speech_lowpass_hz": [4000.0, 4000.0]},
    }


def evaluate_command(name: str, overrides: dict[str, Any] | None = None) -> str:
    """The ``audiolrp evaluate`` command that re-simulates a card's test set with ``overrides``.

    Parameters
    ----------
    name : str
        The exported model's name (``--model NAME``).
    overrides : dict, optional
        SceneConfig overrides of an extra test set; the keys with an ``evaluate`` option
        (``direction_sampling="uniform"``, ``speech``, ``snr_db``, ``n_point_noise``,
        ``speech_tilt_db_per_octave``, ``speech_lowpass_hz``) become flags.

    Returns
    -------
    str
        E.g. ``audiolrp evaluate --model hoa2 --off-grid --snr-db 10,20``.
    """
    ov = overrides or {}
    flags = (
        ["--off-grid"] * (ov.get("direction_sampling") == "uniform")
        + ([f"--corpus {ov['speech']}"] if "speech" in ov else [])
        + (["--snr-db {:g},{:g}".format(*ov["snr_db"])] if "snr_db" in ov else [])
        + (["--point-noise {},{}".format(*ov["n_point_noise"])] if "n_point_noise" in ov else [])
        + (
            ["--speech-tilt={:g},{:g}".format(*ov["speech_tilt_db_per_octave"])]
            if "speech_tilt_db_per_octave" in ov
            else []
        )
        + (
            ["--speech-lowpass {:g},{:g}".format(*ov["speech_lowpass_hz"])]
            if "speech_lowpass_hz" in ov
            else []
        )
    )
    return " ".join(["audiolrp", "evaluate", "--model", name, *flags])


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
    refinement_scenes: int = 0,
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
    the card. Commands, dataset and corpus folders are written without the folders of the
    machine (:func:`~audiolrp.training.cards.without_machine_paths`).

    ``refinement_scenes > 0`` first chooses the model's direction refinement on that many
    validation scenes of its own recipe with off-grid sources
    (:func:`~audiolrp.evaluation.refinement.choose_model_refinement`), so the card's refined
    errors are those of the refinement the model ships with; 0 keeps the model's own (the
    class direction when it has none).

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
    if refinement_scenes > 0:
        choice = choose_model_refinement(loaded, refinement_scenes, batch_size=batch_size)
        loaded.config["direction_refinement"] = choice.config_entry(
            f"export_model(..., refinement_scenes={refinement_scenes}) "
            f"(audiolrp.evaluation.refinement, seed {choice.seed})"
        )
    seed = DEFAULT_EVAL_SEED if eval_seed is None else int(eval_seed)
    recipe = eval_recipe if eval_recipe is not None else loaded.data_recipe
    result, plot = _evaluate_card_set(
        loaded, name, n_examples=eval_examples, seed=seed, recipe=recipe,
        batch_size=batch_size, progress=progress,
    )
    speech = str(((recipe or {}).get("config") or {}).get("speech") or "espeak")
    evaluation: dict[str, Any] = {
        "n_examples": eval_examples,
        "seed": seed,
        "recipe": recipe,
        "command": (
            "audiolrp corpus debian && " if speech == "debian" else ""
        ) + f"audiolrp evaluate --model {name}",
        "predictions": result.predictions.pred.tolist(),
        "extra_test_sets": [
            _extra_test_set_entry(
                loaded, name, set_name, overrides, n_examples=eval_examples, seed=seed,
                recipe=recipe, batch_size=batch_size, progress=progress,
            )
            for set_name, overrides in (extra_test_sets or {}).items()
        ],
    }
    return _write_export(loaded, name, out, metrics=result.metrics, evaluation=evaluation,
                         plot=plot)


#: The metrics of an extra test set that its card entry keeps.
EXTRA_SET_METRICS: tuple[str, ...] = (
    "n_examples",
    "accuracy",
    "error_vs_true_direction_deg",
    "refined_error_deg",
    "refined_share_within_10_deg",
    "baseline_intensity_vector",
)


def _evaluate_card_set(
    loaded: LoadedModel, name: str, *, n_examples: int, seed: int,
    recipe: dict[str, Any] | None, batch_size: int, progress: bool,
) -> tuple[EvaluationResult, bytes | None]:
    """The main test set of an export: :func:`~audiolrp.evaluation.evaluate` in a scratch
    folder (only the exported files are written, never beside the source model); its error
    plot is returned in memory (``None`` when the evaluation drew none)."""
    with tempfile.TemporaryDirectory(prefix=f"audiolrp-export-{name}-") as work:
        result = evaluate(
            loaded,
            n_examples=n_examples,
            seed=seed,
            recipe=recipe,
            out_dir=Path(work),
            batch_size=batch_size,
            progress=progress,
        )
        plot = Path(result.files["plot"]).read_bytes() if "plot" in result.files else None
    return result, plot


def _extra_test_set_entry(
    loaded: LoadedModel, name: str, set_name: str, overrides: dict[str, Any], *,
    n_examples: int, seed: int, recipe: dict[str, Any] | None, batch_size: int,
    progress: bool,
) -> dict[str, Any]:
    """One extra test set of an export, evaluated (same seed and size as the main set) and
    shaped as its ``evaluation.extra_test_sets`` entry (name, overrides, command, metrics)."""
    extra = evaluate(
        loaded,
        n_examples=n_examples,
        seed=seed,
        recipe=recipe,
        overrides=overrides,
        batch_size=batch_size,
        plot=False,
        progress=progress,
    )
    return {
        "name": set_name,
        "overrides": overrides,
        "command": evaluate_command(name, overrides),
        "metrics": {k: extra.metrics.get(k) for k in EXTRA_SET_METRICS if k in extra.metrics},
    }


def _write_export(
    loaded: LoadedModel, name: str, out: Path, *, metrics: dict[str, Any],
    evaluation: dict[str, Any], plot: bytes | None,
) -> dict[str, Path]:
    """Write the shipped files of an export (weights, JSON without machine paths, card and
    error plot) and return their paths."""
    json_path = save(
        loaded.model,
        out / name,
        feature=loaded.feature,
        order=loaded.order,
        data_recipe=without_machine_paths(loaded.data_recipe),
        metrics=metrics,
        training=without_machine_paths(loaded.config.get("training") or {}),
        input_rms=loaded.input_rms,
        extra={
            "name": name,
            "evaluation": without_machine_paths(evaluation),
            # the refinement keeps the record of what it was chosen on; a yardstick entry
            # (audiolrp.yardstick) stays with the weights it measured
            **{k: loaded.config[k] for k in ("direction_refinement", "yardstick")
               if k in loaded.config},
        },
    )

    card = model_card_markdown(name, load_model(json_path).config)
    atomic_write_bytes(out / f"{name}.md", card.encode("utf-8"))
    files = {"json": json_path, "weights": out / f"{name}.safetensors", "card": out / f"{name}.md"}
    if plot is not None:
        files["plot"] = out / f"{name}-errors.png"
        atomic_write_bytes(files["plot"], plot)
    return files


def export_card_model(
    model_path: str | os.PathLike[str],
    name: str,
    export_dir: str | os.PathLike[str] | None = None,
    *,
    eval_examples: int = CARD_TEST_EXAMPLES,
    eval_seed: int = CARD_TEST_SEED,
    eval_recipe: dict[str, Any] | None = None,
    batch_size: int = 16,
    progress: bool = False,
    refinement_scenes: int = REFINEMENT_SCENES,
) -> dict[str, Path]:
    """Ship a trained model with the shipped cards' policy (:func:`export_model` with the card
    test set and :func:`card_extra_test_sets`).

    Every shipped card is evaluated on the same test set, so the cards of different models
    and training stages compare: :data:`CARD_TEST_EXAMPLES` scenes of seed
    :data:`CARD_TEST_SEED` with :data:`CARD_TEST_RECIPE` (not the model's own training
    recipe), plus the extra test sets, each changing one setting.

    Parameters
    ----------
    model_path : str or os.PathLike
        A trained model (``RUN/model.json``, ``RUN/best.json``, a folder or a shipped name).
    name : str
        Name of the exported model (``NAME.safetensors``, ``NAME.json``, ``NAME.md``).
    export_dir : str or os.PathLike, optional
        Output folder (default: ``audiolrp/pretrained/``).
    eval_examples : int
        Size of the card test set and of each extra set (default 500; tests pass a few).
    eval_seed : int
        Seed of the test sets (default 99).
    eval_recipe : dict, optional
        The test-set recipe (default :func:`card_test_recipe`; tests swap the Debian speech
        for a corpus-free stand-in).
    batch_size : int
        Evaluation batch size.
    progress : bool
        Show progress bars.
    refinement_scenes : int
        Validation scenes the direction refinement is chosen on before the card is evaluated
        (default :data:`~audiolrp.evaluation.refinement.REFINEMENT_SCENES`; 0 keeps the
        model's own).

    Returns
    -------
    dict
        Paths of the written files, as :func:`export_model`.
    """
    return export_model(
        model_path,
        name,
        export_dir,
        eval_examples=eval_examples,
        eval_seed=eval_seed,
        eval_recipe=card_test_recipe() if eval_recipe is None else eval_recipe,
        extra_test_sets=card_extra_test_sets(),
        batch_size=batch_size,
        progress=progress,
        refinement_scenes=refinement_scenes,
    )


def _multisource_simulate_command(root: str | os.PathLike[str]) -> str | None:
    """The ``audiolrp simulate`` command of a multi-source dataset folder (from its recipe,
    :class:`~audiolrp.data.spec.DatasetSpec`; ``None`` when the folder has none)."""
    spec_path = Path(root) / SPEC_NAME
    if not spec_path.is_file():
        return None
    spec = DatasetSpec.from_dict(json.loads(spec_path.read_text(encoding="utf-8")))
    multi = multisource_config_of(spec.config) or MultiSourceConfig()
    lo, hi = multi.n_sources
    return (f"audiolrp simulate {Path(root).name} --sources {lo}-{hi} --min-separation-deg "
            f"{multi.min_separation_deg:g} --order {spec.config.order} --corpus "
            f"{spec.config.speech} --seed {spec.seed} --n-train {spec.counts['train']} "
            f"--n-val {spec.counts['val']} --n-test {spec.counts['test']}")


def export_multisource_model(
    model_path: str | os.PathLike[str],
    name: str,
    val_data: str | os.PathLike[str],
    test_data: str | os.PathLike[str],
    export_dir: str | os.PathLike[str] | None = None,
    *,
    max_val: int | None = None,
    max_test: int | None = None,
) -> dict[str, Path]:
    """Ship a multi-source model (``train --task multi``) with its detector and card.

    The detector (thresholds, and a source counter when its cross-validated count accuracy is
    at least the threshold rule's) is chosen on the validation split of ``val_data``
    (:func:`~audiolrp.evaluation.multisource.choose_detector`); the model with it, with its
    threshold rule alone, and the classic intensity-histogram estimator (threshold rule and
    counter, chosen on the same clips) are then measured on the test split of ``test_data``.
    The card says whether the model beats the classic estimator at counting and on matched
    error (median and mean).

    Returns
    -------
    dict
        Paths of the written ``json``, ``weights`` and ``card``.
    """
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise AudioLRPError(f"export name {name!r} must be letters, digits, '-', '_' or '.'")
    loaded = load_model(model_path)
    if model_task(loaded.config) != "multi":
        raise AudioLRPError(f"{model_path} is a one-talker model: export it with export_model")
    va, vd = dataset_clips(val_data, "val", max_val)
    ta, td = dataset_clips(test_data, "test", max_test)
    act_val = model_activity(loaded.model, va, loaded.feature)
    act_test = model_activity(loaded.model, ta, loaded.feature)
    det, chosen = choose_detector(act_val, vd, SourceDetector(), fit_counter=True)
    rows = evaluate_multisource(None, loaded.feature, ta, td, va, vd, counter=True)
    rows.pop("n_test"), rows.pop("n_val")
    rule = dataclasses.replace(det, counter=None)
    for key, d in (("model", det), ("model_threshold_rule", rule)):
        rows[key] = {"detector": d.to_dict(), **multisource_metrics(td, detections(act_test, d))}
    m, c = rows["model"], rows["classic"]
    me, ce = m["matched_error_deg"], c["matched_error_deg"]
    verdict = {"count": m["count_accuracy"] > c["count_accuracy"],
               "matched_error": me["median"] < ce["median"] and me["mean"] < ce["mean"]}
    val_name, test_name = Path(val_data).name, Path(test_data).name
    evaluation = {
        "val_data": val_name, "test_data": test_name, "n_val": len(va), "n_test": len(ta),
        "simulate": {"val": _multisource_simulate_command(val_data),
                     "test": _multisource_simulate_command(test_data)},
        "rows": rows, "verdict": verdict,
        "command": f"python benchmarks/eval_multisource.py --model {name} --stored-threshold "
                   f"--val-data {val_name} --test-data {test_name}",
    }
    detector = {**det.to_dict(), "chosen_on": {
        "data": val_name, "split": "val", "scenes": len(va),
        "threshold_rule_count_accuracy": chosen.get("threshold_rule_count_accuracy"),
        "counter_cv_count_accuracy": chosen.get("counter_cv_count_accuracy")}}
    out = Path(export_dir) if export_dir is not None else PRETRAINED_DIR
    out.mkdir(parents=True, exist_ok=True)
    json_path = save(
        loaded.model, out / name, feature=loaded.feature, order=loaded.order,
        data_recipe=without_machine_paths(loaded.data_recipe),
        metrics={"count_accuracy": m["count_accuracy"], "matched_error_deg": me},
        training=without_machine_paths(loaded.config.get("training") or {}),
        input_rms=loaded.input_rms,
        extra={"name": name, "multisource": detector,
               "evaluation": without_machine_paths(evaluation)},
    )
    config = json.loads(json_path.read_text(encoding="utf-8"))
    card = out / f"{name}.md"
    atomic_write_bytes(card, multisource_card_markdown(name, config).encode("utf-8"))
    return {"json": json_path, "weights": json_path.with_suffix(".safetensors"), "card": card}
