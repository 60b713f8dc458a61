"""Error types shared by every audiolrp module.

Every error a user can cause (bad file, wrong channel count, bad argument, corrupted checkpoint)
is raised as :class:`AudioLRPError` with a one-line message that names the problem and the fix,
e.g. ``"recording.wav has 2 channels; the model needs 9 (2nd-order AmbiX): pass a 2nd-order
Ambisonics file"``. The CLI prints such messages without a traceback and exits with code 2.
"""

from __future__ import annotations

import errno
import os


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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a long job that keeps what it finished; the message (one line) says what
    was kept and how to continue, e.g. ``"3 of 250 shards kept; rerun the same command to
    resume"``. The CLI prints it as ``interrupted: <message>`` and exits with code 130."""


class NoSpaceError(OSError):
    """A write refused before it began because the disk lacks room (``errno.ENOSPC``):
    ``needed_bytes`` and ``free_bytes`` let the message say how much to free."""

    def __init__(self, path: str, needed_bytes: int, free_bytes: int) -> None:
        super().__init__(
            errno.ENOSPC,
            f"{os.strerror(errno.ENOSPC)} ({needed_bytes / 1e6:.1f} MB needed, "
            f"{free_bytes / 1e6:.1f} MB free)",
            path,
        )
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes

    def __reduce__(self) -> tuple[type[NoSpaceError], tuple[str, int, int]]:
        """Pickle by the constructor's arguments (a worker process raises it to its parent)."""
        return type(self), (str(self.filename), self.needed_bytes, self.free_bytes)
