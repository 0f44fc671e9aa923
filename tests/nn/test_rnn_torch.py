"""RNN, LSTM, GRU and their cells against torch in float64: outputs, final states and every gradient."""

from __future__ import annotations

import itertools
import os
import pickle

import numpy as np
import pytest
import torch
from nn_helpers import assert_close

import chainrule as cr
from chainrule import nn

TOL = 1e-6
H_IN, H = 3, 4

MODES = {
    "rnn-tanh": ("RNN", {"nonlinearity": "tanh"}),
    "rnn-relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "gru": ("GRU", {}),
}
# mode × num_layers × batch_first × bidirectional × initial state × batch size (1 is the edge case)
CASES = [
    pytest.param(mode, layers, batch_first, bidirectional, with_h0, batch,
                 id=f"{mode}-l{layers}{'-bf' if batch_first else ''}{'-bi' if bidirectional else ''}"
                    f"{'-h0' if with_h0 else ''}-n{batch}")
    for mode, layers, batch_first, bidirectional, with_h0 in itertools.product(
        MODES, (1, 2), (False, True), (False, True), (False, True))
    for batch in ((2, 1) if layers == 1 and not batch_first else (2,))
]


def make_pair(mode: str, **kwargs):
    """A torch module in float64 and a chainrule twin with its state_dict loaded."""
    name, extra = MODES[mode]
    torch.manual_seed(0)
    twin = getattr(torch.nn, name)(H_IN, H, **extra, **kwargs).double()
    ours = getattr(nn, name)(H_IN, H, **extra, **kwargs, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in twin.state_dict().items()}, strict=True)
    return ours, twin


def leaf_pair(array: np.ndarray):
    return cr.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def check_run(ours, twin, x: np.ndarray, states: list[np.ndarray] | None, lstm: bool, seed: int = 1):
    """Forward both (with ``states`` as initial h0 / (h0, c0)), compare, backward a weighted sum, compare grads."""
    xc, xt = leaf_pair(x)
    pairs = [leaf_pair(s) for s in states] if states else []
    if pairs:
        hx_c = tuple(p[0] for p in pairs) if lstm else pairs[0][0]
        hx_t = tuple(p[1] for p in pairs) if lstm else pairs[0][1]
        out_c, final_c = ours(xc, hx_c)
        out_t, final_t = twin(xt, hx_t)
    else:
        out_c, final_c = ours(xc)
        out_t, final_t = twin(xt)
    results_c = [out_c, *(final_c if lstm else (final_c,))]
    results_t = [out_t, *(final_t if lstm else (final_t,))]
    rng = np.random.default_rng(seed)
    loss_c, loss_t = 0.0, 0.0
    for k, (rc, rt) in enumerate(zip(results_c, results_t)):
        assert rc.shape == tuple(rt.shape), f"result {k}: shape {rc.shape} vs torch {tuple(rt.shape)}"
        assert rc.dtype == np.float64
        assert_close(rc.data, rt, TOL, f"result {k} forward")
        w = rng.standard_normal(rc.shape)
        loss_c = loss_c + (rc * cr.tensor(w)).sum()
        loss_t = loss_t + (rt * torch.from_numpy(w)).sum()
    loss_c.backward()
    loss_t.backward()
    assert_close(xc.grad, xt.grad, TOL, "input gradient")
    for k, (sc, st) in enumerate(pairs):
        assert_close(sc.grad, st.grad, TOL, f"initial state {k} gradient")
    theirs = dict(twin.named_parameters())
    names = [name for name, _ in ours.named_parameters()]
    assert names == list(theirs), "parameter names and order match torch"
    for name, param in ours.named_parameters():
        assert_close(param.grad, theirs[name].grad, TOL, f"gradient of {name}")


@pytest.mark.parametrize("mode, layers, batch_first, bidirectional, with_h0, batch", CASES)
def test_recurrent_layer_matches_torch(mode, layers, batch_first, bidirectional, with_h0, batch):
    ours, twin = make_pair(mode, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional)
    rng = np.random.default_rng(0)
    length = 5
    x = rng.standard_normal((batch, length, H_IN) if batch_first else (length, batch, H_IN))
    lstm = mode == "lstm"
    state_shape = ((2 if bidirectional else 1) * layers, batch, H)
    states = [rng.standard_normal(state_shape) for _ in range(2 if lstm else 1)] if with_h0 else None
    check_run(ours, twin, x, states, lstm)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("with_h0", [False, True], ids=["zeros", "h0"])
def test_unbatched_input_matches_torch(mode, with_h0):
    ours, twin = make_pair(mode, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(2)
    lstm = mode == "lstm"
    states = [rng.standard_normal((4, H)) for _ in range(2 if lstm else 1)] if with_h0 else None
    check_run(ours, twin, rng.standard_normal((6, H_IN)), states, lstm)


@pytest.mark.parametrize("mode", list(MODES))
def test_without_bias_matches_torch(mode):
    ours, twin = make_pair(mode, bias=False, num_layers=2)
    assert [n for n, _ in ours.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"]
    check_run(ours, twin, np.random.default_rng(3).standard_normal((4, 2, H_IN)), None, mode == "lstm")


def test_state_dict_keys_shapes_and_default_init_match_torch():
    ours = nn.LSTM(5, 6, num_layers=2, bidirectional=True)
    twin = torch.nn.LSTM(5, 6, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(twin.state_dict())
    bound = 1 / np.sqrt(6)
    for (name, p), (_, q) in zip(ours.state_dict().items(), twin.state_dict().items()):
        assert tuple(np.shape(p)) == tuple(q.shape), name
        assert np.asarray(p).dtype == np.float32
        assert np.abs(np.asarray(p)).max() <= bound
    gru = nn.GRU(5, 6).state_dict()
    assert np.shape(gru["weight_ih_l0"]) == (18, 5) and np.shape(gru["bias_hh_l0"]) == (18,)
    assert repr(nn.GRU(5, 6, num_layers=2, batch_first=True)) == repr(torch.nn.GRU(5, 6, 2, batch_first=True))


def test_float32_forward_close_to_torch():
    ours, twin = make_pair("lstm", num_layers=2)
    ours.float()
    twin.float()
    x = np.random.default_rng(4).standard_normal((5, 3, H_IN)).astype(np.float32)
    out, (h, c) = ours(cr.tensor(x))
    tout, (_, tc) = twin(torch.from_numpy(x))
    assert out.dtype == np.float32 and h.dtype == np.float32
    assert_close(out.data, tout, 1e-5, "float32 output")
    assert_close(c.data, tc, 1e-5, "float32 c_n")


def test_dropout_between_layers_only_in_training():
    ours = nn.GRU(H_IN, H, num_layers=3, dropout=0.5)
    x = cr.tensor(np.random.default_rng(5).standard_normal((4, 2, H_IN)).astype(np.float32))
    cr.manual_seed(0)
    a, _ = ours(x)
    cr.manual_seed(1)
    b, _ = ours(x)
    assert not np.allclose(a.data, b.data), "dropout changes the output in training"
    ours.eval()
    c, _ = ours(x)
    d, _ = ours(x)
    np.testing.assert_array_equal(c.data, d.data)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.2)


CELLS = {
    "rnncell-tanh": (lambda m: m.RNNCell(H_IN, H), False),
    "rnncell-relu": (lambda m: m.RNNCell(H_IN, H, nonlinearity="relu"), False),
    "lstmcell": (lambda m: m.LSTMCell(H_IN, H), True),
    "grucell": (lambda m: m.GRUCell(H_IN, H), False),
    "grucell-nobias": (lambda m: m.GRUCell(H_IN, H, bias=False), False),
}


@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("shape", [(3,), (1,), ()], ids=["batch3", "batch1", "unbatched"])
@pytest.mark.parametrize("with_h0", [False, True], ids=["zeros", "h0"])
def test_cells_match_torch(name, shape, with_h0):
    make, lstm = CELLS[name]
    torch.manual_seed(0)
    twin = make(torch.nn).double()
    ours = make(nn).double()
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in twin.state_dict().items()})
    rng = np.random.default_rng(6)
    xc, xt = leaf_pair(rng.standard_normal((*shape, H_IN)))
    pairs = [leaf_pair(rng.standard_normal((*shape, H))) for _ in range(2 if lstm else 1)] if with_h0 else []
    args_c = [xc] + ([tuple(p[0] for p in pairs) if lstm else pairs[0][0]] if pairs else [])
    args_t = [xt] + ([tuple(p[1] for p in pairs) if lstm else pairs[0][1]] if pairs else [])
    out_c, out_t = ours(*args_c), twin(*args_t)
    outs_c = list(out_c) if lstm else [out_c]
    outs_t = list(out_t) if lstm else [out_t]
    loss_c, loss_t = 0.0, 0.0
    for rc, rt in zip(outs_c, outs_t):
        assert rc.shape == tuple(rt.shape)
        assert_close(rc.data, rt, TOL, f"{name} forward")
        w = rng.standard_normal(rc.shape)
        loss_c = loss_c + (rc * cr.tensor(w)).sum()
        loss_t = loss_t + (rt * torch.from_numpy(w)).sum()
    loss_c.backward()
    loss_t.backward()
    assert_close(xc.grad, xt.grad, TOL, "input gradient")
    for sc, st in pairs:
        assert_close(sc.grad, st.grad, TOL, "state gradient")
    theirs = dict(twin.named_parameters())
    for pname, param in ours.named_parameters():
        assert_close(param.grad, theirs[pname].grad, TOL, f"gradient of {pname}")


def test_lstm_layer_agrees_with_unrolled_lstm_cell():
    """The fused recurrence op and the cell built from engine ops are two implementations of one formula."""
    layer = nn.LSTM(H_IN, H, dtype=np.float64)
    cell = nn.LSTMCell(H_IN, H, dtype=np.float64)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = cr.tensor(np.random.default_rng(7).standard_normal((6, 2, H_IN)))
    out, (_, c) = layer(x)
    hc = None
    steps = []
    for t in range(6):
        hc = cell(x[t], hc)
        steps.append(hc[0])
    assert_close(out.data, cr.stack(steps).data, 1e-12, "outputs")
    assert_close(c.data[0], hc[1].data, 1e-12, "c_n")


def test_modules_pickle_and_run():
    layer = nn.GRU(H_IN, H, batch_first=True)
    copy = pickle.loads(pickle.dumps(layer))
    x = cr.ones(2, 3, H_IN)
    np.testing.assert_array_equal(layer(x)[0].data, copy(x)[0].data)


@pytest.mark.parametrize("make, x, match", [
    (lambda: nn.LSTM(3, 4), cr.ones(5, 2, 7), r"LSTM\(input_size=3\): expected input with 3 features .* got 7"),
    (lambda: nn.GRU(3, 4), cr.ones(5, 2, 3, 1), r"GRU: expected input to be 2D .* got 4D"),
    (lambda: nn.RNN(3, 4), cr.ones(3), r"RNN: expected input to be 2D .* got 1D"),
    (lambda: nn.GRUCell(3, 4), cr.ones(2, 5), r"GRUCell\(input_size=3\): expected input with 3 features .* got 5"),
    (lambda: nn.LSTMCell(3, 4), cr.ones(2, 2, 3), r"LSTMCell: expected input to be 1D .* got 3D"),
])
def test_wrong_input_size_or_rank_is_a_clear_value_error(make, x, match):
    with pytest.raises(ValueError, match=match):
        make()(x)


def test_wrong_initial_state_shape_and_bad_arguments():
    with pytest.raises(ValueError, match=r"LSTM: expected h_0 of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        nn.LSTM(3, 4, num_layers=2)(cr.ones(5, 2, 3), (cr.zeros(1, 2, 4), cr.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match=r"GRU: expected hx of shape \(2, 4\), got \(2, 1, 4\)"):
        nn.GRU(3, 4, bidirectional=True)(cr.ones(5, 3), cr.zeros(2, 1, 4))
    with pytest.raises(ValueError, match="LSTM: expected hx to be a tuple"):
        nn.LSTM(3, 4)(cr.ones(5, 2, 3), cr.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="sequence length larger than 0"):
        nn.GRU(3, 4, batch_first=True)(cr.ones(2, 0, 3))
    nn.LSTM(3, 4).flatten_parameters()  # torch code calls it; a no-op here
    with pytest.raises(TypeError, match="dtype"):
        nn.LSTM(3, 4)(cr.ones(5, 2, 3, dtype=np.float64))


@pytest.mark.parametrize("mode", ["lstm", "gru"])
@pytest.mark.parametrize("scale", [1.0, 15.0], ids=["plain", "saturated"])
def test_long_sequence_and_saturated_gates_match_torch(mode, scale):
    """30 steps both ways, and weights scaled so most gates saturate (pre-activations of tens): the LSTM computes its
    sigmoid gates as (1 + tanh(a/2)) / 2 and sums dW_hh over the steps in two products, which must agree with torch
    to rounding there too."""
    ours, twin = make_pair(mode, bidirectional=True)
    with torch.no_grad():
        for name, param in twin.named_parameters():
            param.mul_(scale)
            getattr(ours, name).data[...] = param.numpy()
    rng = np.random.default_rng(4)
    lstm = mode == "lstm"
    states = [rng.standard_normal((2, 3, H)) for _ in range(2 if lstm else 1)]
    check_run(ours, twin, rng.standard_normal((30, 3, H_IN)), states, lstm)


@pytest.mark.parametrize("reverse_too", [False, True], ids=["forward", "bidirectional"])
def test_lstm_chunks_of_steps_match_torch(reverse_too):
    """The LSTM projects its input and sums its weights' gradients a chunk of steps at a time (10 steps): 23 steps,
    two whole chunks and a part, in both directions (where the chunks are met in opposite orders), agree with torch,
    the gradient of the input included."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((23, 3, H_IN))
    states = [rng.standard_normal((2 if reverse_too else 1, 3, H)) for _ in range(2)]
    ours, twin = make_pair("lstm", bidirectional=reverse_too)
    check_run(ours, twin, x, states, lstm=True)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the side thread runs only when BLAS may use two threads")
@pytest.mark.parametrize("reverse_too", [False, True], ids=["forward", "bidirectional"])
def test_lstm_side_thread_gives_the_loops_own_results_bit_for_bit(reverse_too, monkeypatch):
    """With BLAS allowed two threads, the LSTM's chunk work (the projection, the local derivatives, the sums) runs
    on a side thread beside its loop; the output and every gradient equal, bit for bit, those of the loop's thread
    doing it all, and agree with torch. Batch 32, hidden 128: a step's product is in the one-BLAS-thread range."""
    from threadpoolctl import threadpool_limits

    from chainrule.nn import rnn

    submitted = []
    executor = rnn._side_thread()

    class Counting:
        def submit(self, fn, *args):
            submitted.append(fn)
            return executor.submit(fn, *args)

    monkeypatch.setattr(rnn, "_side_thread", lambda: Counting())
    rng = np.random.default_rng(6)
    x = rng.standard_normal((23, 32, H_IN))
    w = rng.standard_normal((23, 32, 256 if reverse_too else 128))  # the loss's weights, the same for both runs
    runs = {}
    with threadpool_limits(limits=2, user_api="blas"):
        for side in (True, False):
            monkeypatch.setattr(rnn, "SIDE_THREAD", side)
            torch.manual_seed(0)
            twin = torch.nn.LSTM(H_IN, 128, bidirectional=reverse_too).double()
            ours = nn.LSTM(H_IN, 128, bidirectional=reverse_too, dtype=np.float64)
            ours.load_state_dict({k: v.detach().numpy().copy() for k, v in twin.state_dict().items()})
            xc, xt = leaf_pair(x)
            out_c, _ = ours(xc)
            out_t, _ = twin(xt)
            (out_c * cr.tensor(w)).sum().backward()
            (out_t * torch.from_numpy(w)).sum().backward()
            assert_close(out_c.data, out_t, TOL, "output")
            assert_close(xc.grad, xt.grad, TOL, "input gradient")
            runs[side] = [out_c.data.numpy(), xc.grad.numpy(), *(p.grad.numpy() for p in ours.parameters())]
            if side:
                assert submitted, "the side thread was not used"
                submitted.clear()
    assert not submitted  # off: the loop's thread did everything
    assert all(np.array_equal(a, b) for a, b in zip(runs[True], runs[False], strict=True))
