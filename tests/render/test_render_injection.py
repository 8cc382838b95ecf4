"""Property: whatever text serving.yaml holds, the Dockerfile keeps its instructions, or we refuse.

Checked against Docker's rules for a double-quoted word (a backslash escapes the next character)
and for exec-form JSON; the engine test builds a sample of such values and reads the labels back.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hydro_ci.errors import UnsafeValueError
from hydro_ci.render.dockerfile import DockerfileInputs, render_dockerfile

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40) | st.sampled_from(
    ["a\nRUN x", "x \\", "$HOME", "${X:-y}", '"', "\\", "\\\\\n", "<<EOF", "\r", "\x00", "\x85",
     "a\u2028RUN x"],
)


def unquote(word: str) -> str:
    """Docker's reading of a double-quoted word."""
    assert word[0] == word[-1] == '"'
    out, i, inner = [], 0, word[1:-1]
    while i < len(inner):
        if inner[i] == "\\":
            i += 1
        out.append(inner[i])
        i += 1
    return "".join(out)


def logical_lines(text: str) -> list[str]:
    joined = text.replace("\\\n", "")
    return [line for line in joined.split("\n") if line and not line.startswith("#")]


@settings(max_examples=200, deadline=None)
@given(value=TEXT, command=TEXT)
def test_no_value_changes_the_instructions(value: str, command: str) -> None:
    inputs = DockerfileInputs(base_image="busybox:1", workdir="/model/files", labels={"k": value},
                              env={}, install_command=command, model_name="m", model_version="1",
                              runtime=None)
    try:
        text, _ = render_dockerfile(inputs)
    except UnsafeValueError:
        return
    lines = logical_lines(text)
    keywords = [line.split()[0] for line in lines]
    copies = ["COPY"] * 4
    assert keywords in (["FROM", *copies, "WORKDIR", "RUN", "LABEL"], ["FROM", *copies, "WORKDIR", "LABEL"])
    label = lines[-1].removeprefix("LABEL ")
    assert label.startswith('"k"=')
    assert unquote(label.removeprefix('"k"=')) == value
    if "RUN" in keywords:
        argv = json.loads(lines[keywords.index("RUN")].removeprefix("RUN "))
        assert argv == ["/bin/sh", "-c", command.strip()]
