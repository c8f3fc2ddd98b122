"""The reader's 'not a letter' answer and its calibrated confidences."""
import json
from types import SimpleNamespace

import numpy as np
from PIL import Image
from test_ocr_cli import LETTERS, run_ocr, two_line_page

from hdl_native.checkpoint import save_checkpoint
from hdl_native.data.datasets import NOT_A_LETTER
from hdl_native.models import LettersCNN
from hdl_native.ocr.model import load_letter_classifier
from hdl_native.int8 import Int8Classifier
from hdl_native.ocr.crops import normalize
from hdl_native.ocr.recognize import Int8LetterClassifier, LetterClassifier, Reading, line_text
from hdl_native.ocr.render import OTHER_COLOUR, SURE_COLOUR, UNSURE_COLOUR
from hdl_native.ocr.zones import ZONE_PRIOR, zone_weights

NORMALIZATION = {"mean": 0.172575, "std": 0.25}


def reading(letter, left, unsure=False):
    """A 20 px tall, 10 px wide box at `left` read as `letter`."""
    return Reading((0, 20, left, left + 10), [letter, "x", "y"], [0.9, 0.05, 0.05], unsure=unsure)


def test_text_leaves_out_what_is_not_a_letter_and_keeps_the_word_breaks():
    other = NOT_A_LETTER
    line = [reading("a", 0), reading("b", 14), reading(other, 28),  # "ab," then a word break
            reading(other, 70), reading(other, 84), reading(other, 98),  # "202" then a word break
            reading("c", 140), reading("d", 154, unsure=True), reading(other, 168)]
    assert line_text(line) == "ab c?"
    assert line_text([reading(other, 0), reading(other, 14)]) == ""
    assert line_text([reading(other, 0), reading("a", 60)]) == "a"  # no space before the line's first letter


def test_json_of_a_box_says_what_kind_it_is():
    assert reading("q", 0).as_dict()["letter"] == "q" and reading("q", 0).as_dict()["kind"] == "letter"
    box = reading(NOT_A_LETTER, 0).as_dict()
    assert box["letter"] is None and box["kind"] == "other" and box["letters"][0] == NOT_A_LETTER


def test_zones_never_rule_out_a_mark_that_drops_below_the_baseline():
    """Baseline at row 100, x-height 20: a comma reaching row 110 descends, yet may still be 'other'."""
    boxes = [(80, 100), (60, 100), (80, 100), (60, 100), (80, 100), (95, 110)]
    glyphs = [SimpleNamespace(top=top, bottom=bottom, left=30 * i, right=30 * i + 20)
              for i, (top, bottom) in enumerate(boxes)]
    classes = LETTERS + [NOT_A_LETTER]
    comma = zone_weights(glyphs, classes)[-1]
    assert comma[classes.index("a")] == ZONE_PRIOR and comma[classes.index("g")] == 1.0
    assert comma[classes.index(NOT_A_LETTER)] == 1.0


def test_the_classifiers_divide_by_the_stored_temperature(tmp_path):
    model = LettersCNN(seed=4)
    crops = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    network = Int8Classifier.from_float(model, normalize(crops, **NORMALIZATION))
    for make, runs in ((LetterClassifier, model), (Int8LetterClassifier, network)):
        plain = make(runs, LETTERS, **NORMALIZATION).probabilities(crops)
        softened = make(runs, LETTERS, **NORMALIZATION, temperature=2.0).probabilities(crops)
        expected = np.sqrt(plain) / np.sqrt(plain).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(softened, expected, rtol=1e-5)
        assert np.abs(softened - plain).max() > 1e-3
    state = save_checkpoint(tmp_path / "t.hdl", model, classes=LETTERS, normalization=NORMALIZATION, temperature=2.0)
    assert load_letter_classifier(state).temperature == 2.0
    shifted = save_checkpoint(tmp_path / "s.hdl", model, classes=LETTERS, normalization=NORMALIZATION, temperature=2.0,
                              shift_temperatures={"9": 1.5})
    assert load_letter_classifier(shifted, shifts=9).temperature == 1.5
    assert load_letter_classifier(shifted, shifts=5).temperature == 2.0  # no temperature fitted for 5 copies
    assert load_letter_classifier(shifted, shifts=1).temperature == 2.0
    old = save_checkpoint(tmp_path / "old.hdl", model, classes=LETTERS, normalization=NORMALIZATION)
    assert load_letter_classifier(old).temperature == 1.0


def test_the_classifiers_weight_other_by_the_stored_offset(tmp_path):
    classes = LETTERS + [NOT_A_LETTER]
    model = LettersCNN(n_classes=len(classes), seed=5)
    crops = np.random.default_rng(1).integers(0, 256, (6, 28, 28)).astype(np.uint8)
    network = Int8Classifier.from_float(model, normalize(crops, **NORMALIZATION))
    for make, runs in ((LetterClassifier, model), (Int8LetterClassifier, network)):
        plain = make(runs, classes, **NORMALIZATION, temperature=1.5).probabilities(crops)
        offset = make(runs, classes, **NORMALIZATION, temperature=1.5, other_offset=2.0).probabilities(crops)
        expected = plain.copy()
        expected[:, -1] *= np.exp(2.0)
        np.testing.assert_allclose(offset, expected / expected.sum(axis=1, keepdims=True), rtol=1e-6)
        assert (offset[:, -1] > plain[:, -1] + 1e-4).all()
    state = save_checkpoint(tmp_path / "o.hdl", model, classes=classes, normalization=NORMALIZATION, other_offset=0.75)
    assert load_letter_classifier(state).other_offset == 0.75
    plain = save_checkpoint(tmp_path / "p.hdl", model, classes=classes, normalization=NORMALIZATION)
    assert load_letter_classifier(plain).other_offset == 0.0


def model_sure_nothing_is_a_letter(tmp_path):
    """A 27-class state whose last output ('other') wins for every crop."""
    model = LettersCNN(n_classes=27, seed=3)
    params = {name: np.array(value) for name, value in model.state_dict().items()}
    params["fc3.bias"][-1] = 50.0
    model.load_state_dict(params)
    return save_checkpoint(tmp_path / "other.hdl", model, classes=LETTERS + [NOT_A_LETTER],
                           normalization=NORMALIZATION)


def colours_in(path):
    with Image.open(path) as picture:
        return {tuple(colour) for colour in np.asarray(picture.convert("RGB")).reshape(-1, 3)}


def test_a_page_read_as_other_prints_no_letters_and_boxes_them_in_blue(tmp_path):
    result = run_ocr(two_line_page(tmp_path), "--model", model_sure_nothing_is_a_letter(tmp_path), "--json",
                     "--out", tmp_path / "boxed.png", "--no-digits")  # the digit reader would read some as digits
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    boxes = [box for line in summary["lines"] for box in line["boxes"]]
    assert len(boxes) == 18 and summary["n_not_letters"] == 18
    assert all(box["kind"] == "other" and box["letter"] is None for box in boxes)
    assert summary["text"] == "\n" and result.stdout.splitlines()[:2] == ["", ""]
    colours = colours_in(tmp_path / "boxed.png")
    assert OTHER_COLOUR in colours and SURE_COLOUR not in colours and UNSURE_COLOUR not in colours


def test_ocr_help_explains_the_other_answer():
    result = run_ocr("--help")
    assert "class 'other'" in result.stdout and '"letter": null' in result.stdout and "calibrate" in result.stdout
