"""Handwritten letter forms drawn with a pen: every letter has forms, drawings are seeded, they join the bank."""
import string

import numpy as np
import pytest

from hdl_native.errors import HDLError
from hdl_native.synth import build_glyph_bank, find_fonts
from hdl_native.synth.pen_forms import FORMS
from hdl_native.synth.pen_letters import catmull_rom, draw_strokes, render_pen_alphabet


def test_every_letter_has_a_print_and_a_joined_form():
    assert sorted(FORMS) == list(string.ascii_lowercase)
    assert all(len(forms) >= 2 for forms in FORMS.values())


def test_catmull_rom_passes_through_its_points_and_keeps_straight_segments():
    points = [(0.0, 0.0), (1.0, 2.0), (3.0, 1.0), (4.0, 4.0)]
    curve = catmull_rom(points, samples=8)
    for point in points:
        assert np.min(np.hypot(*(curve - point).T)) < 1e-9
    np.testing.assert_array_equal(catmull_rom([(0, 0), (2, 5)]), [(0, 0), (2, 5)])


def test_a_drawn_stroke_is_centred_and_spans_the_extent():
    image = draw_strokes([np.array([(0.0, 0.0), (0.0, 8.0)])], canvas=64, extent=40, pen_width=4)
    rows, cols = np.flatnonzero(image.max(axis=1) > 0.5), np.flatnonzero(image.max(axis=0) > 0.5)
    assert abs((rows[-1] - rows[0] + 1) - 40) <= 2 and (cols[-1] - cols[0] + 1) <= 6
    assert abs((rows[0] + rows[-1]) / 2 - 31.5) <= 1.5 and abs((cols[0] + cols[-1]) / 2 - 31.5) <= 1.5


def test_drawings_are_seeded_and_wobble_between_copies():
    glyphs, labels, uppercase, forms = render_pen_alphabet(canvas=48, extent=26, copies=2, seed=5)
    again, *_ = render_pen_alphabet(canvas=48, extent=26, copies=2, seed=5)
    other, *_ = render_pen_alphabet(canvas=48, extent=26, copies=2, seed=6)
    n_forms = sum(len(f) for f in FORMS.values())
    assert glyphs.shape == (2 * n_forms, 48, 48) and not uppercase.any()
    np.testing.assert_array_equal(glyphs, again)
    assert not np.array_equal(glyphs, other)
    assert not np.array_equal(glyphs[0], glyphs[1])  # two copies of one form differ
    assert forms[0] == forms[1] and labels[0] == labels[1] == 0
    assert np.array_equal(np.unique(labels), np.arange(26))
    assert (glyphs.reshape(len(glyphs), -1).max(axis=1) > 0.9).all()  # every drawing has ink


def test_pen_forms_join_the_glyph_bank_after_the_fonts():
    try:
        font = find_fonts()[:1]
    except HDLError as error:
        pytest.skip(f"no usable fonts on this machine: {error}")
    bank = build_glyph_bank(font, pen_copies=1)
    n_forms = sum(len(f) for f in FORMS.values())
    assert bank.n_glyphs == 52 + n_forms
    assert (bank.font_index[52:] == 1 + np.arange(n_forms)).all()
    assert not bank.uppercase[52:].any() and bank.usable.any(axis=0).all()
    assert bank.n_glyphs == build_glyph_bank(font, pen_copies=0).n_glyphs + n_forms
