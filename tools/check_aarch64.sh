#!/usr/bin/env bash
# Build the kernels for 64-bit ARM (aarch64) with a cross compiler and run test files under emulation,
# on an x86-64 Debian 12 machine with root (apt, dpkg, binfmt_misc) and a python3 with pip.  Nothing
# here measures speed: qemu emulates the CPU, so only correctness means anything.
#
#   sudo bash tools/check_aarch64.sh WORK_DIR [TEST_FILE ...]     # default: the kernel tests
#
# 1. installs gcc-aarch64-linux-gnu and qemu-user-static (which registers qemu for aarch64 programs,
#    so that tests which start `python -m hdl_native ...` work too);
# 2. unpacks Debian's aarch64 CPython 3.11 and the libraries it needs into WORK_DIR/root (not installed:
#    qemu finds them through QEMU_LD_PREFIX) and the aarch64 wheels of numpy, scipy ... into WORK_DIR/site;
# 3. builds this checkout's extensions in a copy (WORK_DIR/src) with aarch64-linux-gnu-gcc, run by the
#    aarch64 Python's own setup.py (so numpy's headers and the extension suffix are aarch64's);
# 4. runs the test files under the aarch64 Python.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bash tools/check_aarch64.sh WORK_DIR [TEST_FILE ...]" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "check_aarch64.sh: needs root (apt-get, dpkg, binfmt_misc)" >&2; exit 2; }
work=$(mkdir -p "$1" && cd "$1" && pwd); shift
tests=("$@"); [ ${#tests[@]} -gt 0 ] || tests=(tests/test_build_config.py tests/test_int8.py tests/test_packed_gemm.py tests/test_ops.py
                                               tests/test_kernels.py tests/test_optim.py tests/test_recurrent.py tests/test_graph.py)
root="$(cd "$(dirname "$0")/.." && pwd)"

dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -q; }
apt-get install -y -q gcc-aarch64-linux-gnu qemu-user-static binfmt-support > /dev/null
[ -e /proc/sys/fs/binfmt_misc/register ] || mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64

mkdir -p "$work/debs" "$work/root" "$work/wheels" "$work/site"
(cd "$work/debs" && for p in python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libpython3.11-dev \
    libpython3.11 libc6 libgomp1 zlib1g libexpat1 libffi8 libssl3 libsqlite3-0 libbz2-1.0 liblzma5 libncursesw6 \
    libtinfo6 libreadline8 libuuid1 libdb5.3 libgdbm6 libnsl2 libtirpc3 libcrypt1 libstdc++6 libgcc-s1 \
    libgfortran5 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1; do
    apt-get download -q "$p:arm64" > /dev/null; done)
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/root"; done
python3 -m pip download --quiet --only-binary=:all: --dest "$work/wheels" --python-version 3.11 \
    --implementation cp --abi cp311 --abi abi3 --abi none --platform manylinux_2_28_aarch64 \
    --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 \
    numpy scipy threadpoolctl tqdm Pillow matplotlib pytest pytest-benchmark Cython setuptools wheel
for wheel in "$work"/wheels/*.whl; do python3 -m zipfile -e "$wheel" "$work/site"; done

rm -rf "$work/src" && mkdir "$work/src"
(cd "$root" && git ls-files | tar -cf - -T -) | tar -xf - -C "$work/src"
export QEMU_LD_PREFIX="$work/root" PYTHONPATH="$work/site:$work/src"
python="$work/root/usr/bin/python3.11"
(cd "$work/src" && CC=aarch64-linux-gnu-gcc LDSHARED="aarch64-linux-gnu-gcc -shared" \
    CFLAGS="-I$work/root/usr/include/python3.11 -I$work/root/usr/include" \
    "$python" setup.py build_ext --inplace -j 2 > "$work/build.log" 2>&1) || { tail -30 "$work/build.log"; exit 1; }
cd "$work/src"
"$python" -m hdl_native --version --verbose
"$python" -m pytest -q -p no:cacheprovider -o addopts="--import-mode=importlib -rfE" "${tests[@]}"
