"""Lower layers never import higher ones (STYLE.md): training never imports inspection or the synthetic letters."""
import ast
from pathlib import Path

import hdl_native

PACKAGE = Path(hdl_native.__file__).parent
HIGHER = {"training": ("inspect", "synth", "commands", "programs")}


def imported_packages(path):
    """The hdl_native subpackages a module one package down imports (`from ..inspect import x`, `from .. import
    inspect`, `import hdl_native.inspect`), at its top or inside functions."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 2:
            names = [node.module] if node.module else [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("hdl_native."):
            names = [node.module.split(".", 1)[1]]
        elif isinstance(node, ast.Import):
            names = [alias.name.split(".", 1)[1] for alias in node.names if alias.name.startswith("hdl_native.")]
        else:
            continue
        yield from (name.split(".")[0] for name in names)


def test_training_imports_no_higher_layer():
    for lower, higher in HIGHER.items():
        offending = {f"{path.name} imports {package}" for path in (PACKAGE / lower).glob("*.py")
                     for package in imported_packages(path) if package in higher}
        assert not offending, sorted(offending)
