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
from audiolrp.simulation.corpora import (
    DEBIAN_MANIFEST,
    DEFAULT_CORPUS,
    corpus_choices,
    corpus_entry,
)
from audiolrp.simulation.speech import default_debian_dir


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


def choose_speech(requested: str | None = None, default: str | None = "debian") -> SpeechChoice:
    """The speech of an analysis's simulated scenes.

    Parameters
    ----------
    requested
        What the user asked for (``--corpus``): a registered corpus
        (:mod:`audiolrp.simulation.corpora`: ``"espeak"``, ``"debian"``, ``"noise"``) or a
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
        ``requested`` is a registered corpus that is not installed (``"debian"``), or a folder
        that does not exist.
    """
    if requested is not None:
        return _requested_speech(requested)
    entry = corpus_entry(DEFAULT_CORPUS if default is None else default)
    if entry is None:
        return SpeechChoice(default, str(default), "the recipe's speech")
    if entry.name == DEFAULT_CORPUS:
        return SpeechChoice(None, DEFAULT_CORPUS, "the recipe's speech")
    if entry.missing() is None:
        reason = (f"the {_title(entry.name)} corpus is installed" if entry.needs_install
                  else "the recipe's speech")
        return SpeechChoice(entry.name, entry.name, reason)
    return SpeechChoice(None, DEFAULT_CORPUS, f"the {_title(entry.name)} corpus is not "
                        f"installed; `audiolrp corpus {entry.name}` adds it")


def _title(name: str) -> str:
    return name[:1].upper() + name[1:]


def _requested_speech(requested: str) -> SpeechChoice:
    """What ``--corpus REQUESTED`` gives: a registered corpus (one-line error when it is not
    installed here) or an existing folder."""
    entry = corpus_entry(requested)
    if entry is not None:
        missing = entry.missing()
        if missing is not None:
            raise AudioLRPError(f"--corpus {entry.name}: {missing.split(';')[0]}; run "
                                f"`audiolrp corpus {entry.name}` or drop --corpus (the "
                                "built-in speech is used then)")
        if entry.name == DEFAULT_CORPUS:
            return SpeechChoice(None, entry.name, "asked for")
        if not entry.is_speech:
            return SpeechChoice(entry.name, entry.name, "asked for (not speech: a test stand-in)")
        return SpeechChoice(entry.name, entry.name, "asked for")
    if not Path(requested).expanduser().is_dir():
        raise AudioLRPError(f"--corpus {requested}: no such folder; pass {corpus_choices()}")
    return SpeechChoice(str(requested), str(requested), "asked for")


__all__ = ["DEBIAN_MANIFEST", "SpeechChoice", "choose_speech", "debian_corpus_available"]
