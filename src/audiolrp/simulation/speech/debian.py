"""Debian's recorded prompts: the ``audiolrp corpus debian`` builder and where it writes.

The builder downloads Debian packages with recorded speech (Asterisk prompts CC-BY-SA-3.0, Fish
Fillets dialogue GPL-2) and writes a directory that :class:`.directory.DirectoryCorpus` reads
(``open_corpus("debian")``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from audiolrp.audio_io import write_audio
from audiolrp.constants import FS_HZ
from audiolrp.errors import AudioLRPError
from audiolrp.io import atomic_write_text, json_text
from audiolrp.simulation.speech.audio import SILENT_PEAK, VAD_FRAME_SAMPLES, load_speech_file
from audiolrp.simulation.speech.base import SPLITS
from audiolrp.simulation.speech.directory import LICENCE_FILE, SPLITS_FILE

ASTERISK_LANGS: tuple[str, ...] = ("en", "es", "fr", "it", "ru")
FILLETS_LANGS: tuple[str, ...] = ("cs", "nl")
DEBIAN_PACKAGES: tuple[str, ...] = tuple(
    f"asterisk-core-sounds-{lang}-g722" for lang in ASTERISK_LANGS
) + tuple(f"fillets-ng-data-{lang}" for lang in FILLETS_LANGS)
DEBIAN_LICENCES = {
    "asterisk": "CC-BY-SA-3.0 (Asterisk core sound prompts, Digium/Sangoma; Debian "
    "asterisk-core-sounds-*-g722)",
    "fillets": "GPL-2 (Fish Fillets NG game data, Debian fillets-ng-data-*)",
}


def default_debian_dir() -> Path:
    """``$AUDIOLRP_DEBIAN_CORPUS`` or ``$XDG_CACHE_HOME/audiolrp/debian-speech`` (default
    ``~/.cache/audiolrp/debian-speech``)."""
    env = os.environ.get("AUDIOLRP_DEBIAN_CORPUS")
    if env:
        return Path(env).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser()
    return cache / "audiolrp" / "debian-speech"



def decode_g722(data: bytes) -> np.ndarray:
    """Decode a raw G.722 stream (64 kbit/s, as in Asterisk's ``*.g722`` prompts) to float32
    samples at 16 kHz in [-1, 1), with the pip package ``g722``."""
    try:
        import G722  # noqa: PLC0415 - native codec, loaded only to decode G.722
    except ImportError as err:  # pragma: no cover - dependency of the package
        raise AudioLRPError("the g722 package is missing: pip install g722") from err
    pcm = G722.G722(16000, 64000).decode(bytes(data))
    return np.asarray(pcm, dtype=np.int16).astype(np.float32) / 32768.0



def _run(cmd: list[str], cwd: Path | None = None) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as err:
        raise AudioLRPError(
            f"{cmd[0]} not found; `audiolrp corpus debian` needs a Debian/Ubuntu system with apt "
            "(or use the espeak corpus / your own speech folder)"
        ) from err
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise AudioLRPError(
            f"`{' '.join(cmd)}` failed: {tail[-1] if tail else proc.returncode}"
            + ("; run `apt-get update` first" if cmd[0] == "apt-get" else "")
        )


def _write_flac(path: Path, y: np.ndarray) -> None:
    write_audio(path, np.clip(y, -1.0, 32767 / 32768), FS_HZ, subtype="PCM_16", format="FLAC")


def fillets_speaker(lang: str, level: str, stem: str) -> str:
    """Speaker of a Fish Fillets line ``sound/<level>/<lang>/<stem>.ogg``.

    The two lead fish (character token ``m`` small, ``v`` big, first or second in
    ``<prefix>-<character>-<line>``) are one speaker each per language; all other lines of a
    level (minor characters) form one speaker ``fillets-<lang>-<level>``.
    """
    bits = stem.split("-")
    if bits[0] in ("m", "v"):
        return f"fillets-{lang}-{bits[0]}"
    if len(bits) >= 3 and bits[1] in ("m", "v"):
        return f"fillets-{lang}-{bits[1]}"
    return f"fillets-{lang}-{level}"


def debian_split(speaker: str) -> str:
    """Split of a Debian-corpus speaker: held-out voices and languages.

    val: ``asterisk-ru``; test: ``asterisk-it`` and all Dutch Fish Fillets voices (leads and
    minor characters, who may share actors, stay together); train: everything else (Asterisk
    en/es/fr, all Czech Fish Fillets voices).
    """
    if speaker == "asterisk-ru":
        return "val"
    if speaker == "asterisk-it" or speaker.startswith("fillets-nl-"):
        return "test"
    return "train"


def _convert_package(
    pkg: str, root: Path, out: Path, log: Callable[[str], None]
) -> list[tuple[str, str, float]]:
    rows: list[tuple[str, str, float]] = []
    if pkg.startswith("asterisk-core-sounds-"):
        lang = pkg.split("-")[3]
        spk = f"asterisk-{lang}"
        for f in sorted(root.rglob("*.g722")):
            rel = f.relative_to(root)
            name = "__".join(rel.parts[5:]) if len(rel.parts) > 5 else f.name
            dst = out / spk / (Path(name).stem + ".flac")
            if not dst.exists():
                y = decode_g722(f.read_bytes())
                if len(y) < VAD_FRAME_SAMPLES or np.max(np.abs(y)) < SILENT_PEAK:
                    log(f"skipping {f.name}: empty or silent")
                    continue
                _write_flac(dst, y)
            rows.append((spk, dst.relative_to(out).as_posix(), sf.info(str(dst)).duration))
    else:
        lang = pkg.rsplit("-", 1)[1]
        for f in sorted(root.rglob("*.ogg")):
            spk = fillets_speaker(lang, f.parent.parent.name, f.stem)
            dst = out / spk / (f.stem + ".flac")
            if not dst.exists():
                try:
                    y = load_speech_file(f, downmix=True)
                except AudioLRPError as err:
                    log(f"skipping {err}")
                    continue
                _write_flac(dst, y)
            rows.append((spk, dst.relative_to(out).as_posix(), sf.info(str(dst)).duration))
    return rows


def build_debian_corpus(
    out_dir: str | os.PathLike | None = None,
    *,
    packages: tuple[str, ...] | list[str] = DEBIAN_PACKAGES,
    keep_debs: bool = False,
    log: Callable[[str], None] = print,
) -> dict:
    """Download Debian packages with recorded speech and write a directory corpus.

    ``apt-get download`` -> ``dpkg-deb -x`` -> G.722 decoding (Asterisk) or Ogg decoding and
    resampling (Fish Fillets) -> ``DIR/<speaker>/<file>.flac`` (16 kHz mono PCM-16), plus
    ``MANIFEST.tsv``, ``LICENCE.txt`` and ``audiolrp-splits.json`` (:func:`debian_split`).
    Resumable: converted files are kept and skipped; every file is written to a temporary name
    and renamed.

    Returns
    -------
    dict
        ``{"dir", "files", "hours", "speakers"}``.
    """
    unknown = [pkg for pkg in packages if pkg not in DEBIAN_PACKAGES]
    if unknown:  # before anything is written
        raise AudioLRPError(
            f"unknown package {unknown[0]}; choose from {', '.join(DEBIAN_PACKAGES)}"
        )
    out = Path(out_dir).expanduser() if out_dir is not None else default_debian_dir()
    out.mkdir(parents=True, exist_ok=True)
    debs, extract = out / ".debs", out / ".extract"
    debs.mkdir(exist_ok=True)
    rows: list[tuple[str, str, float]] = []
    used: set[str] = set()
    for pkg in packages:
        used.add("asterisk" if pkg.startswith("asterisk") else "fillets")
        done = out / f".done-{pkg}"
        if done.exists():
            rows.extend(
                tuple(r.split("\t")[:2]) + (float(r.split("\t")[2]),)  # type: ignore[misc]
                for r in done.read_text().splitlines()
                if r
            )
            log(f"{pkg}: already converted")
            continue
        if not list(debs.glob(f"{pkg}_*.deb")):
            log(f"{pkg}: apt-get download")
            _run(["apt-get", "download", pkg], cwd=debs)
        deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
        tree = extract / pkg
        if tree.exists():
            shutil.rmtree(tree)
        tree.mkdir(parents=True)
        _run(["dpkg-deb", "-x", str(deb), str(tree)])
        log(f"{pkg}: converting")
        pkg_rows = _convert_package(pkg, tree, out, log)
        shutil.rmtree(tree)
        atomic_write_text(done, "".join(f"{s}\t{f}\t{d:.3f}\n" for s, f, d in pkg_rows))
        if not keep_debs:
            deb.unlink()
        rows.extend(pkg_rows)
        log(f"{pkg}: {len(pkg_rows)} files, {sum(r[2] for r in pkg_rows) / 60:.1f} min")
    if extract.exists():
        shutil.rmtree(extract)
    if not keep_debs and debs.exists() and not any(debs.iterdir()):
        debs.rmdir()
    manifest = "speaker\tfile\tduration_s\tlicence\n" + "".join(
        f"{s}\t{f}\t{d:.3f}\t{'CC-BY-SA-3.0' if s.startswith('asterisk') else 'GPL-2'}\n"
        for s, f, d in rows
    )
    licence = (
        "Recorded speech from Debian packages; licences per file in MANIFEST.tsv: "
        + "; ".join(DEBIAN_LICENCES[k] for k in sorted(used))
        + "\nBuilt by `audiolrp corpus debian` from: "
        + ", ".join(packages)
        + "\n"
    )
    spks = sorted({r[0] for r in rows})
    splits = {sp: [k for k in spks if debian_split(k) == sp] for sp in SPLITS}
    for name, text in (
        ("MANIFEST.tsv", manifest),
        (LICENCE_FILE, licence),
        (SPLITS_FILE, json_text(splits, indent=1, default=None)),
    ):
        atomic_write_text(out / name, text)
    return {
        "dir": str(out),
        "files": len(rows),
        "hours": round(sum(r[2] for r in rows) / 3600, 3),
        "speakers": len({r[0] for r in rows}),
    }
