"""The float32 reader runs a line's crops in batches of MIN_BATCH to 2 MIN_BATCH images, and each image comes
out as one big batch gives it: the same bits where OpenBLAS's GEMM sums in an order that does not depend on the
batch (its SkylakeX kernels), within float32 rounding where it does (its Haswell kernels, which
OPENBLAS_CORETYPE=Haswell pins on some machines: 447 of 700 images differ by up to 1e-5 in a log-probability, none
in its answer); below about 45 images the
kernels' arithmetic takes another path, which is why the batches are not smaller."""
import numpy as np

from hdl_native.ocr import recognize
from hdl_native.ocr.model import load_letter_classifier


def test_many_crops_are_read_in_batches_as_one_batch_reads_them(monkeypatch):
    reader = load_letter_classifier()
    images = np.random.default_rng(0).normal(0, 1, (700, 1, 28, 28)).astype(np.float32)
    sizes = []
    batch = reader._batch
    monkeypatch.setattr(reader, "_batch", lambda part: sizes.append(len(part)) or batch(part))
    in_batches = reader.log_probabilities_of(images)
    assert sizes == [234, 233, 233] and all(recognize.MIN_BATCH <= size <= 2 * recognize.MIN_BATCH for size in sizes)
    monkeypatch.setattr(recognize, "MIN_BATCH", 10_000)  # one batch of all 700
    in_one = reader.log_probabilities_of(images)
    np.testing.assert_allclose(in_batches, in_one, rtol=1e-5, atol=1e-5)  # an image out of place is off by units
    assert np.array_equal(in_batches.argmax(axis=1), in_one.argmax(axis=1))
    sizes.clear()
    assert reader.log_probabilities_of(images[:256]).shape == (256, len(reader.network_classes)) and sizes == [256]
