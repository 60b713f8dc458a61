"""Model cards: the Markdown page shipped beside each exported model.

:func:`model_card_markdown` renders a card from the JSON description a model is saved with
(:func:`audiolrp.models.save`): input, architecture, training data, every training stage
(command, loss, time; ``init_from`` links stages), hardware and the test metrics of
:func:`audiolrp.training.export.export_model`. Commands are shown without the folders of the
machine a model was trained on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from audiolrp.constants import N_FRAMES
from audiolrp.signal.feature_kinds import FEATURE_KINDS, INTENSITY


def _fmt_num(v: Any, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _training_stages(training: dict[str, Any]) -> list[dict[str, Any]]:
    """The chain of training stages, first stage first (``init_from`` links them)."""
    stages: list[dict[str, Any]] = []
    tr: dict[str, Any] | None = training
    while tr:
        stages.insert(0, tr)
        tr = (tr.get("initialised_from") or {}).get("training")
    return stages


def _training_stage_lines(training: dict[str, Any]) -> list[str]:
    stages = _training_stages(training)
    lines: list[str] = []
    for i, tr in enumerate(stages, start=1):
        cfg = tr.get("config") or {}
        sigma = float(cfg.get("label_sigma_deg") or 0.0)
        loss = (
            f"cross-entropy against Gaussian angular targets, sigma = {sigma:g} deg"
            if sigma > 0
            else "cross-entropy against one-hot targets (the paper)"
        )
        prefix = f"Stage {i} " if len(stages) > 1 else ""
        init = tr.get("initialised_from") or {}
        init_text = (
            f"; initialised from the stage {i - 1} model "
            f"(`{_display_command(init.get('model'))}`)"
            if init.get("training")
            else f"; initialised from the weights of `{init.get('model')}` (sha256 "
            f"`{init.get('weights_sha256')}`; that file holds no training record)"
        )
        changed = init.get("input_order_changed")
        if changed:
            init_text += (
                f" of Ambisonics order {changed['from']}, re-laid for order {changed['to']} "
                "(shared channels keep their weights; channels only this order has start at "
                "zero)"
            )
        lines += [
            f"- **{prefix}Command**: `{_display_command(tr.get('command'))}`",
            *[
                f"- **Resumed with**: `{_display_command(c)}`"
                for c in tr.get("resume_commands") or []
                if c
            ],
            f"- **{prefix}Loss**: frame-wise {loss}"
            + (init_text if init else "")
            + f"; Adam, batch {cfg.get('batch_size')}; {_recipe_text(cfg)}.",
            f"- **{prefix}Time**: {float(tr.get('train_time_s') or 0.0) / 60:.2f} min, "
            f"{tr.get('epochs_run')} epoch(s) ({tr.get('steps')} steps"
            + (f", {tr.get('examples_seen')} examples" if tr.get("examples_seen") else "")
            + f"; {(tr.get('hardware') or {}).get('torch_threads')} CPU thread(s)), best epoch "
            f"{tr.get('best_epoch')}, early stop: {tr.get('stopped_early')}.",
        ]
    if len(stages) > 1:
        total_min = sum(float(t.get("train_time_s") or 0.0) for t in stages) / 60
        lines.append(f"- **Total training time**: {total_min:.2f} min over {len(stages)} stages.")
    return lines


def _training_data_lines(recipe: dict[str, Any]) -> list[str]:
    """Card lines describing the training dataset(s) of the last stage."""
    parts = recipe.get("datasets") or [recipe]
    lines = [
        f"Simulated with `audiolrp simulate`; {len(parts)} dataset folder(s) used as one "
        f"training set ({recipe.get('n_train_used')} train / {recipe.get('n_val_used')} val "
        "examples in all). Not TIMIT as in the paper.",
        "",
    ]
    for i, part in enumerate(parts, start=1):
        corpus = (part.get("corpus") or {}).get("name", "embedded eSpeak synthetic speech")
        prefix = f"Dataset {i}: " if len(parts) > 1 else ""
        lines += [
            f"{prefix}seed {part.get('seed')}, counts {part.get('counts')}, speech corpus "
            f"`{corpus}`, stored as {part.get('dtype', 'float32')}. Scene configuration "
            "(`SceneConfig`):",
            "",
            "| field | value |",
            "|---|---|",
            *[f"| {k} | {json.dumps(v)} |" for k, v in sorted((part.get("config") or {}).items())],
            "",
        ]
    return lines


def _test_recipe_text(recipe: dict[str, Any]) -> str:
    """One phrase describing a simulated test set's scene configuration."""
    cfg = recipe.get("config") or {}
    where = "on the class grid" if cfg.get("direction_sampling", "grid") == "grid" else "off-grid"
    speech = cfg.get("speech") or "espeak"
    split_note = " (its test split: speakers never used in training)" if speech == "debian" else ""
    return (
        f"sources {where}, SNR {cfg.get('snr_db', [0.0, 30.0])} dB, RT60 "
        f"{cfg.get('rt60_s', [0.2, 0.8])} s, speech `{speech}`{split_note}"
    )


#: An absolute path (``/a/b/c``): a ``/`` that does not continue a word, a relative path, a URL
#: (``://``) or a home-relative path (``~/``), then at least two components; group 1 is the last.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.+-]+/)+([\w.+-]+)")


def _display_command(command: str | None) -> str:
    """A command with absolute paths shortened to their last component (cards never quote
    the folders of the machine a model was trained on)."""

    return _ABSOLUTE_PATH.sub(r"\1", str(command))


def without_machine_paths(value: Any) -> Any:
    """``value`` with every absolute path in its strings shortened to its last component.

    The policy of shipped model files: a model's JSON description records the commands,
    dataset folders and corpus folders of the run that made it, and an exported model keeps
    that record without the folders of the machine it was trained on
    (``/.../runs/s8-hoa2/model.json`` becomes ``model.json``, as on the card).

    Parameters
    ----------
    value : Any
        A JSON-like value: strings, numbers, ``None`` and lists, tuples and dicts of them.

    Returns
    -------
    Any
        A copy of ``value`` of the same structure (dict keys unchanged; a tuple stays a tuple);
        strings without an absolute path are returned unchanged.
    """
    if isinstance(value, str):
        return _ABSOLUTE_PATH.sub(r"\1", value)
    if isinstance(value, dict):
        return {k: without_machine_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_machine_paths(v) for v in value]
    if isinstance(value, tuple):
        return tuple(without_machine_paths(v) for v in value)
    return value


def _recipe_text(cfg: dict[str, Any]) -> str:
    """The training-step options of a stage in words (defaults of older stages: the paper)."""
    bits = []
    if cfg.get("augment"):
        bits.append(
            "exact sound-field augmentation (random rotation about the vertical axis, y/z "
            "mirrors) with targets centred on the exact direction"
        )
    elif cfg.get("direction_targets"):
        bits.append("targets centred on the exact source direction")
    crop = int(cfg.get("crop_frames") or 0)
    if crop and crop != N_FRAMES:
        bits.append(f"random {crop}-frame crops")
    sched = cfg.get("schedule") or "plateau"
    bits.append(
        f"cosine schedule from lr {cfg.get('lr')} (warm-up {cfg.get('warmup_steps')} steps)"
        if sched == "cosine"
        else f"lr {cfg.get('lr')} halved on validation plateaus"
    )
    if cfg.get("precision") and cfg.get("precision") != "fp32":
        bits.append(f"precision {cfg.get('precision')} (bf16 autocast where the CPU has it)")
    if cfg.get("select_by") == "val_error":
        bits.append("weights kept at the lowest validation angular error")
    return "; ".join(bits)


def _refinement_lines(config: dict[str, Any]) -> list[str]:
    """The card's note on the direction refinement and what it was chosen on."""
    ref = config.get("direction_refinement") or {}
    chosen = ref.get("chosen_on") or {}
    views = int(ref.get("views", 1))
    if not ref or (not float(ref.get("radius_deg", 0)) and views == 1):
        return []
    view_text = (
        f", averaged over {views} views of the sound field (the clip rotated about the "
        "vertical axis by multiples of 137.5 deg and mirrored, exact in the Ambisonics "
        "domain; each view's direction rotated back); one forward pass per view, "
        "`predict(..., views=1)` for the single view" if views > 1 else ""
    )
    lines = [
        "",
        "## Direction finer than the grid",
        "",
        f"`predict()` reports the probability-weighted mean of the class directions within "
        f"{_fmt_num(ref.get('radius_deg'), 0)} deg of the most probable class (weights "
        f"p^{_fmt_num(ref.get('power'), 1)}){view_text}, beside the class itself.",
    ]
    if chosen:
        lines.append(
            f"Chosen on {chosen.get('scenes')} validation scenes ({chosen.get('directions')}, "
            f"seed {chosen.get('seed')}): median / mean error "
            f"{_fmt_num(chosen.get('class_median_error_deg'), 2)} / "
            f"{_fmt_num(chosen.get('class_mean_error_deg'), 2)} deg for the class, "
            f"{_fmt_num(chosen.get('refined_median_error_deg'), 2)} / "
            f"{_fmt_num(chosen.get('refined_mean_error_deg'), 2)} deg refined "
            f"(`{chosen.get('command')}`)."
        )
    return lines


def _yardstick_lines(config: dict[str, Any]) -> list[str]:
    """The card's recordings-yardstick table (:mod:`audiolrp.yardstick`), when measured."""
    ys = config.get("yardstick") or {}
    rows = ys.get("conditions") or {}
    if not rows:
        return []
    lines = [
        "",
        "## On recordings as users bring them (yardstick)",
        "",
        f"{ys.get('description')}. Reproduce with `{ys.get('command')}`.",
        "",
        "| condition | refined median / mean (deg) | within 10 deg | class median (deg) | "
        "exact class | classic median / mean (deg) | game voices: refined median (deg) |",
        "|---|---|---|---|---|---|---|",
    ]
    for cond, e in rows.items():
        h = e["headline"]
        g = (e.get("families") or {}).get("game")
        lines.append(
            f"| {cond} | {_fmt_num(h['refined_deg']['median'], 2)} / "
            f"{_fmt_num(h['refined_deg']['mean'], 2)} | "
            f"{_fmt_num(h['refined_deg']['within_10_deg'])} | "
            f"{_fmt_num(h['class_deg']['median'], 2)} | {_fmt_num(h['exact_class'])} | "
            f"{_fmt_num(h['classic_deg']['median'], 2)} / {_fmt_num(h['classic_deg']['mean'], 2)} "
            f"| {_fmt_num(g['refined_deg']['median'], 2) if g else '-'} |"
        )
    return lines


def _architecture_lines(arch: dict[str, Any]) -> list[str]:
    """The card's first sentence: which network (the file's ``architecture.class``)."""
    if arch.get("class") == "ConformerDOA":
        return [
            "DOA classification conformer: the convolution front end of the CRNN of Table 1 with "
            "conformer blocks (Gulati et al. 2020) in place of its BiLSTMs; 425 direction "
            "classes, clip prediction = argmax of the mean frame softmax."
        ]
    return [
        "DOA classification CRNN of Table 1 (Kiyan et al.; Poschadel et al. 2021): 425 direction "
        "classes, clip prediction = argmax of the mean frame softmax."
    ]


def _architecture_sizes(arch: dict[str, Any]) -> str:
    """The card's architecture line (sizes of the file's network)."""
    if arch.get("class") == "ConformerDOA":
        return (
            f"- **Architecture**: n_filters={arch.get('n_filters')}, pool_sizes="
            f"{arch.get('pool_sizes')}, {arch.get('n_blocks')} conformer blocks (d_model="
            f"{arch.get('d_model')}, {arch.get('n_heads')} heads, feed-forward x"
            f"{arch.get('ff_mult')}, depthwise kernel {arch.get('conv_kernel')}), dense="
            f"{arch.get('n_dense')}."
        )
    return (
        f"- **Architecture**: n_filters={arch.get('n_filters')}, pool_sizes="
        f"{arch.get('pool_sizes')}, lstm_hidden={arch.get('lstm_hidden')} x "
        f"{arch.get('n_lstm_layers')} BiLSTM, dense={arch.get('n_dense')}."
    )


def model_card_markdown(name: str, config: dict[str, Any]) -> str:
    """Markdown model card of a saved model description (:func:`audiolrp.models.save` JSON)."""
    arch = config.get("architecture", {})
    tr = config.get("training", {}) or {}
    hw = tr.get("hardware", {}) or {}
    recipe = config.get("data_recipe", {}) or {}
    metrics = config.get("metrics", {}) or {}
    ev = config.get("evaluation", {}) or {}
    kind = FEATURE_KINDS.get(str(config.get("feature")), INTENSITY)  # as before: else intensity
    desc = kind.describe(int(config.get("order") or 0), int(arch.get("n_in") or 0))
    parts = recipe.get("datasets") or [recipe]
    corpora = sorted({str((p.get("corpus") or {}).get("name")) for p in parts if p.get("corpus")})
    names = {"debian": "recorded speech (Debian corpus)", "espeak": "synthetic (eSpeak) speech"}
    speech = (
        " and ".join(names.get(c, f"speech from the `{c}` corpus") for c in corpora)
        if corpora
        else names["espeak"]
    )
    norm = config.get("normalization", {}) or {}
    identity = all(v == 0 for v in norm.get("mean", [0])) and all(
        v == 1 for v in norm.get("std", [1])
    )
    norm_text = "none (identity)" if identity else "training-set statistics (stored in the model)"
    lines = [
        f"# Model card: `{name}`",
        "",
        *_architecture_lines(arch),
        "",
        f"- **Input**: {desc}; STFT hop {config.get('stft', {}).get('hop_samples')} samples, "
        f"{config.get('stft', {}).get('n_frames')} frames x {config.get('stft', {}).get('n_bins')} "
        "bins at 16 kHz.",
        _architecture_sizes(arch),
        f"- **Normalisation**: {norm_text}.",
        f"- **Files**: `{name}.safetensors` (sha256 `{config.get('weights_sha256')}`), "
        f"`{name}.json` (full description).",
        "",
        "## Training data",
        "",
        *_training_data_lines(recipe),
        "## Training",
        "",
        *_training_stage_lines(tr),
        f"- **Hardware**: {hw.get('cpu')} ({hw.get('cpu_count')} CPUs, "
        f"{hw.get('torch_threads')} torch threads), device {hw.get('device')}"
        f"{', GPU ' + str(hw.get('gpu')) if hw.get('gpu') else ''}, {hw.get('processes')} "
        f"process(es), torch {hw.get('torch')}.",
        "",
        "## Test metrics",
        "",
        f"Freshly simulated test set: {ev.get('n_examples')} examples, seed {ev.get('seed')} "
        "(scene i = test split scene i of `audiolrp simulate --seed SEED`), "
        f"{_test_recipe_text(ev.get('recipe') or {})}. Reproduce with `{ev.get('command')}`.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| accuracy (exact class) | {_fmt_num(metrics.get('accuracy'))} |",
        f"| accuracy within neighbour (<= {_fmt_num(metrics.get('neighbour_tolerance_deg'), 1)} "
        f"deg) | {_fmt_num(metrics.get('accuracy_within_neighbour'))} |",
    ]
    lines += _error_metric_lines(metrics) + _extra_set_lines(ev) + _breakdown_lines(metrics)
    lines += _refinement_lines(config) + _yardstick_lines(config)
    lines += [
        "",
        f"![errors]({name}-errors.png)",
        "",
        "## Limitations",
        "",
        f"Trained on simulated shoebox rooms with {speech} and ideal diffuse babble; "
        "compact training budget (CPU), so accuracy is below the paper's TIMIT-trained models. "
        "Intended for reproducing the LRP analyses, not as a production DOA estimator.",
        "",
    ]
    return "\n".join(lines)


def _error_metric_lines(metrics: dict[str, Any]) -> list[str]:
    """Rows of the test-metric table after the accuracies: the error statistics and the
    classic intensity-vector estimator on the same clips."""
    lines: list[str] = []
    for key, label in (
        ("refined_error_deg", "refined direction: error vs true direction (deg)"),
        ("error_vs_true_direction_deg", "class direction: error vs true direction (deg)"),
        ("error_vs_true_class_deg", "error vs true class direction (deg)"),
        ("error_ignoring_axis_signs_deg", "error ignoring the signs of x, y, z (deg)"),
    ):
        m = metrics.get(key)
        if not m:
            continue
        lines.append(
            f"| {label}: mean / median | {_fmt_num(m.get('mean'), 2)} / "
            f"{_fmt_num(m.get('median'), 2)} |"
        )
    base = metrics.get("baseline_intensity_vector")
    if base:
        be = base["error_vs_true_direction_deg"]
        lines.append(
            f"| classic intensity-vector estimator, same clips: mean / median (deg) | "
            f"{_fmt_num(be.get('mean'), 2)} / {_fmt_num(be.get('median'), 2)} |"
        )
        lines.append(
            f"| share within 10 deg: model / classic | "
            f"{_fmt_num(base.get('model_share_within_10_deg'))} / "
            f"{_fmt_num(base.get('share_within_10_deg'))} |"
        )
    return lines


def _extra_set_lines(ev: dict[str, Any]) -> list[str]:
    """The table of the extra test sets (empty when the card has none)."""
    lines: list[str] = []
    extra_sets = ev.get("extra_test_sets") or []
    if extra_sets:
        lines += [
            "",
            "Other test sets (same seed and size, one setting changed; the classic "
            "intensity-vector estimator on the same clips):",
            "",
            "| test set | exact class | refined mean / median (deg) | class mean / median (deg) "
            "| classic mean / median (deg) | within 10 deg: model / classic | reproduce |",
            "|---|---|---|---|---|---|---|",
        ]
        for ex in extra_sets:
            m = ex.get("metrics") or {}
            e = m.get("error_vs_true_direction_deg") or {}
            r = m.get("refined_error_deg") or {}
            b = m.get("baseline_intensity_vector") or {}
            bb = b.get("error_vs_true_direction_deg") or {}
            lines.append(
                f"| {ex.get('name')} | {_fmt_num(m.get('accuracy'))} | "
                f"{_fmt_num(r.get('mean'), 2)} / {_fmt_num(r.get('median'), 2)} | "
                f"{_fmt_num(e.get('mean'), 2)} / {_fmt_num(e.get('median'), 2)} | "
                f"{_fmt_num(bb.get('mean'), 2)} / {_fmt_num(bb.get('median'), 2)} | "
                f"{_fmt_num(b.get('model_share_within_10_deg'))} / "
                f"{_fmt_num(b.get('share_within_10_deg'))} | `{ex.get('command')}` |"
            )
    return lines


def _breakdown_lines(metrics: dict[str, Any]) -> list[str]:
    """The tables by SNR, by RT60 and by talker (each only when the metrics have it)."""
    lines: list[str] = []
    for key, unit in (("by_snr_db", "SNR (dB)"), ("by_rt60_s", "RT60 (s)")):
        rows = metrics.get(key) or []
        if rows:
            lines += [
                "",
                f"By {unit}:",
                "",
                f"| {unit} | n | accuracy | mean error (deg) |",
                "|---|---|---|---|",
            ]
            for r in rows:
                lines.append(
                    f"| {r['low']:.2f} - {r['high']:.2f} | {r['n']} | {r['accuracy']:.3f} | "
                    f"{r['mean_error_deg']:.2f} |"
                )
    talkers = metrics.get("by_speaker") or []
    if talkers:
        lines += [
            "",
            "By talker of the target speech (the classic estimator on the same clips):",
            "",
            "| talker | n | accuracy | mean / median error (deg) | classic mean (deg) |",
            "|---|---|---|---|---|",
        ]
        for r in talkers:
            lines.append(
                f"| {r['speaker']} | {r['n']} | {r['accuracy']:.3f} | "
                f"{r['mean_error_deg']:.2f} / {r['median_error_deg']:.2f} | "
                f"{_fmt_num(r.get('baseline_mean_error_deg'), 2)} |"
            )
    return lines


#: Rows of a multi-source card's test table: (evaluation key, label).
MULTISOURCE_ROWS: tuple[tuple[str, str], ...] = (
    ("model", "this model, shipped detector"),
    ("model_threshold_rule", "this model, threshold rule only"),
    ("classic", "classic: intensity-histogram peaks, threshold rule"),
    ("classic_counter", "classic with a counter fitted the same way"),
)


def _multisource_row(label: str, m: dict[str, Any]) -> str:
    err = m.get("matched_error_deg") or {}

    def deg(v: Any) -> str:
        return "-" if v is None else f"{float(v):.1f}"

    return (f"| {label} | {100 * float(m.get('count_accuracy', 0.0)):.1f} % | "
            f"{deg(err.get('median'))} / {deg(err.get('mean'))} | "
            f"{100 * float(m.get('matched_within_20_deg', 0.0)):.1f} % | {m.get('misses')} | "
            f"{m.get('false_alarms')} |")


def multisource_card_markdown(name: str, config: dict[str, Any]) -> str:
    """Markdown card of a shipped multi-source model (:func:`audiolrp.training.export.
    export_multisource_model`): what it is, its detector, its training and its test table
    beside the classic estimator, with the verdict on both criteria."""
    arch = config.get("architecture", {})
    tr = config.get("training", {}) or {}
    det = config.get("multisource", {}) or {}
    ev = config.get("evaluation", {}) or {}
    rows = ev.get("rows") or {}
    counter = det.get("counter")
    how = ("a source counter (multinomial logistic regression on the heights of the map's "
           "strongest peaks, `audiolrp.models.source_count`) gives the number of talkers; "
           "the strongest that many peaks are the talkers" if counter else
           f"peaks at or above {det.get('threshold')} (and {det.get('relative')} of the "
           "map's maximum) are talkers")
    verdict = ev.get("verdict") or {}
    multi = [t for t in _training_stages(tr) if t.get("task") == "multi"]
    multi_min = sum(float(t.get("train_time_s") or 0.0) for t in multi) / 60
    data = ((config.get("data_recipe") or {}).get("datasets") or [{}])[0]
    data_cfg = data.get("config") or {}
    lines = [
        f"# Model card: `{name}` (several talkers at once)",
        "",
        "Multi-source DOA CRNN (the layers of Table 1 with one sigmoid per direction class, as "
        "in Poschadel et al.'s multi-source CRNN; 425 classes).",
        "",
        f"- **Task**: 1-3 simultaneous talkers; clip activity = mean frame sigmoid. Detector: "
        f"greedy peaks at least {det.get('min_separation_deg')} deg apart, at most "
        f"{det.get('max_sources')}; {how}; each talker refined as the activity-weighted mean "
        f"within {det.get('refine_radius_deg')} deg.",
        _architecture_sizes(arch),
        f"- **Use**: `audiolrp analyze sources --model {name}` (whose relevance is it, per "
        "talker; docs/multisource.md).",
        f"- **Files**: `{name}.safetensors` (sha256 `{config.get('weights_sha256')}`), "
        f"`{name}.json`.",
        "",
        "## Training data",
        "",
        f"`audiolrp simulate --sources`: seed {data.get('seed')}, counts {data.get('counts')}, "
        f"speech `{data_cfg.get('speech')}`, first order, ideal microphone. Scene "
        "configuration (`SceneConfig`):",
        "",
        "| field | value |",
        "|---|---|",
        *[f"| {k} | {json.dumps(v)} |" for k, v in sorted(data_cfg.items())],
        "",
        "## Training",
        "",
    ]
    for i, t in enumerate(multi, start=1):
        init = (t.get("initialised_from") or {}).get("model")
        lines.append(
            f"- **Stage {i}**: `{_display_command((t.get('commands') or [None])[0])}`; "
            f"{float(t.get('train_time_s') or 0.0) / 60:.1f} min, {t.get('steps')} steps; "
            f"initialised from `{_display_command(init)}`"
            + (" (the shipped one-talker model)" if i == 1 else " (stage 1)") + "."
        )
    lines += [
        f"- **Loss**: {tr.get('loss')}.",
        f"- **Total**: {multi_min:.1f} min over {len(multi)} multi-source stage(s) (2-core "
        "CPU, one torch thread), after the one-talker model they started from.",
        "",
        "## Test",
        "",
        f"{ev.get('n_test')} test scenes (`{ev.get('test_data')}`, test split), detectors chosen "
        f"on {ev.get('n_val')} validation scenes (`{ev.get('val_data')}`, val split). Talkers "
        "and detections are paired by the Hungarian method on great-circle angles; matched "
        "error over the pairs, misses and false alarms over all talkers. Reproduce with "
        f"`{ev.get('command')}`.",
        "",
        *[f"- {split} data: `{cmd}` ({split} split; the scene settings of the training data)"
          for split, cmd in (ev.get("simulate") or {}).items() if cmd],
        "",
        "| estimator | count accuracy | matched error median / mean (deg) | within 20 deg | "
        "misses | false alarms |",
        "|---|---|---|---|---|---|",
        *[_multisource_row(label, rows[key]) for key, label in MULTISOURCE_ROWS if key in rows],
        "",
        f"Better than the classic estimator at counting talkers: "
        f"**{'yes' if verdict.get('count') else 'no'}**; on matched error (median and mean): "
        f"**{'yes' if verdict.get('matched_error') else 'no'}**.",
        "",
        "## Limitations",
        "",
        "First-order input, simulated shoebox rooms, a CPU training budget: counting 1-3 "
        "talkers from one second is hard for it and for the classic estimator alike; use it to "
        "study whose relevance the explanations hold, not as a production detector.",
        "",
    ]
    return "\n".join(lines)
