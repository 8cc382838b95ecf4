"""Plain-text forms of the release plan and the summary, for the terminal and CI logs (pure)."""

from __future__ import annotations

from typing import Any

from hydro_ci.contract.model import shape_text


def _shape(shape: Any) -> str:
    return shape_text(None if shape is None else tuple(shape))  # the JSON form holds a list


def _fields(direction: str, fields: list[dict[str, Any]]) -> list[str]:
    return [f"    {direction:<6} {f.get('name')}: {f.get('dtype') or 'record'} {_shape(f.get('shape'))}"
            + (f" ({f['profile']})" if f.get("profile") and f.get("profile") != "none" else "")
            for f in fields]


def plan_text(plan: dict[str, Any]) -> str:
    lines = [f"release plan for {plan.get('model')} (dry run: nothing built or pushed)"]
    contract = plan.get("contract") or {}
    sigs = (contract.get("contract") or {}).get("signatures") or []
    if sigs:
        lines.append(f"  contract ({contract.get('source')}): signature {sigs[0].get('name')}")
        lines += _fields("input", sigs[0].get("inputs") or [])
        lines += _fields("output", sigs[0].get("outputs") or [])
    previous = plan.get("previous")
    lines.append(f"  previous: {previous['version']} ({previous['source']}: {previous['ref']})"
                 if previous else "  previous: none")
    diff = plan.get("diff")
    if diff:
        changes = diff.get("changes") or []
        lines.append(f"  diff: {diff.get('summary')}" + ("" if changes else " (no contract change)"))
        lines += [f"    {c['class']:<8} {c['path']}: {c['message']} [{c['rule']}]" for c in changes]
    bump = plan.get("bump") or {}
    lines.append(f"  bump: {bump.get('kind')} ({bump.get('reason')})")
    lines.append(f"  version: {plan.get('version')}")
    lines.append(f"  tags: {' '.join(plan.get('refs') or [])}")
    base = plan.get("base") or {}
    lines.append(f"  base: {base.get('ref')}" + (f"@{base['digest']}" if base.get("digest") else ""))
    layers = plan.get("layers") or []
    lines.append(f"  layers: {len(layers)} ({plan.get('bytes_total', 0)} bytes, "
                 f"{plan.get('bytes_to_upload', 0)} to upload)")
    for la in layers:
        where = {True: "in registry", False: "to upload", None: ""}[la.get("in_registry")]
        lines.append(f"    {la.get('class'):<9} {la.get('files', ''):>4} files {la.get('size', 0):>10} "
                     f"bytes  {(la.get('digest') or '')[:19]}  {where}".rstrip())
    lines += [f"  note: {n}" for n in plan.get("notes") or []]
    return "\n".join(lines) + "\n"


def summary_text(data: dict[str, Any]) -> str:
    bump = data.get("bump") or {}
    lines = [f"{data.get('model')} {data.get('version')}"
             + (f" ({bump.get('kind')}: {bump.get('reason')})" if bump else "")]
    rows = [("image", ", ".join(data.get("refs") or []) or data.get("image")),
            ("digest", data.get("digest")),
            ("id", data.get("id") if not data.get("digest") else None), ("layout", data.get("layout")),
            ("archive", data.get("archive"))]
    pushed = data.get("push")
    if pushed:
        same = " (already there)" if pushed.get("unchanged") or pushed.get("skipped") else ""
        if pushed.get("bytes_uploaded") is None:  # the engine's push does not count bytes
            rows.append(("pushed", f"digest {pushed.get('digest')}{same}"))
        else:
            rows.append(("pushed", f"{pushed['bytes_uploaded']} bytes uploaded, "
                                   f"{pushed.get('bytes_skipped')} skipped{same}"))
    attested = data.get("attest") or {}
    for r in attested.get("referrers") or []:
        rows.append(("attached", f"{r.get('kind')} {r.get('digest')} ({r.get('via')})"))
    if not attested.get("referrers"):
        rows += [("wrote", str(path)) for path in (attested.get("files") or {}).values()]
    if attested.get("signature"):
        rows.append(("signed", f"{attested['signature'].get('tag')} {attested['signature'].get('digest')}"))
    if data.get("output"):
        rows.append(("summary", f"{data['output']}/summary.md"))
    lines += [f"  {key:<8} {value}" for key, value in rows if value]
    return "\n".join(lines) + "\n"
