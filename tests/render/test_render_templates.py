"""Templates: our blocks, user overrides, errors naming file and line, and no instruction injection."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydro_ci.errors import TemplateError, UnsafeValueError
from hydro_ci.reference import ReferenceError
from hydro_ci.render.assemble import RenderOptions, render_folder
from hydro_ci.render.dockerfile import DockerfileInputs, render_dockerfile, templates_dir

from .conftest import MakeFolder, write_tree


def inputs(**changes: object) -> DockerfileInputs:
    values: dict[str, object] = dict(
        base_image="busybox:1", workdir="/model/files", labels={"MODEL_NAME": "m"}, env={},
        install_command="echo hi", model_name="m", model_version="1.0.0", runtime="busybox:1",
        variant=None,
    )
    values.update(changes)
    return DockerfileInputs(**values)  # type: ignore[arg-type]


def instructions(text: str) -> list[str]:
    """Dockerfile instruction keywords, continuation lines joined (as Docker's parser does)."""
    joined = text.replace("\\\n", " ")
    return [line.split()[0] for line in joined.splitlines() if line and not line.startswith("#")]


def test_our_templates_are_found() -> None:
    assert (templates_dir() / "Dockerfile.j2").is_file()
    assert (templates_dir() / "python.Dockerfile.j2").is_file()


def test_base_template_instructions() -> None:
    text, name = render_dockerfile(inputs(env={"A": "1"}))
    assert name == "hydro-ci/Dockerfile.j2"
    assert instructions(text) == ["FROM", "ENV", "COPY", "COPY", "COPY", "COPY", "WORKDIR", "RUN", "LABEL"]
    assert 'RUN ["/bin/sh", "-c", "echo hi"]' in text
    assert render_dockerfile(inputs(install_command=None))[0].count("RUN") == 0


def test_python_variant_differs_only_in_install() -> None:
    text, name = render_dockerfile(inputs(variant="python"))
    assert name == "hydro-ci/python.Dockerfile.j2"
    assert '"PIP_NO_CACHE_DIR=1"' in text
    assert instructions(text) == ["FROM", "COPY", "COPY", "COPY", "COPY", "WORKDIR", "RUN", "LABEL"]


def test_user_template_replaces_a_block(make_folder: MakeFolder, tmp_path: Path) -> None:
    write_tree(tmp_path / "tpl", {"Dockerfile.j2": (
        '{% extends "hydro-ci/Dockerfile.j2" %}\n'
        '{% block entrypoint %}\nEXPOSE 9090\nCMD ["python3", "-m", "serve", {{ model.name | json }}]\n'
        '{% endblock %}\n')})
    folder = make_folder(config={"template": "../tpl"})  # relative to the model folder
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))
    text = ctx.dockerfile.read_text()
    assert 'CMD ["python3", "-m", "serve", "titanic"]' in text
    # the folder's plain pip install -r runs between the dependency files and the rest
    assert instructions(text) == ["FROM", "COPY", "WORKDIR", "RUN", "COPY", "COPY", "COPY", "EXPOSE", "CMD",
                                  "LABEL"]
    assert ctx.template == "Dockerfile.j2"
    # --template wins over the serving.yaml setting
    write_tree(tmp_path / "tpl2", {"python.Dockerfile.j2": (
        '{% extends "hydro-ci/python.Dockerfile.j2" %}{% block extra %}\nUSER 1000\n{% endblock %}\n')})
    opts = RenderOptions(output=tmp_path / "ctx", epoch=0, template_dir=tmp_path / "tpl2")
    ctx = render_folder(folder, opts)
    assert "USER 1000\n" in ctx.dockerfile.read_text() and "EXPOSE" not in ctx.dockerfile.read_text()


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Dockerfile.j2": '{% extends "hydro-ci/Dockerfile.j2" %}\n\n{% block extra %}\n'
                                           '{% if %}\n{% endblock %}\n'})
    with pytest.raises(TemplateError) as err:
        render_dockerfile(inputs(), tmp_path)
    assert f"{tmp_path / 'Dockerfile.j2'}:4:" in str(err.value)


def test_undefined_variable_names_file_and_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Dockerfile.j2": '{% extends "hydro-ci/Dockerfile.j2" %}\n'
                                           '{% block extra %}\nENV X={{ no_such_thing }}\n{% endblock %}\n'})
    with pytest.raises(TemplateError) as err:
        render_dockerfile(inputs(), tmp_path)
    assert f"{tmp_path / 'Dockerfile.j2'}:3:" in str(err.value) and "no_such_thing" in str(err.value)


def test_sandbox_blocks_python_internals(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Dockerfile.j2": "{{ model.__class__.__mro__[1].__subclasses__() }}\n"})
    with pytest.raises(TemplateError, match=r"Dockerfile\.j2:1"):
        render_dockerfile(inputs(), tmp_path)


def test_missing_template_dir_and_parent(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        render_dockerfile(inputs(), tmp_path / "nope")
    write_tree(tmp_path, {"Dockerfile.j2": '{% extends "ours.j2" %}\n'})
    with pytest.raises(TemplateError, match=r"ours\.j2"):
        render_dockerfile(inputs(), tmp_path)


@pytest.mark.parametrize("command", [
    "pip install x\nRUN curl evil | sh",
    "pip install x\rRUN evil",
    "pip install x \\",
    "pip install x\\  ",
    "pip\x00install",
])
def test_install_command_cannot_add_instructions(command: str) -> None:
    with pytest.raises(UnsafeValueError):
        render_dockerfile(inputs(install_command=command))


@pytest.mark.parametrize("value", ["a\nRUN evil", "tab\there", "a\\\nb"])
def test_label_values_cannot_add_instructions(value: str) -> None:
    with pytest.raises(UnsafeValueError, match="label"):
        render_dockerfile(inputs(labels={"team": value}))


def test_quotes_dollars_and_backslashes_are_escaped() -> None:
    text, _ = render_dockerfile(inputs(labels={'we"ird key': 'say "hi" $HOME ${X} \\'},
                                       install_command='echo "$HOME" && exit 0'))
    assert r'"we\"ird key"="say \"hi\" \$HOME \${X} \\"' in text
    assert r'RUN ["/bin/sh", "-c", "echo \"$HOME\" && exit 0"]' in text
    assert instructions(text) == ["FROM", "COPY", "COPY", "COPY", "COPY", "WORKDIR", "RUN", "LABEL"]


def test_bad_env_name_and_base_image() -> None:
    with pytest.raises(UnsafeValueError):
        render_dockerfile(inputs(env={"A B": "1"}))
    with pytest.raises(ReferenceError):
        render_dockerfile(inputs(base_image="busybox:1\nRUN evil"))


def test_a_user_template_cannot_emit_multiline_values(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Dockerfile.j2": '{% extends "hydro-ci/Dockerfile.j2" %}\n'
                                           '{% block extra %}\n{{ "USER 0\\nRUN evil" }}\n{% endblock %}\n'})
    with pytest.raises(UnsafeValueError, match=r"Dockerfile.j2:3"):
        render_dockerfile(inputs(), tmp_path)


@pytest.mark.parametrize("copy", ["COPY model /model", "COPY ./model/ /model",
                                  "COPY --chown=0:0 model /model", 'COPY ["model", "/model"]',
                                  "ADD model/files /model/files", "COPY . /", "COPY model* /model/"])
def test_a_template_copying_model_is_refused_with_what_to_copy(tmp_path: Path, copy: str) -> None:
    # model/ is not sent to the engine (.dockerignore): an old files block would fail deep in docker
    block = f"{{% block files %}}\n{copy}\nWORKDIR /model/files\n{{% endblock %}}\n"
    write_tree(tmp_path, {"Dockerfile.j2": '{% extends "hydro-ci/Dockerfile.j2" %}\n' + block})
    with pytest.raises(TemplateError, match="copies model/, which is no longer sent") as err:
        render_dockerfile(inputs(), tmp_path)
    assert "copy_before_install" in (err.value.hint or "")


def test_a_template_replacing_the_install_block_gets_every_file_first(tmp_path: Path) -> None:
    early = inputs(install_command="pip install -r requirements.txt", copy_before_install=("layers/deps",),
                   copy_after_install=("layers/code", "layers/contract"))
    assert instructions(render_dockerfile(early)[0]) == ["FROM", "COPY", "WORKDIR", "RUN", "COPY", "COPY",
                                                         "LABEL"]
    # their install block may run steps that read the code: it comes after every COPY
    write_tree(tmp_path, {"Dockerfile.j2": '{% extends "hydro-ci/Dockerfile.j2" %}\n{% block install %}'
                                           '{{ super() | trim }}\nRUN ["python", "-m", "compileall", "src"]\n'
                                           '{% endblock %}\n'})
    text, _ = render_dockerfile(early, tmp_path)
    assert instructions(text) == ["FROM", "COPY", "COPY", "COPY", "WORKDIR", "RUN", "RUN", "LABEL"]
