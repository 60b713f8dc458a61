"""Layer 7: every figure of audiolrp, drawn on :class:`matplotlib.figure.Figure` objects.

Figures take arrays (the outputs of :mod:`audiolrp.analysis`) and return figures; they never
switch the matplotlib backend, show windows or print. One module per kind of figure.
"""
