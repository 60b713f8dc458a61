"""Audio files: the one reader, writer and resampler of audiolrp.

* :func:`read_audio` reads anything :mod:`soundfile` reads as ``(samples, channels)``; an
  unreadable file, or a WAV whose data stop before its header says (:func:`check_not_truncated`),
  is one :class:`~audiolrp.errors.AudioFileError` line;
* :func:`write_audio` writes ``(channels, samples)`` or ``(samples,)`` audio atomically
  (:func:`audiolrp.io.atomic_path`), :func:`audio_bytes` encodes it in memory;
* :func:`resample` converts sample rates with a polyphase filter by the exact reduced ratio.
"""

from __future__ import annotations

import io
import os
import re
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from audiolrp.constants import FS_HZ
from audiolrp.errors import AudioFileError
from audiolrp.io import atomic_write_bytes

#: The message of an undecodable file (``name``, ``path`` and ``reason`` are filled in).
UNREADABLE = "{name} is not a readable audio file ({reason}): pass a WAV or FLAC file"
_WAV_UNKNOWN_SIZE = 0x7FFFF000
_WAV_MAX_CHUNKS = 4096


def wav_data_sizes(path: Path) -> tuple[int, int, int | None, int | None] | None:
    """``(declared_bytes, present_bytes, block_align, fs_hz)`` of a RIFF/RIFX WAVE data chunk.

    ``declared_bytes`` is the size written in the ``data`` chunk header, ``present_bytes`` what
    the file actually holds after it; ``block_align`` (bytes per frame) and ``fs_hz`` come from
    the ``fmt`` chunk when it precedes the data (else None). Returns None for other formats and
    for headers too damaged to find the ``data`` chunk (soundfile then reports them).
    """
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
                return None
            endian = "<" if head[:4] == b"RIFF" else ">"
            pos, block_align, fs_hz = 12, None, None
            for _ in range(_WAV_MAX_CHUNKS):
                if pos + 8 > size:
                    return None
                fh.seek(pos)
                header = fh.read(8)
                chunk_id = header[:4]
                (chunk_size,) = struct.unpack(endian + "I", header[4:8])
                body = pos + 8
                if chunk_id == b"fmt ":
                    fmt = fh.read(min(chunk_size, 16))
                    if len(fmt) >= 14:
                        (fs_hz,) = struct.unpack(endian + "I", fmt[4:8])
                        (block_align,) = struct.unpack(endian + "H", fmt[12:14])
                elif chunk_id == b"data":
                    return chunk_size, size - body, block_align or None, fs_hz or None
                pos = body + chunk_size + (chunk_size & 1)
    except OSError:
        return None
    return None


def check_not_truncated(path: str | Path) -> None:
    """Raise if ``path`` is a WAV file whose audio data stops before its header says it ends.

    libsndfile (hence :mod:`soundfile`) silently shortens such files to the data present, so a
    half-copied recording would otherwise be analysed as a shorter one without a word.

    Parameters
    ----------
    path
        Audio file; anything but RIFF/RIFX WAVE is accepted unchecked (FLAC and other
        compressed formats report truncation themselves when decoded).

    Raises
    ------
    AudioFileError
        The ``data`` chunk is shorter than its header declares.
    """
    path = Path(path)
    sizes = wav_data_sizes(path)
    if sizes is None:
        return
    declared, present, block_align, fs_hz = sizes
    if declared <= present or declared >= _WAV_UNKNOWN_SIZE:
        return
    if block_align and fs_hz:
        have = f"{present // block_align / fs_hz:.2f} s of audio"
        want = f"{declared // block_align / fs_hz:.2f} s"
    else:
        have, want = f"{present} bytes of audio", f"{declared} bytes"
    raise AudioFileError(
        f"{path.name} is truncated: its header announces {want} but the file holds only {have} "
        "(an interrupted copy or download?): copy or export the recording again"
    )


def read_audio(
    path: str | os.PathLike[str],
    dtype: str = "float64",
    *,
    check_truncation: bool = True,
    unreadable: str = UNREADABLE,
) -> tuple[np.ndarray, int]:
    """Read an audio file as ``(samples, channels)`` (always 2-D) and its sample rate in Hz.

    Raises
    ------
    AudioFileError
        A truncated WAV (``check_truncation``, :func:`check_not_truncated`) or a file
        :mod:`soundfile` cannot decode: the one line ``unreadable`` formatted with ``name``,
        ``path`` and ``reason`` (default :data:`UNREADABLE`).
    """
    path = Path(path)
    if check_truncation:
        check_not_truncated(path)
    try:
        data, fs = sf.read(str(path), dtype=dtype, always_2d=True)
    except Exception as err:  # noqa: BLE001 - soundfile raises LibsndfileError, RuntimeError, ...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = re.sub(r"^Error opening .*?: ", "", reason)  # libsndfile repeats the path
        raise AudioFileError(
            unreadable.format(name=path.name, path=path, reason=reason)
        ) from None
    return data, int(fs)


def audio_info(
    path: str | os.PathLike[str], *, unreadable: str = UNREADABLE
) -> tuple[int, int, int]:
    """``(sample_rate_hz, n_channels, n_frames)`` of an audio file, read from its header only.

    Raises
    ------
    AudioFileError
        Truncated WAVs and files :mod:`soundfile` cannot open (one line, as :func:`read_audio`).
    """
    path = Path(path)
    check_not_truncated(path)
    try:
        info = sf.info(str(path))
    except Exception as err:  # noqa: BLE001 - soundfile raises LibsndfileError, RuntimeError, ...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = re.sub(r"^Error opening .*?: ", "", reason)
        raise AudioFileError(unreadable.format(name=path.name, path=path, reason=reason)) from None
    return int(info.samplerate), int(info.channels), int(info.frames)


def read_audio_frames(
    path: str | os.PathLike[str], start: int, stop: int, dtype: str = "float64"
) -> np.ndarray:
    """Frames ``start:stop`` of an audio file as ``(frames, channels)``, reading only them
    (bounded memory for long recordings; :func:`audio_info` gives the length).

    Raises
    ------
    AudioFileError
        When the file cannot be read there (one line naming the file).
    """
    path = Path(path)
    try:
        with sf.SoundFile(str(path)) as f:
            f.seek(int(start))
            data = f.read(int(stop) - int(start), dtype=dtype, always_2d=True)
    except Exception as err:  # noqa: BLE001 - soundfile raises LibsndfileError, RuntimeError, ...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AudioFileError(
            f"{path.name} could not be read at frames {start}..{stop} ({reason}): the file is "
            "damaged; re-export it"
        ) from None
    return np.asarray(data)


def _frames(audio: np.ndarray) -> np.ndarray:
    """``(channels, samples)`` or ``(samples,)`` -> soundfile's ``(samples[, channels])``."""
    return audio.T if audio.ndim == 2 else audio


def write_audio(
    path: str | os.PathLike[str],
    audio: np.ndarray,
    fs_hz: int,
    *,
    subtype: str = "FLOAT",
    format: str = "WAV",
) -> Path:
    """Write ``(channels, samples)`` or ``(samples,)`` audio to ``path`` atomically (a temporary
    file in the target folder, then renamed: never half-written); returns ``path``.

    The file is encoded in memory (:func:`audio_bytes`) and written by Python
    (:func:`audiolrp.io.atomic_write_bytes`): libsndfile writing to disk reports a full disk
    only as ``"System error."``, Python raises ``OSError(ENOSPC)``, which the CLI turns into
    its one-line full-disk message.
    """
    path = Path(path)
    atomic_write_bytes(path, audio_bytes(audio, fs_hz, subtype=subtype, format=format))
    return path


def write_wav(path: str | os.PathLike[str], audio: np.ndarray, fs_hz: int = FS_HZ) -> Path:
    """Write ``(channels, samples)`` or ``(samples,)`` float audio (NumPy or torch) as a 32-bit
    float WAV, atomically (:func:`write_audio`)."""
    if hasattr(audio, "detach"):
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio)
    if audio.ndim not in (1, 2) or not np.all(np.isfinite(audio)):
        raise AudioFileError(
            f"cannot write {path}: audio must be finite with shape (channels, samples)"
        )
    return write_audio(path, audio.astype(np.float32), fs_hz, subtype="FLOAT", format="WAV")


def audio_bytes(
    audio: np.ndarray, fs_hz: int, *, subtype: str = "PCM_16", format: str = "WAV"
) -> bytes:
    """Encode ``(channels, samples)`` or ``(samples,)`` audio as file bytes (default 16-bit WAV)."""
    buf = io.BytesIO()
    sf.write(buf, _frames(audio), int(fs_hz), format=format, subtype=subtype)
    return buf.getvalue()


def resample(x: np.ndarray, fs_in_hz: int, fs_out_hz: int) -> np.ndarray:
    """Resample along the last axis with :func:`scipy.signal.resample_poly`; the up/down factors
    are the reduced fraction ``fs_out_hz / fs_in_hz`` (48 kHz -> 16 kHz: up 1, down 3;
    22.05 kHz -> 16 kHz: up 320, down 441)."""
    r = Fraction(int(fs_out_hz), int(fs_in_hz))
    return resample_poly(x, r.numerator, r.denominator, axis=-1)


__all__ = [
    "UNREADABLE",
    "audio_bytes",
    "audio_info",
    "read_audio_frames",
    "check_not_truncated",
    "read_audio",
    "resample",
    "wav_data_sizes",
    "write_audio",
    "write_wav",
]
