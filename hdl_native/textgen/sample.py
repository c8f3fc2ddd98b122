"""`hdl-native textgen sample`: characters from a trained state, one at a time, as they are generated.

The prompt (default: a newline, when the vocabulary has one) is read through the model one character at a
time on a batch-1 graph; then each next character is drawn from softmax(logits / temperature) and fed
back.  Temperature 0 takes the most likely character (greedy, deterministic without a seed).
"""
import numpy as np

from ..checkpoint import load_model
from ..errors import HDLError
from ..models import TEXT_MODELS
from .corpus import Vocabulary
from .graph import CharGraph, zero_state


def load_generator(path):
    """(model, Vocabulary) of a textgen state; HDLError for a state of another kind."""
    model, meta = load_model(path, TEXT_MODELS)
    return model, Vocabulary(meta["classes"])


def default_prompt(vocabulary):
    return "\n" if "\n" in vocabulary.index else vocabulary.characters[0]


def next_code(logits, temperature, rng):
    """The index drawn from softmax(logits / temperature), or argmax(logits) at temperature 0."""
    if temperature == 0:
        return int(np.argmax(logits))
    logits = np.asarray(logits, np.float64)
    with np.errstate(over="ignore"):  # a tiny temperature sends all but the largest to -inf, whose exp is 0
        probabilities = np.exp((logits - logits.max()) / temperature)
    return int(rng.choice(len(probabilities), p=probabilities / probabilities.sum()))


def generate(model, vocabulary, prompt, length, temperature, seed=None):
    """An iterator of `length` characters continuing `prompt`; HDLError at once (before any is made) when the
    prompt is empty or has characters the vocabulary lacks."""
    codes = vocabulary.encode(prompt)
    if len(codes) == 0:
        raise HDLError("the prompt is empty; leave --prompt out to start from a newline")
    return continued(model, vocabulary, codes, length, temperature, seed)


def continued(model, vocabulary, codes, length, temperature, seed):
    """Yield `length` characters continuing the prompt's codes (int, at least one)."""
    rng = np.random.default_rng(seed)
    graph = CharGraph(model, 1, 1)
    state = zero_state(model, 1)
    for code in codes[:-1]:
        graph.feed(np.array([[code]]), state)
        state = graph.final_state()
    code = codes[-1]
    for _ in range(length):
        graph.feed(np.array([[code]]), state)
        logits = graph.logits.value[0]
        state = graph.final_state()
        code = next_code(logits, temperature, rng)
        yield vocabulary.characters[code]
