"""The rule on older Hydrosphere formats: one warning saying what was read as today's format, and
the verb that rewrites the folder (``contract migrate``)."""

from __future__ import annotations

from hydro_ci.contract.reader import Declared
from hydro_ci.diagnostics import Problem, Severity
from hydro_ci.folder import PROTOTXT_FILE


def check_legacy_format(d: Declared) -> list[Problem]:
    """One warning for a folder in an older Hydrosphere format: what it is, and the verb that
    rewrites it (the folder is read as today's meanwhile)."""
    whats = list(d.legacy)
    if d.prototxt_contract is not None and d.prototxt_contract.legacy:
        whats.append(f"{PROTOTXT_FILE}: {d.prototxt_contract.legacy}")
    if not whats:
        return []
    nested = [e for e, _ in d.payload if "/" in e.strip().rstrip("/")]
    if nested and any(w.startswith("hs 0.0.x") for w in whats):
        whats.append(f"hs 0.0.x shipped {', '.join(map(repr, nested))} at their paths under /model/files, "
                     "today's layout (and this build) under their basenames")
    where = d.serving_location or (d.prototxt_contract.locate(("contract",)) if d.prototxt_contract
                                   else d.name_location)
    return [Problem(where, f"older Hydrosphere format, read as today's: {'; '.join(whats)}; "
                    f"`hydro-ci contract migrate {d.display}` rewrites it (shows the diff, --write saves)",
                    "legacy-format", Severity.WARNING)]
