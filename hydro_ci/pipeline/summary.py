"""The run's summary: one JSON document, and the same as Markdown (the GitHub Actions job summary).

``collect`` gathers what the stages wrote (from memory, else from the output folder); ``markdown``
is pure: a contract table, the diff with its rules, the bump and its reason, tags, digest, and the
bytes uploaded and skipped (when the builder counts them: the engine's push does not).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hydro_ci import boundedjson
from hydro_ci.contract.model import shape_text
from hydro_ci.pipeline import state as files
from hydro_ci.pipeline.state import PipelineState


def _load(state: PipelineState, name: str) -> Any:
    try:
        return boundedjson.loads(state.path(name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _attesting(state: PipelineState) -> bool:
    o = state.options
    return o.sbom or o.provenance or o.sign_key is not None


def collect(state: PipelineState) -> dict[str, Any]:
    contract = state.contract_info or _load(state, files.CONTRACT_FILE)
    version = state.version or _load(state, files.VERSION_FILE)
    # A dry run reports no build or push, whatever earlier runs left in the output folder.
    dry = state.options.dry_run
    built = state.build.to_dict() if state.build else (None if dry else _load(state, files.BUILD_FILE))
    pushed = state.push.to_dict() if state.push else (
        _load(state, files.PUSH_FILE) if state.options.push and not dry else None)
    plan = state.plan or _load(state, files.PLAN_FILE)
    folder = state.folder
    name = folder.name if folder else (version or {}).get("model")
    image = (built or {}).get("image") or (plan or {}).get("image")
    tags = [t["tag"] for t in (version or {}).get("tags", [])]
    extra = (built or {}).get("extra") or {}
    digest = (pushed or {}).get("digest") or (built or {}).get("digest")
    return {
        "model": name,
        "model_dir": str(state.options.model_dir),
        "output": str(state.out) if state.out else None,
        "dry_run": state.options.dry_run,
        "builder": state.options.builder,
        "image": image,
        "version": (version or {}).get("version"),
        "tags": tags,
        "refs": [f"{image}:{t}" for t in tags] if image else [],
        "digest": digest,
        "id": (built or {}).get("id"),
        "layout": extra.get("layout"),
        "archive": extra.get("tar"),
        "bump": (version or {}).get("bump"),
        "previous": (version or {}).get("previous"),
        "diff": (version or {}).get("diff"),
        "contract": contract,
        "plan": str(state.path(files.PLAN_FILE)) if plan is not None else None,
        "layers": (plan or {}).get("layers") or extra.get("layers") or [],
        "base": (plan or {}).get("base") or extra.get("base"),
        "build": built,
        "push": pushed,
        "attest": state.attest if state.attest is not None else (
            _load(state, "attest.json") if _attesting(state) and not dry else None),
        "notes": [*((contract or {}).get("notes") or []), *((plan or {}).get("notes") or [])],
        "stages": [s.to_dict() for s in state.stages],
        "failed": next(({"stage": s.name, "error": s.detail} for s in state.stages if s.status == "failed"),
                       None),
    }


# --- Markdown ----------------------------------------------------------------------------------

# Markdown that could change the page: a table cell's end, code, emphasis, links and images, HTML.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>|!&~])")


def _one_line(value: object) -> str:
    return " ".join(("" if value is None else str(value)).splitlines())


def _cell(value: object) -> str:
    """Text from the model folder, shown as itself: one line, every Markdown/HTML character escaped
    (a field name must not close the table, link somewhere or inject HTML into the job summary)."""
    return _MARKDOWN.sub(r"\\\1", _one_line(value))


def _code(value: object) -> str:
    """A code span that no backtick in the value can close (CommonMark: a longer fence), with the
    table's ``|`` escaped (GitHub splits cells before it reads code spans)."""
    text = _one_line(value).replace("|", "\\|")
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]  # a blank line ends a Markdown table


def _shape(shape: Any) -> str:
    """Markdown for a shape: numbers in the one shape vocabulary; anything else (read from a planted
    state file) escaped."""
    if shape is not None and not (isinstance(shape, list) and all(type(d) is int for d in shape)):
        return _cell(shape)
    return shape_text(None if shape is None else tuple(shape))  # the JSON form holds a list


def _field_rows(direction: str, fields: list[dict[str, Any]], prefix: str = "") -> list[list[str]]:
    rows = []
    for f in fields:
        name = prefix + str(f.get("name"))
        sub = f.get("subfields")
        dtype = "record" if sub else f.get("dtype")
        rows.append([direction, _code(name), _cell(dtype), _shape(f.get("shape")),
                     _cell(f.get("profile") or "")])
        if sub:
            rows += _field_rows(direction, sub, name + ".")
    return rows


def _human(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def markdown(data: dict[str, Any]) -> str:
    lines: list[str] = []
    title = f"hydro-ci: {_cell(data.get('model'))} {_cell(data.get('version') or '')}".rstrip()
    lines += [f"## {title}" + (" (dry run)" if data.get("dry_run") else ""), ""]
    failed = data.get("failed")
    if failed:
        lines += [f"> **Failed at stage {_cell(failed.get('stage'))}:** {_cell(failed.get('error'))}", ""]
    facts = [["model folder", _code(data.get("model_dir"))], ["image", _code(data.get("image"))],
             ["version", _code(data.get("version"))], ["digest", _code(data.get("digest"))]]
    if data.get("layout"):
        facts.append(["OCI layout", _code(data["layout"])])
    if data.get("archive"):
        facts.append(["docker-archive", _code(data["archive"])])
    base = data.get("base") or {}
    if base:
        facts.append(["base", _code(base.get("ref")) + (f" ({_code(base['digest'])})" if base.get("digest")
                                                          else "")])
    lines += _table(["", ""], facts)

    contract = data.get("contract") or {}
    sigs = (contract.get("contract") or {}).get("signatures") or []
    if sigs:
        sig = sigs[0]
        lines += [f"### Contract: signature {_code(sig.get('name'))} ({_cell(contract.get('source'))}"
                  + (f", {_cell(contract['framework'])}" if contract.get("framework") else "") + ")", ""]
        rows = _field_rows("input", sig.get("inputs") or []) + _field_rows("output", sig.get("outputs") or [])
        lines += _table(["", "field", "dtype", "shape", "profile"], rows)

    bump = data.get("bump") or {}
    previous = data.get("previous") or {}
    lines += ["### Version", ""]
    lines.append(f"**{_cell(bump.get('kind'))}** → {_code(data.get('version'))}"
                 + (f", previous {_code(previous.get('version'))} ({_cell(previous.get('ref'))})"
                    if previous else ", no previous version")
                 + (f". Why: {_cell(bump['reason'])}" if bump.get("reason") else ""))
    lines.append("")
    diff = data.get("diff") or {}
    changes = diff.get("changes") or []
    if changes:
        lines += [f"Contract changes ({_cell(diff.get('summary'))}):", ""]
        lines += _table(["class", "rule", "where", "change"],
                        [[_cell(c.get("class")), _code(c.get("rule")), _code(c.get("path")),
                          _cell(c.get("message"))] for c in changes])
    elif diff:
        lines += ["No contract change.", ""]

    if data.get("tags"):
        lines += ["### Tags", "", " ".join(_code(t) for t in data["tags"]), ""]

    layers = data.get("layers") or []
    if layers:
        lines += ["### Layers", ""]
        rows = []
        for la in layers:
            present = la.get("in_registry")
            rows.append([_cell(la.get("class")), _cell(la.get("files", "")), _human(la.get("size")),
                         _cell(la.get("compression") or ""), _code(str(la.get("digest") or "")[:19]),
                         "yes" if present else "no" if present is False else ""])
        lines += _table(["layer", "files", "size", "compression", "digest", "in registry"], rows)

    pushed = data.get("push")
    if pushed:
        lines += ["### Push", ""]
        rows = [["pushed", _code(pushed.get("digest"))]]
        if pushed.get("bytes_uploaded") is not None:  # the engine's push does not count bytes
            rows += [["uploaded", _human(pushed.get("bytes_uploaded"))],
                     ["skipped (already there)", _human(pushed.get("bytes_skipped"))]]
        rows.append(["unchanged", "yes" if pushed.get("unchanged") or pushed.get("skipped") else "no"])
        lines += _table(["", ""], rows)
    attested = data.get("attest")
    if attested:
        lines += ["### Attestations", ""]
        if attested.get("dry_run"):
            rows = [["would write", _cell(", ".join(attested.get("write") or []) or "nothing")],
                    ["would attach", _cell(", ".join(attested.get("attach") or []) or "nothing")],
                    ["would sign with", _cell(attested.get("sign") or "no key")]]
        else:
            rows = [[_cell(r.get("kind")), f"{_code(r.get('digest'))} ({_cell(r.get('via'))})"]
                    for r in attested.get("referrers") or []]
            rows += [[_cell(k), _code(v)] for k, v in (attested.get("files") or {}).items()
                     if not attested.get("referrers")]
            sig = attested.get("signature")
            if sig:
                rows.append(["signature", f"{_code(sig.get('tag'))} {_code(sig.get('digest'))}"])
        lines += _table(["", ""], rows)
    notes = data.get("notes") or []
    if notes:
        lines += ["### Notes", ""] + [f"- {_cell(n)}" for n in notes] + [""]
    return "\n".join(lines)


def write_step_summary(markdown_text: str, path: Path) -> None:
    """Append to $GITHUB_STEP_SUMMARY (several models may write into one job summary)."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown_text.rstrip("\n") + "\n")
