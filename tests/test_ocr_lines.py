"""Text lines: the row model that makes lines sharp, for parallel lines and for lines converging in a photo
taken at an angle."""
import numpy as np

from hdl_native.ocr.lines import RowModel, estimate_rows, line_borders


def ink_along(lines, rng, width=1500, per_line=3000, thickness=12):
    """(ys, xs): ink pixels scattered along straight lines y = intercept + slope x."""
    ys, xs = [], []
    for intercept, slope in lines:
        x = rng.uniform(0, width, per_line)
        ys.append(intercept + slope * x + rng.uniform(0, thickness, per_line))
        xs.append(x)
    return np.rint(np.concatenate(ys)).astype(np.int64), np.rint(np.concatenate(xs)).astype(np.int64)


def separated(model, lines, rng, letter_height=12):
    """Whether the model's rows give one band between borders per line, each holding 98% of its line's ink."""
    all_ys, all_xs = ink_along(lines, rng)
    borders = line_borders(model.rows(all_ys, all_xs), letter_height)
    if len(borders) != len(lines) - 1:
        return False
    for number, line in enumerate(lines):
        ys, xs = ink_along([line], rng)
        if np.mean(np.searchsorted(borders, model.rows(ys, xs)) == number) < 0.98:
            return False
    return True


def test_parallel_tilted_lines_get_one_angle_and_no_fan():
    rng = np.random.default_rng(0)
    lines = [(100 + 60 * k, np.tan(np.deg2rad(2.0))) for k in range(10)]
    ys, xs = ink_along(lines, rng)
    model = estimate_rows(ys, xs)
    assert model.fan == 0.0 and abs(model.angle + 2.0) <= 0.25  # rows = y cos a + x sin a: a = -2 undoes +2
    assert separated(model, lines, rng)


def test_converging_lines_get_a_fan_that_separates_them():
    rng = np.random.default_rng(1)
    # ten lines through a point far to the right: the top one slopes down by 3.9 degrees, the bottom one up
    vanish_x, vanish_y = 4000.0, 370.0
    lines = [(100 + 60 * k, (vanish_y - (100 + 60 * k)) / vanish_x) for k in range(10)]
    ys, xs = ink_along(lines, rng)
    parallel = RowModel(estimate_rows(ys, xs).angle, 0.0, float(xs.mean()), float(ys.mean()))
    model = estimate_rows(ys, xs)
    assert model.fan != 0.0
    assert separated(model, lines, rng)
    assert not separated(parallel, lines, rng)


def test_row_model_with_no_fan_is_a_rotation():
    ys, xs = np.array([10.0, 50.0, 90.0]), np.array([0.0, 300.0, 600.0])
    model = RowModel(3.0, 0.0, 300.0, 50.0)
    angle = np.deg2rad(3.0)
    np.testing.assert_allclose(model.rows(ys, xs), ys * np.cos(angle) + (xs - 300.0) * np.sin(angle))
