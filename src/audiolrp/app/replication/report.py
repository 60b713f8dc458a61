"""Replication report (:mod:`audiolrp.app.replication`): ``replication.md`` from the results.

:func:`tables_markdown` renders the summary tables (verdicts per model and finding with their
key numbers and quality flags, the quality of every set, the HOA per-order channel relevance)
from ``results.json`` alone; ``docs/replication.md`` embeds its output between
:data:`TABLE_BEGIN` and :data:`TABLE_END`, and :func:`update_doc` rewrites that block.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from audiolrp.app.replication.criteria import (
    ACTIVE_MIN_RATIO,
    FIT_RULE,
    REACTIVE_MAX_RATIO,
)
from audiolrp.errors import AudioLRPError
from audiolrp.io import atomic_write_text
from audiolrp.signal.feature_kinds import INTENSITY

#: Markers of the generated block in ``docs/replication.md``.
TABLE_BEGIN = "<!-- replication tables: generated from replication/results.json, do not edit -->"
TABLE_END = "<!-- end of generated replication tables -->"

_FINDING_TITLES = {
    "channel_relevance": "1. channel relevance (Fig. 3)",
    "pixel_flipping": "2. pixel flipping (Fig. 4)",
    "direct_sound": "3. direct sound, as stated (Fig. 2)",
    "auralization": "3. listening: auralization (Eq. 3/4)",
}


# ------------------------------------------------------------------------------------------
# number formats
# ------------------------------------------------------------------------------------------
def _f(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _s(v: Any, digits: int = 1) -> str:
    """Signed number."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:+.{digits}f}"


def _ci(c: dict[str, Any], digits: int = 3) -> str:
    return f"{_f(c['mean'], digits)} [{_f(c['ci_low'], digits)}, {_f(c['ci_high'], digits)}]"


def _sci(c: dict[str, Any], digits: int = 1) -> str:
    return f"{_s(c['mean'], digits)} [{_s(c['ci_low'], digits)}, {_s(c['ci_high'], digits)}]"


_NA = {"mean": None, "ci_low": None, "ci_high": None}


def _pct(v: Any) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.1f} %"


# ------------------------------------------------------------------------------------------
# quality flag
# ------------------------------------------------------------------------------------------
def quality_flag(q: dict[str, Any]) -> str:
    """``fit (median 5.9 deg vs classic 14.2)`` or ``**NOT FIT** (...)`` for a table cell
    (:data:`~audiolrp.app.replication.criteria.FIT_RULE`)."""
    if not q.get("n"):
        return "no examples"
    med, cla = q["refined"]["median_deg"], q["classic"]["median_deg"]
    text = f"median {_f(med, 1)} deg vs classic {_f(cla, 1)}"
    return f"fit ({text})" if q["fit"] else f"**NOT FIT** ({text})"


def _quality_line(q: dict[str, Any]) -> str:
    if not q.get("n"):
        return "Model quality: no examples."
    r, c, k = q["refined"], q["class"], q["classic"]
    return (f"Model on these {q['n']} examples: refined direction median / mean error "
            f"{_f(r['median_deg'], 1)} / {_f(r['mean_deg'], 1)} deg, {_pct(r['within_10_deg'])} "
            f"within 10 deg; class {_f(c['median_deg'], 1)} / {_f(c['mean_deg'], 1)} deg, exact "
            f"class {_pct(q['exact_class'])}; classic intensity vector {_f(k['median_deg'], 1)} "
            f"/ {_f(k['mean_deg'], 1)} deg; classic - model {_sci(q['classic_minus_refined_deg'])}"
            f" deg. Quality flag: {quality_flag(q)}.")


# ------------------------------------------------------------------------------------------
# summary tables (the block docs/replication.md embeds)
# ------------------------------------------------------------------------------------------
def _cell_channels(ch: dict[str, Any]) -> str:
    k = sum(bool(c["matches"]) for c in ch["axis_checks"])
    return (f"**{ch['verdict']}**: 1a {k}/{len(ch['axis_checks'])} axis checks; 1b active - "
            f"reactive share {_sci(ch['active_minus_reactive'], 3)}; "
            f"{quality_flag(ch['model_quality'])}")


def _cell_flip(pf: dict[str, Any]) -> str:
    s = f"**{pf['verdict']}**: 2a MRF - random AOPC {_sci(pf['mrf_minus_random'], 4)}"
    if "ratio_active_to_all" in pf:
        s += (f"; 2b active/all {_f(pf['ratio_active_to_all'], 2)}; 2c reactive/all "
              f"{_f(pf['ratio_reactive_to_all'], 2)}")
    return f"{s}; {quality_flag(pf['model_quality'])}"


def _cell_direct(d: dict[str, Any]) -> str:
    m, diff = d["means"], d["differences"]
    k = sum(bool(v) for v in d["checks"].values())
    return (f"**{d['verdict']}** ({k}/{len(d['checks'])}): mean log-ratio weighted by "
            f"relevance {_s(m['relevance_weighted']['mean'])}, energy "
            f"{_s(m['energy_weighted']['mean'])}, uniform {_s(m['uniform']['mean'])} dB; AUC "
            f"{_f(m['auc_relevance']['mean'], 2)} vs energy {_f(m['auc_energy']['mean'], 2)}; "
            f"own - other clip {_sci(diff['relevance_minus_control_db'], 2)} dB; "
            f"{quality_flag(d['model_quality'])}")


def _cell_aural(a: dict[str, Any]) -> str:
    energy = (a.get("filtered_minus_energy_control") or {}).get("spectral_similarity")
    vs_energy = f"; corr. vs energy-matched filter {_sci(energy, 3)}" if energy else ""
    return (f"**{a['verdict']}**: log-spectrogram corr. filtered - input "
            f"{_sci(a['spectral_similarity_diff'], 3)}, SI-SDR {_sci(a['si_sdr_diff_db'], 1)} dB"
            f"{vs_energy}; {quality_flag(a['model_quality'])}")


_CELLS = {"channel_relevance": _cell_channels, "pixel_flipping": _cell_flip,
          "direct_sound": _cell_direct, "auralization": _cell_aural}


def verdict_table(results: dict[str, Any]) -> list[str]:
    """One row per model, one column per finding: verdict, key numbers, quality flag."""
    f = results["findings"]
    cols = list(_FINDING_TITLES)
    L = ["| model | " + " | ".join(_FINDING_TITLES[c] for c in cols) + " |",
         "|---|" + "---|" * len(cols)]
    for label, desc in results["models"].items():
        cells = []
        for c in cols:
            if c == "channel_relevance":
                ch = f.get(c)
                if ch and ch.get("model") == label:
                    cells.append(_CELLS[c](ch))
                else:
                    # finding 1 is stated for the intensity channels only
                    cells.append("n/a (intensity channels)"
                                 if desc["feature"] != INTENSITY.name else "not run")
                continue
            entry = (f.get(c) or {}).get(label)
            cells.append(_CELLS[c](entry) if entry else "not run")
        L.append(f"| {label} | " + " | ".join(cells) + " |")
    return L


def _quality_sets(results: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    f = results["findings"]
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for label in results["models"]:
        ch = f.get("channel_relevance")
        if ch and ch.get("model") == label:
            rows.append((label, f"finding 1: {ch['n_examples']} axis scenes",
                         ch["model_quality"]))
        for key, what in (("pixel_flipping", "finding 2: pixel-flipping scenes"),
                          ("direct_sound", "finding 3: scenes with known parts")):
            e = (f.get(key) or {}).get(label)
            if e:
                rows.append((label, what, e["model_quality"]))
    return rows


def quality_table(results: dict[str, Any]) -> list[str]:
    """The quality flag's numbers for every set of examples a verdict used."""
    L = ["| model | examples | n | refined median / mean | within 10 deg | class median / mean "
         "| exact class | classic median / mean | classic - model, deg [95 % CI] | flag |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for label, what, q in _quality_sets(results):
        if not q.get("n"):
            continue
        r, c, k = q["refined"], q["class"], q["classic"]
        L.append(f"| {label} | {what} | {q['n']} | {_f(r['median_deg'], 1)} / "
                 f"{_f(r['mean_deg'], 1)} | {_pct(r['within_10_deg'])} | "
                 f"{_f(c['median_deg'], 1)} / {_f(c['mean_deg'], 1)} | "
                 f"{_pct(q['exact_class'])} | {_f(k['median_deg'], 1)} / {_f(k['mean_deg'], 1)}"
                 f" | {_sci(q['classic_minus_refined_deg'])} | "
                 f"{'fit' if q['fit'] else 'NOT FIT'} |")
    return L


def orders_table(results: dict[str, Any]) -> list[str]:
    """Relevance share per Ambisonics order and magnitude vs phase (HOA models)."""
    orders = results["findings"].get("channel_orders") or {}
    if not orders:
        return []
    top = max(len(o["per_order"]) for o in orders.values())
    L = ["| model | n | magnitude share | phase share | "
         + " | ".join(f"order {n}" for n in range(top)) + " | quality |",
         "|---|---|---|---|" + "---|" * top + "---|"]
    for label, o in orders.items():
        cells = []
        for n in range(top):
            if n < len(o["per_order"]):
                p = o["per_order"][n]
                cells.append(f"{_f(p['share']['mean'], 3)} (x{_f(p['share_over_uniform'], 2)})")
            else:
                cells.append("")
        L.append(f"| {label} | {o['n_examples']} | {_ci(o['magnitude_share'])} | "
                 f"{_ci(o['phase_share'])} | " + " | ".join(cells)
                 + f" | {quality_flag(o['model_quality'])} |")
    return L


def tables_markdown(results: dict[str, Any]) -> str:
    """The summary tables of a run, from ``results.json`` alone (embedded byte for byte in
    ``docs/replication.md``)."""
    L = [f"Speech: `{results['speech']['name']}` ({results['speech']['reason']}). "
         f"Quality rule: {results.get('quality_rule', FIT_RULE)}.", ""]
    L += verdict_table(results) + [""]
    q = quality_table(results)
    if len(q) > 2:
        L += ["Model quality on the examples each verdict used (errors in deg against the exact "
              "direction; classic: the broadband intensity vector of the same clip):", ""]
        L += q + [""]
    o = orders_table(results)
    if o:
        L += ["Relevance per Ambisonics order (HOA models, random-DOA scenes): share of "
              "|sum R_c| per order, magnitude + phase channels (x: relative to an equal share "
              "per channel), and magnitude vs phase (mean [95 % CI]):", ""]
        L += o + [""]
    return "\n".join(L)


def update_doc(doc: str | Path, results: dict[str, Any]) -> bool:
    """Replace the generated block of ``doc`` (between :data:`TABLE_BEGIN` and
    :data:`TABLE_END`) with :func:`tables_markdown`; returns whether the file changed."""
    path = Path(doc)
    text = path.read_text(encoding="utf-8")
    new = embed_tables(text, results)
    if new == text:
        return False
    atomic_write_text(path, new)
    return True


def embed_tables(text: str, results: dict[str, Any]) -> str:
    """``text`` with its generated block replaced by :func:`tables_markdown` of ``results``."""
    try:
        head, rest = text.split(TABLE_BEGIN + "\n", 1)
        _, tail = rest.split(TABLE_END, 1)
    except ValueError:
        raise AudioLRPError(f"the document has no generated block: add the lines {TABLE_BEGIN!r}"
                            f" and {TABLE_END!r}") from None
    return head + TABLE_BEGIN + "\n" + tables_markdown(results) + TABLE_END + tail


def generated_block(text: str) -> str:
    """The generated block of a document (between the markers)."""
    try:
        return text.split(TABLE_BEGIN + "\n", 1)[1].split(TABLE_END, 1)[0]
    except IndexError:
        raise AudioLRPError("the document has no generated block") from None


# ------------------------------------------------------------------------------------------
# detailed sections
# ------------------------------------------------------------------------------------------
def _header_lines(results: dict[str, Any]) -> list[str]:
    """Title, models and settings, and the summary tables."""
    L: list[str] = ["# Replication of the seed paper's findings", ""]
    cfg = results["config"]
    over = ", ".join(f"{k}={v}" for k, v in (cfg.get("scene_overrides") or {}).items())
    L += [f"Models: {', '.join(f'`{m}`' for m in results['models'])}. Seed {cfg['seed']}; "
          f"scenes: the cards' test recipe with {over or 'no changes'}. Explanations: LRP "
          "`paper` composite, target = true class, all frames. CIs: findings 1, 2 and the "
          "listening row mean +- 1.96 SE; the quality flag and finding 3 (as stated) paired "
          "percentile bootstrap over examples. "
          "Criteria: `audiolrp.app.replication` module docstring.", ""]
    if not results.get("complete", True):
        L += ["**Incomplete run**: written after a finished stage; later stages are missing.", ""]
    L += [tables_markdown(results)]
    return L


def _channel_lines(ch: dict[str, Any]) -> list[str]:
    """Finding 1 (Fig. 3): per-group shares, checks 1a/1b and the generalisation extension."""
    L: list[str] = [f"## 1. Channel relevance (Fig. 3), `{ch['model']}`", "",
                    f"**Claim.** {ch['claim']}", "",
                    f"{ch['n_examples']} scenes, equally many per DOA class "
                    + ", ".join(f"{g}: class {c}" for g, c in ch["classes"].items())
                    + ". Relevance share = |sum R_c| / sum_c |sum R_c|.", "",
                    _quality_line(ch["model_quality"]), "",
                    "![Fig. 3](fig3_channel_relevance.png)", "",
                    "Mean relevance share per group (median [5 %, 95 %]):", ""]
    names = list(dict.fromkeys(r["channel"] for r in ch["stats"]))
    L += ["| group | n | exact class | " + " | ".join(names) + " |",
          "|---|---|---|" + "---|" * len(names)]
    for g in dict.fromkeys(r["group"] for r in ch["stats"]):
        rows = [r for r in ch["stats"] if r["group"] == g]
        L.append(f"| {g} | {rows[0]['count']} | {_f(ch['exact_class_per_group'].get(g), 2)} | "
                 + " | ".join(f"{r['mean']:.3f} ({r['median']:.3f} [{r['p5']:.3f}, "
                              f"{r['p95']:.3f}])" for r in rows) + " |")
    L += ["", "1a: largest mean share within each family:", "",
          "| group | family | largest | expected | match | per-example margin expected - "
          "largest other [95 % CI] (reported) |", "|---|---|---|---|---|---|"]
    for c in ch["axis_checks"]:
        margin = _ci(c["margin"]) if "margin" in c else "n/a"
        L.append(f"| {c['group']} | {c['family']} | {c['largest_channel']} "
                 f"({c['largest_share']:.3f}) | {c['expected_channel']} "
                 f"({c['expected_share']:.3f}) | {'yes' if c['matches'] else 'no'} | "
                 f"{margin} |")
    L += ["", "1b: total shares (mean [95 % CI]):", "", "| quantity | value |", "|---|---|",
          f"| active share (I_a) | {_ci(ch['active_share'])} |",
          f"| reactive share (I_r) | {_ci(ch['reactive_share'])} |",
          f"| active - reactive | {_ci(ch['active_minus_reactive'])} |",
          f"| active - reactive, shares of sum abs R (robustness) | "
          f"{_ci(ch['active_minus_reactive_per_bin_abs'])} |", "",
          f"Verdicts: 1a **{ch['verdict_1a']}**, 1b **{ch['verdict_1b']}** -> "
          f"**{ch['verdict']}**.", ""]
    gen = ch.get("generalisation")
    if gen:
        L += ["### Generalisation over all 425 classes (extension, not in the verdict)", "",
              f"{gen['n_examples']} random-DOA scenes. "
              + _quality_line(gen["model_quality"]), "",
              "![correlation](fig3_direction_correlation.png)", "",
              "| channel | axis | Pearson r | Spearman rho (p) | positive & p<0.05 |",
              "|---|---|---|---|---|"]
        for c in gen["channels"]:
            L.append(f"| {c['channel']} | \\|d_{c['axis']}\\| | {_f(c['pearson_r'])} | "
                     f"{_f(c['spearman_rho'])} ({_f(c['spearman_p'], 4)}) | "
                     f"{'yes' if c['positive_significant'] else 'no'} |")
        L += ["", f"Active - reactive share over random DOAs: "
              f"{_ci(gen['active_minus_reactive'])}.", ""]
    return L


def _flip_lines(label: str, pf: dict[str, Any]) -> list[str]:
    """Finding 2 (Fig. 4) of one model: curves, AOPC and the criteria."""
    L: list[str] = [f"### `{label}`", "", f"**Claim.** {pf['claim']}", "",
                    f"{pf['n_examples']} random-DOA scenes, {pf['n_steps']} steps (0-100 % of "
                    f"the 50x512 bins), baseline `{pf['baseline']}`, score: {pf['score']}.", "",
                    _quality_line(pf["model_quality"]), "",
                    f"![Fig. 4 {label}]({pf['figure']})", "",
                    "| curve | score at 0 % | at 50 % | at 100 % | AOPC [95 % CI] |",
                    "|---|---|---|---|---|"]
    for k, c in pf["curves"].items():
        mean = list(c["mean"])
        L.append(f"| {c['label']} | {_f(mean[0], 4)} | {_f(mean[len(mean) // 2], 4)} | "
                 f"{_f(mean[-1], 4)} | {_ci(pf['aopc_ci'][k], 4)} |")
    L += ["", "| criterion | measured | passed |", "|---|---|---|",
          f"| 2a AOPC(all) - AOPC(random) CI > 0 | {_ci(pf['mrf_minus_random'], 4)} | "
          f"{'yes' if pf['checks']['2a relevance order beats random'] else 'no'} |"]
    if "ratio_active_to_all" in pf:
        L += [f"| 2b AOPC(active) / AOPC(all) >= {ACTIVE_MIN_RATIO} | "
              f"{_f(pf['ratio_active_to_all'])} | "
              f"{'yes' if pf['checks']['2b active ~ all'] else 'no'} |",
              f"| 2c AOPC(reactive) / AOPC(all) <= {REACTIVE_MAX_RATIO} and AOPC(active) - "
              f"AOPC(reactive) CI > 0 | {_f(pf['ratio_reactive_to_all'])}; "
              f"{_ci(pf['active_minus_reactive'], 4)} | "
              f"{'yes' if pf['checks']['2c reactive markedly less'] else 'no'} |"]
    L += ["", f"Verdict: **{pf['verdict']}**.", ""]
    return L


def _direct_lines(label: str, d: dict[str, Any]) -> list[str]:
    """Finding 3 as stated, one model: weighted log-ratios, AUCs, control."""
    m, diff = d["means"], d["differences"]
    L = [f"### `{label}`", "", f"{d['n_examples']} scenes; relevance map: {d['map']}; ratio: "
         f"{d['ratio']}.", "", _quality_line(d["model_quality"]), "",
         f"![direct ratio {label}]({d['figure']})", "",
         "| measure (per example, mean [95 % CI]) | value |", "|---|---|",
         f"| mean log-ratio, weighted by positive relevance / dB | "
         f"{_ci(m['relevance_weighted'], 2)} |",
         f"| ... weighted by energy \\|X_W\\|^2 / dB | {_ci(m['energy_weighted'], 2)} |",
         f"| ... uniform over bins / dB | {_ci(m['uniform'], 2)} |",
         f"| ... weighted by another clip's relevance (control) / dB | "
         f"{_ci(m['control_weighted'], 2)} |",
         f"| AUC of positive relevance for direct-dominated bins | {_ci(m['auc_relevance'])} |",
         f"| AUC of energy | {_ci(m['auc_energy'])} |",
         f"| AUC of another clip's relevance (control) | {_ci(m['auc_control'])} |",
         f"| share of direct-dominated bins | {_ci(m['direct_share'])} |",
         f"| share of positive relevance / of energy on them | "
         f"{_ci(m['relevance_share_direct'])} / {_ci(m['energy_share_direct'])} |", "",
         "| check (paired difference, CI > 0) | difference [95 % CI] | passed | all input "
         "channels summed (robustness) |", "|---|---|---|---|"]
    keys = {"3a relevance-weighted > uniform": "relevance_minus_uniform_db",
            "3a relevance-weighted > energy-weighted": "relevance_minus_energy_db",
            "3b AUC relevance > AUC energy": "auc_relevance_minus_energy",
            "3c own heatmap > another clip's": "relevance_minus_control_db"}
    rob = d.get("all_input_channels") or {}
    for name, passed in d["checks"].items():
        k = keys[name]
        r = _sci(rob["differences"][k], 3) if rob else "n/a"
        L.append(f"| {name} | {_sci(diff[k], 3)} | {'yes' if passed else 'no'} | {r} |")
    L += ["", f"Verdict: **{d['verdict']}** (all input channels summed: "
          f"{rob.get('verdict', 'n/a')}).", ""]
    return L


def _aural_lines(label: str, a: dict[str, Any]) -> list[str]:
    """The listening row (Eq. 3/4, Fig. 2d) of one model."""
    m = a["metrics"]
    energy = a.get("filtered_minus_energy_control") or {}
    return [f"### `{label}`", "",
            f"{a['n_examples']} scenes; W filtered with its heatmap: {a['filter']['channel']} "
            "(B = 20, 129 taps, negative relevance clipped). Compared with the noise-free "
            "direct sound (W).", "", _quality_line(a["model_quality"]), "",
            f"![Fig. 2 {label}]({a['figure']}) (example {a['example_index']}: "
            f"{a.get('example_choice', '')})", "",
            "| metric vs direct sound | filtered | input | control (other example's heatmap) "
            "| energy-matched control (the heatmap's values placed by \\|X_W\\|^2) |",
            "|---|---|---|---|---|",
            f"| log-spectrogram correlation | {_ci(m['spectral_similarity']['filtered'])} | "
            f"{_ci(m['spectral_similarity']['input'])} | "
            f"{_ci(m['spectral_similarity']['control'])} | "
            f"{_ci(m['spectral_similarity'].get('energy_control', _NA))} |",
            f"| SI-SDR / dB | {_ci(m['si_sdr_db']['filtered'], 2)} | "
            f"{_ci(m['si_sdr_db']['input'], 2)} | {_ci(m['si_sdr_db']['control'], 2)} | "
            f"{_ci(m['si_sdr_db'].get('energy_control', _NA), 2)} |",
            f"| SDR / dB (level-dependent) | {_ci(m['sdr_db']['filtered'], 2)} | "
            f"{_ci(m['sdr_db']['input'], 2)} | | |", "",
            "| paired difference | mean [95 % CI] | fraction filtered closer |", "|---|---|---|",
            f"| spectral similarity, filtered - input | {_ci(a['spectral_similarity_diff'])} | "
            f"{_f(a['fraction_filtered_closer']['spectral_similarity'], 2)} |",
            f"| SI-SDR, filtered - input | {_ci(a['si_sdr_diff_db'], 2)} | "
            f"{_f(a['fraction_filtered_closer']['si_sdr'], 2)} |",
            f"| spectral similarity, filtered - control | "
            f"{_ci(a['filtered_minus_control']['spectral_similarity'])} | |",
            f"| SI-SDR, filtered - control | {_ci(a['filtered_minus_control']['si_sdr_db'], 2)}"
            " | |",
            f"| spectral similarity, filtered - energy-matched control | "
            f"{_ci(energy.get('spectral_similarity', _NA))} | |",
            f"| SI-SDR, filtered - energy-matched control | "
            f"{_ci(energy.get('si_sdr_db', _NA), 2)} | |", "",
            f"Verdict: **{a['verdict']}** (both paired differences with CI > 0 -> REPRODUCED, "
            "one -> PARTIAL).", ""]


def _timing_lines(t: dict[str, float]) -> list[str]:
    """Run time per stage."""
    if not t:
        return []
    L = ["## Run time", "", "| stage | s |", "|---|---|"]
    L += [f"| {k} | {v:.1f} |" for k, v in t.items()]
    L.append("")
    return L


def report_markdown(results: dict[str, Any]) -> str:
    """The replication report (markdown) from :func:`replicate`'s results dict."""
    f = results["findings"]
    L = _header_lines(results)
    if f.get("channel_relevance"):
        L += _channel_lines(f["channel_relevance"])
    sections = (("pixel_flipping", "## 2. Pixel flipping (Fig. 4)", _flip_lines),
                ("direct_sound", "## 3. Direct sound, as the paper states it (Fig. 2)",
                 _direct_lines),
                ("auralization", "## 3. Listening: auralization (Eq. 3/4, Fig. 2d)",
                 _aural_lines))
    for key, title, lines in sections:
        if f.get(key):
            L += [title, ""]
            if key == "direct_sound":
                claim = next(iter(f[key].values()))["claim"]
                L += [f"**Claim.** \"{claim}\"", ""]
            for label, entry in f[key].items():
                L += lines(label, entry)
    L += _timing_lines(results.get("timing_s", {}))
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    """``python -m audiolrp.app.replication RESULTS.json DOC.md``: rewrite the generated
    block of ``DOC.md`` (and ``replication.md`` beside ``RESULTS.json``) from the results."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("doc", type=Path, nargs="?")
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.results.read_text(encoding="utf-8"))
        atomic_write_text(args.results.with_name("replication.md"), report_markdown(results))
        if args.doc is not None:
            update_doc(args.doc, results)
    except (OSError, ValueError, KeyError, AudioLRPError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
