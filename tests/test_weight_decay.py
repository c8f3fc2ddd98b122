"""Decoupled weight decay (--weight-decay) and the tutorial's penalty (--l2).

The optimisers' decay is checked against a float64 numpy reference and against PyTorch: Adam against
torch.optim.AdamW, and SGD against the formula w -= lr * L * w (torch's SGD couples its weight_decay
into the gradient, so it is no reference here).  Biases are never decayed; the flat path (one slice
per step) and the per-parameter path give the same numbers on both kernel backends.
"""
import numpy as np
import pytest

from hdl_native import functional as F
from hdl_native.nn import Parameter
from hdl_native.optim import SGD, Adam
from opinfo import BACKENDS, assert_close, running_on
from test_optim import adam_reference_step, sgd_reference_step
from hdl_native.training.config import OptimizerChoice

SHAPES = {"fc.weight": (4, 3), "fc.bias": (4,), "out.weight": (2, 4), "out.bias": (2,)}
LR, DECAY = 0.05, 0.3


def toy_problem(dtype, seed=0):
    """Named start values, targets and per-entry scales: loss = sum of scale * (param - target)^2."""
    rng = np.random.default_rng(seed)
    start = {name: rng.standard_normal(shape).astype(dtype) for name, shape in SHAPES.items()}
    target = {name: rng.standard_normal(shape) for name, shape in SHAPES.items()}
    scale = {name: rng.random(shape) + 0.5 for name, shape in SHAPES.items()}
    return start, target, scale


def run_hdl(make_optimizer, steps, dtype, spare=False):
    """Parameters after each of `steps` optimiser steps on the toy problem -> [{name: array}].

    spare: add a parameter the loss does not use, so it never has a gradient and the optimiser updates
    parameter by parameter instead of through flat groups.
    """
    start, target, scale = toy_problem(dtype)
    params = {name: Parameter(value.copy()) for name, value in start.items()}
    losses = [F.sum(F.square(params[name] - target[name]) * scale[name]) for name in SHAPES]
    loss = sum(losses[1:], losses[0])
    named = list(params.items()) + ([("unused.weight", Parameter(np.ones(3, dtype=dtype)))] if spare else [])
    optimizer = make_optimizer(named)
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        trajectory.append({name: p.value.copy() for name, p in params.items()})
    assert (optimizer.flat_groups is None) == spare, "the test did not take the path it meant to"
    return trajectory


def reference_trajectory(kind, steps, momentum=0.0):
    """float64 decoupled decay by hand: w *= 1 - lr * L for weights, then the plain update."""
    params, target, scale = toy_problem(np.float64)
    state = {name: [np.zeros(shape), np.zeros(shape)] for name, shape in SHAPES.items()}
    trajectory = []
    for step in range(1, steps + 1):
        for name in SHAPES:
            grad = 2 * scale[name] * (params[name] - target[name])
            param = params[name] * (1 - LR * DECAY) if name.endswith("weight") else params[name]
            if kind == "adam":
                params[name], state[name][0], state[name][1] = adam_reference_step(
                    param, grad, *state[name], LR, 0.9, 0.999, 1e-8, step)
            else:
                params[name], velocity = sgd_reference_step(param, grad, state[name][0] if momentum else None,
                                                            LR, momentum)
                state[name][0] = velocity
        trajectory.append({name: value.copy() for name, value in params.items()})
    return trajectory


OPTIMIZERS = {
    "adam": lambda named: Adam(named, lr=LR, weight_decay=DECAY),
    "sgd": lambda named: SGD(named, lr=LR, weight_decay=DECAY),
    "momentum": lambda named: SGD(named, lr=LR, momentum=0.9, weight_decay=DECAY),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("spare", [False, True], ids=["flat", "per-parameter"])
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_decoupled_decay_matches_float64_reference(kind, spare, dtype, backend):
    with running_on(backend, 1):
        got = run_hdl(OPTIMIZERS[kind], 6, dtype, spare)
    expected = reference_trajectory("adam" if kind == "adam" else "sgd", 6, 0.9 if kind == "momentum" else 0.0)
    for step, (got_step, expected_step) in enumerate(zip(got, expected), 1):
        for name in SHAPES:
            assert_close(got_step[name], expected_step[name], dtype, f"{kind} {name} after step {step}")


@pytest.mark.parametrize("spare", [False, True], ids=["flat", "per-parameter"])
def test_adam_decay_matches_torch_adamw_with_biases_excluded(spare):
    torch = pytest.importorskip("torch")
    start, target, scale = toy_problem(np.float64)
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in start.items()}
    groups = [{"params": [tensors[n] for n in SHAPES if n.endswith("weight")], "weight_decay": DECAY},
              {"params": [tensors[n] for n in SHAPES if n.endswith("bias")], "weight_decay": 0.0}]
    adamw = torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.999), eps=1e-8)
    got = run_hdl(OPTIMIZERS["adam"], 8, np.float64, spare)
    for step in range(8):
        adamw.zero_grad()
        loss = sum((torch.tensor(scale[n]) * (tensors[n] - torch.tensor(target[n])) ** 2).sum() for n in SHAPES)
        loss.backward()
        adamw.step()
        for name in SHAPES:
            np.testing.assert_allclose(got[step][name], tensors[name].detach().numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name} after step {step + 1}")


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_biases_follow_the_undecayed_trajectory_and_weights_do_not(kind):
    plain = {"adam": lambda named: Adam(named, lr=LR), "sgd": lambda named: SGD(named, lr=LR),
             "momentum": lambda named: SGD(named, lr=LR, momentum=0.9)}[kind]
    decayed, undecayed = run_hdl(OPTIMIZERS[kind], 5, np.float64), run_hdl(plain, 5, np.float64)
    for name in SHAPES:
        same = np.array_equal(decayed[-1][name], undecayed[-1][name])
        assert same == name.endswith("bias"), f"{kind}: {name} {'was' if not same else 'was not'} decayed"


def test_flat_group_lays_the_decayed_weights_out_first():
    optimizer = Adam([(name, Parameter(np.ones(shape))) for name, shape in SHAPES.items()], lr=LR,
                     weight_decay=DECAY)
    for _, p in optimizer.named_params:
        p.grad = np.zeros(p.shape)
    (group,) = optimizer.current_flat_groups()
    assert group.decayed_size == 4 * 3 + 2 * 4
    assert group.names == ["fc.weight", "out.weight", "fc.bias", "out.bias"]


def test_negative_or_nan_weight_decay_is_refused():
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
            SGD([Parameter(np.ones(2))], lr=0.1, weight_decay=bad)


def test_cli_weight_decay_reaches_the_optimizer_and_l2_the_graph(tiny_data, tmp_path, monkeypatch):
    """--weight-decay is the optimiser's decoupled factor; --l2/--l2-warmup build the tutorial's penalty."""
    from hdl_native.cli import build_parser
    from hdl_native.training.config import RunConfig
    from hdl_native.training.session import Session

    args = build_parser().parse_args(["letters", "--data", str(tiny_data), "--weight-decay", "0.5", "--l2", "0.02",
                                      "--l2-warmup", "2", "--max-batches", "2", "--quiet", "--no-db",
                                      "--out", str(tmp_path / "s.hdl")])
    config = RunConfig.from_args(args, "letters", "letters-cnn", OptimizerChoice("adam", 0.001))
    assert (config.weight_decay, config.l2, config.l2_warmup) == (0.5, 0.02, 2.0)
    session = Session(config)
    session.setup()
    assert session.optimizer.weight_decay == 0.5
    assert session.optimizer.decayed == {name for name, _ in session.model.named_parameters()
                                         if not name.endswith("bias")}


def test_a_state_saved_before_the_rename_resumes_and_says_what_its_factor_is_now(tiny_data, tmp_path, capsys):
    """Old state files carry settings weight_decay / weight_decay_warmup and no l2: they resume exactly as
    before, and the run notes that the old factor is today's --l2."""
    from hdl_native.checkpoint import build_model, load_checkpoint, save_checkpoint
    from hdl_native.cli import main

    state = tmp_path / "old.hdl"
    common = ["letters", "--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--batch-size", "32"]
    assert main([*common, "--max-batches", "3", "--l2", "0.02", "--adam", "--out", str(state)]) == 0
    saved = load_checkpoint(state)
    settings = {k: v for k, v in saved["settings"].items() if k not in ("l2", "l2_warmup", "weight_decay")}
    saved["settings"] = {**settings, "weight_decay": 0.02, "weight_decay_warmup": 0.0}
    model = build_model(saved)
    optimizer = Adam(model)
    optimizer.load_state_dict(saved["optimizer"])
    skip = ("params", "optimizer", "format_version", "architecture", "model_args")
    save_checkpoint(state, model, optimizer, **{k: v for k, v in saved.items() if k not in skip})
    capsys.readouterr()

    assert main([*common, str(state), "--max-batches", "6", "--l2", "0.02", "--adam"]) == 0
    err = capsys.readouterr().err
    assert "was trained with the old --weight-decay 0.02, a penalty on the loss that is now --l2 0.02" in err
    resumed = load_checkpoint(state)
    assert resumed["batch_counter"] == 6 and resumed["settings"]["l2"] == 0.02
    assert resumed["optimizer"]["step_count"] == 6


def test_recurrent_biases_are_not_weights_to_decay_or_prune():
    from hdl_native.nn import GRU, LSTM
    from hdl_native.weights import named_weights

    for layer in (GRU(3, 4, num_layers=2), LSTM(3, 4)):
        names = [name for name, _ in named_weights(layer)]
        assert names == [name for name, _ in layer.named_parameters() if name.startswith("weight_")], names
