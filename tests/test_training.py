"""The shared training loop: it learns, resumes exactly, stops cleanly, and applies weight decay."""
import numpy as np
import pytest

import hdl_native
from hdl_native.checkpoint import load_checkpoint, save_checkpoint
from hdl_native.data import normalize
from hdl_native.models import DigitsMLP, LettersCNN
from hdl_native.optim import SGD, Adam
from hdl_native.training.evaluate import Evaluator, summarize
from hdl_native.training.config import RunConfig
from hdl_native.training.loop import Trainer, TrainingGraph
from hdl_native.weights import count_small_parameters


def toy_images(n=96, n_classes=4, seed=0):
    """Learnable uint8 images: class c has a bright bar at rows 4c..4c+5, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 4 * label + 2:4 * label + 7, 4:24] = 250
    return images, labels.astype(np.int64)


@pytest.fixture(autouse=True)
def one_thread():
    previous = hdl_native.get_num_threads()
    hdl_native.set_num_threads(1)
    yield
    hdl_native.set_num_threads(previous)


class StopAfter:
    """A stop flag that turns on once the trainer has done `n` batches (like a Ctrl-C arriving then)."""

    def __init__(self, n):
        self.n, self.trainer, self.requested = n, None, None

    def __bool__(self):
        if self.trainer is not None and self.trainer.batch_counter >= self.n:
            self.requested = "SIGINT"
        return self.requested is not None


def make_cnn_run(kind, seed=0, weight_decay=0.0):
    model = LettersCNN(n_classes=4, dropout=0.5, seed=seed)
    return model, make_optimizer(kind, model, weight_decay)


def make_optimizer(kind, model, weight_decay=0.0):
    if kind == "adam":
        return Adam(model, lr=0.002, weight_decay=weight_decay)
    return SGD(model, lr=0.02, momentum=0.9, weight_decay=weight_decay)


def test_mlp_learns_a_toy_problem():
    images, labels = toy_images(192)
    model = DigitsMLP(n_classes=4, seed=0)
    trainer = Trainer(model, SGD(model, lr=0.05, momentum=0.9), RunConfig(batch_size=32, epochs=4, progress=False),
                      (images, labels))
    assert trainer.run() == "done"
    assert trainer.batch_counter == 4 * 6 and trainer.epoch == 4
    result = Evaluator(model).evaluate(images, labels)
    assert result.accuracy > 95.0
    assert result.confusion.sum() == len(labels)


@pytest.mark.parametrize("kind, split", [("adam", 5), ("adam", 9), ("momentum", 9)])  # 6 batches per epoch
def test_resume_is_exact(tmp_path, kind, split):
    """N+M batches in one run equal N batches, a stop and save, a resume and M more (CNN, Adam, dropout,
    augmentation, decoupled weight decay and the --l2 penalty, so every piece of state matters)."""
    images, labels = toy_images(88)
    settings = dict(batch_size=16, epochs=3, augment=True, l2=0.01, progress=False, seed=4)
    total = 14

    model_a, optimizer_a = make_cnn_run(kind, weight_decay=0.05)
    Trainer(model_a, optimizer_a, RunConfig(max_batches=total, **settings), (images, labels)).run()

    path = tmp_path / "state.hdl"
    model_b, optimizer_b = make_cnn_run(kind, weight_decay=0.05)
    stop = StopAfter(split)

    def checkpoint(trainer):
        save_checkpoint(path, trainer.model, trainer.optimizer, **trainer.state())

    first = Trainer(model_b, optimizer_b, RunConfig(max_batches=total, **settings), (images, labels))
    stop.trainer = first
    assert first.run(checkpoint, stop) == "SIGINT"
    assert first.batch_counter == split

    state = load_checkpoint(path)
    model_c = LettersCNN(n_classes=4, dropout=0.5, seed=123)  # a different init: everything must come from the file
    model_c.load_state_dict(state["params"])
    optimizer_c = make_optimizer(kind, model_c, weight_decay=0.05)
    optimizer_c.load_state_dict(state["optimizer"])
    second = Trainer(model_c, optimizer_c, RunConfig(max_batches=total, **settings), (images, labels))
    second.load_state(state)
    assert second.run() == "done"
    assert second.batch_counter == total

    for name, array in model_a.state_dict().items():
        np.testing.assert_allclose(model_c.state_dict()[name], array, rtol=1e-5, atol=1e-6, err_msg=name)


def test_l2_adds_the_sum_of_squared_weights_and_spares_the_biases():
    images, labels = toy_images(8)
    model = DigitsMLP(n_classes=4, seed=0)
    # Non-zero biases, so that a decay term on them would show in their gradients (2 x factor x bias).
    rng = np.random.default_rng(1)
    model.load_state_dict({name: rng.normal(0.0, 0.5, value.shape).astype(value.dtype) if name.endswith("bias")
                           else value for name, value in model.state_dict().items()})
    plain, decayed = TrainingGraph(model), TrainingGraph(model, l2=0.02)
    for graph in (plain, decayed):
        graph.images.assign(normalize(images))
        graph.labels.assign(labels)
    weights = sum(float(np.square(p.value.astype(np.float64)).sum())
                  for name, p in model.named_parameters() if name.endswith("weight"))
    np.testing.assert_allclose(decayed.loss.item() - plain.loss.item(), 0.02 * weights, rtol=1e-5)
    grads = []
    for graph in (decayed, plain):
        model.zero_grad()
        graph.loss.backward()
        grads.append({name: p.grad.copy() for name, p in model.named_parameters()})
    with_decay, without = grads
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            assert np.abs(without[name]).max() > 1e-3, name  # a data gradient the comparison can see
            np.testing.assert_allclose(with_decay[name], without[name], rtol=1e-6, atol=1e-9, err_msg=name)
        else:
            np.testing.assert_allclose(with_decay[name] - without[name], 0.04 * p.value, rtol=1e-4, atol=1e-7,
                                       err_msg=name)


def test_l2_shrinks_weights():
    images, labels = toy_images(96)
    model = DigitsMLP(n_classes=4, seed=0)
    before = count_small_parameters(model)
    Trainer(model, SGD(model, lr=0.05), RunConfig(batch_size=32, epochs=5, l2=0.5, progress=False),
            (images, labels)).run()
    assert count_small_parameters(model) > before


def test_l2_warmup_ramps_the_factor_linearly():
    images, labels = toy_images(64)
    model = DigitsMLP(n_classes=4, seed=0)
    config = RunConfig(batch_size=16, epochs=3, l2=0.02, l2_warmup=1.5, progress=False)
    trainer = Trainer(model, SGD(model, lr=0.05), config, (images, labels))
    seen = []
    original = trainer.train_batch

    def recording(indices, lr):
        result = original(indices, lr)
        seen.append(float(trainer.graph.l2_factor.value))  # the factor this batch was trained with
        return result

    trainer.train_batch = recording
    trainer.run()
    # 4 batches an epoch: the factor rises over the first 6 batches, then stays at 0.02
    np.testing.assert_allclose(seen, [0.0, 0.02 / 6, 0.04 / 6, 0.06 / 6, 0.08 / 6, 0.1 / 6] + [0.02] * 6, rtol=1e-6)


def test_cosine_schedule_decays_to_zero():
    images, labels = toy_images(64)
    model = DigitsMLP(n_classes=4)
    optimizer = SGD(model, lr=0.1)
    seen = []
    trainer = Trainer(model, optimizer, RunConfig(batch_size=16, epochs=2, lr_schedule="cosine", progress=False),
                      (images, labels))
    original = trainer.train_batch
    trainer.train_batch = lambda indices, lr: (seen.append(lr), original(indices, lr))[1]
    trainer.run()
    assert seen[0] == pytest.approx(0.1) and seen == sorted(seen, reverse=True) and seen[-1] < 0.01


def test_summarize_counts_top2_and_confusion():
    log_probs = np.log(np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.3, 0.6]], dtype=np.float32))
    result = summarize(log_probs, np.array([0, 1, 0]))
    assert result.accuracy == pytest.approx(100 / 3)
    assert result.top2_accuracy == pytest.approx(200 / 3)
    np.testing.assert_array_equal(result.confusion, [[1, 0, 1], [1, 0, 0], [0, 0, 0]])


def test_the_text_confusion_matrix_keeps_a_long_class_name_apart_from_its_neighbour():
    from hdl_native.training.evaluate import format_confusion

    header = format_confusion(np.array([[3, 0], [1, 12]]), ["z", "other"]).splitlines()[0]
    assert header.split() == ["true\\pred", "z", "other"]


def test_the_mean_loss_of_huge_but_finite_log_probabilities_is_finite_and_quiet():
    """A state with weights scaled by 1e12 gives finite float32 log-probabilities near -1e37, whose float32 sum
    overflowed: evaluate printed numpy's 'overflow encountered in reduce' warning and a mean loss of inf."""
    import warnings

    log_probs = np.full((64, 3), -3e37, dtype=np.float32)
    log_probs[:, 0] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = summarize(log_probs, np.full(64, 1))
    assert result.loss == pytest.approx(3e37, rel=1e-6) and result.accuracy == 0.0
