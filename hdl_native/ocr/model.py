"""Which letters network reads the crops: a state file, or the pretrained one shipped in the package."""
from pathlib import Path

from ..data.augment import MNIST_MEAN, MNIST_STD
from ..errors import HDLError
from .recognize import LetterClassifier


def load_letter_classifier(state_path=None):
    """A LetterClassifier from `state_path`, or from the packaged pretrained letters model when None."""
    from ..checkpoint import PRETRAINED_LETTERS, load_model

    if state_path is None:
        if not Path(PRETRAINED_LETTERS).is_file():
            raise HDLError(f"the pretrained letters model {PRETRAINED_LETTERS} is not installed; "
                           "pass --model STATE with a letters model (train one with `hdl-native letters`)")
        state_path = PRETRAINED_LETTERS
    model, meta = load_model(state_path)
    classes = meta.get("classes") or []
    if len(classes) != model.n_classes:
        raise HDLError(f"{state_path}: the model has {model.n_classes} outputs but {len(classes)} class names")
    normalization = meta.get("normalization") or {"mean": MNIST_MEAN, "std": MNIST_STD}
    return LetterClassifier(model, classes, normalization["mean"], normalization["std"], source=str(state_path))
