"""Shared test set-up: the test process draws headless (the library never picks a backend)."""

import matplotlib

matplotlib.use("Agg")
