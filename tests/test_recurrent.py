"""nn.GRU / nn.LSTM stacks, Embedding and clip_grad_norm, on both kernel backends and 1 and 2 threads.

- a float64 gradient check of 2-layer stacks, with respect to the input, the
  initial states and every parameter;
- equality with PyTorch's nn.GRU / nn.LSTM given the same weights: outputs,
  final states and every gradient, float64, batch_first both ways, with and
  without an initial state (skipped when torch is not installed);
- truncated backpropagation through time: two chunks with the state carried
  over equal one pass over the whole sequence;
- clip_grad_norm against PyTorch's clip_grad_norm_.
The single layers (F.gru, F.lstm, F.lstm_final_cell, F.embedding) are in the
op table, tests/opinfo.py.
"""
import numpy as np
import pytest

from hdl_native import Tensor, nn, optim
from hdl_native import functional as F
from hdl_native.gradcheck import gradcheck
from opinfo import BACKENDS, THREADS, running_on

CELLS = [pytest.param(nn.GRU, id="gru"), pytest.param(nn.LSTM, id="lstm")]
N_BATCH, N_STEPS, IN_FEATURES, HIDDEN, N_LAYERS = 3, 4, 2, 3, 2


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(params=THREADS)
def on_backend(request, backend):
    with running_on(backend, request.param):
        yield


def float64_stack(cell, batch_first=True, seed=0):
    """A 2-layer stack with float64 parameters (nn modules start in float32)."""
    model = cell(IN_FEATURES, HIDDEN, num_layers=N_LAYERS, batch_first=batch_first, rng=np.random.default_rng(seed))
    for name, param in model.named_parameters():
        setattr(model, name, nn.Parameter(param.value.astype(np.float64), name))
    return model


def initial_state(cell, rng):
    """GRU: h_0; LSTM: (h_0, c_0); each (num_layers, N, H)."""
    def draw():
        return rng.standard_normal((N_LAYERS, N_BATCH, HIDDEN))
    return draw() if cell is nn.GRU else (draw(), draw())


def final_states(cell, state):
    return [state] if cell is nn.GRU else list(state)


@pytest.mark.parametrize("cell", CELLS)
def test_two_layer_stack_matches_finite_differences(cell, on_backend):
    model = float64_stack(cell)
    names = [name for name, _ in model.named_parameters()]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N_BATCH, N_STEPS, IN_FEATURES))
    states = final_states(cell, initial_state(cell, rng))

    def run(x, *leaves):
        given_states, params = leaves[:len(states)], leaves[len(states):]
        for name, leaf in zip(names, params):
            setattr(model, name, leaf)
        output, state = model(x, given_states[0] if cell is nn.GRU else tuple(given_states))
        # every output a sum can see: the hidden sequence at each step, and each layer's final states
        return F.stack([output.sum(axis=1)]
                       + [s[layer] for s in final_states(cell, state) for layer in range(N_LAYERS)])

    gradcheck(run, [x, *states, *[p.value for p in model.parameters()]])


def torch_twin(torch, cell, model, batch_first):
    twin = {nn.GRU: torch.nn.GRU, nn.LSTM: torch.nn.LSTM}[cell](
        IN_FEATURES, HIDDEN, num_layers=N_LAYERS, batch_first=batch_first).double()
    ours = dict(model.named_parameters())
    assert [name for name, _ in twin.named_parameters()] == list(ours), "parameter names or order differ"
    with torch.no_grad():
        for name, param in twin.named_parameters():
            assert tuple(param.shape) == ours[name].shape, name
            param.copy_(torch.from_numpy(ours[name].numpy()))
    return twin


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch-first", "time-first"])
@pytest.mark.parametrize("with_state", [True, False], ids=["given-state", "zero-state"])
def test_equals_pytorch_with_the_same_weights(cell, batch_first, with_state, on_backend):
    torch = pytest.importorskip("torch", reason="the comparison with PyTorch needs torch installed")
    model = float64_stack(cell, batch_first)
    twin = torch_twin(torch, cell, model, batch_first)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N_BATCH, N_STEPS, IN_FEATURES) if batch_first else (N_STEPS, N_BATCH, IN_FEATURES))
    states = final_states(cell, initial_state(cell, rng)) if with_state else []

    x_ours = Tensor(x, requires_grad=True)
    states_ours = [Tensor(s, requires_grad=True) for s in states]
    output, state = model(x_ours, None if not states else states_ours[0] if cell is nn.GRU else tuple(states_ours))
    x_torch = torch.from_numpy(x).requires_grad_()
    states_torch = [torch.from_numpy(s).requires_grad_() for s in states]
    output_torch, state_torch = twin(x_torch, None if not states else states_torch[0] if cell is nn.GRU
                                     else tuple(states_torch))

    ours, theirs = [output, *final_states(cell, state)], [output_torch, *final_states(cell, state_torch)]
    weights = [rng.standard_normal(tuple(t.shape)) for t in theirs]
    loss = sum((o * w).sum() for o, w in zip(ours, weights))
    loss.backward()
    sum((t * torch.from_numpy(w)).sum() for t, w in zip(theirs, weights)).backward()

    def same(actual, expected, what):
        np.testing.assert_allclose(actual, expected.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=what)

    for what, mine, torch_value in zip(["output", "h_n", "c_n"], ours, theirs):
        same(mine.value, torch_value, what)
    same(x_ours.grad, x_torch.grad, "grad of x")
    for index, (mine, torch_state) in enumerate(zip(states_ours, states_torch)):
        same(mine.grad, torch_state.grad, f"grad of initial state {index}")
    params = dict(model.named_parameters())
    for name, param in twin.named_parameters():
        same(params[name].grad, param.grad, f"grad of {name}")


@pytest.mark.parametrize("cell", CELLS)
def test_carried_state_over_two_chunks_equals_one_pass(cell, on_backend):
    model = float64_stack(cell)
    x = np.random.default_rng(3).standard_normal((N_BATCH, 2 * N_STEPS, IN_FEATURES))
    whole, _ = model(Tensor(x))
    first, state = model(Tensor(x[:, :N_STEPS]))
    carried = [Tensor(s.numpy()) for s in final_states(cell, state)]  # detached: truncated BPTT
    second, _ = model(Tensor(x[:, N_STEPS:]), carried[0] if cell is nn.GRU else tuple(carried))
    np.testing.assert_allclose(np.concatenate([first.value, second.value], axis=1), whole.value, rtol=1e-12)


def test_graph_is_fed_again_with_new_characters(on_backend):
    """An Embedding -> GRU graph built once on placeholders follows new data (the cached values are stale)."""
    rng = np.random.default_rng(4)
    embedding, gru = nn.Embedding(5, 3, rng=rng), nn.GRU(3, 4, rng=rng)
    indices = Tensor.placeholder((2, 6), dtype=np.int64)
    output, h_n = gru(embedding(indices))
    first = rng.integers(0, 5, (2, 6))
    indices.assign(first)
    before = h_n.numpy()
    indices.assign((first + 1) % 5)
    assert not np.allclose(h_n.value, before)
    indices.assign(first)
    np.testing.assert_allclose(h_n.value, before, rtol=1e-6)


def test_embedding_names_an_index_out_of_range(on_backend):
    out = F.embedding(Tensor(np.array([[0, 7]])), nn.Parameter(np.zeros((4, 2), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"index 7 is outside \[0, 4\)"):
        out.realize()


def test_lstm_needs_both_initial_states_or_neither():
    x, w_ih, w_hh, bias = (Tensor(np.zeros(shape)) for shape in ((1, 2, 3), (8, 3), (8, 2), (8,)))
    with pytest.raises(ValueError, match="h0 and c0"):
        F.lstm(x, w_ih, w_hh, bias, bias, h0=Tensor(np.zeros((1, 2))))


def test_gru_names_a_wrong_state_shape():
    x, w_ih, w_hh, bias = (Tensor(np.zeros(shape)) for shape in ((2, 2, 3), (6, 3), (6, 2), (6,)))
    with pytest.raises(ValueError, match="gru: initial states must be"):
        F.gru(x, w_ih, w_hh, bias, bias, h0=Tensor(np.zeros((2, 5))))


@pytest.mark.parametrize("max_norm", [0.5, 1e6], ids=["clipped", "untouched"])
def test_clip_grad_norm_matches_pytorch(max_norm):
    torch = pytest.importorskip("torch", reason="the comparison with PyTorch needs torch installed")
    rng = np.random.default_rng(5)
    model = nn.GRU(2, 3, num_layers=2, rng=rng)
    grads = {name: rng.standard_normal(p.shape).astype(np.float32) for name, p in model.named_parameters()}
    for name, p in model.named_parameters():
        p.grad = grads[name].copy()
    twins = [torch.zeros(g.shape, requires_grad=True) for g in grads.values()]
    for twin, grad in zip(twins, grads.values()):
        twin.grad = torch.from_numpy(grad.copy())
    norm = optim.clip_grad_norm(model, max_norm)
    expected = torch.nn.utils.clip_grad_norm_(twins, max_norm)
    assert norm == pytest.approx(float(expected), rel=1e-6)
    for (name, p), twin in zip(model.named_parameters(), twins):
        np.testing.assert_allclose(p.grad, twin.grad.numpy(), rtol=1e-6, err_msg=name)
    if max_norm > norm:
        np.testing.assert_array_equal(model.weight_ih_l0.grad, grads["weight_ih_l0"])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch-first", "time-first"])
def test_fused_embedding_equals_embedding_then_stack(cell, batch_first, on_backend):
    """model(indices, embedding=table) is model(table(indices)): values and every gradient."""
    rng = np.random.default_rng(6)
    indices = Tensor(rng.integers(0, 5, (N_BATCH, N_STEPS) if batch_first else (N_STEPS, N_BATCH)))
    results = []
    for fused in (False, True):
        model = float64_stack(cell, batch_first)
        table = nn.Embedding(5, IN_FEATURES, rng=np.random.default_rng(7))
        table.weight = nn.Parameter(table.weight.value.astype(np.float64), "weight")
        output, state = model(indices, embedding=table) if fused else model(table(indices))
        loss = (output * output).sum() + sum((s * s).sum() for s in final_states(cell, state))
        loss.backward()
        results.append([output.numpy()] + [p.grad for p in (table.weight, *model.parameters())])
    for plain, fused in zip(*results):
        np.testing.assert_allclose(fused, plain, rtol=1e-10, atol=1e-12)


def test_native_loop_names_a_bad_argument():
    pytest.importorskip("hdl_native._native.recurrent", reason="native kernels not built")
    from hdl_native.kernels import make_ops

    ops = make_ops("native")
    projected, weight_hh, bias_hh = np.zeros((2, 3, 6)), np.zeros((6, 2)), np.zeros(6)
    with pytest.raises(TypeError, match="h0 must have dtype float64"):
        ops.gru_recurrence(projected, np.zeros((2, 2), dtype=np.float32), weight_hh, bias_hh)
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) with N=2 \(from projected\)"):
        ops.gru_recurrence(projected, np.zeros((3, 2)), weight_hh, bias_hh)
    with pytest.raises(TypeError, match="c0 must be a numpy array"):
        ops.lstm_recurrence(np.zeros((2, 3, 8)), np.zeros((2, 2)), None, np.zeros((8, 2)), np.zeros(8))


@pytest.mark.parametrize("cell", CELLS)
def test_dropout_between_layers_is_pytorchs(cell, on_backend):
    """dropout=p drops the outputs of every layer but the last while training, and nothing in eval mode;
    the final states are the layers' own (layer 0's equal the stack's without dropout, the last layer's
    final state is still the last output)."""
    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal((N_BATCH, N_STEPS, IN_FEATURES)).astype(np.float32))
    plain = cell(IN_FEATURES, HIDDEN, num_layers=N_LAYERS, rng=np.random.default_rng(5))
    dropped = cell(IN_FEATURES, HIDDEN, num_layers=N_LAYERS, rng=np.random.default_rng(5), dropout=0.5)
    for (name, mine), (_, theirs) in zip(dropped.named_parameters(), plain.named_parameters()):
        np.testing.assert_array_equal(mine.value, theirs.value, err_msg=name)  # a seed: the same weights
    assert len(dropped.dropouts) == N_LAYERS - 1
    expected_output, expected_state = plain(x)
    output, state = dropped(x)
    h_n, expected_h_n = final_states(cell, state)[0], final_states(cell, expected_state)[0]
    np.testing.assert_allclose(h_n.value[0], expected_h_n.value[0], rtol=1e-6)
    assert np.abs(h_n.value[1] - expected_h_n.value[1]).max() > 1e-3
    np.testing.assert_array_equal(output.value[:, -1], h_n.value[1])
    dropped.eval()  # the same graph, recomputed without dropout
    np.testing.assert_allclose(output.value, expected_output.value, rtol=1e-6)
    dropped.train()
    assert np.abs(output.value - expected_output.value).max() > 1e-3
    with pytest.raises(ValueError, match="dropout must be in"):
        cell(IN_FEATURES, HIDDEN, num_layers=N_LAYERS, dropout=1.0)
