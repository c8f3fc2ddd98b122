"""Which letters network reads the crops: a state file, or the pretrained one shipped in the package,
in float32 or quantised to int8."""
from pathlib import Path

from ..data.augment import MNIST_MEAN, MNIST_STD
from ..errors import DataError, HDLError
from ..shifts import DEFAULT_SHIFTS
from .recognize import Int8LetterClassifier, LetterClassifier


def load_letter_classifier(state_path=None, dtype="float32", data_root=None, shifts=DEFAULT_SHIFTS):
    """A LetterClassifier from `state_path`, or from the packaged pretrained letters model when None,
    with the calibration temperature the state stores for reading each crop in `shifts` shifted copies
    (shifts.SHIFT_OFFSETS; its single-read temperature where it stores none for that count, 1 where none at all)
    and its offset on the class 'other' (calibration.stored_other_offset; 0 where none).

    dtype "int8": the network quantised by hdl_native.int8, on the activation ranges the state stores
    (`hdl-native calibrate` measures them; the shipped model has them), else calibrated on 512 letters of
    the letters training split under `data_root` (default: $HDL_DATA, else the cache dir)."""
    from ..calibration import stored_other_offset, stored_temperature
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
    mean, std = normalization["mean"], normalization["std"]
    temperature = stored_temperature(meta, state_path, shifts)
    reading = {"temperature": temperature, "shifts": shifts, "other_offset": stored_other_offset(meta, state_path)}
    if dtype == "int8":
        from ..int8 import Int8Classifier

        if "int8_ranges" in meta:
            try:
                network = Int8Classifier.from_float(model, ranges=meta["int8_ranges"])
            except ValueError as error:
                raise HDLError(f"{state_path}: its int8_ranges entry is unusable: {error}") from None
        else:
            network = Int8Classifier.from_float(model, calibration_letters(data_root, mean, std))
        return Int8LetterClassifier(network, classes, mean, std, source=str(state_path), **reading)
    return LetterClassifier(model, classes, mean, std, source=str(state_path), **reading)


def calibration_letters(data_root, mean, std):
    """(512, 1, 28, 28) float32: the int8 calibration sample of the letters training split, normalised."""
    from ..data import load_dataset
    from ..int8.runner import calibration_sample

    try:
        letters = load_dataset("letters", "train", data_root)
    except DataError as error:
        raise HDLError("this state stores no int8 activation ranges (`hdl-native calibrate` adds them), so int8 "
                       f"reading calibrates on the letters training split, which is missing: {error}") from None
    return calibration_sample(letters.images, mean, std)
