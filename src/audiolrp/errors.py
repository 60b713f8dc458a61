"""Error types shared by every audiolrp module.

Every error a user can cause (bad file, wrong channel count, bad argument, corrupted checkpoint)
is raised as :class:`AudioLRPError` with a one-line message that names the problem and the fix,
e.g. ``"recording.wav has 2 channels; the model needs 9 (2nd-order AmbiX): pass a 2nd-order
Ambisonics file"``. The CLI prints such messages without a traceback and exits with code 2.
"""

from __future__ import annotations


class AudioLRPError(ValueError):
    """A user-facing error with a one-line message naming the problem and the fix."""


class AudioFileError(AudioLRPError):
    """An audio file is missing, truncated, not audio, or has the wrong shape or rate."""


class ModelFileError(AudioLRPError):
    """A model file is missing, corrupted, or does not match the expected format."""


class DatasetError(AudioLRPError):
    """A dataset directory or shard is missing, incomplete or inconsistent."""


class UnsupportedModuleError(AudioLRPError):
    """The LRP engine met a module it has no rule for."""
