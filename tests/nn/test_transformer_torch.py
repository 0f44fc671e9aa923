"""Attention and Transformer layers against real torch: the same weights (a torch state_dict loaded as is), the
same inputs and masks, then outputs, attention weights (NaN where torch gives NaN), every parameter's gradient and
the inputs' gradients compared. Each row builds its module the way a PyTorch user writes it, once with torch.nn
and once with chainrule.nn."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812

E = 8
CAUSAL = np.triu(np.ones((5, 5), bool), 1)  # True above the diagonal: not allowed (MultiheadAttention's reading)
PADDING = np.array([[False] * 5, [False, False, False, True, True], [True, False, False, False, False]])
FLOAT_MASK = np.random.default_rng(5).standard_normal((6, 5, 5)).astype(np.float32)


def lib(x: Any) -> Any:
    return torch if isinstance(x, torch.Tensor) else cr


def mask(array: np.ndarray) -> Callable[[Any], Any]:
    return lambda x: lib(x).tensor(array)


class Called:
    """A module that calls the wrapped attention module as ``call(module, *inputs)``: self-attention passes the
    same tensor three times, as users write it."""

    def __init__(self, make: Callable[[Any], Any], call: Callable[..., Any]) -> None:
        self.make, self.call = make, call

    def __call__(self, nn: Any) -> Any:
        make, call = self.make, self.call

        class Wrapped(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.attention = make(nn)

            def forward(self, *xs: Any) -> Any:
                return call(self.attention, *xs)

        return Wrapped()


def mha(heads: int = 2, **kwargs: Any) -> Callable[[Any], Any]:
    return lambda nn: nn.MultiheadAttention(E, heads, **kwargs)


def self_attention(call_kwargs: Callable[[Any], dict] = lambda x: {}, **kwargs: Any) -> Called:
    return Called(mha(**kwargs), lambda a, x: a(x, x, x, **call_kwargs(x)))


ROWS = [
    # (name, module maker, input shapes, forward kwargs, train mode)
    ("self-attention, batch_first", self_attention(batch_first=True), [(3, 5, E)]),
    ("self-attention, (L, N, E)", self_attention(), [(5, 3, E)]),
    ("cross-attention, L != S", Called(mha(heads=4, batch_first=True), lambda a, q, k, v: a(q, k, v)),
     [(3, 5, E), (3, 7, E), (3, 7, E)]),
    ("unbatched (L, E)", Called(mha(), lambda a, q, k: a(q, k, k)), [(5, E), (6, E)]),
    ("kdim and vdim: separate projections",
     Called(mha(kdim=3, vdim=4, batch_first=True), lambda a, q, k, v: a(q, k, v)), [(3, 5, E), (3, 6, 3), (3, 6, 4)]),
    ("weights per head", self_attention(lambda x: {"average_attn_weights": False}, batch_first=True), [(3, 5, E)]),
    ("bool causal attn_mask", self_attention(lambda x: {"attn_mask": mask(CAUSAL)(x)}, batch_first=True), [(3, 5, E)]),
    ("key_padding_mask", self_attention(lambda x: {"key_padding_mask": mask(PADDING)(x)}, batch_first=True),
     [(3, 5, E)]),
    ("key_padding_mask, need_weights=False",
     self_attention(lambda x: {"key_padding_mask": mask(PADDING)(x), "need_weights": False}, batch_first=True),
     [(3, 5, E)]),
    ("causal + padding: a query with nothing to attend to is NaN",
     self_attention(lambda x: {"attn_mask": mask(CAUSAL)(x), "key_padding_mask": mask(PADDING)(x)},
                    batch_first=True), [(3, 5, E)]),
    ("is_causal hint without weights",
     self_attention(lambda x: {"attn_mask": mask(CAUSAL)(x), "is_causal": True, "need_weights": False},
                    batch_first=True), [(3, 5, E)]),
    ("add_bias_kv and add_zero_attn",
     self_attention(lambda x: {"key_padding_mask": mask(PADDING)(x)}, add_bias_kv=True, add_zero_attn=True,
                    batch_first=True), [(3, 5, E)]),
    ("bias=False", self_attention(bias=False), [(5, 3, E)]),
    ("3-d float attn_mask", self_attention(lambda x: {"attn_mask": mask(FLOAT_MASK)(x)}), [(5, 3, E)]),
    ("encoder layer", lambda nn: nn.TransformerEncoderLayer(E, 2, 16, dropout=0.0), [(5, 3, E)]),
    ("encoder layer: gelu, norm_first, batch_first",
     lambda nn: nn.TransformerEncoderLayer(E, 2, 16, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True), [(3, 5, E)]),
    ("encoder with padding and a final norm (eval)",
     lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, 2, 16, dropout=0.0, batch_first=True), 2,
                                      norm=nn.LayerNorm(E)), [(3, 5, E)],
     lambda x: {"src_key_padding_mask": mask(PADDING[[0, 1, 0]])(x)}),
    ("encoder with a causal mask (training)",
     lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, 2, 16, dropout=0.0, batch_first=True), 2),
     [(3, 5, E)], lambda x: {"mask": mask(CAUSAL)(x)}, True),
    ("decoder layer", lambda nn: nn.TransformerDecoderLayer(E, 2, 16, dropout=0.0), [(5, 3, E), (7, 3, E)]),
    ("Transformer with generate_square_subsequent_mask",
     lambda nn: nn.Transformer(E, 2, 2, 2, 16, dropout=0.0, batch_first=True), [(3, 7, E), (3, 5, E)],
     lambda x: {"tgt_mask": (torch.nn if lib(x) is torch else cr.nn).Transformer.generate_square_subsequent_mask(5)}),
]


def _build(make: Callable[[Any], Any], nn: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = make(nn)
    return module, [str(w.message) for w in caught]


def _arrays(out: Any) -> list[Any]:
    return [None if t is None else t.detach().numpy() for t in (out if isinstance(out, tuple) else (out,))]


@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_attention_matches_torch(row: tuple) -> None:
    make, shapes = row[1:3]
    forward_kwargs = row[3] if len(row) > 3 else (lambda x: {})
    training = row[4] if len(row) > 4 else False
    torch.manual_seed(0)
    theirs, their_warnings = _build(make, torch.nn)
    ours, our_warnings = _build(make, cr.nn)
    assert our_warnings == their_warnings
    assert list(ours.state_dict()) == list(theirs.state_dict()), "parameter names and order"
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    ours.train(training)
    theirs.train(training)
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    cx = [cr.tensor(a, requires_grad=True) for a in arrays]
    t_out, c_out = theirs(*tx, **forward_kwargs(tx[0])), ours(*cx, **forward_kwargs(cx[0]))
    for expected, actual in zip(_arrays(t_out), _arrays(c_out), strict=True):
        assert (expected is None) == (actual is None)
        if expected is not None:
            assert actual.shape == expected.shape and actual.dtype == expected.dtype
            np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5, equal_nan=True)
    t_first, c_first = (t_out[0], c_out[0]) if isinstance(t_out, tuple) else (t_out, c_out)
    weights = np.random.default_rng(2).standard_normal(tuple(t_first.shape)).astype(np.float32)
    (torch.nan_to_num(t_first) * torch.tensor(weights)).sum().backward()
    (c_first.nan_to_num() * cr.tensor(weights)).sum().backward()
    their_params = dict(theirs.named_parameters())
    for param_name, param in ours.named_parameters():
        expected = their_params[param_name].grad
        assert (param.grad is None) == (expected is None), param_name
        if expected is not None:
            np.testing.assert_allclose(param.grad.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5, equal_nan=True,
                                       err_msg=param_name)
    for t, c in zip(tx, cx, strict=True):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5, equal_nan=True)


# ---------------------------------------------------------------------------- scaled_dot_product_attention

SDPA_ROWS = [
    ("plain", {}),
    ("is_causal", {"is_causal": True}),
    ("bool mask (True: may attend), one query with none", {"attn_mask": "bool"}),
    ("float mask with -inf rows", {"attn_mask": "float"}),
    ("scale", {"scale": 0.3}),
    ("grouped-query attention", {"enable_gqa": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), SDPA_ROWS, ids=[r[0] for r in SDPA_ROWS])
def test_scaled_dot_product_attention_matches_torch(name: str, kwargs: dict) -> None:
    rng = np.random.default_rng(0)
    heads_kv = 1 if kwargs.get("enable_gqa") else 2
    shapes = [(2, 2, 4, 5), (2, heads_kv, 6, 5), (2, heads_kv, 6, 3)]
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    bool_mask = rng.random((4, 6)) > 0.4
    bool_mask[1] = False
    float_mask = rng.standard_normal((4, 6)).astype(np.float32)
    float_mask[2] = -np.inf
    results = []
    for m, functional in ((torch, torch.nn.functional), (cr, F)):
        inputs = [m.tensor(a, requires_grad=True) for a in arrays]
        call = dict(kwargs)
        if call.get("attn_mask") == "bool":
            call["attn_mask"] = m.tensor(bool_mask)
        elif call.get("attn_mask") == "float":
            call["attn_mask"] = m.tensor(float_mask)
        out = functional.scaled_dot_product_attention(*inputs, **call)
        (out * m.tensor(np.arange(out.numel(), dtype=np.float32).reshape(tuple(out.shape)))).sum().backward()
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in inputs])
    for expected, actual in zip(*results, strict=True):
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
        assert np.isfinite(actual).all()  # masked-out queries are zeros, not NaN, as torch's safe softmax


# ---------------------------------------------------------------------------- construction and errors


def test_stacked_layers_start_with_the_same_weights_as_torch_does() -> None:
    encoder = cr.nn.TransformerEncoder(cr.nn.TransformerEncoderLayer(E, 2, 16, batch_first=True), 3)
    first, *others = [layer.self_attn.in_proj_weight.detach().numpy() for layer in encoder.layers]
    assert all(np.array_equal(first, other) for other in others)
    assert encoder.layers[0].self_attn.in_proj_weight is not encoder.layers[1].self_attn.in_proj_weight


def test_nested_tensor_warning_is_torchs() -> None:
    for nn in (torch.nn, cr.nn):
        with pytest.warns(UserWarning, match="enable_nested_tensor is True, but self.use_nested_tensor is False "
                                             "because encoder_layer.self_attn.batch_first was not True"):
            nn.TransformerEncoder(nn.TransformerEncoderLayer(E, 2, 16), 2)


def test_eval_without_gradients_zeroes_padded_positions_as_torch() -> None:
    """PyTorch's encoder runs on nested tensors there: the padded positions come back as zeros."""
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, 2, 16, batch_first=True), 2)
    ours = cr.nn.TransformerEncoder(cr.nn.TransformerEncoderLayer(E, 2, 16, batch_first=True), 2)
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    outputs = []
    for m, encoder in ((torch, theirs), (cr, ours)):
        encoder.eval()
        x = m.tensor(np.random.default_rng(3).standard_normal((3, 5, E)).astype(np.float32))
        padding = m.tensor(PADDING[[0, 1, 1]])
        with m.no_grad():
            outputs.append(encoder(x, src_key_padding_mask=padding).numpy())
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-5, atol=1e-5)
    assert (outputs[1][1, 3:] == 0).all()


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda m: m.nn.MultiheadAttention(8, 3), AssertionError, "divisible by num_heads"),
    (lambda m: m.nn.MultiheadAttention(8, 2)(m.ones(5, 3, 7), m.ones(5, 3, 7), m.ones(5, 3, 7)),
     AssertionError, "was expecting embedding dimension of 8, but got 7"),
    (lambda m: m.nn.MultiheadAttention(8, 2)(m.ones(5, 3, 8), m.ones(5, 3, 8), m.ones(5, 3, 8),
                                             attn_mask=m.ones(4, 5, dtype=m.bool)),
     RuntimeError, "The shape of the 2D attn_mask is"),
    (lambda m: m.nn.MultiheadAttention(8, 2)(m.ones(5, 3, 8), m.ones(5, 3, 8), m.ones(5, 3, 8), is_causal=True),
     RuntimeError, "Need attn_mask if specifying the is_causal hint"),
    (lambda m: m.nn.MultiheadAttention(8, 2)(m.ones(5, 3, 8), m.ones(5, 3, 8), m.ones(5, 3, 8),
                                             attn_mask=m.ones(5, 5, dtype=m.int64)),
     AssertionError, "only bool and floating types of attn_mask are supported"),
    (lambda m: m.nn.functional.scaled_dot_product_attention(
        m.ones(2, 4, 5, requires_grad=True), m.ones(2, 6, 5), m.ones(2, 6, 5), attn_mask=m.ones(4, 6, dtype=m.bool),
        is_causal=True), RuntimeError, "Explicit attn_mask should not be set when is_causal=True"),
    (lambda m: m.nn.TransformerEncoderLayer(8, 2, activation="tanh"), RuntimeError,
     "activation should be relu/gelu, not tanh"),
    (lambda m: m.nn.Transformer(8, 2, 1, 1, 16)(m.ones(5, 3, 8), m.ones(4, 2, 8)), RuntimeError,
     "the batch number of src and tgt must be equal"),
])
def test_errors_are_torchs_types(call: Callable[[Any], Any], error: Any, message: str) -> None:
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error, match=message):
        call(cr)
