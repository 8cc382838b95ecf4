"""The run's summary: one record (summary.json), and the same as Markdown (the GitHub Actions job summary).

``collect`` gathers the stages' records (from memory, else read back from the output folder);
``markdown`` is pure: a contract table, the diff with its rules, the bump and its reason, tags,
digest, and the bytes uploaded and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from hydro_ci.contract.model import Field, shape_text
from hydro_ci.pipeline import state as files
from hydro_ci.pipeline.attestation import ATTEST_FILE
from hydro_ci.pipeline.records import AttestRecord, BuildRecord, ContractChoice, ReleasePlan, Summary
from hydro_ci.pipeline.report import human_size
from hydro_ci.pipeline.state import PipelineState
from hydro_ci.publish import PublishResult
from hydro_ci.version.decision import VersionDecision
from hydro_ci.version.record import RecordedTag

R = TypeVar("R")


def _load(state: PipelineState, name: str, reader: Callable[[Mapping[str, Any]], R]) -> R | None:
    """A record an earlier run left in the output folder, if it is there and readable."""
    try:
        return reader(state.read_json(name, "?"))
    except (files.StageInputError, ValueError, KeyError, TypeError):
        return None


def collect(state: PipelineState) -> Summary:
    # A dry run reports no build or push, whatever earlier runs left in the output folder.
    version = state.version or _load(state, files.VERSION_FILE, VersionDecision.from_json)
    # Already released: nothing was built, pushed or tagged, whatever earlier runs left there.
    dry = state.options.dry_run or (version is not None and version.released is not None)
    plan = state.plan or _load(state, files.PLAN_FILE, ReleasePlan.from_json)
    built = state.build or (None if dry else _load(state, files.BUILD_FILE, BuildRecord.from_json))
    pushed = state.push or (_load(state, files.PUSH_FILE, PublishResult.from_json)
                            if state.options.push and not dry else None)
    tagged = state.tag or (_load(state, files.TAG_FILE, RecordedTag.from_json)
                           if state.options.push and not dry else None)
    if tagged is not None and (version is None or tagged.tag != version.git_tag):
        tagged = None  # an earlier run's tag, of another version
    o = state.options
    attesting = o.sbom or o.provenance or o.sign_key is not None
    attested = state.attest or (_load(state, ATTEST_FILE, AttestRecord.from_json)
                                if attesting and not dry else None)
    folder = state.folder
    return Summary(
        model=folder.name if folder else (version.model if version else None),
        model_dir=str(state.options.model_dir), output=str(state.out) if state.out else None,
        dry_run=state.options.dry_run, builder=state.options.builder,
        image=(built.build.image if built else None) or (plan.image if plan else None),
        contract=state.contract or _load(state, files.CONTRACT_FILE, ContractChoice.from_json),
        version=version, plan=plan, plan_file=str(state.path(files.PLAN_FILE)) if plan is not None else None,
        build=built, push=pushed, tag=tagged, attest=attested, stages=tuple(state.stages),
    )


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


def _field_rows(direction: str, fields: tuple[Field, ...], prefix: str = "") -> list[list[str]]:
    rows = []
    for f in fields:
        name = prefix + f.name
        dtype = "record" if f.subfields else (f.dtype.name if f.dtype is not None else "")
        # a shape is the model's numbers in the one vocabulary: nothing of the folder's to escape
        rows.append([direction, _code(name), _cell(dtype), shape_text(f.shape), _cell(f.profile.name)])
        if f.subfields:
            rows += _field_rows(direction, f.subfields, name + ".")
    return rows


def markdown(data: Summary) -> str:
    lines: list[str] = []
    v = data.version
    title = f"hydro-ci: {_cell(data.model)} {_cell(v.version if v else '')}".rstrip()
    lines += [f"## {title}" + (" (dry run)" if data.dry_run else ""), ""]
    failed = data.failed
    if failed:
        lines += [f"> **Failed at stage {_cell(failed.name)}:** {_cell(failed.detail)}", ""]
    done = data.released
    if done is not None:
        lines += [f"**Already released as {_code(done.version)}** ({_code(done.digest)}): nothing built, "
                  "pushed or tagged.", ""]
    engine_local = data.builder == "docker" and not data.digest
    facts = [["model folder", _code(data.model_dir)], ["image", _code(data.image)],
             ["version", _code(v.version if v else None)],
             ["digest", "not pushed" if engine_local else _code(data.digest)]]
    if data.layout:
        facts.append(["OCI layout", _code(data.layout)])
    if data.archive:
        facts.append(["docker-archive", _code(data.archive)])
    base = data.base
    if base:
        facts.append(["base", _code(base.ref) + (f" ({_code(base.digest)})" if base.digest else "")])
    lines += _table(["", ""], facts)

    contract = data.contract
    if contract is not None:
        sig = contract.contract.primary
        lines += [f"### Contract: signature {_code(sig.name)} ({_cell(contract.source)}"
                  + (f", {_cell(contract.framework)}" if contract.framework else "") + ")", ""]
        rows = _field_rows("input", sig.inputs) + _field_rows("output", sig.outputs)
        lines += _table(["", "field", "dtype", "shape", "profile"], rows)

    if v is not None:
        previous = v.previous
        lines += ["### Version", ""]
        lines.append(f"**{_cell(v.bump_text)}** → {_code(v.version)}"
                     + (f", previous {_code(previous.version)} ({_cell(previous.ref)})"
                        if previous else ", no previous version")
                     + (f". Why: {_cell(v.bump_reason)}" if v.bump_reason else ""))
        lines.append("")
        diff = v.diff
        if diff is not None and diff.changes:
            lines += [f"Contract changes ({_cell(diff.summary.name)}):", ""]
            lines += _table(["class", "rule", "where", "change"],
                            [[_cell(c.change_class.name), _code(c.rule), _code(c.path), _cell(c.message)]
                             for c in diff.changes])
        elif diff is not None:
            lines += ["No contract change.", ""]

    if data.tags:
        lines += ["### Tags", "", " ".join(_code(t) for t in data.tags), ""]

    if data.layers:
        lines += ["### Layers", ""]
        rows = []
        for la in data.layers:
            present = la.in_registry
            rows.append([_cell(la.klass), _cell(la.files), human_size(la.size), _cell(la.compression or ""),
                         _code((la.digest or "")[:19]),
                         "yes" if present else "no" if present is False else ""])
        lines += _table(["layer", "files", "size", "compression", "digest", "in registry"], rows)

    pushed = data.push
    if pushed:
        lines += ["### Push", ""]
        rows = [["pushed", _code(pushed.digest)]]
        if pushed.bytes_uploaded is not None:
            rows += [["uploaded", human_size(pushed.bytes_uploaded)],
                     ["skipped (already there)", human_size(pushed.bytes_skipped)]]
        rows.append(["unchanged", "yes" if pushed.unchanged else "no"])
        lines += _table(["", ""], rows)
    if data.tag:
        lines += ["### Git tag", ""]
        lines += _table(["", ""], [["tag", _code(data.tag.tag)], ["commit", _code(data.tag.commit)],
                                   ["pushed to", _cell(data.tag.remote or "nowhere: no remote origin")]])
    attested = data.attest
    if attested:
        lines += ["### Attestations", ""]
        if attested.dry_run:
            rows = [["would write", _cell(", ".join(attested.write) or "nothing")],
                    ["would attach", _cell(", ".join(attested.attach) or "nothing")],
                    ["would sign with", _cell(attested.sign or "no key")]]
        else:
            rows = [[_cell(r.kind), f"{_code(r.digest)} ({_cell(r.via)})"] for r in attested.referrers]
            if not attested.referrers:
                rows += [[_cell(k), _code(v)] for k, v in attested.files.items()]
            if attested.signature:
                signed = attested.signature
                rows.append(["signature", f"{_code(signed.tag)} {_code(signed.digest)}"])
        lines += _table(["", ""], rows)
    if data.notes:
        lines += ["### Notes", ""] + [f"- {_cell(n)}" for n in data.notes] + [""]
    return "\n".join(lines)


def write_step_summary(markdown_text: str, path: Path) -> None:
    """Append to $GITHUB_STEP_SUMMARY (several models may write into one job summary)."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown_text.rstrip("\n") + "\n")
