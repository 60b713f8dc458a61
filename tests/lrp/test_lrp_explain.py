"""explain(): conservation on random CRNNs, the float64 loop reference, invariance of the model."""

from __future__ import annotations

import lrp_reference as ref
import numpy as np
import pytest
import torch
from torch import nn

from audiolrp.errors import AudioLRPError, UnsupportedModuleError
from audiolrp.lrp import (
    PRESETS,
    AlphaBeta,
    Composite,
    Epsilon,
    PassThrough,
    ZPlus,
    explain,
    merge_batchnorm,
)
from audiolrp.models import CRNN, clip_probabilities

SMALL = dict(n_filters=4, pool_sizes=(2, 2), n_bins=8, lstm_hidden=3, n_dense=5, n_classes=6)


def random_crnn(seed: int, n_in: int = 3, **kw) -> CRNN:
    """Small CRNN with random weights, BN statistics (some negative gammas) and input stats."""
    gen = torch.Generator().manual_seed(seed)
    cfg = {**SMALL, **kw}
    torch.manual_seed(seed)
    m = CRNN(
        n_in,
        norm_mean=torch.randn(n_in, generator=gen),
        norm_std=torch.rand(n_in, generator=gen) + 0.5,
        **cfg,
    ).double()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
            mod.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            mod.weight.data.copy_(torch.randn(c, generator=gen))
            mod.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)
    return m.eval()


def _x(seed: int, b: int = 2, c: int = 3, t: int = 5, f: int = 8) -> torch.Tensor:
    return torch.randn(b, c, t, f, generator=torch.Generator().manual_seed(100 + seed))


@pytest.mark.parametrize("seed", range(4))
def test_paper_preset_conserves_on_random_crnns(seed):
    m = random_crnn(seed)
    e = explain(m, _x(seed), return_layers=True)
    start = e.start_relevance.abs()
    err = e.conservation_error().abs()
    assert bool((err <= 1e-8 * start).all()), (err, start)
    # strict form, without the dropped term, whenever no alpha1beta0 unit was dead
    total = e.relevance.sum(dim=(1, 2, 3)) + e.initial_state_relevance
    no_dead = e.n_no_positive_units == 0
    assert bool(((total - e.start_relevance).abs()[no_dead] <= 1e-8 * start[no_dead]).all())
    # every layer conserves: dense -> output sums are equal to the start relevance
    torch.testing.assert_close(e.layer_relevance["output"], e.start_relevance)
    torch.testing.assert_close(e.layer_relevance["dense"], e.start_relevance)


def test_dead_units_are_counted_and_accounted():
    # a model whose first conv has only non-positive weights and non-negative inputs:
    # every unit has z+ = 0 => relevance reaching it is dropped and counted
    m = random_crnn(7)
    with torch.no_grad():
        m.conv[0].weight.copy_(-m.conv[0].weight.abs())
        m.conv[1].weight.abs_()
    m.normalization.mean.zero_()
    m.normalization.std.fill_(1.0)
    x = _x(7).abs()
    e = explain(m, x)
    assert bool((e.n_no_positive_units > 0).all())
    assert float(e.relevance.abs().sum()) == 0.0
    assert bool((e.conservation_error().abs() <= 1e-8 * e.start_relevance.abs()).all())


@pytest.mark.parametrize("seed", [0, 1])
def test_crnn_matches_float64_loop_reference(seed):
    m = random_crnn(seed)
    x = _x(seed)
    e = explain(m, x)
    for b in range(x.shape[0]):
        r, info = ref.crnn_lrp(m, x[b].numpy(), int(e.target[b]))
        np.testing.assert_allclose(info["logits"], e.logits[b].numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(e.relevance[b].numpy(), r, rtol=1e-8, atol=1e-11)
        assert float(e.initial_state_relevance[b]) == pytest.approx(info["init"], rel=1e-9)
        assert float(e.start_relevance[b]) == pytest.approx(info["start"], rel=1e-12)
        assert int(e.n_no_positive_units[b]) == info["n_dead"]


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "paper"])
def test_presets_match_float64_loop_reference(preset):
    """Each non-paper preset against the loop reference of its conv (and first-layer) rule."""
    m = random_crnn(11)
    x = _x(11)
    e = explain(m, x, composite=preset, return_layers=True)
    for b in range(x.shape[0]):
        tgt = int(e.target[b])
        r, info = ref.crnn_lrp(m, x[b].numpy(), tgt, preset=preset)
        np.testing.assert_allclose(e.relevance[b].numpy(), r, rtol=1e-8, atol=1e-11)
        assert float(e.initial_state_relevance[b]) == pytest.approx(info["init"], rel=1e-9)
        assert float(e.start_relevance[b]) == pytest.approx(info["start"], rel=1e-12)
        assert float(e.dropped_relevance[b]) == pytest.approx(info["dropped"], abs=1e-12)
        assert int(e.n_no_positive_units[b]) == info["n_dead"]
        if ref.PRESET_RULES[preset] != ref.PRESET_RULES["paper"]:
            # the comparison can fail: the paper's rules give another heatmap here
            r_paper, _ = ref.crnn_lrp(m, x[b].numpy(), tgt, preset="paper")
            assert np.abs(r - r_paper).max() > 1e-3 * np.abs(r).max()
    # conservation, layer by layer: dense layers exactly, the network up to dropped relevance
    start = e.start_relevance
    torch.testing.assert_close(e.layer_relevance["output"], start, rtol=1e-10, atol=0)
    torch.testing.assert_close(e.layer_relevance["dense"], start, rtol=1e-10, atol=0)
    assert bool((e.conservation_error().abs() <= 1e-9 * start.abs()).all())


@pytest.mark.parametrize("preset", ["paper", "epsilon"])
def test_batchnorm_pass_matches_float64_loop_reference(preset):
    """batchnorm='pass': the conv rule sees the conv's own weights, BatchNorm passes through."""
    m = random_crnn(12)
    x = _x(12)
    e = explain(m, x, composite=preset, batchnorm="pass")
    for b in range(x.shape[0]):
        r, info = ref.crnn_lrp(m, x[b].numpy(), int(e.target[b]), preset=preset, fold_bn=False)
        np.testing.assert_allclose(e.relevance[b].numpy(), r, rtol=1e-8, atol=1e-11)
        assert int(e.n_no_positive_units[b]) == info["n_dead"]
        r_fold, _ = ref.crnn_lrp(m, x[b].numpy(), int(e.target[b]), preset=preset)
        assert np.abs(r - r_fold).max() > 1e-3 * np.abs(r).max()


def test_default_target_frames_and_probability_start():
    m = random_crnn(2)
    x = _x(2)
    logits = m(x)
    e = explain(m, x)
    torch.testing.assert_close(e.target, clip_probabilities(logits).argmax(-1))
    tgt = e.target
    idx = torch.arange(2)
    torch.testing.assert_close(e.start_relevance, logits[idx, :, tgt].sum(1))
    e2 = explain(m, x, target=1, frames=[0, 3])
    torch.testing.assert_close(e2.start_relevance, logits[:, [0, 3], 1].sum(1))
    mask = torch.tensor([True, False, False, True, False])
    e3 = explain(m, x, target=1, frames=mask)
    torch.testing.assert_close(e3.relevance, e2.relevance)
    e4 = explain(m, x, target=torch.tensor([0, 2]), start="probability")
    probs = logits.softmax(-1)
    torch.testing.assert_close(e4.start_relevance, probs[idx, :, torch.tensor([0, 2])].sum(1))
    assert bool((e4.conservation_error().abs() <= 1e-8 * e4.start_relevance).all())
    # relevance is linear in the start relevance of each frame
    e5 = explain(m, x, target=1, frames=[0])
    e6 = explain(m, x, target=1, frames=[3])
    torch.testing.assert_close(e5.relevance + e6.relevance, e2.relevance)


def test_model_unchanged_after_explain():
    m = random_crnn(3)
    m.train()
    m.lstms[0].eval()  # mixed flags must come back exactly
    flags = {n: mod.training for n, mod in m.named_modules()}
    before = {k: v.clone() for k, v in m.state_dict().items()}
    calls = []
    handle = m.dense.register_forward_hook(lambda mod, i, o: calls.append(1))
    hooks = {
        n: (dict(mod._forward_hooks), dict(mod._forward_pre_hooks), dict(mod._backward_hooks))
        for n, mod in m.named_modules()
    }
    n_threads = torch.get_num_threads()
    for comp in ("paper", "epsilon_alpha2_beta1"):
        explain(m, _x(3), composite=comp)
    assert torch.get_num_threads() == n_threads
    explain(m, _x(3), method="gradient")
    assert calls, "user hooks still run during explain"
    after = m.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert {n: mod.training for n, mod in m.named_modules()} == flags
    assert hooks == {
        n: (dict(mod._forward_hooks), dict(mod._forward_pre_hooks), dict(mod._backward_hooks))
        for n, mod in m.named_modules()
    }
    assert all(p.grad is None for p in m.parameters())
    assert all("forward" not in mod.__dict__ for mod in m.modules())
    handle.remove()


def test_batchnorm_folding_exact_and_restored_bit_for_bit():
    m = random_crnn(4)
    x = _x(4)
    y0 = m(x)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    with merge_batchnorm(m) as pairs:
        assert len(pairs) == len(SMALL["pool_sizes"])
        y1 = m(x)
        for bn in pairs.values():  # BN is now the identity
            z = torch.randn(1, bn.num_features, 2, 2)
            torch.testing.assert_close(bn(z), z, rtol=1e-15, atol=1e-15)
    assert (y1 - y0).abs().max() <= 1e-10
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    # explain() folds on copies; with batchnorm="pass" the BN layers are pass-through
    e_fold = explain(m, x)
    e_pass = explain(m, x, batchnorm="pass")
    torch.testing.assert_close(e_fold.logits, y0, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(e_pass.logits, y0, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(e_fold.relevance, e_pass.relevance)


@pytest.mark.parametrize("preset", PRESETS)
def test_all_presets_run_and_account_for_relevance(preset):
    m = random_crnn(5)
    e = explain(m, _x(5), composite=preset)
    assert e.relevance.shape == (2, 3, 5, 8)
    assert bool(torch.isfinite(e.relevance).all())
    assert bool((e.conservation_error().abs() <= 1e-8 * e.start_relevance.abs()).all())


def test_per_type_and_per_name_rules():
    torch.manual_seed(6)
    m = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)).double()
    names = dict(m.named_modules())
    assert "2" in names
    x = torch.randn(2, 4)
    comp = Composite(rules={nn.Linear: AlphaBeta(2, 1), "2": Epsilon(1e-6, bias="absorb")})
    e = explain(m, x, target=0, composite=comp)
    # explicit composition of the reference rules
    a = torch.relu(m[0](x))
    r = torch.zeros(2, 3, dtype=torch.float64)
    r[:, 0] = m(x)[:, 0].detach()
    r1, _, _ = ref.dense_lrp(
        a.detach().numpy(),
        m[2].weight.detach().numpy(),
        m[2].bias.detach().numpy(),
        r.numpy(),
        "epsilon",
        1e-6,
        bias="absorb",
    )
    r0, _, _ = ref.dense_lrp(
        x.numpy(),
        m[0].weight.detach().numpy(),
        m[0].bias.detach().numpy(),
        r1,
        "alphabeta",
        alpha=2,
        beta=1,
    )
    np.testing.assert_allclose(e.relevance.numpy(), r0, rtol=1e-9, atol=1e-12)


def test_gradient_methods_match_autograd():
    m = random_crnn(8)
    x = _x(8)
    e = explain(m, x, method="gradient", target=2)
    xg = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(m(xg)[:, :, 2].sum(), xg)
    torch.testing.assert_close(e.relevance, g)
    e2 = explain(m, x, method="gradient_x_input", target=2)
    torch.testing.assert_close(e2.relevance, g * x)


class _Generic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(2, 4, 3, padding=1),
            nn.BatchNorm1d(4),
            nn.LeakyReLU(0.1),
            nn.AvgPool1d(2),
            nn.Conv1d(4, 3, 3, padding=1),
            nn.Tanh(),
        )
        self.gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 5, 6))

    def forward(self, x):
        h = self.features(x)  # (B, 3, T)
        h, _ = self.gru(h.permute(2, 0, 1))  # time-major
        return self.head(h.permute(1, 0, 2))


def test_generic_model_conserves():
    torch.manual_seed(9)
    m = _Generic().double().eval()
    x = torch.randn(3, 2, 10)
    for comp in ("paper", "epsilon"):
        e = explain(m, x, composite=comp)
        assert e.relevance.shape == x.shape
        err = e.conservation_error().abs()
        # the z-rule of average pooling uses a 1e-12 stabiliser only
        assert bool((err <= 1e-8 * e.start_relevance.abs()).all()), err


def test_unsupported_modules_raise():
    x = torch.randn(2, 4)
    with pytest.raises(UnsupportedModuleError, match="Sigmoid"):
        explain(nn.Sequential(nn.Linear(4, 3), nn.Sigmoid()).double(), x)
    with pytest.raises(UnsupportedModuleError, match="GroupNorm"):  # LayerNorm has a rule now
        explain(nn.Sequential(nn.Linear(4, 3), nn.GroupNorm(1, 3)).double(), x)

    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = nn.Parameter(torch.ones(3))

        def forward(self, v):
            return v * self.s

    model = nn.Sequential(nn.Linear(4, 3), Scale()).double()
    with pytest.raises(UnsupportedModuleError, match="own parameters"):
        explain(model, x)
    # mapping it to a rule explicitly is allowed
    e = explain(model, x, composite=Composite({nn.Linear: Epsilon(), Scale: PassThrough()}))
    assert e.relevance.shape == x.shape
    assert all("forward" not in mod.__dict__ for mod in model.modules())


def test_bad_arguments():
    m = random_crnn(0)
    x = _x(0)
    with pytest.raises(AudioLRPError, match="start"):
        explain(m, x, start="logit")
    with pytest.raises(AudioLRPError, match="composite"):
        explain(m, x, composite="nope")
    with pytest.raises(AudioLRPError, match="target"):
        explain(m, x, target=99)
    with pytest.raises(AudioLRPError, match="frames"):
        explain(m, x, frames=[7])
    with pytest.raises(AudioLRPError, match="dtype"):
        explain(m, x.float())
    with pytest.raises(AudioLRPError, match="alpha"):
        AlphaBeta(1, 1)


def test_bad_inputs_are_one_line_errors():
    """NaN/inf input, an empty batch and a non-module model: one-line AudioLRPErrors."""
    m = random_crnn(0)
    for bad in (float("nan"), float("inf"), -float("inf")):
        x = _x(0)
        x[1, 2, 3, 4] = bad
        with pytest.raises(AudioLRPError, match="NaN or infinite") as err:
            explain(m, x)
        assert "\n" not in str(err.value)
    for empty in (_x(0)[:0], torch.tensor(1.0, dtype=torch.float64)):
        with pytest.raises(AudioLRPError, match="empty batch") as err:
            explain(m, empty)
        assert "\n" not in str(err.value)
    for not_a_model in ("hoa2", {"model": m}, None):
        with pytest.raises(AudioLRPError, match="not a torch nn.Module") as err:
            explain(not_a_model, _x(0))  # type: ignore[arg-type]
        assert "\n" not in str(err.value)


def test_loaded_model_is_explained_like_its_network(tmp_path):
    from audiolrp.models import LoadedModel

    m = random_crnn(1)
    loaded = LoadedModel(model=m, config={"feature": "hoa"}, path=tmp_path / "m.json", name="m")
    x = _x(1)
    a = explain(loaded, x, composite="paper")
    b = explain(m, x, composite="paper")
    assert torch.equal(a.relevance, b.relevance) and torch.equal(a.target, b.target)


def test_float32_cpu_and_zplus_equivalence():
    m = random_crnn(1).float()
    x = _x(1).float()
    e = explain(m, x)
    assert e.relevance.dtype == torch.float32
    rel = e.conservation_error().abs() / e.start_relevance.abs()
    assert float(rel.max()) < 1e-4
    e2 = explain(
        m,
        x,
        composite=Composite(
            {
                nn.Conv2d: ZPlus(),
                nn.Linear: Epsilon(0.01),
                nn.LSTM: __import__("audiolrp.lrp", fromlist=["RecurrentEpsilon"]).RecurrentEpsilon(
                    0.01
                ),
            }
        ),
    )
    torch.testing.assert_close(e2.relevance, e.relevance)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    m = random_crnn(2)
    x = _x(2)
    e_cpu = explain(m, x)
    e_gpu = explain(m.cuda(), x.cuda())
    torch.testing.assert_close(e_gpu.relevance.cpu(), e_cpu.relevance, rtol=1e-9, atol=1e-12)
    g = explain(m, x.cuda(), method="gradient")
    assert g.relevance.is_cuda


def test_full_size_crnn_float32_batch_one():
    torch.manual_seed(10)
    m = CRNN(18).float().eval()
    x = torch.randn(1, 18, 50, 512, generator=torch.Generator().manual_seed(11)).float()
    e = explain(m, x)
    assert e.relevance.shape == x.shape and e.relevance.dtype == torch.float32
    assert float((e.conservation_error().abs() / e.start_relevance.abs()).max()) < 1e-4
    torch.testing.assert_close(e.logits, m(x), rtol=1e-4, atol=1e-5)


def test_conv1d_maxpool1d_lstm_model_conserves():
    torch.manual_seed(12)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(),
                                      nn.MaxPool1d(2))
            self.lstm = nn.LSTM(4, 3, batch_first=True)
            self.out = nn.Linear(3, 5)

        def forward(self, x):
            h, _ = self.lstm(self.conv(x).transpose(1, 2))
            return self.out(h)  # (B, T, C)

    m = Net().double().eval()
    with torch.no_grad():
        m.conv[1].running_mean.uniform_(-0.2, 0.2)
        m.conv[1].weight.uniform_(-1, 1)
    x = torch.randn(3, 3, 8)
    e = explain(m, x, frames=[1, 3])
    assert e.logits.shape == (3, 4, 5)
    assert bool((e.conservation_error().abs() <= 1e-8 * e.start_relevance.abs()).all())


def test_explain_batches_is_batch_size_invariant_and_predicts():
    """The one batched explain: any batch size gives the relevance of explain() on the whole
    batch (up to float32 rounding), target None explains the predicted clip class."""
    from audiolrp.lrp import explain_batches

    model = random_crnn(5)
    x = _x(9, b=5).numpy()
    whole = explain(model, torch.from_numpy(x))
    predicted = clip_probabilities(whole.logits).argmax(-1).numpy()
    for size in (1, 2, None):
        rel, pred = explain_batches(model, x, batch_size=size)
        np.testing.assert_array_equal(pred, predicted)
        np.testing.assert_allclose(rel, whole.relevance.numpy(), rtol=1e-5, atol=1e-6)
    target = np.array([0, 3, 1, 2, 4])
    rel_t, _ = explain_batches(model, x, target, batch_size=2, composite="epsilon_plus_flat")
    ref_t = explain(model, torch.from_numpy(x), target=torch.from_numpy(target),
                    composite="epsilon_plus_flat").relevance.numpy()
    np.testing.assert_allclose(rel_t, ref_t, rtol=1e-5, atol=1e-6)
    with pytest.raises(AudioLRPError, match="one each"):
        explain_batches(model, x, [1, 2])
    with pytest.raises(AudioLRPError, match="empty batch"):
        explain_batches(model, x[:0])
