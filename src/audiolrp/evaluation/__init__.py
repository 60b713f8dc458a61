"""DOA evaluation of trained CRNNs: accuracy, great-circle errors, SNR/RT60 breakdowns, plots.

Clip prediction = argmax over the 425 classes of the mean frame softmax
(:func:`audiolrp.models.clip_probabilities`; paper section "Experimental Setup"). Two angular
errors are reported, both great-circle angles ``atan2(|u x v|, u . v)`` in degrees:

* ``error_vs_true_direction_deg``: predicted class direction vs the true source direction
  (equals the next one when scenes place sources exactly on grid directions);
* ``error_vs_true_class_deg``: predicted class direction vs the true class direction (0 for a
  correct prediction).

A diagnostic third error, ``error_ignoring_axis_signs_deg``, is the angle left after both
directions are mirrored into the first octant (``(x, y, z) -> (|x|, |y|, |z|)``). Every real
spherical harmonic is even or odd under each of the reflections ``x -> -x``, ``y -> -y``,
``z -> -z``, so the channel *magnitudes* of a plane wave are identical for the 8 mirror images of
its direction at every Ambisonics order; the signs live only in the inter-channel *phases*. A
magnitude + phase model that has learned the magnitude cues but not yet the phase cues shows a
small sign-ignoring error next to a ~90 deg plain error.

``accuracy_within_neighbour`` is the fraction of clips whose class error is at most the grid's
neighbour spacing (the largest nearest-neighbour angle of the grid: 10 deg for
:func:`audiolrp.signal.ambisonics.doa_grid`), i.e. the prediction is the true class or an adjacent
one.

Test data come from a dataset folder (``audiolrp.data.datasets.FeatureDataset``) or are simulated
afresh with :func:`audiolrp.simulation.scenes.simulate_scene` from the model card's data recipe and
a
seed (:func:`simulated_test_examples`), so a shipped model's card metrics are reproducible with
``audiolrp evaluate --model NAME``.

Modules: :mod:`~audiolrp.evaluation.metrics` (errors, accuracy, breakdowns, baseline, text),
:mod:`~audiolrp.evaluation.examples` (dataset and simulated test clips),
:mod:`~audiolrp.evaluation.predict` (the model over the clips, :func:`evaluate`, error map).
"""

from audiolrp.evaluation.examples import (
    Example,
    dataset_examples,
    point_noise_overrides,
    scene_config_from_recipe,
    simulated_test_examples,
)
from audiolrp.evaluation.metrics import (
    axis_sign_folded_error_deg,
    baseline_metrics,
    breakdown,
    compute_metrics,
    format_metrics,
    great_circle_deg,
    neighbour_spacing_deg,
    speaker_breakdown,
)
from audiolrp.evaluation.predict import (
    DEFAULT_EVAL_EXAMPLES,
    DEFAULT_EVAL_SEED,
    EvaluationResult,
    Predictions,
    evaluate,
    plot_errors,
    predict_examples,
)

__all__ = [
    "DEFAULT_EVAL_EXAMPLES",
    "DEFAULT_EVAL_SEED",
    "EvaluationResult",
    "Example",
    "Predictions",
    "axis_sign_folded_error_deg",
    "baseline_metrics",
    "breakdown",
    "compute_metrics",
    "dataset_examples",
    "evaluate",
    "format_metrics",
    "great_circle_deg",
    "neighbour_spacing_deg",
    "plot_errors",
    "point_noise_overrides",
    "predict_examples",
    "scene_config_from_recipe",
    "simulated_test_examples",
    "speaker_breakdown",
]
