"""OCR layout without a trained model: lighting, lines, boxes (dots, touching letters), spaces, crops."""
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from hdl_native.errors import HDLError
from hdl_native.models import LettersCNN
from hdl_native.ocr import read_page
from hdl_native.ocr.boxes import find_glyphs
from hdl_native.ocr.crops import FRAME, glyph_crops, normalize, stroke_thickness
from hdl_native.ocr.lighting import ink_map, ink_mask
from hdl_native.ocr.recognize import LetterClassifier, word_breaks

LETTERS = [chr(ord("a") + i) for i in range(26)]


def printed_page(lines, size=56, rotation=2.5, shadow=0.5, width=1000, height=500, ink=40):
    """(H, W) float32 grey page: dark text on paper darkening from 1 to `shadow` across, slightly rotated."""
    page = Image.new("L", (width, height), 230)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=size)
    for number, text in enumerate(lines):
        draw.text((60, 60 + int(2.5 * size) * number), text, font=font, fill=ink)
    page = page.rotate(rotation, resample=Image.Resampling.BICUBIC, fillcolor=230)
    grey = np.asarray(page, np.float32) / 255
    return (grey * np.linspace(1, shadow, width, dtype=np.float32)[None, :]).astype(np.float32)


def test_lighting_makes_ink_black_and_paper_white_under_a_shadow():
    grey = printed_page(["shadow"], shadow=0.35, ink=120)
    ink = ink_map(grey)
    mask = ink_mask(ink)
    text = slice(40, 160), slice(60, 400)
    # paper on the dark side is darker than the ink on the bright side: no global threshold separates them
    assert grey[300, 900] < np.percentile(grey[text], 1)
    assert not mask[250:, :].any()
    assert mask[text].sum() > 1000
    assert ink.ink[300, 900] < ink.low < ink.ink[mask].mean()


def faded(grey, share, seed=0):
    """`grey` moved `share` of the way to white, as faint pencil or an over-exposed photo, with a little grain."""
    noise = np.random.default_rng(seed).normal(0, 0.004, grey.shape).astype(np.float32)
    return np.clip(grey + share * (1 - grey) + noise, 0, 1).astype(np.float32)


@pytest.mark.parametrize("share", [0.5, 0.7])
def test_faint_writing_is_found_as_ink_is(share):
    """Text 17 to 25% darker than its paper under a shadow: below the fixed strong floor (22%) at 0.7, so before the
    floors followed the page it read as blank paper; now every glyph is found, and nothing beside it."""
    page = printed_page(["hello world"], rotation=0, shadow=0.7)
    letters = find_glyphs(ink_mask(ink_map(page)))[1]
    ink = ink_map(faded(page, share))
    assert ink.high < 0.22
    labels, lines = find_glyphs(ink_mask(ink))
    assert [len(line) for line in lines] == [len(line) for line in letters] == [len("helloworld")]


def test_faint_writing_in_a_grainy_photo_is_found():
    """Faint text (fade 0.7) under grain of 8% of the paper's brightness: twelve grain deviations (of the grain
    smoothed) are darker than the writing itself, which was then found as one glyph of ten; the grain's thresholds
    now stop below the writing (GRAIN_CAP_SHARE)."""
    page = printed_page(["hello world"], rotation=0, shadow=0.8)
    grainy = np.clip(faded(page, 0.7) + np.random.default_rng(1).normal(0, 0.08, page.shape), 0, 1).astype(np.float32)
    ink = ink_map(grainy)
    labels, lines = find_glyphs(ink_mask(ink))
    assert [len(line) for line in lines] == [len("helloworld")]


def test_a_faint_word_in_a_wide_photo_is_found():
    """Faint text (fade 0.8: 16% darker than its paper, below the ink floor of 22%) covering under 0.1% of a wide
    photo: the floors follow the writing however little of the photo it covers (the grain cap's WRITING_AREA
    once kept them at the ink floors there, and the photo read as blank paper)."""
    word = faded(printed_page(["hello"], rotation=0, shadow=1.0, width=420, height=180), 0.8)
    photo = faded(np.full((1500, 2000), 230 / 255, np.float32), 0.8)
    photo[600:780, 800:1220] = word
    ink = ink_map(photo)
    assert (ink.ink > ink.low).mean() < 0.001
    labels, lines = find_glyphs(ink_mask(ink))
    assert [len(line) for line in lines] == [len("hello")]


def test_the_floors_stay_where_they_are_for_ink():
    ink = ink_map(faded(printed_page(["hello world"], rotation=0), 0.0))
    assert ink.low >= 0.08 and ink.high >= 0.22  # MIN_CONTRAST, STRONG_CONTRAST: a page of ink keeps them
    blank = ink_map(faded(np.full((400, 800), 0.9, np.float32), 0.0))
    assert not ink_mask(blank).any()


def test_the_back_of_the_sheet_showing_through_is_not_ink():
    """Writing in dark ink (80% darker than its paper) above the back's writing seen through the sheet, mirrored,
    soft and a quarter as dark (the page benchmark's --show-through): where the floors stayed at those fit for ink
    (a mark needed 22%), the back's letters were boxed as marks of their own; a mark now needs half the page's
    writing's darkness, and only the front's letters are found."""
    page = Image.new("L", (1000, 400), 230)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=56)
    draw.text((60, 60), "hello world", font=font, fill=40)
    back = Image.new("L", (1000, 400), 0)
    ImageDraw.Draw(back).text((60, 220), "back of it", font=font, fill=255)
    back = np.asarray(back.transpose(Image.Transpose.FLIP_LEFT_RIGHT).filter(ImageFilter.GaussianBlur(1.5)),
                      np.float32) / 255
    grey = np.asarray(page, np.float32) / 255 * (1 - 0.25 * back)
    ink = ink_map(grey.astype(np.float32))
    labels, lines = find_glyphs(ink_mask(ink))
    assert [len(line) for line in lines] == [len("helloworld")]
    assert ink.ink[200:].max() > 0.22  # the back's strokes are darker than the floor for ink was


def test_the_edge_of_a_hard_shadow_is_not_ink():
    """A shadow with a sharp edge crossing a line of writing: the paper estimate, made on a reduced copy, must not
    blur the edge into a thin line of ink on its dark side, which would tie the letters it crosses together."""
    grey = printed_page(["hello world"], rotation=0, shadow=1.0)
    rows, columns = np.mgrid[0:grey.shape[0], 0:grey.shape[1]]
    grey = np.where(rows > 40 + 0.16 * columns, grey * 0.5, grey).astype(np.float32)  # crosses the text at x < 450
    mask = ink_mask(ink_map(grey))
    assert mask[:, :450].sum() > 1000  # the letters
    assert not mask[:, 560:].any()  # only paper there, across which the shadow's edge runs
    labels, glyph_lines = find_glyphs(mask)
    assert [len(line) for line in glyph_lines] == [len("helloworld")]


def test_rotated_printed_lines_are_found_with_one_box_per_letter():
    lines = ["jumping quickly over", "the lazy dog in this", "fine jolly hijinks"]
    labels, glyph_lines = find_glyphs(ink_mask(ink_map(printed_page(lines))))
    assert [len(g) for g in glyph_lines] == [len(text.replace(" ", "")) for text in lines]
    for glyphs in glyph_lines:
        assert all(a.left < b.left for a, b in zip(glyphs, glyphs[1:]))  # left to right


def test_dot_of_i_and_j_joins_its_stem():
    labels, glyph_lines = find_glyphs(ink_mask(ink_map(printed_page(["ijiji"], rotation=0))))
    assert len(glyph_lines) == 1 and len(glyph_lines[0]) == 5
    for glyph in glyph_lines[0]:
        assert len(glyph.labels) == 2  # dot + stem


def test_a_broken_edge_far_below_the_last_line_joins_no_letter():
    """The paper's edge in a photo can come out as a dashed thin line well below the last line of writing; its
    dashes are no letter's strokes, so they must not join the letters above them (as an i's dot joins its stem)."""
    mask = ink_mask(ink_map(printed_page(["hello world"], rotation=0)))
    text_bottom = np.flatnonzero(mask.any(axis=1)).max() + 1
    edge_row = text_bottom + 150  # about three letter heights below
    for left in range(40, 960, 70):
        mask[edge_row:edge_row + 3, left:left + 60] = True
    labels, glyph_lines = find_glyphs(mask)
    assert [len(line) for line in glyph_lines] == [len("helloworld")]
    assert all(glyph.bottom <= text_bottom for glyph in glyph_lines[0])


def test_a_thin_slanted_line_is_no_row_of_letters():
    """A sheet's edge against a brighter desk, or a ruled line, can leave a thin straight line of ink at a slant,
    not touching the picture's border; the lines of writing would cut it into "letters".  An underline too.  (Rules
    are taken out before, but only at the page's own tilt.)"""
    image = Image.fromarray((printed_page(["hello world"], rotation=0, shadow=1.0) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.line((80, 440, 940, 200), fill=40, width=3)  # the sheet's edge, 890 px long, at 15 degrees
    draw.line((60, 150, 300, 190), fill=40, width=3)  # a hasty underline below the first word, at 9 degrees
    labels, glyph_lines = find_glyphs(ink_mask(ink_map(np.asarray(image, np.float32) / 255)))
    assert [len(line) for line in glyph_lines] == [len("helloworld")]
    assert all(glyph.bottom <= 140 for glyph in glyph_lines[0])


def test_touching_letters_are_split_where_the_line_says_two_letters_fit():
    page = np.full((200, 900), 0.9, np.float32)
    image = Image.fromarray((page * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for left in (50, 150, 250, 350, 450):  # five separate round letters, 60 px wide
        draw.ellipse((left, 60, left + 60, 130), outline=20, width=6)
    draw.ellipse((600, 60, 660, 130), outline=20, width=6)  # two that touch: 120 px of ink
    draw.ellipse((657, 60, 717, 130), outline=20, width=6)
    grey = np.asarray(image, np.float32) / 255
    labels, glyph_lines = find_glyphs(ink_mask(ink_map(grey)))
    glyphs = glyph_lines[0]
    assert len(glyphs) == 7
    assert glyphs[5].right <= glyphs[6].left + 2
    assert abs(glyphs[5].left - 597) < 6 and abs(glyphs[6].right - 720) < 6


def page_with_rings(width, lefts=(50, 150, 250, 350, 450), pen=6):
    """(PIL image, its ImageDraw): a light page 200 px tall with round letters 60 px wide at `lefts` drawn with a
    pen `pen` px wide, which set the line's typical letter; tests draw their own marks beside them."""
    image = Image.fromarray(np.full((200, width), 229, np.uint8))
    draw = ImageDraw.Draw(image)
    for left in lefts:
        draw.ellipse((left, 60, left + 60, 130), outline=20, width=pen)
    return image, draw


def segments_of(image):
    """find_segments of a drawn page: (labels, [[Segment, ...] per line])."""
    from hdl_native.ocr.boxes import find_segments

    return find_segments(ink_mask(ink_map(np.asarray(image, np.float32) / 255)))


def test_a_mark_one_and_a_half_letters_wide_is_offered_whole_first_then_cut_in_two():
    from hdl_native.ocr.boxes import LANGUAGE_PIECES, MAYBE_SPLIT_WIDTH, SPLIT_WIDTH, pieces_for_paths

    image, draw = page_with_rings(1200)  # five separate round letters, 60 px of ink
    draw.ellipse((560, 60, 620, 130), outline=20, width=6)  # a round letter touching a bar: ri, oi
    draw.rectangle((616, 60, 650, 130), fill=20)  # 91 px of ink: 1.5 letters
    draw.rectangle((700, 60, 770, 130), outline=20, width=6)  # 71 px: 1.2 letters, a wide letter left alone
    draw.ellipse((820, 60, 880, 130), outline=20, width=6)  # two round letters touching: 2 letters
    draw.ellipse((877, 60, 937, 130), outline=20, width=6)
    labels, segment_lines = segments_of(image)
    segments = segment_lines[0]
    assert len(segments) == 8
    assert MAYBE_SPLIT_WIDTH < 91 / 61 <= SPLIT_WIDTH
    assert [len(option) for option in segments[5].options] == [1, 2]  # whole first, then two halves
    assert [len(option) for option in segments[6].options] == [1]
    assert [len(option) for option in segments[7].options] == [2, 1, 3]  # as before: cut first
    # its lattice cuts it in two at most for the network, in three for the word's language alone (word_cuts.py)
    assert segments[5].pieces and segments[5].max_pieces == 2 and segments[5].language_pieces == LANGUAGE_PIECES == 3
    last = segments[5].n_boundaries - 1
    in_two = pieces_for_paths(segments[5], 2)  # the network's: only the pieces that begin or end the mark
    assert all(i == 0 or j == last for i, j in in_two) and (0, last) in in_two
    assert any(0 < i and j < last for i, j in segments[5].pieces)  # a middle piece, for a cut in three
    assert segments[7].pieces and segments[7].max_pieces is None and not segments[6].pieces
    whole, (left, right) = segments[5].options
    assert left.left == whole[0].left and right.right == whole[0].right and left.right <= right.left + 1


def test_pieces_only_a_words_language_may_use_are_classified_only_when_a_language_reads_the_line():
    from hdl_native.ocr.boxes import pieces_for_paths
    from hdl_native.ocr.pipeline import Stopwatch, classify_line

    image, draw = page_with_rings(1200)
    draw.ellipse((560, 60, 620, 130), outline=20, width=6)  # 1.5 letters: cut in two by the network, three by words
    draw.rectangle((616, 60, 650, 130), fill=20)
    draw.rectangle((700, 60, 780, 130), outline=20, width=6)  # 1.3 letters: cut by the word's language alone
    ink = ink_map(np.asarray(image, np.float32) / 255).ink
    labels, segment_lines = segments_of(image)
    segments = segment_lines[0]
    wide, language_only = segments[5], segments[6]
    assert wide.language_pieces == 3 and language_only.max_pieces == 0 and language_only.language_pieces == 2

    class Counting:
        def probabilities(self, crops):
            return np.full((len(crops), 27), 1 / 27)
    options = sum(len(option) for segment in segments for option in segment.options)
    glyphs, crops, probabilities = classify_line(ink, labels, segments, Counting(), Stopwatch(), with_language=True)
    assert len(glyphs) == len(crops) == len(probabilities) == options + len(wide.pieces) + len(language_only.pieces)
    glyphs, _, _ = classify_line(ink, labels, segments, Counting(), Stopwatch(), with_language=False)
    assert len(glyphs) == options + len(pieces_for_paths(wide, 2)) < options + len(wide.pieces)


def test_a_mark_a_little_wider_than_a_letter_is_offered_cut_in_two_to_the_words_language_only():
    from hdl_native.ocr.boxes import LANGUAGE_SPLIT_WIDTH, MAYBE_SPLIT_WIDTH

    image, draw = page_with_rings(1200)  # five separate round letters, 60 px of ink
    draw.rectangle((700, 60, 780, 130), outline=20, width=6)  # 81 px: 1.3 letters, an m or two letters touching
    draw.rectangle((900, 60, 960, 130), outline=20, width=6)  # 61 px: a letter
    labels, segment_lines = segments_of(image)
    segments = segment_lines[0]
    assert len(segments) == 7 and LANGUAGE_SPLIT_WIDTH <= 81 / 61 < MAYBE_SPLIT_WIDTH
    wide, letter = segments[5], segments[6]
    assert [len(option) for option in wide.options] == [1] and wide.max_pieces == 0 and wide.language_pieces == 2
    last = wide.n_boundaries - 1
    assert wide.pieces and all(i == 0 or j == last for i, j in wide.pieces)
    assert not letter.pieces and letter.max_pieces is None and letter.language_pieces is None
    assert not any(segment.pieces or segment.language_pieces for segment in segments[:5])


def test_a_letter_begun_with_a_lead_in_stroke_is_offered_without_it_as_well():
    from hdl_native.ocr.boxes import LEAD_IN_LENGTH, LEAD_IN_THICKNESS

    image, draw = page_with_rings(1200, (100, 200, 300, 400))  # four round letters, 70 px tall
    draw.ellipse((560, 60, 620, 130), outline=20, width=6)  # begun with a thin stroke rising from low on the left
    draw.line((540, 128, 563, 110), fill=20, width=5)
    draw.ellipse((760, 60, 820, 130), outline=20, width=6)  # a thick blob low on the left: a bowl, not a stroke
    draw.rectangle((730, 108, 764, 130), fill=20)
    draw.ellipse((960, 60, 1020, 130), outline=20, width=6)  # a stroke too short to be a lead-in
    draw.line((950, 128, 972, 118), fill=20, width=5)
    labels, segment_lines = segments_of(image)
    segments = segment_lines[0]
    assert len(segments) == 7

    def trimmed_options(segment):
        whole = segment.options[0][0]
        return [option[0] for option in segment.options[1:] if len(option) == 1 and option[0].left > whole.left]

    assert [len(trimmed_options(segment)) for segment in segments] == [0, 0, 0, 0, 1, 0, 0]
    assert len(segments[4].options) == 2  # whole first, then without the stroke
    (whole,), (trimmed,) = segments[4].options
    assert abs(whole.left - 538) <= 3 and abs(trimmed.left - 560) <= 3
    assert trimmed.right == whole.right and trimmed.top == whole.top
    assert 22 > LEAD_IN_THICKNESS * whole.height > 6  # the blob is thicker than a stroke may be, the stroke not
    assert 12 < LEAD_IN_LENGTH * whole.height < 20  # the short stroke is too short, the lead-in long enough


def test_word_breaks_only_where_the_gap_is_clearly_wider():
    boxes = [(0, 40, left, left + 30) for left in (0, 35, 70, 150, 185, 220, 300)]
    assert word_breaks(boxes) == [False, False, True, False, False, True]
    evenly = [(0, 40, left, left + 30) for left in range(0, 400, 60)]
    assert not any(word_breaks(evenly))  # letters written apart but evenly: one word


def test_crops_are_28x28_bright_on_black_and_normalised_like_training():
    grey = printed_page(["ok"], rotation=0)
    ink = ink_map(grey)
    labels, glyph_lines = find_glyphs(ink_mask(ink))
    crops = glyph_crops(ink.ink, labels, glyph_lines[0])
    assert crops.shape == (2, FRAME, FRAME) and crops.dtype == np.uint8
    for crop in crops:
        assert crop.max() == 255
        assert crop[:2].max() == 0 and crop[-2:].max() == 0 and crop[:, :2].max() == 0 and crop[:, -2:].max() == 0
        columns, rows = np.flatnonzero(crop.any(0)), np.flatnonzero(crop.any(1))
        assert max(columns[-1] - columns[0], rows[-1] - rows[0]) >= 20  # the longest side fills ~24 px
        assert stroke_thickness(crop) > 1.5
    x = normalize(crops)
    assert x.shape == (2, 1, 28, 28) and x.dtype == np.float32
    assert x.min() == pytest.approx(-0.172575 / 0.25, abs=1e-5)


def ring_crops(pen_width):
    """Crops of five rings 60 px wide drawn with a pen `pen_width` px wide, as `ocr` makes them."""
    image, _ = page_with_rings(700, pen=pen_width)
    ink = ink_map(np.asarray(image, np.float32) / 255)
    labels, glyph_lines = find_glyphs(ink_mask(ink))
    return glyph_crops(ink.ink, labels, glyph_lines[0])


def test_only_strokes_thinner_than_the_training_letters_are_widened(monkeypatch):
    from hdl_native.ocr import crops

    widened = {pen: ring_crops(pen) for pen in (1, 4)}
    monkeypatch.setattr(crops, "MAX_THICKENING", 0)
    as_drawn = {pen: ring_crops(pen) for pen in (1, 4)}
    assert stroke_thickness(as_drawn[1][0]) < crops.THIN_STROKE <= stroke_thickness(widened[1][0])  # a hairline
    # a pen as thin as unipen's usual strokes (median 1.64 px) is left as drawn, though thinner than the 1.9 px
    # the crops were widened to for a reader of the scanned letters set alone
    assert crops.THIN_STROKE <= stroke_thickness(as_drawn[4][0]) < 1.9
    assert np.array_equal(widened[4], as_drawn[4])


def test_stroke_thickness_measures_the_outline_scipy_ndimage_would_draw():
    """stroke_thickness draws the 4x bilinear zoom above half intensity in whole numbers; the same figure as
    scipy.ndimage.zoom(ink, 4, order=1) > 0.5 and binary_erosion give, to the bit: on drawn letters, random frames,
    and frames of one level around 127.5 (the intensity whose zoomed values sit closest to the half)."""
    from scipy import ndimage

    def by_ndimage(frame):
        ink = frame.astype(np.float32) / np.float32(255)
        inside = ndimage.zoom(ink, 4, order=1) > 0.5
        outline = np.count_nonzero(inside & ~ndimage.binary_erosion(inside)) / 4.0
        return float(ink.sum() / max(outline / 2, 1.0))

    rng = np.random.default_rng(5)
    grey = printed_page(["the quick brown fox"], rotation=0)
    ink = ink_map(grey)
    labels, glyph_lines = find_glyphs(ink_mask(ink))
    frames = list(glyph_crops(ink.ink, labels, glyph_lines[0]))
    frames += [rng.integers(0, 256, (FRAME, FRAME), dtype=np.uint8) for _ in range(100)]
    frames += [((rng.random((FRAME, FRAME)) < 0.4) * level).astype(np.uint8)
               for level in range(120, 136) for _ in range(10)]
    frames += [np.zeros((FRAME, FRAME), np.uint8), np.full((FRAME, FRAME), 255, np.uint8)]
    for number, frame in enumerate(frames):
        assert stroke_thickness(frame) == by_ndimage(frame), number


def random_classifier():
    return LetterClassifier(LettersCNN(seed=0).eval(), LETTERS, 0.172575, 0.25)


def test_blank_paper_is_an_error_not_an_empty_result(tmp_path):
    paper = (printed_page([], shadow=0.6) * 255).astype(np.uint8)
    noisy = np.clip(paper + np.random.default_rng(0).normal(0, 4, paper.shape), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "blank.jpg", quality=80)
    with pytest.raises(HDLError, match="no ink"):
        read_page(tmp_path / "blank.jpg", random_classifier())


def test_read_page_reports_boxes_in_original_pixels_and_stage_timings(tmp_path):
    grey = printed_page(["abc de"], rotation=0)
    big = Image.fromarray((grey * 255).astype(np.uint8)).resize((3000, 1500), Image.Resampling.BICUBIC)
    big.save(tmp_path / "big.png")
    result = read_page(tmp_path / "big.png", random_classifier(), max_side=1000)
    assert result.photo.scale == pytest.approx(3.0)
    assert [len(line) for line in result.lines] == [5]
    first = result.lines[0][0].box  # (top, bottom, left, right) in the 3000x1500 picture
    assert 150 < first[2] < 260 and first[3] - first[2] > 60
    assert len(result.texts[0]) == 6 and result.texts[0][3] == " "
    assert set(result.timings) >= {"load", "lighting", "boxes", "crops", "classify"}
    described = result.as_dict()
    assert described["lines"][0]["boxes"][0]["letters"].__len__() == 3


def test_the_classifier_picks_among_the_cuts_of_a_wide_mark_with_a_head_start_for_the_widths():
    from hdl_native.ocr.boxes import Segment
    from hdl_native.ocr.recognize import choose_cuts

    left, right, whole = "left", "right", "whole"
    confidence = {}

    def probabilities_of(glyph):
        row = np.full(26, (1 - confidence[glyph]) / 25)
        row[0] = confidence[glyph]
        return row

    segments = [Segment([[left, right], [whole]])]
    confidence.update(left=0.3, right=0.3, whole=0.99)
    assert choose_cuts(segments, probabilities_of) == [whole]
    confidence.update(left=0.6, right=0.6, whole=0.7)  # better, but not by the margin
    assert choose_cuts(segments, probabilities_of) == [left, right]


def test_a_mark_without_its_lead_in_must_be_read_surer_than_the_whole_by_both_margins():
    from hdl_native.ocr.boxes import Glyph, Segment
    from hdl_native.ocr.recognize import CUT_MARGIN, LEAD_IN_MARGIN, choose_cuts

    whole = Glyph((0,), 10, 50, 0, 60, 0, 60)
    trimmed = Glyph((0,), 10, 50, 20, 60, 20, 60, lead_in_trimmed=True)
    confidence = {}

    def probabilities_of(glyph):
        row = np.full(26, (1 - confidence[id(glyph)]) / 25)
        row[0] = confidence[id(glyph)]
        return row

    segments = [Segment([[whole], [trimmed]])]
    confidence[id(whole)] = 0.4
    for gain, chosen in ((CUT_MARGIN + LEAD_IN_MARGIN - 0.05, whole), (CUT_MARGIN + LEAD_IN_MARGIN + 0.05, trimmed)):
        confidence[id(trimmed)] = 0.4 * np.exp(gain)
        assert choose_cuts(segments, probabilities_of) == [chosen]


def test_a_wide_mark_offers_a_lattice_of_pieces_cut_where_its_ink_is_thinnest():
    from hdl_native.ocr.boxes import PIECE_WIDTHS

    image, draw = page_with_rings(1300)  # five separate round letters, 60 px of ink
    for left in (600, 657, 714):  # three round letters touching: 174 px, 2.9 letters
        draw.ellipse((left, 60, left + 60, 130), outline=20, width=6)
    labels, segment_lines = segments_of(image)
    segments = segment_lines[0]
    assert len(segments) == 6 and all(not segment.pieces for segment in segments[:5])
    wide = segments[5]
    assert wide.pieces and wide.n_boundaries >= 4
    letter_width = 61
    for (i, j), piece in wide.pieces.items():
        assert 0 <= i < j < wide.n_boundaries
        assert PIECE_WIDTHS[0] * letter_width - 1 <= piece.col_to - piece.col_from <= PIECE_WIDTHS[1] * letter_width
    edges = sorted({edge for piece in wide.pieces.values() for edge in (piece.col_from, piece.col_to)})
    assert edges[0] == wide.options[0][0].left and edges[-1] == wide.options[0][-1].right
    for touching in (659, 716):  # where two rings touch, the ink is thinnest: a cut within a few pixels
        assert min(abs(edge - touching) for edge in edges) <= 4


def test_the_lattice_path_of_each_length_is_the_one_the_network_is_surest_of():
    from hdl_native.ocr.boxes import Segment
    from hdl_native.ocr.recognize import choose_cuts, lattice_paths

    confidence = {(0, 1): 0.9, (1, 2): 0.2, (2, 3): 0.9, (0, 2): 0.3, (1, 3): 0.8, (0, 3): 0.1}
    pieces = {key: f"piece{key}" for key in confidence}
    p_of = {f"piece{key}": value for key, value in confidence.items()}

    def probabilities_of(glyph):
        row = np.full(26, (1 - p_of[glyph]) / 25)
        row[0] = p_of[glyph]
        return row

    segment = Segment([["width-based"]], pieces=pieces, n_boundaries=4)
    p_of["width-based"] = 0.05
    paths = lattice_paths(segment, probabilities_of)
    assert paths == [[pieces[(0, 3)]], [pieces[(0, 1)], pieces[(1, 3)]],  # 0.9 * 0.8 beats 0.3 * 0.9
                     [pieces[(0, 1)], pieces[(1, 2)], pieces[(2, 3)]]]
    assert choose_cuts([segment], probabilities_of) == [pieces[(0, 1)], pieces[(1, 3)]]  # best mean of the logs
    assert lattice_paths(Segment([["whole"]]), probabilities_of) == []
    segment.max_pieces = 2  # a mark that may be one letter: paths of two pieces at most, RECUT_MARGIN behind
    assert lattice_paths(segment, probabilities_of) == paths[:2]
    p_of["width-based"] = 0.72 * np.exp(-0.35)  # (0, 1) + (1, 3) leads it by 0.35 nats: not by both margins
    assert choose_cuts([segment], probabilities_of) == ["width-based"]


def test_a_colon_is_one_glyph_of_two_specks_and_an_i_is_not():
    """boxes.py stacks a colon's two dots into one glyph, as it does an i's dot and stem; each glyph records its
    marks' sizes (Glyph.part_sizes), by which sizes.tiny_glyphs tells the colon from the i."""
    from hdl_native.ocr.sizes import tiny_glyphs

    image, draw = page_with_rings(1000)  # five round letters 70 px tall
    draw.ellipse((560, 82, 574, 96), fill=20)  # a colon: two dots 14 px across, 20 px apart
    draw.ellipse((560, 116, 574, 130), fill=20)
    draw.ellipse((640, 40, 654, 54), fill=20)  # an i: a dot over a stem as tall as the letters
    draw.rectangle((643, 62, 651, 130), fill=20)
    _, segment_lines = segments_of(image)
    glyphs = [segment.options[0][0] for segment in segment_lines[0]]
    assert len(glyphs) == 7
    colon, i = glyphs[5], glyphs[6]
    assert len(colon.part_sizes) == 2 and all(max(size) <= 16 for size in colon.part_sizes)
    assert len(i.part_sizes) == 2 and max(max(size) for size in i.part_sizes) >= 65
    assert list(tiny_glyphs(glyphs)) == [False] * 5 + [True, False]
