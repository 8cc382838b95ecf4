"""Which install-commands provably read only dependency files (so the Dockerfile can run them before
the weights and code are copied): a plain pip install -r whose every file and local wheel is one."""

from __future__ import annotations

import pytest

from hydro_ci.render.install import PipInstall, parse_pip_install, reads_only

WHEEL = "wheels/tiny-1.0-py3-none-any.whl"
DEPS: dict[str, str | None] = {
    "requirements.txt": "numpy>=1.26  # pinned below\n-c constraints.txt\n"
                        "scikit-learn==1.9.1 ; python_version > '3'\n",
    "constraints.txt": "numpy<3\n",
    "requirements-local.txt": f"./{WHEEL}\n--extra-index-url https://example.org/simple\n",
    "requirements-nested.txt": "-r requirements.txt\n-r sub/requirements.txt\n",
    "sub/requirements.txt": f"-r ../requirements-local.txt\n../{WHEEL}\n",
    "requirements-cycle.txt": "-r requirements-cycle.txt\nrequests\n",
    "requirements-continued.txt": "numpy \\\n  >=1\n",
    WHEEL: None,
}


@pytest.mark.parametrize(("command", "early"), [
    ("pip install -r requirements.txt", True),
    ("python3 -m pip install --no-cache-dir -r requirements-local.txt", True),
    ("pip install -r requirements-nested.txt", True),
    ("pip install -r requirements-cycle.txt", True),
    ("pip install -r requirements-continued.txt", True),
    ("pip install numpy 'pandas>=2' " + WHEEL, True),
    ("pip install 'tiny @ https://example.org/tiny-1.0.whl'", True),
    # reads (or may read) other files, or is not a plain pip install: after every file
    ("pip install -r requirements.txt -r src/more.txt", False),
    ("pip install .", False),
    ("pip install ./src/mypkg", False),
    ("pip install wheels/missing-1.0-py3-none-any.whl", False),
    ("pip install 'tiny @ file:///model/files/src'", False),
    ("pip install -e .", False),
    ("pip install -r requirements.txt && python setup.py build", False),
    ("pip install --find-links wheels -r requirements.txt", False),
    ("conda env update -f environment.yml", False),
    ("./install.sh", False),
    ("pip install -r requirements.txt http://h/x.whl#egg=x && python3 src/post.py", False),
])
def test_early_only_when_every_file_read_is_a_dependency_file(command: str, early: bool) -> None:
    spec = parse_pip_install(command)
    assert (spec is not None and reads_only(spec, DEPS)) is early


@pytest.mark.parametrize("line", [
    "-e ./src", "--editable=.", "./src/pkg", "src/pkg", "-f ./wheels", "--find-links=file:///x",
    "-r ../outside.txt", "--no-such-option x", "pkg @ file:///tmp/pkg", "/abs/tiny-1.0.tar.gz",
    "git+file:///srv/repo#egg=pkg",
    # found by review: each would run before the files it reads
    "# vendored below \\\n./vendor/localpkg-1.0.tar.gz",  # pip joins no comment line to the next
    "localpkg-1.0.tar.xz", "LOCALPKG-1.0.ZIP", "localpkg-1.0.tbz",
    "--index-url ./simple", "-i file:///model/files/simple", "--extra-index-url=../simple",
    "${LOCAL_PKG}", "pkg @ ${WHEEL_URL}",
    "--prefer-binary -r more.txt", "--no-index --find-links ./vendor", "--pre -e ./lib",
])
def test_requirement_file_lines_that_read_other_files(line: str) -> None:
    deps = {"requirements.txt": f"numpy\n{line}\n"}
    assert not reads_only(PipInstall(("requirements.txt",)), deps)


def test_a_requirements_file_that_was_not_read_is_not_trusted() -> None:
    # the render leaves binary and very large files unread (None): a wheel, never a requirements file
    assert not reads_only(PipInstall(("requirements.txt",)), {"requirements.txt": None})
    assert not reads_only(PipInstall(("requirements.txt",)), {})
    assert reads_only(PipInstall(("requirements.txt",)), {"requirements.txt": ""})  # empty: reads nothing


def test_plain_names_with_extras_and_versions_are_not_paths() -> None:
    text = "numpy >= 1.26, <3\nscikit-learn[alldeps]==1.9.1 ; python_version >= '3.10'\ntorch==2.0+cpu\n" \
           "--index-url https://download.example.org/whl/cpu\ntiny-pkg_name.v2~=1.0\n"
    assert reads_only(PipInstall(("requirements.txt",)), {"requirements.txt": text})


@pytest.mark.parametrize(("line", "early"), [
    ('-c "constraints.txt"', True),  # pip unquotes an option's value (shlex): the file is constraints.txt
    ("-c file:constraints.txt", False),  # a URL to pip, whatever the payload holds
    ("-c 'constraints.txt", False),  # an unclosed quote: pip stops
    ("numpy --hash=sha256:00", True),
    ("numpy --config-settings=x=y", False),
])
def test_nested_files_are_read_as_pip_reads_them(line: str, early: bool) -> None:
    deps = {"requirements.txt": f"{line}\n", "constraints.txt": "numpy<3\n",
            "file:constraints.txt": "numpy<3\n"}
    assert reads_only(PipInstall(("requirements.txt",)), deps) is early
