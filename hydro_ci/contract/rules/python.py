"""Rules on the runtime code, read as a Python AST (never imported or run): the python runtime
calls the signature's function in ``src/func_main.py`` (as the payload lays it out)."""

from __future__ import annotations

import ast
import os

from hydro_ci.contract import yamlfile
from hydro_ci.contract.payload import func_main_source, layout
from hydro_ci.contract.reader import Declared
from hydro_ci.diagnostics import Location, Problem, did_you_mean
from hydro_ci.errors import ProblemsError


def check_signature_function(d: Declared) -> list[Problem]:
    source, signature = d.contract_source, d.signature
    if source is None or signature is None or not d.is_python_runtime:
        return []
    name = signature.name
    where = source.locate(("signature",))
    # /model/files/src/func_main.py comes from the payload entry that lands at src/ (e.g. calculator/src/)
    path = func_main_source(d.root, layout(d.root, d.payload)[0] if d.payload else None)
    shown = os.path.join(d.display, os.path.relpath(path, d.root))
    if not path.is_file():
        return [Problem(where, f"python runtime: {shown} with a function {name!r} is missing",
                        "signature-not-function")]
    try:
        tree = ast.parse(yamlfile.read_text(path, shown, max_bytes=8 << 20), filename=shown)
    except ProblemsError as exc:
        return exc.problems
    except SyntaxError as exc:
        return [Problem(Location(shown, exc.lineno or 0, exc.offset or 0), f"invalid Python: {exc.msg}",
                        "python-syntax")]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [Problem(Location(shown), f"invalid Python: {exc}", "python-syntax")]
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    if isinstance(defs.get(name), ast.AsyncFunctionDef):
        return [Problem(where, f"{shown}: {name!r} is async; the python runtime calls it directly",
                        "signature-not-function")]
    if name in defs or name in _bound_names(tree):
        return []
    return [Problem(where, f"signature {name!r} is not a top-level function of {shown}"
                    f"{did_you_mean(name, defs)}", "signature-not-function")]


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a module binds at top level other than by ``def`` (imports, assignments)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names
