"""Which speech the analyses simulate with: the larger Debian corpus when it is installed, the
built-in eSpeak speech otherwise, or what the user asks for (``--corpus``).

The shipped cards' test recipe names the Debian corpus (``audiolrp corpus debian``), which a
fresh install does not have; every analysis that simulates scenes (``analyze replicate``,
``analyze directions``, ``analyze methods``) resolves its speech here, so all of them run after
the README's install and all of them say which speech they used and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiolrp.errors import AudioLRPError
from audiolrp.simulation.speech import default_debian_dir

#: The file a built Debian corpus always has (written last by ``audiolrp corpus debian``).
DEBIAN_MANIFEST = "MANIFEST.tsv"


@dataclass(frozen=True)
class SpeechChoice:
    """The speech of simulated scenes and why it was chosen.

    Attributes
    ----------
    spec
        The value of ``SceneConfig.speech``: ``None`` (built-in eSpeak speech), ``"debian"``,
        ``"noise"`` or a folder.
    name
        ``"espeak"``, ``"debian"``, ``"noise"`` or the folder as given.
    reason
        One phrase: asked for, installed, or not installed.
    """

    spec: str | None
    name: str
    reason: str

    def describe(self) -> str:
        """``"espeak (the Debian corpus is not installed: ...)"``-style text for reports."""
        return f"{self.name} ({self.reason})"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"spec", "name", "reason"}``."""
        return {"spec": self.spec, "name": self.name, "reason": self.reason}


def debian_corpus_available() -> bool:
    """Whether ``audiolrp corpus debian`` has built the corpus where ``open_corpus("debian")``
    looks (``$AUDIOLRP_DEBIAN_CORPUS`` or the cache folder)."""
    return (default_debian_dir() / DEBIAN_MANIFEST).is_file()


def _is(spec: str | None, name: str) -> bool:
    return isinstance(spec, str) and spec.strip().lower() == name


def choose_speech(requested: str | None = None, default: str | None = "debian") -> SpeechChoice:
    """The speech of an analysis's simulated scenes.

    Parameters
    ----------
    requested
        What the user asked for (``--corpus``): ``"espeak"``, ``"debian"``, ``"noise"`` or a
        folder; ``None`` = not asked.
    default
        The recipe's speech (the shipped cards' test recipe: ``"debian"``), used when nothing
        is requested; a default of ``"debian"`` falls back to the built-in eSpeak speech when
        the Debian corpus is not installed.

    Returns
    -------
    SpeechChoice

    Raises
    ------
    AudioLRPError
        ``requested`` is ``"debian"`` but the corpus is not installed, or a folder that does
        not exist.
    """
    if requested is not None:
        if _is(requested, "espeak"):
            return SpeechChoice(None, "espeak", "asked for")
        if _is(requested, "debian"):
            if not debian_corpus_available():
                raise AudioLRPError(
                    f"--corpus debian: the Debian speech corpus is not at {default_debian_dir()}; "
                    "run `audiolrp corpus debian` or drop --corpus (the built-in speech is used "
                    "then)")
            return SpeechChoice("debian", "debian", "asked for")
        if _is(requested, "noise"):
            return SpeechChoice("noise", "noise", "asked for (not speech: a test stand-in)")
        if not Path(requested).expanduser().is_dir():
            raise AudioLRPError(f"--corpus {requested}: no such folder; pass espeak, debian, "
                                "noise or a folder of speech files")
        return SpeechChoice(str(requested), str(requested), "asked for")
    if default is None or _is(default, "espeak"):
        return SpeechChoice(None, "espeak", "the recipe's speech")
    if _is(default, "debian"):
        if debian_corpus_available():
            return SpeechChoice("debian", "debian", "the Debian corpus is installed")
        return SpeechChoice(None, "espeak", "the Debian corpus is not installed; "
                            "`audiolrp corpus debian` adds it")
    return SpeechChoice(default, str(default), "the recipe's speech")


__all__ = ["DEBIAN_MANIFEST", "SpeechChoice", "choose_speech", "debian_corpus_available"]
