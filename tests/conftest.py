"""Shared fixtures: where the real data is and what reads letters, skipping cleanly when either is missing."""
import os
from pathlib import Path

import pytest
from tiny_sets import write_tiny_data


def real_data_root():
    """The directory HDL_DATA names, or None when unset or missing."""
    root = os.environ.get("HDL_DATA")
    if root and Path(root).is_dir():
        return Path(root)
    return None


@pytest.fixture
def data_root():
    """Root of the real datasets (mnist/, letters/, ...); skips the test when absent."""
    root = real_data_root()
    if root is None:
        pytest.skip("real data not found: set HDL_DATA to the folder holding mnist/ and letters/ "
                    "(CI sets it to ../shared/data)")
    return root


def require_dataset(root, folder):
    """Skip unless `root/folder` exists (e.g. 'mnist' or 'letters')."""
    if not (root / folder).is_dir():
        pytest.skip(f"dataset folder {root / folder} not found")
    return root / folder


def letters_classifier(model=None):
    """The OCR's letter classifier from the state file `model` (None: the packaged one); skips the test when there
    is none to read with."""
    from hdl_native.ocr.model import load_letter_classifier

    try:
        return load_letter_classifier(model)
    except Exception as error:  # no model to read with: reading cannot be measured
        pytest.skip(f"no letters model to read with: {error}")


@pytest.fixture
def tiny_data(tmp_path):
    """A data root with a small 'letters' (26 classes) and 'mnist' (10 classes) set."""
    return write_tiny_data(tmp_path / "data")
