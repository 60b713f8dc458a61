"""Audio-specific analyses of LRP relevance (paper sections "Channel Relevance" and
"Auralization of Relevance", Eq. 3, Eq. 4, Figs. 2-4).

* :mod:`~audiolrp.analysis.heatmaps` -- relevance heatmaps and the spectrograms of Fig. 2;
* :mod:`~audiolrp.analysis.channel_relevance` -- relevance per input channel (Fig. 3);
* :mod:`~audiolrp.analysis.pixel_flipping` -- perturbation curves and AOPC (Fig. 4);
* :mod:`~audiolrp.analysis.filterbank`, :mod:`~audiolrp.analysis.auralization` -- the
  perfect-reconstruction filter bank and relevance-filtered audio (Eq. 3, Eq. 4).

The package re-exports the submodules' functions, except those named like their submodule:
``audiolrp.analysis.channel_relevance`` and ``audiolrp.analysis.pixel_flipping`` are the modules
(the functions are ``channel_relevance.channel_relevance`` and ``pixel_flipping.pixel_flipping``).
Analyses return arrays; their figures are drawn by :mod:`audiolrp.plots`.
"""

from audiolrp.analysis.auralization import (
    auralize,
    prepare_heatmap,
    relevance_filter,
    sdr_db,
    si_sdr_db,
    spectral_similarity,
    stereo_mix,
    write_auralization,
    write_wav,
)
from audiolrp.analysis.channel_relevance import (
    axis_direction_classes,
    axis_groups,
    channel_relevance_stats,
    relevance_direction_correlation,
    relevance_shares,
)
from audiolrp.analysis.filterbank import band_magnitude_responses, design_filterbank
from audiolrp.analysis.heatmaps import (
    audio_channel_heatmaps,
    hoa_channel_relevance_map,
    spectrogram_dbp,
)
from audiolrp.analysis.pixel_flipping import (
    INTENSITY_GROUPS,
    PixelFlippingResult,
    hoa_channel_groups,
)

__all__ = [
    "INTENSITY_GROUPS",
    "PixelFlippingResult",
    "audio_channel_heatmaps",
    "auralize",
    "axis_direction_classes",
    "axis_groups",
    "band_magnitude_responses",
    "channel_relevance_stats",
    "design_filterbank",
    "hoa_channel_groups",
    "hoa_channel_relevance_map",
    "prepare_heatmap",
    "relevance_direction_correlation",
    "relevance_filter",
    "relevance_shares",
    "sdr_db",
    "si_sdr_db",
    "spectral_similarity",
    "spectrogram_dbp",
    "stereo_mix",
    "write_auralization",
    "write_wav",
]
