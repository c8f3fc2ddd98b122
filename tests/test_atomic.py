"""atomic_output: the old file or the new one, never half, and no temporary left behind."""
import os
import stat

import pytest

from hdl_native.atomic import atomic_output, current_umask


def test_the_new_bytes_replace_the_old_with_the_mode_open_would_give(tmp_path):
    path = tmp_path / "state.bin"
    path.write_bytes(b"old")
    with atomic_output(path) as stream:
        stream.write(b"new bytes")
    assert path.read_bytes() == b"new bytes"
    assert os.listdir(tmp_path) == ["state.bin"]
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~current_umask()


def test_text_mode_writes_the_encoding_asked_for(tmp_path):
    path = tmp_path / "labels.tsv"
    with atomic_output(path, "w", encoding="utf-8") as stream:
        stream.write("crop\tlabel é\n")
    assert path.read_bytes() == "crop\tlabel é\n".encode("utf-8")


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, error):
    path = tmp_path / "state.bin"
    path.write_bytes(b"old")
    with pytest.raises(error):
        with atomic_output(path) as stream:
            stream.write(b"half of the new")
            raise error()
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["state.bin"]


def test_a_missing_folder_is_an_os_error_for_the_caller_to_word(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_output(tmp_path / "no such folder" / "state.bin") as stream:
            stream.write(b"x")
