"""Line zones: x-height letters cannot be ascender letters, descending ones must be descender letters."""
from dataclasses import dataclass

import numpy as np

from hdl_native.ocr.zones import ZONE_PRIOR, apply_zones, line_zones, zone_weights

CLASSES = [chr(ord("a") + i) for i in range(26)]


@dataclass
class Box:
    top: int
    bottom: int
    left: int
    right: int


def handwritten_line(text, x_height=40, baseline=300, tilt=0.05):
    """Boxes for lowercase `text` written on a slightly tilted baseline: ascenders 1.8, descenders 0.8 x-heights."""
    boxes = []
    for i, letter in enumerate(text):
        left = 20 + 60 * i
        base = baseline + tilt * left
        top = base - (1.8 if letter in "bdfhklt" else 1.0) * x_height
        bottom = base + (0.8 if letter in "gjpqy" else 0.0) * x_height
        boxes.append(Box(int(top), int(bottom), left, left + 30))
    return boxes


def probabilities_for(pairs):
    """(n, 26) rows with the given {letter: probability} and the rest spread evenly."""
    rows = np.full((len(pairs), 26), 1e-4)
    for row, pair in enumerate(pairs):
        for letter, p in pair.items():
            rows[row, ord(letter) - ord("a")] = p
    return rows / rows.sum(axis=1, keepdims=True)


def test_zones_of_a_handwritten_line_follow_its_tilted_baseline():
    boxes = handwritten_line("abcdefghijk")
    baseline, x_height = line_zones(boxes)
    assert abs(x_height - 40) <= 2
    expected = [300 + 0.05 * b.left for b in boxes]
    np.testing.assert_allclose(baseline, expected, atol=2)  # the descenders g and j did not pull it down


def test_an_undotted_i_and_j_are_read_from_their_zones():
    boxes = handwritten_line("abcdefghijk")
    guesses = [{}] * 11
    guesses[8] = {"l": 0.77, "i": 0.19, "f": 0.03}   # an i without its dot looks like an l ...
    guesses[9] = {"i": 0.66, "l": 0.21, "j": 0.05}   # ... and a j without its dot like an i
    guesses[10] = {"k": 0.99}                         # a sure reading stays, whatever its zone
    adjusted = apply_zones(boxes, probabilities_for(guesses), CLASSES)
    best = [CLASSES[i] for i in adjusted.argmax(axis=1)]
    assert best[8] == "i" and best[9] == "j" and best[10] == "k"
    np.testing.assert_allclose(adjusted.sum(axis=1), 1.0)


def test_lines_without_clear_zones_are_left_alone():
    same_height = [Box(100, 150, 60 * i, 60 * i + 40) for i in range(8)]  # capitals, or letters scaled alike
    probabilities = probabilities_for([{"l": 0.6, "i": 0.4}] * 8)
    np.testing.assert_array_equal(zone_weights(same_height, CLASSES), 1.0)
    np.testing.assert_array_equal(apply_zones(same_height, probabilities, CLASSES), probabilities)
    assert line_zones(handwritten_line("bad")) is None  # too few letters to tell
    assert line_zones(handwritten_line("acorns")) is None  # no tall letters: x-height or capitals?


def test_weights_rule_out_by_zone_and_never_touch_tall_letters():
    boxes = handwritten_line("helloagap")
    weights = zone_weights(boxes, CLASSES)
    column = {c: i for i, c in enumerate(CLASSES)}
    assert (weights[0] == 1).all() and (weights[2] == 1).all()  # h and l are tall: anything may be a capital
    assert weights[1, column["l"]] == ZONE_PRIOR and weights[1, column["e"]] == 1  # e on the x-height
    assert weights[6, column["g"]] == 1 and weights[6, column["a"]] == ZONE_PRIOR  # g drops below the baseline


def sure_readings(text, confidence=0.9):
    """(n, 26) probabilities reading each letter of `text` with `confidence`."""
    return probabilities_for([{letter: confidence} for letter in text])


def test_zones_the_sure_readings_confirm_still_rule():
    boxes = handwritten_line("handwriting")
    probabilities = sure_readings("handwriting")
    probabilities[6] = probabilities_for([{"l": 0.6, "i": 0.4}])[0]  # an undotted i among sure letters
    best = [CLASSES[i] for i in apply_zones(boxes, probabilities, CLASSES).argmax(axis=1)]
    assert "".join(best) == "handwriting"


def test_heights_the_sure_readings_deny_are_not_zones():
    """Letters each scaled to fill one box (as the letter sets are): the wide m and w come out low, so the line seems
    to have zones, but the sure l's are no taller than the sure o's."""
    text = "lomolwaoml"
    heights = {"l": 50, "o": 50, "a": 50, "m": 30, "w": 30}
    boxes = [Box(200 - heights[letter], 200, 60 * i, 60 * i + 40) for i, letter in enumerate(text)]
    assert line_zones(boxes) is not None and (zone_weights(boxes, CLASSES) == ZONE_PRIOR).any()  # by heights alone
    probabilities = sure_readings(text)
    np.testing.assert_array_equal(zone_weights(boxes, CLASSES, probabilities), 1.0)
    probabilities[2] = probabilities_for([{"m": 0.5, "h": 0.5}])[0]  # unsure glyphs neither deny nor confirm
    np.testing.assert_array_equal(apply_zones(boxes, probabilities, CLASSES), probabilities)
