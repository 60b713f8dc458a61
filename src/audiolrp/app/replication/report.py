"""Replication report (:mod:`audiolrp.app.replication`): ``replication.md`` from the results."""

from __future__ import annotations

import math
from typing import Any

from audiolrp.app.replication.criteria import (
    ACTIVE_MIN_RATIO,
    REACTIVE_MAX_RATIO,
    WEAK_ACCURACY,
)


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------
def _f(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ci(c: dict[str, Any], digits: int = 3) -> str:
    return f"{_f(c['mean'], digits)} [{_f(c['ci_low'], digits)}, {_f(c['ci_high'], digits)}]"


def _quality_line(q: dict[str, Any]) -> str:
    if not q.get("n"):
        return "Model accuracy: no examples."
    s = (f"Model on these {q['n']} examples: accuracy {100 * q['accuracy']:.1f} % (chance "
         f"{100 * q['chance']:.2f} %), median great-circle error {q['median_error_deg']:.1f} deg.")
    if q["weak"]:
        s += (f" **Weak model** (accuracy < {100 * WEAK_ACCURACY:.0f} %): the explanations "
              "describe this model's strategy, which may differ from a well-trained model's; "
              "the conclusions are correspondingly weak.")
    return s


def _header_lines(results: dict[str, Any]) -> list[str]:
    """Title, models and settings, and the verdict table."""
    L: list[str] = ["# Replication of the seed paper's findings", ""]
    cfg = results["config"]
    L += [f"Models: intensity `{results['models'].get('intensity')}`, HOA "
          f"`{results['models'].get('hoa')}`. Seed {cfg['seed']}, corpus "
          f"`{results.get('corpus') or 'recipe'}`. Explanations: LRP `paper` composite, target = "
          "true class, all frames. CIs: mean +- 1.96 SE. Criteria: "
          "`audiolrp.app.replication` module docstring.", ""]
    if not results.get("complete", True):
        L += ["**Incomplete run**: written after a finished stage; later stages are missing.", ""]
    L += ["| finding | verdict |", "|---|---|"]
    for key, title in (("channel_relevance", "1. Channel relevance (Fig. 3)"),
                       ("pixel_flipping", "2. Pixel flipping (Fig. 4)"),
                       ("auralization", "3. Auralization (Eq. 3/4, Fig. 2)")):
        f = results["findings"].get(key)
        L.append(f"| {title} | {f['verdict'] if f else 'not run'} |")
    L.append("")
    return L


def _channel_lines(ch: dict[str, Any]) -> list[str]:
    """Finding 1 (Fig. 3): per-group shares, checks 1a/1b and the generalisation extension."""
    L: list[str] = ["## 1. Channel relevance (Fig. 3)", "", f"**Claim.** {ch['claim']}", "",
          f"{ch['n_examples']} scenes, equally many per DOA class "
          + ", ".join(f"{g}: class {c}" for g, c in ch["classes"].items())
          + ". Relevance share = |sum R_c| / sum_c |sum R_c|.", "",
          _quality_line(ch["model_quality"]), "", "![Fig. 3](fig3_channel_relevance.png)",
          "", "Mean relevance share per group (median [5 %, 95 %]):", ""]
    names = list(dict.fromkeys(r["channel"] for r in ch["stats"]))
    L += ["| group | n | acc. | " + " | ".join(names) + " |",
          "|---|---|---|" + "---|" * len(names)]
    for g in dict.fromkeys(r["group"] for r in ch["stats"]):
        rows = [r for r in ch["stats"] if r["group"] == g]
        q = ch["model_quality_per_group"][g]
        L.append(f"| {g} | {rows[0]['count']} | {_f(q['accuracy'], 2)} | " + " | ".join(
            f"{r['mean']:.3f} ({r['median']:.3f} [{r['p5']:.3f}, {r['p95']:.3f}])"
            for r in rows) + " |")
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


def _flip_lines(pf: dict[str, Any]) -> list[str]:
    """Finding 2 (Fig. 4): curves, AOPC and criteria 2a-2c."""
    L: list[str] = []
    L += ["## 2. Pixel flipping (Fig. 4)", "", f"**Claim.** {pf['claim']}", "",
          f"{pf['n_examples']} random-DOA scenes, {pf['n_steps']} steps (0-100 % of the "
          f"50x512 bins), baseline `{pf['baseline']}`, score: {pf['score']}.", "",
          _quality_line(pf["model_quality"]), "", "![Fig. 4](fig4_pixel_flipping.png)", "",
          "| curve | score at 0 % | at 50 % | at 100 % | AOPC [95 % CI] |",
          "|---|---|---|---|---|"]
    for k, c in pf["curves"].items():
        mean = list(c["mean"])
        L.append(f"| {c['label']} | {_f(mean[0], 4)} | {_f(mean[len(mean) // 2], 4)} | "
                 f"{_f(mean[-1], 4)} | {_ci(pf['aopc_ci'][k], 4)} |")
    L += ["", "| criterion | measured | passed |", "|---|---|---|",
          f"| 2a AOPC(all) - AOPC(random) CI > 0 | {_ci(pf['mrf_minus_random'], 4)} | "
          f"{'yes' if pf['checks']['2a relevance order beats random'] else 'no'} |",
          f"| 2b AOPC(active) / AOPC(all) >= {ACTIVE_MIN_RATIO} | "
          f"{_f(pf['ratio_active_to_all'])} | "
          f"{'yes' if pf['checks']['2b active ~ all'] else 'no'} |",
          f"| 2c AOPC(reactive) / AOPC(all) <= {REACTIVE_MAX_RATIO} and AOPC(active) - "
          f"AOPC(reactive) CI > 0 | {_f(pf['ratio_reactive_to_all'])}; "
          f"{_ci(pf['active_minus_reactive'], 4)} | "
          f"{'yes' if pf['checks']['2c reactive markedly less'] else 'no'} |", "",
          f"Verdict: **{pf['verdict']}**.", ""]
    return L


def _aural_lines(au: dict[str, Any]) -> list[str]:
    """Finding 3 (Eq. 3/4, Fig. 2): similarity to the direct sound and paired differences."""
    L: list[str] = []
    m = au["metrics"]
    L += ["## 3. Auralization (Eq. 3/4, Fig. 2)", "", f"**Claim.** {au['claim']}", "",
          f"{au['n_examples']} random-DOA scenes; W channel filtered with its heatmap: "
          f"{au['filter']['channel']} (B = 20, 129 taps, negative relevance clipped). "
          "Compared with the noise-free direct sound (W).", "",
          _quality_line(au["model_quality"]), "",
          f"![Fig. 2](fig2_panels.png) (example {au['example_index']}: "
          f"{au.get('example_choice', '')})", "",
          "| metric vs direct sound | filtered | input | control (other example's heatmap) "
          "|", "|---|---|---|---|",
          f"| log-spectrogram correlation | {_ci(m['spectral_similarity']['filtered'])} | "
          f"{_ci(m['spectral_similarity']['input'])} | "
          f"{_ci(m['spectral_similarity']['control'])} |",
          f"| SI-SDR / dB | {_ci(m['si_sdr_db']['filtered'], 2)} | "
          f"{_ci(m['si_sdr_db']['input'], 2)} | {_ci(m['si_sdr_db']['control'], 2)} |",
          f"| SDR / dB (level-dependent) | {_ci(m['sdr_db']['filtered'], 2)} | "
          f"{_ci(m['sdr_db']['input'], 2)} | |", "",
          "| paired difference | mean [95 % CI] | fraction filtered closer |",
          "|---|---|---|",
          f"| spectral similarity, filtered - input | "
          f"{_ci(au['spectral_similarity_diff'])} | "
          f"{_f(au['fraction_filtered_closer']['spectral_similarity'], 2)} |",
          f"| SI-SDR, filtered - input | {_ci(au['si_sdr_diff_db'], 2)} | "
          f"{_f(au['fraction_filtered_closer']['si_sdr'], 2)} |",
          f"| spectral similarity, filtered - control | "
          f"{_ci(au['filtered_minus_control']['spectral_similarity'])} | |",
          f"| SI-SDR, filtered - control | "
          f"{_ci(au['filtered_minus_control']['si_sdr_db'], 2)} | |", "",
          f"Verdict: **{au['verdict']}** (both paired differences with CI > 0 -> "
          "REPRODUCED, one -> PARTIAL).", ""]
    return L


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
    findings = results["findings"]
    L = _header_lines(results)
    if findings.get("channel_relevance"):
        L += _channel_lines(findings["channel_relevance"])
    if findings.get("pixel_flipping"):
        L += _flip_lines(findings["pixel_flipping"])
    if findings.get("auralization"):
        L += _aural_lines(findings["auralization"])
    L += _timing_lines(results.get("timing_s", {}))
    return "\n".join(L)
