"""Layer 7: every figure of audiolrp, drawn on :class:`matplotlib.figure.Figure` objects.

Figures take arrays (the outputs of :mod:`audiolrp.analysis` and the app's clip analysis) and
return figures; they never switch the matplotlib backend, show windows or print. One module per
kind of figure:

* :mod:`~audiolrp.plots.heatmaps` -- the panels of Fig. 2 (spectrograms, relevance heatmap);
* :mod:`~audiolrp.plots.channel_relevance` -- Fig. 3, its direction correlation, and one
  example's relevance per input channel;
* :mod:`~audiolrp.plots.pixel_flipping` -- Fig. 4 (pixel-flipping curves and AOPC);
* :mod:`~audiolrp.plots.doa` -- the DOA probability map of a clip and a recording's timeline;
* :mod:`~audiolrp.plots.save` -- :func:`save_figure` (atomic, format from the suffix).
"""

from audiolrp.plots.channel_relevance import (
    channel_relevance_figure,
    plot_channel_relevance,
    plot_direction_correlation,
)
from audiolrp.plots.doa import directions_map_figure, doa_map_figure, timeline_figure
from audiolrp.plots.heatmaps import fig2_panels, relevance_map_label
from audiolrp.plots.pixel_flipping import plot_pixel_flipping
from audiolrp.plots.save import save_figure

__all__ = [
    "channel_relevance_figure",
    "doa_map_figure",
    "fig2_panels",
    "plot_channel_relevance",
    "plot_direction_correlation",
    "plot_pixel_flipping",
    "relevance_map_label",
    "save_figure",
    "timeline_figure",
    "directions_map_figure",
]
