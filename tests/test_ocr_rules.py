"""Ruled and squared paper: the printed lines are found and taken out of the ink mask, and writing is left alone."""
import numpy as np
from scipy import ndimage

from hdl_native.ocr.rules import find_horizontal_rules, remove_rules, thin_pixels

HEIGHT, WIDTH = 400, 1200


def draw_rule(mask, y0, degrees, thickness=2):
    """A straight rule across the whole width, starting at row y0, tilted by `degrees`."""
    xs = np.arange(mask.shape[1])
    ys = np.rint(y0 + xs * np.tan(np.radians(degrees))).astype(int)
    for dy in range(thickness):
        mask[ys + dy, xs] = True


def draw_letters(mask, baseline, count=18, pitch=60, height=40, bottom_bar=False):
    """`count` letter-like marks (a 4 px vertical stroke, a 3 px bar at the top, optionally one on the
    baseline) whose strokes reach 6 px below `baseline`, so they cross a rule drawn there."""
    for i in range(count):
        left = 40 + i * pitch
        mask[baseline - height:baseline + 6, left:left + 4] = True
        mask[baseline - height:baseline - height + 3, left:left + 26] = True
        if bottom_bar:
            mask[baseline - 3:baseline, left:left + 30] = True
    return count


def components(mask):
    return ndimage.label(mask, structure=np.ones((3, 3), bool))[1]


def test_thin_pixels_are_those_in_short_vertical_runs():
    mask = np.zeros((6, 3), bool)
    mask[0:2, 0] = mask[3:6, 0] = True  # runs of 2 and 3
    mask[:, 1] = True                   # a run of 6
    mask[5, 2] = True                   # a run of 1
    ys, xs = thin_pixels(mask, 2)
    assert sorted(zip(ys.tolist(), xs.tolist())) == [(0, 0), (1, 0), (5, 2)]
    assert len(thin_pixels(np.zeros((4, 4), bool), 3)[0]) == 0


def test_a_tilted_rule_through_a_line_of_letters_is_removed_and_the_letters_kept():
    mask = np.zeros((HEIGHT, WIDTH), bool)
    n_letters = draw_letters(mask, baseline=200)
    draw_rule(mask, 190, degrees=0.5)  # crosses every letter's stroke on the way down
    assert components(mask) == 1       # the rule ties the whole line into one mark
    cleaned, n_rules = remove_rules(mask)
    assert n_rules == 1
    assert components(cleaned) == n_letters
    letters_only = np.zeros_like(mask)
    draw_letters(letters_only, baseline=200)
    assert not (letters_only & ~cleaned).any()        # no stroke pixel was taken
    assert (cleaned & ~letters_only).sum() < 0.02 * WIDTH  # little of the rule is left


def test_a_vertical_margin_line_is_removed_too():
    mask = np.zeros((HEIGHT, WIDTH), bool)
    draw_letters(mask, baseline=200, count=3)
    mask[:, 35:37] = True  # touches the first letter's bar
    cleaned, n_rules = remove_rules(mask)
    assert n_rules == 1 and components(cleaned) == 3 and not cleaned[:, 35:37].any()


def test_a_page_without_rules_comes_back_unchanged():
    mask = np.zeros((HEIGHT, WIDTH), bool)
    for baseline in (100, 200, 300):  # three lines of letters with flat bottoms on a common baseline
        draw_letters(mask, baseline, bottom_bar=True)
    cleaned, n_rules = remove_rules(mask)
    assert n_rules == 0 and cleaned is mask
    assert find_horizontal_rules(mask, 4) == []


def test_a_broken_pale_rule_is_found_in_the_faint_mask():
    mask = np.zeros((HEIGHT, WIDTH), bool)
    faint = np.zeros_like(mask)
    draw_rule(faint, 150, degrees=-2.0)
    draw_letters(mask, baseline=160)
    mask |= faint & (np.arange(WIDTH) % 100 < 30)  # only pieces of the rule pass the stricter threshold
    assert remove_rules(mask)[1] == 0             # in pieces, it is not a rule
    cleaned, n_rules = remove_rules(mask, faint=faint | mask)
    assert n_rules == 1 and components(cleaned) == 18


def test_strokes_darker_than_the_rule_survive_when_the_ink_map_is_given():
    mask = np.zeros((HEIGHT, WIDTH), bool)
    darkness = np.zeros(mask.shape, np.float32)
    draw_rule(mask, 200, degrees=0.0)
    darkness[mask] = 0.12                 # a pale printed rule
    mask[200:202, 500:540] = True         # a letter's horizontal stroke written along it
    darkness[200:202, 500:540] = 0.7
    without, _ = remove_rules(mask)
    with_darkness, n_rules = remove_rules(mask, darkness=darkness)
    assert n_rules == 1
    assert not without[200:202, 500:540].any()      # thin and on the rule: taken
    assert with_darkness[200:202, 500:540].all()    # much darker than the rule: kept
    assert not with_darkness[200:202, :480].any()   # the rule itself still goes


def test_strokes_along_a_rule_survive_when_the_grain_leaves_little_of_the_rule_in_the_mask():
    """In a grainy photo the pale rule passes the mask's threshold only in pieces, so most of the mask's pixels
    on the rule are the letters' strokes along it; the rule's darkness is read along its whole line instead."""
    mask = np.zeros((HEIGHT, WIDTH), bool)
    rule = np.zeros_like(mask)
    draw_rule(rule, 200, degrees=0.0)
    darkness = np.where(rule, np.float32(0.12), np.float32(0.0))
    mask |= rule & (np.arange(WIDTH) % 100 < 20)  # pieces of the rule above the threshold
    letters = np.zeros_like(mask)
    draw_letters(letters, baseline=202, bottom_bar=True)  # each letter's bottom bar lies on the rule
    mask |= letters
    darkness[letters] = 0.7
    on_rule = letters & rule
    assert on_rule.sum() > (mask & rule & ~letters).sum()  # the strokes outnumber the rule in the mask
    cleaned, n_rules = remove_rules(mask, faint=mask | rule, darkness=darkness)
    assert n_rules == 1
    assert cleaned[on_rule].all()                       # the bars written along the rule: kept
    assert not cleaned[rule & ~letters].any()           # the rule's own pieces still go
    assert components(cleaned) == 18
