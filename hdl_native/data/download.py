"""Fetch MNIST and EMNIST over HTTP: checksummed, resumable, and never half-written under the final name.

A file is downloaded to ``<name>.part`` next to its destination.  An interrupted
run leaves that part behind, and the next run asks the server for the rest with
an HTTP Range request (starting over when the server ignores ranges).  Only a
complete file whose checksum matches is fsync'ed and renamed to its final name.
"""
import hashlib
import http.client
import os
import re
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import fsync_directory
from ..errors import DataError
from .paths import is_data_file

BASE_URL_ENV = "HDL_DOWNLOAD_BASE"
TIMEOUT_SECONDS = 60
_CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: its name (appended to the base URL and used on disk), size and checksums."""

    name: str
    size: int = None
    sha256: str = None
    md5: str = None


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from: a folder under the data root, a default base URL and the files there.

    archive_members: for a zip download, {file name inside the archive: sha256}; those files
    are unpacked into the folder and the archive is removed once they all verify.
    """

    folder: str
    base_url: str
    files: tuple
    archive_members: dict = field(default_factory=dict)


MNIST = Source(
    folder="mnist",
    base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    files=(
        RemoteFile("train-images-idx3-ubyte.gz", 9912422,
                   "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        RemoteFile("train-labels-idx1-ubyte.gz", 28881,
                   "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        RemoteFile("t10k-images-idx3-ubyte.gz", 1648877,
                   "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        RemoteFile("t10k-labels-idx1-ubyte.gz", 4542,
                   "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    ),
)

# NIST publishes no checksum; the MD5 of gzip.zip is the one torchvision pins.  The unpacked
# files' SHA-256 values are NIST's originals (see the shared data README).
EMNIST = Source(
    folder="emnist",
    base_url="https://biometrics.nist.gov/cs_links/EMNIST/",
    files=(RemoteFile("gzip.zip", md5="58c8d27c78d21e728a6bc7b3cc06412e"),),
    archive_members={
        "emnist-letters-train-images-idx3-ubyte.gz": "6288f418a917e007bf5fddb823a2dc7a5c6a35031401b93292a539cb12bd881f",
        "emnist-letters-test-images-idx3-ubyte.gz": "50f0e93d75b99b463e9760b8345866f22587fa2c2fba472730a5ba09c693412d",
        "emnist-letters-train-labels-idx1-ubyte.gz": "9759af91ea6bccdf07a6040fd085861f2ec88e37f7c3f5760f6feb57106fbe5c",
        "emnist-letters-test-labels-idx1-ubyte.gz": "924955c31fe7fd809b7303b5c0141282955f4b8390c74cdfd5d80435e0f4b4cb",
        "emnist-digits-train-images-idx3-ubyte.gz": "f7c95004d14d81af89522e67d8f0c781dfb3bd544181c81bfe1eb6b41c35b726",
        "emnist-digits-test-images-idx3-ubyte.gz": "20ebe43509264f7639d37c835a3f0b009e90b29e00a099a03101abe1644a3f63",
        "emnist-digits-train-labels-idx1-ubyte.gz": "6638a6ff5fe2eefd9cca2471995b46c82986b8e4b2a70d2f5ce8e05d7edb319e",
        "emnist-digits-test-labels-idx1-ubyte.gz": "bad1834c45d5988e270b99d43b13edc3fd898f658ffbc2caf2846ef27f7b05b0",
    },
)

SOURCES = {"mnist": MNIST, "emnist": EMNIST}


def download_dataset(name, dest, base_url=None, source=None, progress=True, keep_archive=False):
    """Fetch dataset `name` ('mnist' or 'emnist') into dest/<folder>/; returns the final file paths.

    base_url: overrides the source's URL (default: $HDL_DOWNLOAD_BASE, else the official mirror).
    source: a Source to use instead of the built-in one (tests pass small files with their checksums).
    Files already present with the right checksum are not fetched again.
    """
    source = source or SOURCES.get(name)
    if source is None:
        raise DataError(f"unknown download {name!r}; choose one of {', '.join(SOURCES)}")
    base_url = base_url or os.environ.get(BASE_URL_ENV) or source.base_url
    folder = Path(dest).expanduser() / source.folder
    wanted = ([RemoteFile(member, sha256=digest) for member, digest in source.archive_members.items()]
              if source.archive_members else list(source.files))
    unverified = [remote.name for remote in wanted if not _verified(folder / remote.name, remote)]
    if not unverified:
        return [folder / remote.name for remote in wanted]
    _make_folder(folder, [name for name in unverified if (folder / name).exists()])
    fetched = [fetch(_join(base_url, remote.name), folder / remote.name, remote, progress) for remote in source.files]
    if not source.archive_members:
        return fetched
    paths = []
    for archive in fetched:
        paths += unpack_members(archive, folder, source.archive_members)
        if not keep_archive:
            archive.unlink()
    return paths


def fetch(url, path, remote, progress=True, timeout=TIMEOUT_SECONDS):
    """Download url to path through path.part, resuming a previous part; verify, fsync, rename. Returns path."""
    path = Path(path)
    if _verified(path, remote):
        return path
    part = path.with_name(path.name + ".part")
    _check_room_for(path)
    for attempt in range(2):
        resumed_from = part.stat().st_size if part.exists() else 0
        if remote.size is not None and resumed_from > remote.size:
            part.unlink()
            resumed_from = 0
        if remote.size is None or resumed_from < remote.size:
            _transfer(url, part, resumed_from, progress, timeout)
        problem = _checksum_problem(part, remote)
        if problem is None:
            _commit(part, path)
            return path
        part.unlink()
        if resumed_from == 0 or attempt == 1:
            raise DataError(f"download of {url} failed verification: {problem}. The download was discarded "
                            f"and nothing was written to {path}; try again, or check the URL")
    raise AssertionError("unreachable: the loop either returns or raises")


def unpack_members(archive, folder, members):
    """Extract the named files (matched by base name anywhere in the zip) into folder, each verified by sha256."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            by_name = {Path(info.filename).name: info for info in zipped.infolist() if not info.is_dir()}
            missing = [member for member in members if member not in by_name]
            if missing:
                raise DataError(f"{archive}: the archive lacks {', '.join(missing)}")
            for member in members:
                _check_room_for(folder / member)
            paths = []
            for member, digest in members.items():
                target = folder / member
                part = target.with_name(member + ".part")
                _extract(zipped, by_name[member], part)
                problem = _checksum_problem(part, RemoteFile(member, sha256=digest))
                if problem:
                    part.unlink()
                    raise DataError(f"{archive}: member {member} failed verification: {problem}")
                _commit(part, target)
                paths.append(target)
            return paths
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as error:
        raise DataError(f"{archive}: not a readable zip archive ({error})") from None


def _extract(zipped, info, part):
    """Copy one archive member to part and fsync it; a failure leaves no part behind."""
    try:
        with zipped.open(info) as source, open(part, "wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _transfer(url, part, resumed_from, progress, timeout):
    """Append the bytes after `resumed_from` to part (or rewrite it when the server sends everything)."""
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "hdl-native"})
    if resumed_from:
        request.add_header("Range", f"bytes={resumed_from}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and resumed_from:
            return
        raise DataError(f"download of {url} failed: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        raise DataError(f"download of {url} failed: {getattr(error, 'reason', error)}; check the network "
                        f"connection, or fetch the file elsewhere and put it in {part.parent}") from None
    with response:
        start = _start_offset(response, resumed_from)
        if start is None:
            response.close()
            part.unlink()
            return _transfer(url, part, 0, progress, timeout)
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        written = start
        try:
            out = open(part, "r+b" if start else "wb")
        except OSError as error:  # not an interruption: running again would fail the same way
            raise DataError(f"cannot write {part}: {error.strerror}; choose another --dest DIR") from None
        try:
            with out, tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=part.name[:-5], disable=not progress, leave=False) as bar:
                out.seek(start)
                out.truncate()
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except (OSError, http.client.HTTPException) as error:
            raise DataError(f"download of {url} was interrupted after {written} bytes ({error}); "
                            f"they are kept in {part} and the next run resumes from there") from None
        except KeyboardInterrupt:
            print(f"\n{written} bytes of {url} are kept in {part}; run the same command again to resume",
                  file=sys.stderr)
            raise
    if total is not None and written < total:
        raise DataError(f"download of {url} was interrupted after {written} of {total} bytes; "
                        f"they are kept in {part} and the next run resumes from there")


def _start_offset(response, resumed_from):
    """Where the body starts in the file: resumed_from for a matching 206 reply, 0 for a full body,
    None when the server sent some other range (then the part is useless and the download starts over)."""
    if response.status != 206:
        return 0
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    if not match or int(match.group(1)) != resumed_from:
        return None
    return resumed_from


def _checksum_problem(path, remote):
    """None when path matches the remote file's size and checksums, else what differs."""
    if remote.size is not None and path.stat().st_size != remote.size:
        return f"size {path.stat().st_size} bytes, expected {remote.size}"
    wanted = {kind: value for kind, value in (("sha256", remote.sha256), ("md5", remote.md5)) if value}
    if not wanted:
        return None
    hashers = {kind: hashlib.new(kind) for kind in wanted}
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            for hasher in hashers.values():
                hasher.update(chunk)
    for kind, value in wanted.items():
        got = hashers[kind].hexdigest()
        if got != value.lower():
            return f"{kind} {got}, expected {value}"
    return None


def _verified(path, remote):
    return is_data_file(path) and _checksum_problem(path, remote) is None


def _commit(part, path):
    """Rename a complete, fsync'ed part to its final name and make the rename durable."""
    os.replace(part, path)
    fsync_directory(path.parent)


def _check_room_for(path):
    """DataError when a directory (or another non-file) stands at `path` or at its `.part`, where open or the final
    rename would fail with a traceback after the transfer."""
    for target in (path, path.with_name(path.name + ".part")):
        if target.exists() and not target.is_file():
            raise DataError(f"cannot download to {path}: {target} is a directory (or another non-file) where the "
                            f"download goes; move it away, or choose another --dest DIR")


def _make_folder(folder, unverified=()):
    """Create `folder` and check it can be written; `unverified`: the names of files there that failed their
    checksum (or size), which a folder that cannot be written keeps, so its error names them."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create the download folder {folder}: {error.strerror}") from None
    if not os.access(folder, os.W_OK):
        held = (f", which holds {', '.join(unverified)} not matching {'its' if len(unverified) == 1 else 'their'} "
                "checksum" if unverified else "")
        raise DataError(f"cannot write to the download folder {folder}{held}; choose another with --dest DIR")


def _join(base_url, name):
    return base_url.rstrip("/") + "/" + name
