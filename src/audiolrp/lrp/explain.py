"""Public entry point: :func:`explain` and the :class:`Explanation` it returns.

Nothing here knows a concrete model. Two small protocols connect a model to it:

* the default target is the argmax of ``model.clip_probabilities(scores)`` when the model has
  that method (:class:`ClipModel`; the CRNN does), else of the softmax averaged over frames;
* an object that is not an ``nn.Module`` but holds one in ``.model`` (a loaded-model record)
  is explained through that network.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from audiolrp.errors import AudioLRPError
from audiolrp.lrp.attribution import ATTRIBUTION_METHODS, attribute, check_options
from audiolrp.lrp.composites import ATTENTION_PRESETS, PRESETS, Composite, get_composite
from audiolrp.lrp.core import LRPEngine, LRPState
from audiolrp.lrp.rules import RNNS

METHODS = ("lrp", "gradient", "gradient_x_input", *ATTRIBUTION_METHODS)

#: ``(relevance, targets, start relevance, initial-state relevance)`` of one explain() call
_Relevance = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]


def parse_method(name: str) -> tuple[str, str]:
    """``(method, composite)`` of :func:`explain` for one user-facing method name: an LRP
    preset (``paper``, ``epsilon_plus``, ..., and the attention presets ``attn_lrp``,
    ``cp_lrp``: ``("lrp", preset)``) or a reference method
    (``gradient``, ``gradient_x_input``, ``integrated_gradients``, ``smoothgrad``,
    ``occlusion``: ``(method, "paper")``, the composite unused). Case and ``-``/``_`` are
    free (``epsilon-plus``).

    Raises
    ------
    AudioLRPError
        Any other name, with the list of valid ones.
    """
    key = str(name).strip().lower().replace("-", "_")
    if key in PRESETS or key in ATTENTION_PRESETS:
        return "lrp", key
    if key in METHODS and key != "lrp":
        return key, "paper"
    raise AudioLRPError(
        f"unknown method {name!r}: pass an LRP preset ({', '.join(PRESETS + ATTENTION_PRESETS)}) "
        "or one of "
        f"{', '.join(m for m in METHODS if m != 'lrp')}"
    )


@dataclass
class Explanation:
    """Result of :func:`explain`.

    Attributes
    ----------
    relevance
        Input relevance, same shape (and dtype/device) as ``x``.
    logits
        Pre-softmax model output of the explained forward pass (detached).
    target
        ``(B,)`` explained class per example.
    start_relevance
        ``(B,)`` sum of the relevance injected at the output (target score or probability at
        the chosen frames); for gradient methods the sum of the selected outputs; for
        ``integrated_gradients`` ``f(x) - f(baseline)`` (so :meth:`conservation_error` is the
        completeness error), for ``smoothgrad`` and ``occlusion`` ``f(x)``, with ``f`` the
        explained scalar (target score or probability summed over the chosen frames).
    initial_state_relevance
        ``(B,)`` relevance that reached the (zero) initial states of recurrent layers.
    dropped_relevance
        ``(B,)`` relevance of alpha-beta units without positive (or negative) contributions,
        which cannot be passed on.
    n_no_positive_units
        ``(B,)`` number of such units (int64).
    layer_relevance
        With ``return_layers=True``: module name -> ``(B,)`` relevance sum at the module's input,
        in backward order (for conservation plots); otherwise None.
    method, composite
        What produced the relevance.
    """

    relevance: torch.Tensor
    logits: torch.Tensor
    target: torch.Tensor
    start_relevance: torch.Tensor
    initial_state_relevance: torch.Tensor
    dropped_relevance: torch.Tensor
    n_no_positive_units: torch.Tensor
    layer_relevance: dict[str, torch.Tensor] | None
    method: str
    composite: str

    def conservation_error(self) -> torch.Tensor:
        """``(B,)``: ``sum R(x) + R(initial states) + dropped - start`` (0 for exact LRP)."""
        total = self.relevance.reshape(self.relevance.shape[0], -1).sum(1)
        return total + self.initial_state_relevance + self.dropped_relevance - self.start_relevance


@runtime_checkable
class ClipModel(Protocol):
    """A model that says how its per-frame scores ``(B, T, C)`` make clip probabilities
    ``(B, C)`` (the default target is their argmax)."""

    def clip_probabilities(self, frame_scores: torch.Tensor) -> torch.Tensor:
        """Clip-level class probabilities from pre-softmax frame scores."""
        ...


def _clip_probabilities(model: nn.Module, logits: torch.Tensor) -> torch.Tensor:
    """``(B, C)`` probabilities whose argmax is the default target."""
    if logits.dim() == 2:
        return logits.softmax(-1)
    if isinstance(model, ClipModel):
        return model.clip_probabilities(logits)
    return logits.softmax(-1).mean(1)  # a model without its own reduction: mean frame softmax


def _targets(
    model: nn.Module, logits: torch.Tensor, target: int | Sequence[int] | torch.Tensor | None
) -> torch.Tensor:
    bsz, n_cls = logits.shape[0], logits.shape[-1]
    if target is None:
        return _clip_probabilities(model, logits).argmax(-1)
    t = torch.as_tensor(target, device=logits.device).long().reshape(-1)
    if t.numel() == 1:
        t = t.expand(bsz).clone()
    if t.shape != (bsz,):
        raise AudioLRPError(
            f"target has {t.numel()} entries for a batch of {bsz}; pass one per clip"
        )
    if bool(((t < 0) | (t >= n_cls)).any()):
        raise AudioLRPError(f"target outside 0..{n_cls - 1}; pass valid class indices")
    return t


def _frame_mask(logits: torch.Tensor, frames: object) -> torch.Tensor:
    """``(B, T)`` float mask of the frames whose target score starts the relevance."""
    bsz, n_t = logits.shape[0], logits.shape[1]
    if frames is None:
        return logits.new_ones(bsz, n_t)
    f = torch.as_tensor(frames, device=logits.device)
    if f.dtype == torch.bool:
        if f.shape not in ((n_t,), (bsz, n_t)):
            raise AudioLRPError(f"boolean frames mask must have shape ({n_t},) or ({bsz}, {n_t})")
        return f.to(logits.dtype).expand(bsz, n_t).clone()
    f = f.long().reshape(-1)
    if f.numel() == 0 or bool(((f < -n_t) | (f >= n_t)).any()):
        raise AudioLRPError(f"frames must be indices in 0..{n_t - 1}; pass e.g. frames=[0, 10]")
    m = logits.new_zeros(n_t)
    m[f] = 1.0
    return m.expand(bsz, n_t).clone()


def _as_module(model: object) -> nn.Module:
    """The network to explain: ``model`` itself, or the network a record holds in ``.model``
    (e.g. :class:`audiolrp.models.LoadedModel`)."""
    inner = getattr(model, "model", None)
    if not isinstance(model, nn.Module) and isinstance(inner, nn.Module):
        return inner
    if not isinstance(model, nn.Module):
        raise AudioLRPError(
            f"model is a {type(model).__name__}, not a torch nn.Module; pass the network "
            "(e.g. audiolrp.models.load(name).model or a LoadedModel)"
        )
    return model


def _check_inputs(model: nn.Module, x: torch.Tensor, start: str, method: str) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise AudioLRPError("x must be a floating-point torch.Tensor; pass e.g. torch.as_tensor(x)")
    if x.dim() == 0 or x.shape[0] == 0:
        raise AudioLRPError(
            f"x has shape {tuple(x.shape)}, an empty batch; pass at least one example "
            "(batch, ...), e.g. x[None] for a single clip"
        )
    # one reduction in the usual case: the sum of finite values is finite unless it overflows
    if not bool(torch.isfinite(x.sum())) and not bool(torch.isfinite(x).all()):
        raise AudioLRPError(
            "x contains NaN or infinite values; pass finite features (check the audio and the "
            "feature computation)"
        )
    if start not in ("score", "probability"):
        raise AudioLRPError(f"start={start!r} is unknown; pass 'score' or 'probability'")
    if method not in METHODS:
        raise AudioLRPError(f"method={method!r} is unknown; pass one of {', '.join(METHODS)}")
    p = next(iter(model.parameters()), None)
    if p is not None and (p.dtype != x.dtype or p.device != x.device):
        raise AudioLRPError(
            f"x is {x.dtype} on {x.device} but the model is {p.dtype} on {p.device}; "
            "move x (or the model) to the same dtype and device"
        )


def explain(
    model: nn.Module | Any,
    x: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None = None,
    composite: str | Composite = "paper",
    frames: Sequence[int] | torch.Tensor | None = None,
    start: str = "score",
    return_layers: bool = False,
    method: str = "lrp",
    batchnorm: str | None = None,
    *,
    n_steps: int = 32,
    baseline: float | torch.Tensor | None = None,
    n_samples: int = 32,
    noise_std: float = 0.15,
    seed: int = 0,
    patch: tuple[int, int] = (5, 32),
    stride: tuple[int, int] | None = None,
    chunk_size: int = 32,
) -> Explanation:
    """Explain a batch of predictions with LRP (or a gradient, integrated-gradients,
    SmoothGrad or occlusion reference).

    Relevance starts at the pre-softmax score of the target class at every frame (paper,
    "Experimental Setup") and is propagated with the composite's rules (paper preset: LRP
    alpha1-beta0 on convolutions after BatchNorm folding, LRP-epsilon (Eq. 2, eps = 0.01, bias
    redistributed) on dense layers, Arras et al.'s LSTM rule with relevance injected at every
    time step of both directions).

    Parameters
    ----------
    model
        Model assembled from supported modules; output ``(B, T, C)`` or ``(B, C)``. Its
        parameters, buffers, hooks and training flags are unchanged afterwards (it is run in
        eval mode during the call). An object holding the network in ``.model`` (a
        :class:`~audiolrp.models.LoadedModel` from :func:`audiolrp.models.load`) is accepted
        too: its ``.model`` is explained.
    x
        Input batch of at least one example, finite values only (same dtype/device as the
        model).
    target
        Class per example (int or ``(B,)``); default: the predicted class of the clip, the
        argmax of ``model.clip_probabilities(scores)`` for models that define it
        (:class:`ClipModel`, e.g. the CRNN), else of the frame softmax averaged over frames.
    composite
        Preset name (``"paper"``, ``"epsilon_plus"``, ``"epsilon_plus_flat"``,
        ``"epsilon_alpha2_beta1"``, ``"epsilon"``) or a :class:`Composite`.
    frames
        Frames whose target score starts the relevance: None (all), indices, or a boolean
        ``(T,)``/``(B, T)`` mask. Only for ``(B, T, C)`` outputs.
    start
        ``"score"`` (pre-softmax score) or ``"probability"`` (softmax probability per frame).
    return_layers
        Also return per-layer relevance sums.
    method
        ``"lrp"``, ``"gradient"``, ``"gradient_x_input"``, ``"integrated_gradients"``,
        ``"smoothgrad"`` or ``"occlusion"``. The last three (through Captum,
        :mod:`audiolrp.lrp.attribution`) explain the same scalar per example as
        ``"gradient"``: ``f(x)`` = target score (or probability) summed over the chosen frames,
        target and frames fixed from ``x``.
    batchnorm
        For presets: ``"fold"`` (default) or ``"pass"`` (BatchNorm as pass-through).
    n_steps, baseline, n_samples, noise_std, seed, patch, stride, chunk_size
        Options of ``integrated_gradients``, ``smoothgrad`` and ``occlusion``, described in
        :class:`~audiolrp.lrp.attribution.AttributionOptions` (defaults: 32 steps, the
        normalised input's zero, 32 samples of std 0.15, seed 0, (5, 32) patches).

    Returns
    -------
    Explanation

    Raises
    ------
    AudioLRPError
        ``model`` is not a module, ``x`` is not a floating-point tensor, is an empty batch or
        holds NaN/inf, or an argument is unknown (one line each).
    """
    model = _as_module(model)
    _check_inputs(model, x, start, method)
    comp = get_composite(composite, batchnorm)
    opts = None
    if method in ATTRIBUTION_METHODS:
        opts = check_options(
            method, x, n_steps, baseline, n_samples, noise_std, seed, patch, stride, chunk_size
        )
    flags = [(m, m.training) for m in model.modules()]
    state = LRPState(record=return_layers)
    model.eval()
    try:
        with torch.enable_grad():
            out, rel = _run(model, x, comp, method, opts, (target, frames, start), state)
    finally:
        for m, tr in flags:
            m.training = tr
    return _explanation(x, out, rel, state, method, comp.name, return_layers)


def _explanation(
    x: torch.Tensor,
    out: torch.Tensor,
    rel: _Relevance,
    state: LRPState,
    method: str,
    composite: str,
    return_layers: bool,
) -> Explanation:
    """The :class:`Explanation` of one :func:`explain` call."""
    grad, tgt, r0, init = rel
    if method == "gradient_x_input":
        grad = grad * x.detach()
    bsz = x.shape[0]
    zeros = x.new_zeros(bsz)
    dead = state.dead_relevance if state.dead_relevance is not None else zeros
    n_dead = state.n_dead.long() if state.n_dead is not None else zeros.long()
    return Explanation(
        relevance=grad,
        logits=out.detach(),
        target=tgt,
        start_relevance=r0,
        initial_state_relevance=init if init is not None else zeros,
        dropped_relevance=dead.detach(),
        n_no_positive_units=n_dead,
        layer_relevance=state.layers if return_layers else None,
        method=method,
        composite=composite if method == "lrp" else method,
    )



def _run(
    model: nn.Module,
    x: torch.Tensor,
    comp: Composite,
    method: str,
    opts: Any,
    selection: tuple[Any, Any, str],
    state: LRPState,
) -> tuple[torch.Tensor, _Relevance]:
    """The model output and ``(relevance, targets, start relevance, initial-state relevance)``
    of :func:`explain`'s method (gradient enabled, model in eval mode)."""
    target, frames, start = selection
    xg = x.detach().requires_grad_()
    if method == "lrp":
        with LRPEngine(model, comp, state):
            out = model(xg)
            return out, _backward(model, out, xg, target, frames, start, state, lrp=True)
    # cuDNN's RNN backward refuses eval mode: use the native kernels then
    rnn_cuda = x.is_cuda and any(isinstance(m, RNNS) for m in model.modules())
    cud = torch.backends.cudnn
    no_cudnn = cud.flags(
        enabled=False, benchmark=cud.benchmark,
        deterministic=cud.deterministic, allow_tf32=cud.allow_tf32,
    )
    with no_cudnn if rnn_cuda else contextlib.nullcontext():
        if opts is not None:
            with torch.no_grad():
                out = model(x.detach())
            tgt0, mask = _selection(model, out, x, target, frames)
            r, r0_ = attribute(method, model, x, mask, start == "probability", opts)
            return out, (r, tgt0, r0_, None)
        out = model(xg)
        return out, _backward(model, out, xg, target, frames, start, state, lrp=False)


def _selection(
    model: nn.Module,
    out: torch.Tensor,
    x: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None,
    frames: object,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B,)`` targets and the ``(B, T, C)`` selection: 1 at the target class of each chosen
    frame (``T = 1`` for ``(B, C)`` outputs). The explained scalar of every method is
    ``sum(selection * y)`` (LRP injects ``selection * y`` as relevance)."""
    if not isinstance(out, torch.Tensor) or out.dim() not in (2, 3) or out.shape[0] != x.shape[0]:
        raise AudioLRPError(
            "model output must be a (batch, frames, classes) or (batch, classes) tensor"
        )
    if out.dim() == 2 and frames is not None:
        raise AudioLRPError("frames= needs a model with per-frame output (batch, frames, classes)")
    logits = out.detach()
    tgt = _targets(model, logits, target)
    out3 = out if out.dim() == 3 else out.unsqueeze(1)
    mask = torch.zeros_like(out3)
    fm = _frame_mask(out3, frames)
    mask.scatter_(2, tgt.view(-1, 1, 1).expand(-1, out3.shape[1], 1), fm.unsqueeze(-1))
    return tgt, mask


def _backward(
    model: nn.Module,
    out: torch.Tensor,
    xg: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None,
    frames: object,
    start: str,
    state: LRPState,
    lrp: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    tgt, mask = _selection(model, out, xg, target, frames)
    out3 = out if out.dim() == 3 else out.unsqueeze(1)
    y = out3.softmax(-1) if start == "probability" else out3
    if lrp:
        grad_out = mask * y.detach()
        if start == "probability":
            # relevance of the pre-softmax unit := its probability (softmax is not explained)
            y = out3
    else:
        grad_out = mask
    r0 = grad_out.reshape(grad_out.shape[0], -1).sum(1).detach()
    leaves = state.state_leaves if lrp else []
    grads = torch.autograd.grad(y, [xg, *leaves], grad_outputs=grad_out, allow_unused=True)
    rel = grads[0] if grads[0] is not None else torch.zeros_like(xg)
    init = None
    bsz = xg.shape[0]
    for g in grads[1:]:
        if g is None:
            continue
        s = g.sum(dim=(0, 2)) if g.dim() == 3 and g.shape[1] == bsz else g.sum().expand(bsz)
        init = s if init is None else init + s
    return rel.detach(), tgt, r0, None if init is None else init.detach()


def explain_batches(
    model: nn.Module | Any,
    x: Any,
    target: Sequence[int] | Any | None = None,
    *,
    batch_size: int | None = None,
    composite: str | Composite = "paper",
    method: str = "lrp",
    **options: Any,
) -> tuple[Any, Any]:
    """The one batched explain: :func:`explain` over ``x`` in batches of ``batch_size``,
    with NumPy in and out.

    Parameters
    ----------
    model
        As for :func:`explain`.
    x
        ``(N, C, T, F)`` inputs (NumPy or anything ``numpy.asarray`` takes), cast to the
        model's float dtype (float32, or float64 for a float64 model).
    target
        ``(N,)`` classes to explain, or None for each example's predicted clip class.
    batch_size
        Examples per :func:`explain` call (None: all at once).
    composite, method, **options
        Passed to :func:`explain` (e.g. ``seed`` for SmoothGrad, ``n_steps`` for integrated
        gradients).

    Returns
    -------
    relevance : numpy.ndarray
        ``(N, C, T, F)``, in the dtype of the inputs as cast.
    predicted : numpy.ndarray
        ``(N,)`` int64 predicted clip class (argmax of the clip probabilities).
    """
    net = _as_module(model)
    param = next(iter(net.parameters()), None)
    dtype = np.float64 if param is not None and param.dtype == torch.float64 else np.float32
    arr = np.ascontiguousarray(np.asarray(x, dtype=dtype))
    n = int(arr.shape[0]) if arr.ndim else 0
    if n == 0:
        raise AudioLRPError("x is an empty batch; pass at least one example (N, C, T, F)")
    size = max(1, n if batch_size is None else int(batch_size))
    tgt = None if target is None else np.asarray(target, dtype=np.int64).reshape(-1)
    if tgt is not None and tgt.shape[0] != n:
        raise AudioLRPError(f"target has {tgt.shape[0]} entries for {n} examples; pass one each")
    relevance = np.empty(arr.shape, dtype=dtype)
    predicted = np.empty(n, dtype=np.int64)
    for i in range(0, n, size):
        e = explain(net, torch.from_numpy(arr[i : i + size]),
                    target=None if tgt is None else torch.from_numpy(tgt[i : i + size]),
                    composite=composite, method=method, **options)
        relevance[i : i + size] = e.relevance.detach().cpu().numpy()
        predicted[i : i + size] = (
            _clip_probabilities(net, e.logits.detach()).argmax(-1).cpu().numpy()
        )
    return relevance, predicted


__all__ = [
    "METHODS",
    "ClipModel",
    "Explanation",
    "explain",
    "explain_batches",
    "parse_method",
]
