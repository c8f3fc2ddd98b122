"""A picture pasted on a flat canvas: only the photo in it holds writing.

A screenshot of a photo shows the app's bars above and below it (white or light grey in a light theme);
a photo turned in an editor has its corners filled with one colour; a small photo may be pasted into a big
white picture.  Such a canvas is brighter than the photo's paper, and flat: the sheet finder (sheet.py)
took it for the sheet and the photo for a desk, and the paper estimate (lighting.py, a grey closing, which
takes the brightest nearby) carried its white into the photo along the edge, where the paper then read as
ink (a white screenshot of test1.jpg read "jiiiifij"; turned 20 degrees with white corners, 6,518 marks
along the edges, read four ways for minutes).

A canvas is told from paper by being one level exactly, where paper has grain:

1. the commonest grey level of the picture's outer ring of pixels, if RING_SHARE of the ring is within
   LEVEL_TOLERANCE of it;
2. the pixels within LEVEL_TOLERANCE of that level, opened by SOLID_SIZE (a canvas is solid; the pixels of
   grainy paper that happen to be at that level are specks), in regions that touch the picture's border;
3. a canvas only if it covers MIN_CANVAS of the picture and the rest holds a photo: one region (holes
   filled) of MIN_PHOTO of the picture or more, at most PHOTO_AT_LEVEL of whose pixels are at the canvas's
   level.  A clean page of uniform paper fails this (its paper touches the border and is one level, but
   the rest is letters and rules, small or, on squared paper, enclosing cells of that same paper), and so
   does a scan whose white paper is clipped to 255; the photo is also PHOTO_OF_THE_REST of what is not canvas
   (a clean page's text lines, each in its JPEG halo, are many regions);
4. and only if the photo beside it has grain where the canvas has none (GRAIN_BESIDE of its pixels off the
   line through their neighbours: grain_share): a JPEG saved at a low quality makes smooth paper flat 8x8
   blocks, whole stretches of it at one level joined to the border (held-out pages at quality 10: 13% of the
   picture), and the paper beside them is flat blocks too; so is a shadow on a page drawn without grain.  A
   canvas as bright as the grainy paper beside it counts: its flat pixels, most of a screenshot, made the
   grain's spread nothing and the grain all ink;
5. the pixels at its level near it (TIP_REACH) join it: the opening cuts off a canvas's narrow tips, where a
   turned photo's corner meets the picture's border, and their white left beside the photo made marks there.
"""
import numpy as np
from scipy import ndimage

RING_SHARE = 0.3  # of the picture's outer ring of pixels at one level (within LEVEL_TOLERANCE): maybe a canvas
LEVEL_TOLERANCE = 2 / 255  # a flat canvas's pixels differ from its level by at most this (JPEG, resizing)
SOLID_SIZE = 5  # px: the canvas is opened by this square, so the specks of paper at its level drop out
TIP_REACH = 20  # px: the pixels at the canvas's level this near it are canvas too (its tips the opening cut)
MIN_CANVAS = 0.02  # of the picture: a smaller canvas is left alone
MIN_PHOTO = 0.05  # of the picture: the photo inside the canvas is at least this big ...
PHOTO_AT_LEVEL = 0.5  # ... and at most this share of its pixels are at the canvas's level
PHOTO_OF_THE_REST = 0.9  # ... and it holds at least this share of what is not canvas (a status bar's icons: little)
GRAIN_BESIDE = 0.35  # ... and at least this share of the pixels beside it are grain (grain_share): it has none
EDGE_MARGIN_FRACTION = 1 / 200  # of the longest side: the band along the canvas's edge that holds no ink
PAINT_PERCENTILE = 5  # the canvas is painted this percentile of the photo's grey: darker than its paper


def canvas_mask(grey):
    """(H, W) bool: True on a flat canvas around the photo; None when there is none (the usual photo).

    grey: (H, W) float32 in [0, 1], the picture's luminance.
    """
    level = ring_level(grey)
    if level is None:
        return None
    at_level = np.abs(grey - level) <= LEVEL_TOLERANCE
    canvas = touching_the_border(opened(at_level, SOLID_SIZE))
    if canvas is None:
        return None
    if canvas.mean() < MIN_CANVAS:
        return None
    photo = largest_region(~canvas)
    if photo is None or photo.mean() < MIN_PHOTO or at_level[photo].mean() > PHOTO_AT_LEVEL:
        return None
    if np.count_nonzero(photo & ~canvas) < PHOTO_OF_THE_REST * np.count_nonzero(~canvas):
        return None  # many regions, not one photo: a clean page's text lines, each in its JPEG halo
    if grain_share(grey, band_beside(canvas)) < GRAIN_BESIDE:
        return None  # flat paper beside it: it is paper too (a coarse JPEG's, a shadow's on a page drawn clean)
    # and the pixels at its level near it: the opening cut off the canvas's narrow tips where a turned photo's
    # corner meets the picture's border, and their white, left beside the photo's paper, made marks there
    return canvas | (at_level & near(canvas, TIP_REACH))


def band_beside(canvas):
    """(H, W) bool: a band just beyond the canvas's edge margin (off_canvas), as wide again; the rest of the
    picture where there is no such band."""
    band = near(canvas, 2 * edge_margin(canvas)) & off_canvas(canvas)
    return band if band.any() else ~canvas


def grain_share(grey, where):
    """The share of the pixels inside `where` ((H, W) bool) whose grey level (of 256, as a picture's file holds
    them) departs from the mean of its left and right neighbours' by a level or more (a second difference of 2 or
    more): grain.  0.57 to 0.81 beside the photos of screenshots and turned copies of test1.jpg; 0.02 to 0.17 on a
    coarse JPEG's flat 8x8 blocks, 0.19 on a page drawn without grain, whose shading is smooth however it runs."""
    inside = where[:, :-2] & where[:, 1:-1] & where[:, 2:]
    if not inside.any():
        return 0.0
    levels = np.round(grey * 255)
    second = np.abs(levels[:, :-2] - 2 * levels[:, 1:-1] + levels[:, 2:])
    return float(np.mean(second[inside] >= 2))


def touching_the_border(mask):
    """(H, W) bool: the connected regions of `mask` that touch the picture's border; None if there are none."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    touching = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep = np.zeros(count + 1, bool)
    keep[touching] = True
    keep[0] = False
    return keep[labels] if keep.any() else None


def ring_level(grey):
    """The grey level of the commonest value on the picture's outer ring of pixels, if RING_SHARE of the ring
    lies within LEVEL_TOLERANCE of it; else None."""
    ring = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    counts = np.bincount(np.clip(np.round(ring * 255), 0, 255).astype(np.int64), minlength=256)
    level = float(np.argmax(counts)) / 255
    return level if np.mean(np.abs(ring - level) <= LEVEL_TOLERANCE) >= RING_SHARE else None


def opened(mask, size):
    """(H, W) bool: `mask` opened by a square of `size` (a minimum then a maximum filter, which split by rows and
    columns: fast at any size)."""
    as_bytes = mask.view(np.uint8)
    return ndimage.maximum_filter(ndimage.minimum_filter(as_bytes, size), size).astype(bool)


def largest_region(mask):
    """(H, W) bool: the largest connected region of `mask` with its holes filled; None if `mask` is empty."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return ndimage.binary_fill_holes(labels == int(np.argmax(sizes)))


def painted(grey, canvas):
    """A copy of `grey` with the canvas painted PAINT_PERCENTILE of the rest's grey: a little darker than the
    photo's paper, so the paper estimate (a closing: the brightest nearby, then the darkest) keeps the paper's
    own level up to the canvas, and the sheet finder does not take the canvas for the sheet."""
    painted_grey = grey.copy()
    painted_grey[canvas] = np.float32(np.percentile(grey[~canvas][::7], PAINT_PERCENTILE))
    return painted_grey


def off_canvas(canvas):
    """(H, W) bool: the picture outside the canvas and a margin along its edge (EDGE_MARGIN_FRACTION of the
    longest side), where a turned photo's smoothed edge and a JPEG's ringing lie: where ink may be."""
    return ~near(canvas, edge_margin(canvas))


def near(mask, reach):
    """(H, W) bool: the pixels within `reach` px of `mask` (a square's reach; a maximum filter, which splits by rows
    and columns: fast at any reach)."""
    return ndimage.maximum_filter(mask.view(np.uint8), 2 * reach + 1) > 0


def edge_margin(canvas):
    """px: the band along the canvas's edge that holds no ink, EDGE_MARGIN_FRACTION of the longest side."""
    return max(1, round(max(canvas.shape) * EDGE_MARGIN_FRACTION))
