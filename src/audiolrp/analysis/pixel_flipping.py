"""Pixel flipping (Samek et al. 2017; paper, Fig. 4).

Time-frequency bins are ranked by relevance and set to a baseline in growing fractions while the
model's score for the true class is recorded.

* **Ranking.** Per example, the relevance of a bin is summed over the perturbed channel group
  (all channels when ``channels=None``). ``"most_relevant"`` flips bins in descending order of
  that (signed) sum, ``"least_relevant"`` in ascending order, ``"random"`` in a seeded random
  order (one permutation per example, from ``np.random.default_rng([seed, example_index])``).
  Ties are broken by the flat bin index ``t * F + f`` (lower first) via a stable sort.
* **Steps.** At fraction ``p`` the first ``floor(p * T * F + 0.5)`` bins of the ranking are
  flipped, in every channel of the group at once; other channels stay untouched.
* **Baseline** (the value a flipped bin gets, in the model's raw input domain):
  ``"zero-normalised"`` (default) -- the channel mean of the model's
  :class:`~audiolrp.models.InputNormalization`, i.e. the value that is 0 *after* normalisation
  (identical to ``"zero-raw"`` when the model has no normalisation statistics);
  ``"zero-raw"`` -- 0 before normalisation; ``"mean"`` -- the example's mean of that channel over
  time and frequency; ``"noise"`` -- Gaussian in the normalised domain, ``mean_c + std_c * z``
  with ``z`` seeded per example (``default_rng([seed, 1, example_index])``), fixed across steps.
* **Score.** ``"probability"`` (default): the clip probability of the true class, i.e. the mean
  over frames of the frame softmax (:func:`audiolrp.models.clip_probabilities`) -- which equals
  the frame-wise mean of the true-class probability; ``"logit"``: the frame mean of the
  pre-softmax true-class score.
* **AOPC** (Samek et al. 2017, Eq. 12): ``AOPC = 1/(L+1) * sum_{k=0}^{L} (s_0 - s_k)``
  averaged over examples, with ``s_k`` the score after step k and L the number of steps (the k=0
  term is 0). Higher AOPC for most-relevant-first = relevance identifies what the model uses.
* **Confidence band.** ``mean +- 1.96 * SE`` (normal approximation) over examples;
  :meth:`PixelFlippingResult.bootstrap_ci` gives a percentile bootstrap alternative.

The model sees perturbed inputs in batches of ``batch_size`` built on the fly (memory bounded
by the batch, not by examples x steps), under ``torch.no_grad`` and in eval mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from audiolrp.analysis.statistics import bootstrap_indices
from audiolrp.errors import AudioLRPError
from audiolrp.lrp.canonizers import running_stats
from audiolrp.models import CRNN, InputNormalization
from audiolrp.signal.layout import InputLayout

Order = Literal["most_relevant", "least_relevant", "random"]
Baseline = Literal["zero-normalised", "zero-raw", "mean", "noise"]

#: Channel groups of the intensity model (channel indices;
#: :attr:`audiolrp.signal.layout.InputLayout.groups`).
INTENSITY_GROUPS: dict[str, tuple[int, ...] | None] = InputLayout("intensity").groups


def hoa_channel_groups(order: int) -> dict[str, tuple[int, ...] | None]:
    """Channel groups of an order-N HOA model: all, magnitude, phase, and each order n
    (:attr:`audiolrp.signal.layout.InputLayout.groups`)."""
    return InputLayout("hoa", order).groups


@dataclass(frozen=True)
class PixelFlippingResult:
    """Scores of a pixel-flipping run: ``scores[i, k]`` after flipping ``fractions[k]``."""

    fractions: np.ndarray  # (S,), fractions[0] == 0
    n_flipped: np.ndarray  # (S,) bins flipped per step
    scores: np.ndarray  # (N, S)
    order: str
    channels: tuple[int, ...] | None
    baseline: str
    score: str
    meta: dict = field(default_factory=dict)

    @property
    def mean(self) -> np.ndarray:
        """Mean curve over examples, ``(S,)``."""
        return self.scores.mean(axis=0)

    @property
    def standard_error(self) -> np.ndarray:
        """Standard error of the mean curve over the examples."""
        n = self.scores.shape[0]
        if n < 2:
            return np.zeros(self.scores.shape[1])
        return self.scores.std(axis=0, ddof=1) / np.sqrt(n)

    @property
    def ci(self) -> np.ndarray:
        """95 % band ``(2, S)``: mean -+ 1.96 SE."""
        half = 1.96 * self.standard_error
        return np.stack([self.mean - half, self.mean + half])

    @property
    def aopc_per_example(self) -> np.ndarray:
        """``1/(L+1) sum_k (s_0 - s_k)`` per example, ``(N,)``."""
        return (self.scores[:, :1] - self.scores).mean(axis=1)

    @property
    def aopc(self) -> float:
        """Area over the perturbation curve (Samek et al. 2017), averaged over examples."""
        return float(self.aopc_per_example.mean())

    def bootstrap_ci(self, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> np.ndarray:
        """Percentile bootstrap band ``(2, S)`` of the mean curve (resampling examples)."""
        means = self.scores[bootstrap_indices(self.scores.shape[0], n_boot, seed)].mean(axis=1)
        q = (1 - level) / 2
        return np.quantile(means, [q, 1 - q], axis=0)


def _fractions(n_steps: int | None, fractions: Sequence[float] | np.ndarray | None) -> np.ndarray:
    if fractions is None:
        if n_steps is None or n_steps < 1:
            raise AudioLRPError(f"n_steps={n_steps} is invalid: pass n_steps >= 1 or fractions")
        return np.linspace(0.0, 1.0, n_steps + 1)
    f = np.asarray(fractions, dtype=np.float64)
    if f.ndim != 1 or f.size < 1 or f[0] != 0 or np.any(np.diff(f) < 0) or f[-1] > 1:
        raise AudioLRPError(
            "fractions must be non-decreasing in [0, 1] starting at 0: pass e.g. "
            "np.linspace(0, 1, 21)"
        )
    return f


def n_flipped_bins(fractions: np.ndarray, n_bins: int) -> np.ndarray:
    """Bins flipped at each fraction: ``floor(p * n_bins + 0.5)``."""
    return np.floor(np.asarray(fractions) * n_bins + 0.5).astype(np.int64)


def bin_ranking(
    relevance: np.ndarray,
    order: Order = "most_relevant",
    channels: Sequence[int] | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Flip order of the ``T * F`` bins of one example ``(C, T, F)``: flat indices, first first.

    Relevance is summed (float64) over ``channels`` (all if None); ties -> lower flat index.
    """
    r = np.asarray(relevance, dtype=np.float64)
    if channels is not None:
        r = r[list(channels)]
    score = r.sum(axis=0).ravel()
    if order == "most_relevant":
        return np.argsort(-score, kind="stable")
    if order == "least_relevant":
        return np.argsort(score, kind="stable")
    if order == "random":
        if rng is None:
            raise AudioLRPError("order='random' needs rng: pass a seeded np.random.Generator")
        return rng.permutation(score.size)
    raise AudioLRPError(
        f"order={order!r} is unknown: pass 'most_relevant', 'least_relevant' or 'random'"
    )


def _normalisation_stats(model: nn.Module, n_channels: int) -> tuple[np.ndarray, np.ndarray]:
    for m in model.modules():
        if isinstance(m, InputNormalization):
            mean = m.mean.detach().cpu().double().numpy()
            std = m.std.detach().cpu().double().numpy()
            if mean.shape == (n_channels,):
                return mean, std
    return np.zeros(n_channels), np.ones(n_channels)


class _FastCRNN(nn.Module):
    """Inference-only reformulation of a :class:`~audiolrp.models.CRNN` (same outputs).

    Exact rewrites (up to float rounding): eval-mode BatchNorm folded into the preceding
    convolution; max-pooling moved before the ELU (ELU is strictly increasing, so
    ``max(ELU(a)) = ELU(max(a))``), which applies the ELU to 8x fewer values; channels-last memory
    layout for the convolutions. About 3-4x faster on CPU for the full-size model.
    """

    def __init__(self, model: CRNN) -> None:
        super().__init__()
        self.normalization = model.normalization
        blocks = []
        layers = list(model.conv)
        for i in range(0, len(layers), 4):
            # types checked by fast_inference_model
            conv = cast(nn.Conv2d, layers[i])
            bn = cast(nn.BatchNorm2d, layers[i + 1])
            elu = cast(nn.ELU, layers[i + 2])
            pool = layers[i + 3]
            running_mean, running_var = running_stats(bn)
            pair = tuple[int, int]  # a Conv2d's kernel, stride, dilation (and int padding)
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, cast(pair, conv.kernel_size),
                              stride=cast(pair, conv.stride),
                              padding=cast("str | pair", conv.padding),
                              dilation=cast(pair, conv.dilation),
                              bias=True).to(conv.weight.device, conv.weight.dtype)
            scale = bn.weight / torch.sqrt(running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(running_mean)
            fused_bias = fused.bias
            assert fused_bias is not None  # built with bias=True
            with torch.no_grad():
                fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
                fused_bias.copy_((bias - running_mean) * scale + bn.bias)
            blocks.append(nn.Sequential(fused, pool, nn.ELU(alpha=elu.alpha)))
        self.blocks = nn.Sequential(*blocks)
        # the rest of the network, run by the model's own public stages (registered here so
        # that .to()/.eval() reach it)
        self.reshape = model.reshape
        self.lstms = model.lstms
        self.dense = model.dense
        self.dense_activation = model.dense_activation
        self.output = model.output
        self._normalize = model.normalize
        self._scores_from_conv_features = model.scores_from_conv_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self._normalize(x).contiguous(memory_format=torch.channels_last)
        return self._scores_from_conv_features(self.blocks(h).contiguous())


def fast_inference_model(model: nn.Module) -> nn.Module:
    """A faster equivalent of a standard :class:`~audiolrp.models.CRNN` for inference.

    Returns ``model`` itself when it is not a CRNN with the layer stack of Table 1 (conv ->
    BatchNorm -> ELU -> MaxPool blocks) or when a BatchNorm uses batch statistics.
    """
    conv = getattr(model, "conv", None)
    needed = ("normalization", "reshape", "lstms", "dense", "dense_activation", "output")
    if not isinstance(model, CRNN) or not isinstance(conv, nn.Sequential) or len(conv) % 4:
        return model
    if not all(hasattr(model, a) for a in needed):
        return model
    layers = list(conv)
    for i in range(0, len(layers), 4):
        c, bn, elu, pool = layers[i : i + 4]
        if not (isinstance(c, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
                and isinstance(elu, nn.ELU) and isinstance(pool, nn.MaxPool2d)
                and bn.track_running_stats and bn.running_var is not None and bn.affine
                and c.groups == 1):
            return model
    return _FastCRNN(model).eval()


def _slice(a: object, i0: int, i1: int) -> np.ndarray:
    part = a[i0:i1]  # type: ignore[index]
    if hasattr(part, "detach"):
        part = part.detach().cpu().numpy()
    return np.asarray(part)


def pixel_flipping(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    relevance: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor | Sequence[int],
    *,
    n_steps: int | None = 20,
    fractions: Sequence[float] | np.ndarray | None = None,
    order: Order = "most_relevant",
    channels: Sequence[int] | None = None,
    baseline: Baseline = "zero-normalised",
    score: Literal["probability", "logit"] = "probability",
    batch_size: int = 64,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
    fast: bool = True,
) -> PixelFlippingResult:
    """Run a pixel-flipping experiment (Fig. 4) in batches.

    Parameters
    ----------
    model
        Maps ``(B, C, T, F)`` float32 to pre-softmax scores ``(B, T, n_classes)``.
    x
        Model inputs ``(N, C, T, F)`` (NumPy, torch, memmap or h5py dataset: sliced in blocks).
    relevance
        Relevance of the same shape (e.g. ``audiolrp.lrp.explain(...).relevance``).
    labels
        True classes ``(N,)``.
    n_steps, fractions
        ``fractions`` (starting at 0) or ``n_steps`` equal steps from 0 to 1 (default 20).
    order
        ``"most_relevant"``, ``"least_relevant"`` or ``"random"``.
    channels
        Channels perturbed and used for ranking (e.g. ``(0, 1, 2)`` active intensity); ``None``
        = all.
    baseline
        ``"zero-normalised"``, ``"zero-raw"``, ``"mean"`` or ``"noise"`` (module docstring).
    score
        ``"probability"`` (clip probability of the true class) or ``"logit"``.
    batch_size
        Perturbed inputs per forward pass.
    seed
        Seed of the random order and the noise baseline.
    device
        Torch device; default the model's.
    progress
        Show a tqdm progress bar.
    fast
        Run a standard CRNN through :func:`fast_inference_model` (same scores, ~3-4x faster on
        CPU); other models are used as they are.

    Returns
    -------
    PixelFlippingResult
    """
    n, c, t, f = (int(s) for s in x.shape)
    labels_np, channels = _checked_inputs(x, relevance, labels, channels, baseline, score,
                                          batch_size)
    fr = _fractions(n_steps, fractions)
    n_s = fr.size
    counts = n_flipped_bins(fr, t * f)
    device = _model_device(model) if device is None else device
    norm_mean, norm_std = _normalisation_stats(model, c)
    ch_mask = torch.zeros((1, c, 1, 1), dtype=torch.bool, device=device)
    ch_mask[0, list(channels) if channels is not None else slice(None)] = True
    counts_t = torch.from_numpy(counts).to(device)

    scores = np.empty((n, n_s))
    was_training = model.training
    model.eval()
    net = fast_inference_model(model) if fast else model
    # examples per block: enough to fill a few batches, at least 1
    block = max(1, (4 * batch_size) // n_s)
    bar = (tqdm(total=n * n_s, desc=f"pixel flipping ({order})", unit="input") if progress
           else None)
    try:
        with torch.no_grad():
            for i0 in range(0, n, block):
                i1 = min(n, i0 + block)
                xb = _slice(x, i0, i1).astype(np.float32)
                ranks = _block_ranks(_slice(relevance, i0, i1), order, channels, seed, i0)
                base_t = torch.from_numpy(np.ascontiguousarray(
                    _block_baseline(baseline, xb, norm_mean, norm_std, seed, i0), dtype=np.float32
                )).to(device)
                xb_t = torch.from_numpy(xb).to(device)
                ranks_t = torch.from_numpy(ranks.reshape(i1 - i0, 1, t, f)).to(device)
                lab_t = torch.from_numpy(labels_np[i0:i1]).to(device)
                out = _block_scores(net, xb_t, base_t, ranks_t, lab_t, counts_t, ch_mask,
                                    batch_size=batch_size, score=score, bar=bar)
                scores[i0:i1] = out.numpy().reshape(i1 - i0, n_s)
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()
    return PixelFlippingResult(
        fractions=fr, n_flipped=counts, scores=scores, order=order,
        channels=channels, baseline=baseline, score=score,
    )


def _model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without any)."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _checked_inputs(
    x: Any, relevance: Any, labels: Any, channels: Sequence[int] | None, baseline: str,
    score: str, batch_size: int,
) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Check the arguments of :func:`pixel_flipping` (one-line errors); returns the labels as
    int64 and the sorted, unique channels."""
    n, c, t, f = (int(s) for s in x.shape)
    if tuple(relevance.shape) != (n, c, t, f):
        raise AudioLRPError(
            f"relevance shape {tuple(relevance.shape)} != input shape {(n, c, t, f)}: pass the "
            "relevance of these inputs"
        )
    labels_np = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels).astype(np.int64)
    if labels_np.shape != (n,):
        raise AudioLRPError(f"labels have shape {labels_np.shape}: pass one class per example")
    chosen: tuple[int, ...] | None = None
    if channels is not None:
        chosen = tuple(sorted({int(ch) for ch in channels}))
        if not chosen or chosen[0] < 0 or chosen[-1] >= c:
            raise AudioLRPError(f"channels={chosen} out of range for {c} input channels")
    if baseline not in ("zero-normalised", "zero-raw", "mean", "noise"):
        raise AudioLRPError(
            f"baseline={baseline!r} is unknown: pass 'zero-normalised', 'zero-raw', 'mean' or "
            "'noise'"
        )
    if score not in ("probability", "logit"):
        raise AudioLRPError(f"score={score!r} is unknown: pass 'probability' or 'logit'")
    if batch_size < 1:
        raise AudioLRPError(f"batch_size={batch_size} is invalid: pass >= 1")
    return labels_np, chosen


def _block_ranks(
    rb: np.ndarray, order: Order, channels: Sequence[int] | None, seed: int, i0: int
) -> np.ndarray:
    """Rank of every bin ``(e, T*F)`` of a block of examples (``i0`` the first one's index:
    it seeds the random order)."""
    e, t, f = rb.shape[0], rb.shape[-2], rb.shape[-1]
    ranks = np.empty((e, t * f), dtype=np.int64)
    for j in range(e):
        rng = np.random.default_rng([seed, i0 + j]) if order == "random" else None
        perm = bin_ranking(rb[j], order, channels, rng)
        ranks[j, perm] = np.arange(t * f)
    return ranks


def _block_baseline(
    baseline: Baseline, xb: np.ndarray, norm_mean: np.ndarray, norm_std: np.ndarray,
    seed: int, i0: int,
) -> np.ndarray:
    """The values flipped bins take, ``(1 or e, C, T, F)`` (module docstring)."""
    e, c, t, f = xb.shape
    if baseline == "zero-normalised":
        base = norm_mean.reshape(1, c, 1, 1)
    elif baseline == "zero-raw":
        base = np.zeros((1, c, 1, 1))
    elif baseline == "mean":
        base = xb.astype(np.float64).mean(axis=(2, 3), keepdims=True)
    else:
        z = np.stack([
            np.random.default_rng([seed, 1, i0 + j]).standard_normal((c, t, f))
            for j in range(e)
        ])
        base = norm_mean.reshape(1, c, 1, 1) + norm_std.reshape(1, c, 1, 1) * z
    return np.broadcast_to(base, (base.shape[0], c, t, f))


def _block_scores(
    net: nn.Module, xb_t: torch.Tensor, base_t: torch.Tensor, ranks_t: torch.Tensor,
    lab_t: torch.Tensor, counts_t: torch.Tensor, ch_mask: torch.Tensor, *, batch_size: int,
    score: str, bar: Any,
) -> torch.Tensor:
    """Scores ``(e * n_steps,)`` float64 of every example of a block at every step, in batches
    of ``batch_size`` perturbed inputs."""
    n_s = int(counts_t.shape[0])
    jobs = int(xb_t.shape[0]) * n_s
    device = xb_t.device
    out = torch.empty(jobs, dtype=torch.float64)
    for j0 in range(0, jobs, batch_size):
        jj = torch.arange(j0, min(jobs, j0 + batch_size), device=device)
        ex, st = jj // n_s, jj % n_s
        mask = (ranks_t[ex] < counts_t[st].view(-1, 1, 1, 1)) & ch_mask
        b_sel = base_t[ex] if base_t.shape[0] > 1 else base_t
        inp = torch.where(mask, b_sel, xb_t[ex])
        logits = net(inp)
        if score == "probability":
            val = torch.softmax(logits.double(), dim=-1).mean(dim=1)
        else:
            val = logits.double().mean(dim=1)
        out[j0 : j0 + jj.numel()] = val.gather(1, lab_t[ex].view(-1, 1))[:, 0].cpu()
        if bar is not None:
            bar.update(jj.numel())
    return out


__all__ = [
    "INTENSITY_GROUPS",
    "PixelFlippingResult",
    "bin_ranking",
    "fast_inference_model",
    "hoa_channel_groups",
    "n_flipped_bins",
    "pixel_flipping",
]
