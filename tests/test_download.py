"""Downloads against a local HTTP server on 127.0.0.1 serving small files built here (there is no internet):
verified fetch, resume after an interruption (with and without Range support), checksum mismatch,
network errors, the EMNIST zip unpacked into files the loader reads, and the CLI's one-line errors."""
import hashlib
import io
import json
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import hdl_native.data.download as download_module
from hdl_native.cli import main
from hdl_native.data import load_dataset, write_idx
from hdl_native.data.datasets import clear_cache
from hdl_native.data.download import RemoteFile, Source, download_dataset, fetch
from hdl_native.errors import DataError


class Handler(BaseHTTPRequestHandler):
    """Serves server.files; honours Range only when server.ranges; drops the connection after
    server.cut_after body bytes once when that is set."""

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        data = server.files.get(self.path)
        if data is None:
            self.send_error(404, "no such file")
            return
        start, status = 0, 200
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if wanted and server.ranges == "wrong":
            status = 206
        elif wanted and server.ranges:
            start, status = int(wanted.group(1)), 206
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        body = data[start:]
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.cut_after is not None:
            body, server.cut_after = body[:server.cut_after], None
            self.close_connection = True
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files, httpd.requests, httpd.ranges, httpd.cut_after = {}, [], True, None
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/data"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def payload(n_bytes, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=n_bytes, dtype=np.uint8).tobytes()


def remote_for(name, data, **overrides):
    checks = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    checks.update(overrides)
    return RemoteFile(name, **checks)


def serve(server, name, data):
    server.files[f"/data/{name}"] = data
    return remote_for(name, data)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_downloads_and_verifies_every_file(server, tmp_path):
    files = tuple(serve(server, f"file{i}.gz", payload(3000 + i, seed=i)) for i in range(2))
    paths = download_dataset("mnist", tmp_path, base_url=server.url, progress=True,
                             source=Source("mnist", "unused", files))
    assert [p.name for p in paths] == ["file0.gz", "file1.gz"]
    for i, path in enumerate(paths):
        assert path.read_bytes() == payload(3000 + i, seed=i)
    assert leftovers(tmp_path / "mnist") == ["file0.gz", "file1.gz"]


def test_a_folder_that_cannot_be_written_names_the_files_there_that_fail_their_checksum(server, tmp_path,
                                                                                        monkeypatch):
    files = tuple(serve(server, f"file{i}.gz", payload(3000 + i, seed=i)) for i in range(3))
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "file0.gz").write_bytes(payload(3000, seed=0))  # as served: verified
    (tmp_path / "mnist" / "file1.gz").write_bytes(b"truncated")  # what a broken copy leaves
    real_access = download_module.os.access
    monkeypatch.setattr(download_module.os, "access", lambda path, mode: False if mode == download_module.os.W_OK
                        else real_access(path, mode))  # a read-only folder (the tests may run as root)
    with pytest.raises(DataError, match=r"cannot write to the download folder .*mnist, which holds file1\.gz not "
                                        r"matching its checksum; choose another with --dest DIR"):
        download_dataset("mnist", tmp_path, base_url=server.url, progress=False,
                         source=Source("mnist", "unused", files))
    assert server.requests == []


def test_verified_files_are_not_fetched_again(server, tmp_path):
    remote = serve(server, "x.gz", payload(500))
    source = Source("mnist", server.url, (remote,))
    download_dataset("mnist", tmp_path, source=source, progress=False)
    n_requests = len(server.requests)
    download_dataset("mnist", tmp_path, source=source, progress=False)
    assert len(server.requests) == n_requests == 1


def test_interrupted_download_resumes_with_range(server, tmp_path):
    data = payload(200_000)
    remote = serve(server, "big.gz", data)
    target = tmp_path / "big.gz"
    server.cut_after = 70_000
    with pytest.raises(DataError, match="interrupted after 70000 .*next run resumes"):
        fetch(f"{server.url}/big.gz", target, remote, progress=False)
    assert not target.exists()
    assert (tmp_path / "big.gz.part").stat().st_size == 70_000
    fetch(f"{server.url}/big.gz", target, remote, progress=False)
    assert server.requests[-1] == ("/data/big.gz", "bytes=70000-")
    assert target.read_bytes() == data
    assert leftovers(tmp_path) == ["big.gz"]


def test_server_without_range_support_starts_over(server, tmp_path):
    data = payload(150_000, seed=3)
    remote = serve(server, "big.gz", data)
    server.ranges = False
    server.cut_after = 40_000
    with pytest.raises(DataError, match="interrupted"):
        fetch(f"{server.url}/big.gz", tmp_path / "big.gz", remote, progress=False)
    fetch(f"{server.url}/big.gz", tmp_path / "big.gz", remote, progress=False)
    assert server.requests[-1] == ("/data/big.gz", "bytes=40000-")
    assert (tmp_path / "big.gz").read_bytes() == data
    assert leftovers(tmp_path) == ["big.gz"]


def test_server_answering_another_range_starts_over(server, tmp_path):
    data = payload(30_000, seed=10)
    remote = serve(server, "f.gz", data)
    (tmp_path / "f.gz.part").write_bytes(data[:1000])
    server.ranges = "wrong"
    fetch(f"{server.url}/f.gz", tmp_path / "f.gz", remote, progress=False)
    assert [r[1] for r in server.requests] == ["bytes=1000-", None]
    assert (tmp_path / "f.gz").read_bytes() == data


class InterruptingBar:
    """Stands in for tqdm: the user presses Ctrl-C once the first chunk is written."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        raise KeyboardInterrupt


def test_ctrl_c_keeps_the_part_and_the_next_run_resumes(server, tmp_path, monkeypatch, capsys):
    data = payload(300_000, seed=11)
    remote = serve(server, "f.gz", data)
    with monkeypatch.context() as patch:
        patch.setattr("tqdm.tqdm", InterruptingBar)
        with pytest.raises(KeyboardInterrupt):
            fetch(f"{server.url}/f.gz", tmp_path / "f.gz", remote)
    kept = (tmp_path / "f.gz.part").stat().st_size
    assert 0 < kept < len(data) and not (tmp_path / "f.gz").exists()
    assert "run the same command again to resume" in capsys.readouterr().err
    fetch(f"{server.url}/f.gz", tmp_path / "f.gz", remote, progress=False)
    assert server.requests[-1][1] == f"bytes={kept}-"
    assert (tmp_path / "f.gz").read_bytes() == data


def test_stale_part_is_discarded_and_fetched_whole(server, tmp_path):
    data = payload(10_000, seed=4)
    remote = serve(server, "f.gz", data)
    (tmp_path / "f.gz.part").write_bytes(b"not the same prefix")
    fetch(f"{server.url}/f.gz", tmp_path / "f.gz", remote, progress=False)
    assert [r[1] for r in server.requests] == ["bytes=19-", None]
    assert (tmp_path / "f.gz").read_bytes() == data


def test_complete_part_without_known_size_is_finished_via_416(server, tmp_path):
    data = payload(5_000, seed=5)
    server.files["/data/a.zip"] = data
    remote = RemoteFile("a.zip", md5=hashlib.md5(data).hexdigest())
    (tmp_path / "a.zip.part").write_bytes(data)
    fetch(f"{server.url}/a.zip", tmp_path / "a.zip", remote, progress=False)
    assert (tmp_path / "a.zip").read_bytes() == data and leftovers(tmp_path) == ["a.zip"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    data = payload(4_000, seed=6)
    server.files["/data/f.gz"] = data
    remote = remote_for("f.gz", data, sha256="0" * 64)
    with pytest.raises(DataError, match=r"failed verification: sha256 [0-9a-f]{64}, expected 0{64}"):
        fetch(f"{server.url}/f.gz", tmp_path / "f.gz", remote, progress=False)
    assert leftovers(tmp_path) == []


def test_wrong_size_is_a_mismatch(server, tmp_path):
    data = payload(4_000, seed=7)
    server.files["/data/f.gz"] = data
    with pytest.raises(DataError, match="size 4000 bytes, expected 4001"):
        fetch(f"{server.url}/f.gz", tmp_path / "f.gz", remote_for("f.gz", data, size=4001), progress=False)
    assert leftovers(tmp_path) == []


def test_http_error_names_the_url(server, tmp_path):
    with pytest.raises(DataError, match=f"{re.escape(server.url)}/missing.gz failed: HTTP 404"):
        fetch(f"{server.url}/missing.gz", tmp_path / "missing.gz", RemoteFile("missing.gz"), progress=False)
    assert leftovers(tmp_path) == []


def test_connection_refused_names_the_url(tmp_path):
    probe = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = probe.server_address[1]
    probe.server_close()
    url = f"http://127.0.0.1:{port}/f.gz"
    with pytest.raises(DataError, match=re.escape(url)):
        fetch(url, tmp_path / "f.gz", RemoteFile("f.gz"), progress=False)


@pytest.mark.parametrize("in_the_way", ["f.gz", "f.gz.part"])
def test_a_directory_where_the_file_goes_is_one_error_before_the_transfer(server, tmp_path, in_the_way):
    """A directory at the final name ended the download in a traceback from os.replace (the whole file fetched for
    nothing); one at the .part name was reported as a download 'interrupted after 0 bytes' that a rerun resumes."""
    remote = serve(server, "f.gz", payload(3_000))
    (tmp_path / in_the_way).mkdir()
    with pytest.raises(DataError, match=f"cannot download to .*f.gz: .*{re.escape(in_the_way)} is a directory"):
        fetch(f"{server.url}/f.gz", tmp_path / "f.gz", remote, progress=False)
    assert server.requests == []


def test_emnist_member_name_taken_by_a_directory_is_one_error(server, tmp_path):
    members, _ = emnist_letters_members(tmp_path)
    source = served_emnist(server, members)
    (tmp_path / "root" / "emnist" / "emnist-letters-test-images-idx3-ubyte.gz").mkdir(parents=True)
    with pytest.raises(DataError, match="emnist-letters-test-images-idx3-ubyte.gz is a directory"):
        download_dataset("emnist", tmp_path / "root", source=source, progress=False)


def test_a_dest_that_cannot_be_looked_into_is_one_error(capsys):
    """--dest with a folder that may not be searched (or, as here, a name too long) ended in a traceback from
    pathlib's is_file() while looking for files already downloaded."""
    assert main(["download", "mnist", "--dest", "x" * 300, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "cannot look for " in err and "File name too long" in err


def test_a_part_that_cannot_be_written_is_not_called_an_interruption(server, tmp_path, monkeypatch):
    """open() of the .part failing (no permission: root ignores the mode bits, so open is made to fail here) was
    reported as 'interrupted after 0 bytes ... the next run resumes from there', which it never would."""
    import builtins

    remote = serve(server, "f.gz", payload(3_000))
    real_open = builtins.open

    def refusing_open(file, mode="r", *args, **kwargs):
        if str(file).endswith(".part") and "b" in mode:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
    with pytest.raises(DataError) as raised:
        fetch(f"{server.url}/f.gz", tmp_path / "f.gz", remote, progress=False)
    assert str(raised.value) == f"cannot write {tmp_path / 'f.gz.part'}: Permission denied; choose another --dest DIR"


def nist_zip(members):
    """A zip laid out like NIST's gzip.zip: every member under gzip/."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("gzip/README.txt", "test archive")
        for name, data in members.items():
            zipped.writestr(f"gzip/{name}", data)
    return buffer.getvalue()


def emnist_letters_members(tmp_path, n=6):
    """NIST-style letters files: images transposed, labels 1..26; returns ({name: bytes}, upright images)."""
    rng = np.random.default_rng(8)
    upright = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    members = {}
    for split in ("train", "test"):
        images = write_idx(tmp_path / f"{split}-images.gz", upright.transpose(0, 2, 1).copy())
        labels = write_idx(tmp_path / f"{split}-labels.gz", np.arange(1, n + 1, dtype=np.uint8))
        members[f"emnist-letters-{split}-images-idx3-ubyte.gz"] = images.read_bytes()
        members[f"emnist-letters-{split}-labels-idx1-ubyte.gz"] = labels.read_bytes()
    return members, upright


def served_emnist(server, members, wrong_digests=None):
    """The Source of EMNIST's gzip.zip holding `members` ({name: bytes}), which `server` now serves; wrong_digests
    ({member name: sha256}) replace members' true checksums."""
    archive = nist_zip(members)
    server.files["/data/gzip.zip"] = archive
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    return Source("emnist", server.url, (RemoteFile("gzip.zip", md5=hashlib.md5(archive).hexdigest()),),
                  {**digests, **(wrong_digests or {})})


def test_emnist_archive_unpacks_to_loadable_files(server, tmp_path):
    members, upright = emnist_letters_members(tmp_path)
    source = served_emnist(server, members)
    dest = tmp_path / "root"
    paths = download_dataset("emnist", dest, source=source, progress=False)
    assert sorted(p.name for p in paths) == sorted(members)
    assert leftovers(dest / "emnist") == sorted(members)
    clear_cache()
    ds = load_dataset("emnist-letters", "test", dest)
    np.testing.assert_array_equal(ds.images, upright)
    assert ds.labels.tolist() == list(range(6))


def test_emnist_member_with_wrong_checksum(server, tmp_path):
    members, _ = emnist_letters_members(tmp_path)
    source = served_emnist(server, members, {"emnist-letters-test-images-idx3-ubyte.gz": "f" * 64})
    with pytest.raises(DataError, match="emnist-letters-test-images-idx3-ubyte.gz failed verification"):
        download_dataset("emnist", tmp_path / "root", source=source, progress=False)
    assert "emnist-letters-test-images-idx3-ubyte.gz" not in leftovers(tmp_path / "root" / "emnist")


def test_archive_that_is_not_a_zip(server, tmp_path):
    junk = payload(1000, seed=9)
    server.files["/data/gzip.zip"] = junk
    source = Source("emnist", server.url, (RemoteFile("gzip.zip", md5=hashlib.md5(junk).hexdigest()),),
                    {"emnist-digits-test-labels-idx1-ubyte.gz": "0" * 64})
    with pytest.raises(DataError, match="not a readable zip archive"):
        download_dataset("emnist", tmp_path, source=source, progress=False)


def test_cli_reports_mismatch_in_one_line(server, tmp_path, capsys):
    """The real MNIST checksums cannot match the small files served here: a clean error, exit 2."""
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        server.files[f"/data/{name}"] = payload(100)
    code = main(["download", "mnist", "--dest", str(tmp_path), "--base-url", server.url, "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "train-images-idx3-ubyte.gz failed verification" in err
    assert leftovers(tmp_path / "mnist") == []


def test_cli_uses_base_url_from_environment(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HDL_DOWNLOAD_BASE", server.url)
    code = main(["download", "mnist", "--dest", str(tmp_path), "--no-progress"])
    assert code == 2
    assert f"{server.url}/train-images-idx3-ubyte.gz" in capsys.readouterr().err


def test_cli_draws_its_bar_only_where_stderr_is_a_terminal(server, tmp_path, capsys, monkeypatch):
    """Without --no-progress the bar was drawn on any stderr: a pipe or a log file got tqdm's lines before the
    error (here: the real checksums refuse the small file served)."""
    from hdl_native import progress

    server.files["/data/train-images-idx3-ubyte.gz"] = payload(100_000)
    command = ["download", "mnist", "--dest", str(tmp_path), "--base-url", server.url]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "failed verification" in err
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    assert main(command) == 2
    assert "train-images-idx3-ubyte.gz:" in capsys.readouterr().err  # the bar, named after the file


def test_cli_fetches_real_mnist_with_its_real_checksums(server, tmp_path, capsys, data_root):
    """Serve the real LeCun files locally: the built-in checksums accept them and the loader reads the result."""
    from conftest import require_dataset

    mnist = require_dataset(data_root, "mnist")
    for path in mnist.glob("*-ubyte.gz"):
        server.files[f"/data/{path.name}"] = path.read_bytes()
    code = main(["download", "mnist", "--dest", str(tmp_path), "--base-url", server.url, "--no-progress", "--json"])
    assert code == 0, capsys.readouterr().err
    assert len(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["files"]) == 4
    assert leftovers(tmp_path / "mnist") == sorted(p.name for p in mnist.glob("*-ubyte.gz"))
    clear_cache()
    assert load_dataset("mnist", "train", tmp_path).labels[:3].tolist() == [5, 0, 4]
