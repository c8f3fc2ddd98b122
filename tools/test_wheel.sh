#!/usr/bin/env bash
# Test a built wheel as a user gets it:
#
#   bash tools/test_wheel.sh WHEEL [PYTHON]        (PYTHON default python3)
#
# Installs WHEEL with its test extras into a fresh venv of PYTHON, then runs
# this checkout's test suite against it with a PATH that holds no C compiler
# (only the venv's bin and links to the outside programs the package calls),
# from a directory outside the checkout so nothing in it can shadow the
# installed package.  HDL_EXPECT_WHEEL=1 turns on tests/test_wheel.py.
set -euo pipefail

wheel="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
python="${2:-python3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
"$work/venv/bin/python" -m pip install --quiet "$wheel[test]" > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }

mkdir "$work/bin"
for program in fc-list; do  # hdl_native.synth.fonts asks fc-list for the installed fonts
    if found="$(command -v "$program")"; then ln -s "$found" "$work/bin/$program"; fi
done
test_path="$work/venv/bin:$work/bin"
for compiler in cc gcc c++ g++ clang; do
    if PATH="$test_path" command -v "$compiler"; then
        echo "test_wheel: $compiler is on the test PATH" >&2
        exit 1
    fi
done
echo "no compiler on PATH ($test_path)"

mkdir "$work/outside"
cp -r "$root/tests" "$root/pyproject.toml" "$work/outside/"
cd "$work/outside"
PATH="$test_path" HDL_EXPECT_WHEEL=1 "$work/venv/bin/hdl-native" --version --verbose
PATH="$test_path" HDL_EXPECT_WHEEL=1 "$work/venv/bin/pytest"
