"""Plain-text forms of the release plan and the summary, for the terminal and CI logs (pure)."""

from __future__ import annotations

from hydro_ci.contract.model import Field, shape_text
from hydro_ci.pipeline.records import ReleasePlan, Summary
from hydro_ci.version.decision import Released


def released_line(released: Released) -> str:
    """The one line an already released image gets, everywhere it is told."""
    return f"already released as {released.version} ({released.digest})"


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _fields(direction: str, fields: tuple[Field, ...]) -> list[str]:
    return [f"    {direction:<6} {f.name}: {f.dtype.name if f.dtype else 'record'} {shape_text(f.shape)}"
            + (f" ({f.profile.name})" if f.profile.name != "none" else "")
            for f in fields]


def plan_text(plan: ReleasePlan) -> str:
    lines = [f"release plan for {plan.model} (dry run: nothing built or pushed)"]
    if plan.contract is not None:
        sig = plan.contract.contract.primary
        lines.append(f"  contract ({plan.contract.source}): signature {sig.name}")
        lines += _fields("input", sig.inputs)
        lines += _fields("output", sig.outputs)
    previous = plan.previous
    lines.append(f"  previous: {previous.version} ({previous.source}: {previous.ref})"
                 if previous else "  previous: none")
    if plan.diff is not None:
        changes = plan.diff.changes
        lines.append(f"  diff: {plan.diff.summary.name}" + ("" if changes else " (no contract change)"))
        lines += [f"    {c.change_class.name:<8} {c.path}: {c.message} [{c.rule}]" for c in changes]
    lines.append(f"  bump: {plan.decision.bump_text} ({plan.decision.bump_reason})")
    if plan.released is not None:
        lines.append(f"  {released_line(plan.released)}: nothing to build, push or tag")
    lines.append(f"  version: {plan.version}")
    lines.append(f"  tags: {' '.join(f'{plan.image}:{t}' for t in plan.tags.names)}")
    if plan.git_tag:
        lines.append(f"  git tag: {plan.git_tag}")
    lines.append(f"  base: {plan.base.ref}" + (f"@{plan.base.digest}" if plan.base.digest else ""))
    lines.append(f"  layers: {len(plan.layers)} ({plan.bytes_total} bytes, {plan.bytes_to_upload} to upload)")
    for la in plan.layers:
        where = {True: "in registry", False: "to upload", None: ""}[la.in_registry]
        lines.append(f"    {la.klass:<9} {la.files:>4} files {la.size:>10} "
                     f"bytes  {(la.digest or '')[:19]}  {where}".rstrip())
    lines += [f"  note: {n}" for n in plan.notes]
    return "\n".join(lines) + "\n"


def summary_text(data: Summary) -> str:
    v = data.version
    done = data.released
    if done is not None:
        lines = [f"{data.model}: {released_line(done)}"]
    else:
        lines = [f"{data.model} {v.version if v else None}" + (f" ({v.bump_text})" if v else "")]
    engine_local = data.builder == "docker" and not data.digest and data.id
    rows = [("image", ", ".join(data.refs) or data.image),
            ("digest", "not pushed (the engine's image id is no registry digest)" if engine_local
             else data.digest),
            ("id", data.id if not data.digest else None), ("layout", data.layout),
            ("archive", data.archive),
            ("why", v.bump_reason if v and done is None else None)]
    pushed = data.push
    if pushed:
        same = " (already there)" if pushed.unchanged else ""
        if pushed.bytes_uploaded is None:  # only tagged in the engine: nothing was counted
            rows.append(("pushed", f"digest {pushed.digest}{same}"))
        else:
            rows.append(("pushed", f"{pushed.bytes_uploaded} bytes uploaded, "
                                   f"{pushed.bytes_skipped} skipped{same}"))
    attested = data.attest
    if attested and not attested.dry_run:
        for r in attested.referrers:
            rows.append(("attached", f"{r.kind} {r.digest} ({r.via})"))
        if not attested.referrers:
            rows += [("wrote", path) for path in attested.files.values()]
        if attested.signature:
            rows.append(("signed", f"{attested.signature.tag} {attested.signature.digest}"))
    if data.tag:
        rows.append(("git tag", data.tag.tag + (f" (pushed to {data.tag.remote})" if data.tag.remote
                                                 else " (local: no remote origin)")))
    if data.output:
        rows.append(("summary", f"{data.output}/summary.md"))
    lines += [f"  {key:<8} {value}" for key, value in rows if value]
    return "\n".join(lines) + "\n"
