"""Progress on stderr, the one helper every long job uses (stdout stays free for ``--json``).

* :class:`Progress`: numbered steps with timings (``[2/6] explain ...`` / ``done in 1.2 s``);
* :func:`progress_bar`: a tqdm bar for counted work (a no-op when disabled);
* :class:`ElapsedLog`: free messages stamped with the elapsed time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Step messages with timings on a text stream (stderr by default; silent when disabled).

    Parameters
    ----------
    total
        Number of steps announced, for the ``[i/total]`` prefix.
    enabled
        Print nothing when ``False``.
    stream
        Where messages go (stderr keeps ``--json`` stdout clean).
    """

    def __init__(self, total: int, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.index = 0
        self.t0 = time.perf_counter()
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, message: str, key: str | None = None) -> Iterator[None]:
        """Announce a step, run the ``with`` body, record and print its duration."""
        self.index += 1
        t = time.perf_counter()
        if self.enabled:
            print(f"[{self.index}/{self.total}] {message} ...", file=self.stream, flush=True)
        yield
        dt = time.perf_counter() - t
        self.timings[key or message] = round(dt, 3)
        if self.enabled:
            print(f"      done in {dt:.1f} s", file=self.stream, flush=True)

    def elapsed_s(self) -> float:
        """Seconds since this progress began."""
        return time.perf_counter() - self.t0


def progress_bar(total: int, enabled: bool, unit: str = "window") -> Callable[[int], None]:
    """A tqdm progress bar on stderr (or a no-op); call the result with the increment."""
    if not enabled:
        return lambda n: None

    bar = tqdm(total=total, unit=unit, file=sys.stderr, leave=False)

    def update(n: int) -> None:
        bar.update(n)
        if bar.n >= total and not bar.disable:
            bar.refresh()  # show n/n (100 %) even when the last update came within tqdm's
            bar.close()  # refresh interval, before the line is cleared

    return update


class ElapsedLog:
    """One-line messages prefixed with the time since start, ``[name    12.3 s] message``, on
    stderr (silent when disabled); call it with the message."""

    def __init__(self, name: str, enabled: bool = True) -> None:
        self.name = name
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        """Print ``msg`` with the elapsed time (if enabled)."""
        if self.enabled:
            print(f"[{self.name} {time.perf_counter() - self.t0:7.1f} s] {msg}", file=sys.stderr,
                  flush=True)


__all__ = ["ElapsedLog", "Progress", "progress_bar"]
