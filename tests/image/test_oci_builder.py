"""The daemonless builder end to end: layers, reproducibility, deps, and the same tree as the engine."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from wheelkit import write_wheel

from hydro_ci.build import BuildRequest, Built, EngineOptions, OCIOptions, make_builder
from hydro_ci.build.oci import OCIBuilder, OCIBuildError, parse_install_command
from hydro_ci.contract.proto import from_protobin
from hydro_ci.image import layout
from hydro_ci.image.model import OCI_LAYER, OCI_LAYER_GZIP, Image
from hydro_ci.publish import ArchivePublisher, LayoutPublisher, PublishResult, RegistryPublisher
from hydro_ci.registry import Credentials, Keychain
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN
from hydro_ci.version.tags import TagSet

from .conftest import CONTRACT, EPOCH, MakeContext, demo_files, tree_of_dir, tree_of_tars

REPO = "127.0.0.1:5000/hydro-ci-test/demo"


def _builder(tmp_path: Path, busybox_layout: Path, **kw: Any) -> OCIBuilder:
    options = OCIOptions(cache=tmp_path / "cache", base_from=f"oci:{busybox_layout}:base", **kw)
    b = make_builder("oci", options)
    assert isinstance(b, OCIBuilder)
    return b


def _push(built: Built, *tags: str, keychain: Keychain = DEFAULT_KEYCHAIN) -> PublishResult:
    tag_set = TagSet.given(tags[0] if tags else built.result.version, tags[1:])
    return RegistryPublisher(built.result.image, keychain=keychain).publish(built.image, tag_set)


def _run(*cmd: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _layer_tars(image: Any) -> list[bytes]:
    out = []
    for blob in image.layers:
        with blob.open() as f:
            out.append(f.read())
    return out


# --- install-command ----------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "files", "specs"), [
    ("pip install -r requirements.txt", ("requirements.txt",), ()),
    ("python3 -m pip install --no-cache-dir -r req/a.txt --requirement=b.txt", ("req/a.txt", "b.txt"), ()),
    ("pip3 install -q numpy==2.0 'pandas>=2'", (), ("numpy==2.0", "pandas>=2")),
])
def test_pip_install_commands_are_understood(command: str, files: tuple[str, ...],
                                             specs: tuple[str, ...]) -> None:
    spec = parse_install_command(command)
    assert spec is not None and (spec.requirement_files, spec.requirements) == (files, specs)


@pytest.mark.parametrize("command", [
    "apt-get install -y libgomp1", "pip install -r requirements.txt && make", "pip install -e .",
    "pip install --index-url http://x -r r.txt", "pip download numpy", "pip install -r", "sh setup.sh",
])
def test_other_install_commands_are_refused_with_one_line(command: str) -> None:
    with pytest.raises(OCIBuildError) as err:
        parse_install_command(command)
    assert "\n" not in str(err.value)
    assert err.value.hint == "use --builder docker to run arbitrary install commands"


@pytest.mark.parametrize("command", [
    "pip install -r /etc/passwd", "pip install -r ../../secrets.txt", "pip install --requirement=/root/x",
    "pip install -r sub/../../up.txt",
])
def test_requirement_files_outside_the_payload_are_refused(command: str) -> None:
    # pip runs on the build host: it must not read (and echo in its errors) the host's files.
    with pytest.raises(OCIBuildError, match="outside the model's payload"):
        parse_install_command(command)
    assert parse_install_command("pip install -r sub/../requirements.txt") is not None


# --- building -----------------------------------------------------------------------------------


@pytest.mark.engine
def test_build_splits_layers_and_lays_out_the_model(make_context: MakeContext, busybox_layout: Path,
                                                    tmp_path: Path) -> None:
    big = os.urandom(5 << 20)
    ctx = make_context(files={**demo_files(b"w"), "weights.bin": big, "requirements.txt": "\n"})
    out = tmp_path / "oci"
    built = _builder(tmp_path, busybox_layout).build(BuildRequest(ctx, REPO, "1.0.0"))
    LayoutPublisher(out, REPO).publish(built.image, TagSet.given("1.0.0", ("latest",)))
    result = built.result
    plan = {x.klass: x for x in result.layers}
    assert list(plan) == ["deps", "weights", "code", "contract"]
    assert plan["weights"].media_type == OCI_LAYER and "stored uncompressed" in plan["weights"].reason
    assert plan["code"].media_type == OCI_LAYER_GZIP
    image = layout.read_layout(out, "1.0.0")
    assert str(image.manifest_digest) == result.digest == result.id
    cfg = image.config
    assert cfg.working_dir == "/model/files"
    assert cfg.labels["MODEL_NAME"] == "demo" and cfg.labels["MODEL_VERSION"] == "1.0.0"
    assert cfg.created == "2023-11-14T22:13:20Z"
    _run("umoci", "unpack", "--rootless", "--image", f"{out}:latest", str(tmp_path / "bundle"))
    rootfs = tmp_path / "bundle" / "rootfs"
    assert (rootfs / "model/files/weights.bin").read_bytes() == big
    assert (rootfs / "model/files/src/util/helpers.py").read_text() == "HELP = 1\n"
    assert from_protobin((rootfs / "model/contract.protobin").read_bytes()) == CONTRACT.primary
    assert (rootfs / "bin/busybox").is_file()  # on top of the base


@pytest.mark.engine
def test_code_change_touches_only_the_code_layer(make_context: MakeContext, busybox_layout: Path,
                                                 tmp_path: Path) -> None:
    files = {**demo_files(os.urandom(5 << 20))}
    builder = _builder(tmp_path, busybox_layout)
    one = builder.build(BuildRequest(make_context("one", files), REPO, "1.0.0")).result
    files["src/func_main.py"] = "def infer(x):\n    return {'y': 2}\n"
    two = builder.build(BuildRequest(make_context("two", files, version="1.0.1"), REPO, "1.0.1")).result
    a = {x.klass: x.digest for x in one.layers}
    b = {x.klass: x.digest for x in two.layers}
    assert [k for k in a if a[k] != b[k]] == ["code"]  # the version is a label: config only
    assert next(x for x in two.layers if x.klass == "weights").cached is True


_REPRO = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from tests.image.conftest import CONTRACT, demo_files, write_tree
    from hydro_ci.contract.model import ModelFolder
    from hydro_ci.render.assemble import RenderOptions, render_folder
    from hydro_ci.build import BuildRequest, OCIOptions, make_builder
    root = Path(sys.argv[1])
    write_tree(root / "m", demo_files(bytes(range(256)) * 40000))
    folder = ModelFolder(root=root / "m", name="demo", runtime="hydro-ci-test/busybox:1", contract=CONTRACT)
    ctx = render_folder(folder, RenderOptions(output=root / "ctx", version="2.0.0"))
    b = make_builder("oci", OCIOptions(cache=root / "cache", base_from=sys.argv[2]))
    print(json.dumps(b.build(BuildRequest(ctx, "r.example/x", "2.0.0")).result.to_json()))
""")


@pytest.mark.engine
def test_two_builds_elsewhere_with_other_umask_clock_and_zone_are_identical(busybox_layout: Path,
                                                                           tmp_path: Path) -> None:
    repo_root = str(Path(__file__).resolve().parents[2])
    digests = []
    for name, umask, tz in (("first", "022", "UTC"), ("second/deeper", "077", "Pacific/Kiritimati")):
        where = tmp_path / name
        where.mkdir(parents=True)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH), "TZ": tz}
        proc = subprocess.run(
            ["sh", "-c", f'umask {umask} && exec "$0" "$@"', sys.executable, "-c", _REPRO, str(where),
             f"oci:{busybox_layout}:base", repo_root],
            capture_output=True, text=True, env=env, cwd=where)
        assert proc.returncode == 0, proc.stderr
        digests.append(json.loads(proc.stdout.strip().splitlines()[-1])["digest"])
        # the clock moves on between the two builds; only SOURCE_DATE_EPOCH may count
    assert digests[0] == digests[1] and digests[0].startswith("sha256:")


@pytest.mark.engine
def test_requirements_are_installed_into_a_deps_layer(make_context: MakeContext, busybox_layout: Path,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = tmp_path / "wheels"
    write_wheel(wheels, "tinypkg", "1.2.3")
    # The build machine's wheelhouse comes from its own pip settings: a requirements file may not
    # point pip at a folder outside the payload (tests/security/test_host_code.py).
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    files = {**demo_files(b"w"), "requirements.txt": "tinypkg==1.2.3\n"}
    ctx = make_context(files=files, install_command="pip install -r requirements.txt")
    out = tmp_path / "oci"
    built = _builder(tmp_path, busybox_layout).build(BuildRequest(ctx, REPO, "1.0.0"))
    LayoutPublisher(out, REPO).publish(built.image, TagSet.given("1.0.0"))
    result = built.result
    image = layout.read_layout(out, "1.0.0")
    assert image.config.env_value("PYTHONPATH") == "/opt/hydro-ci/site-packages"
    tree = tree_of_tars(_layer_tars(image), under="opt")
    assert tree["opt/hydro-ci/site-packages/tinypkg/__init__.py"][0] == "file"
    assert any(k.endswith("tinypkg-1.2.3.dist-info/METADATA") for k in tree)
    assert result.layers[0].klass == "deps"
    # The same requirements again: pip is not run (its wheels are gone), the layer is the same.
    for wheel in wheels.iterdir():
        wheel.unlink()
    again = _builder(tmp_path, busybox_layout).build(BuildRequest(make_context("again", files=files,
                     install_command="pip install -r requirements.txt"), REPO, "1.0.0")).result
    assert again.layers[0].digest == result.layers[0].digest
    assert again.digest == result.digest


@pytest.mark.engine
def test_unsupported_install_command_fails_the_build(make_context: MakeContext, busybox_layout: Path,
                                                     tmp_path: Path) -> None:
    ctx = make_context(install_command="apt-get install -y libgomp1")
    with pytest.raises(OCIBuildError, match="cannot run install-command"):
        _builder(tmp_path, busybox_layout).build(BuildRequest(ctx, REPO, "1.0.0"))


@pytest.mark.engine
def test_same_tree_under_model_as_the_engine_build(make_context: MakeContext, busybox_base: str,
                                                   busybox_layout: Path, docker_client: Any,
                                                   tmp_path: Path) -> None:
    files = {**demo_files(os.urandom(5 << 20)), "src/run.sh": "#!/bin/sh\necho hi\n"}
    ctx = make_context(files=files, runtime=busybox_base, executable=("src/run.sh",))
    engine = make_builder("docker", EngineOptions(pull_base=False))
    ref = "hydro-ci-test/oci-vs-engine"
    engine_result = engine.build(BuildRequest(ctx, ref, "1.0.0")).result
    engine_cfg = docker_client.api.inspect_image(engine_result.id)["Config"]
    container = docker_client.containers.create(engine_result.id, command=["true"])
    try:
        export = b"".join(container.export())
    finally:
        container.remove(force=True)
        docker_client.images.remove(engine_result.id, force=True)
    engine_tree = tree_of_tars([export])

    ours = _builder(tmp_path, busybox_layout)
    built = ours.build(BuildRequest(ctx, ref, "1.0.0"))
    ArchivePublisher(tmp_path / "img.tar", ref).publish(built.image, TagSet.given("1.0.0"))
    image = built.image
    oci_tree = tree_of_tars(_layer_tars(image))
    assert oci_tree == engine_tree
    assert oci_tree == tree_of_dir(ctx.root)  # and both are the rendered context
    assert oci_tree["model/files/src/run.sh"][1] == 0o755
    assert image.config.working_dir == engine_cfg["WorkingDir"]
    assert dict(image.config.labels) == engine_cfg["Labels"]


@pytest.mark.engine
@pytest.mark.registry
def test_push_then_skopeo_copy_and_umoci_unpack(make_context: MakeContext, busybox_layout: Path,
                                                registry: Any, unique_repo: str, tmp_path: Path) -> None:
    ctx = make_context(files=demo_files(os.urandom(5 << 20)))
    image_repo = f"{registry.host}/{unique_repo}"
    creds = Credentials(registry.username, registry.password)
    builder = _builder(tmp_path, busybox_layout)
    built = builder.build(BuildRequest(ctx, image_repo, "1.0.0"))
    result = built.result
    pushed = _push(built, "1.0.0", "latest", keychain=Keychain(creds))
    assert pushed.digest == result.digest and pushed.bytes_uploaded and not pushed.unchanged
    auth = ["--creds", f"{registry.username}:{registry.password}", "--tls-verify=false"]
    info = json.loads(_run("skopeo", "inspect", *auth, f"docker://{image_repo}:1.0.0"))
    assert info["Digest"] == result.digest and info["Labels"]["MODEL_VERSION"] == "1.0.0"
    _run("skopeo", "copy", "-q", "--src-creds", f"{registry.username}:{registry.password}",
         "--src-tls-verify=false", f"docker://{image_repo}:latest", f"oci:{tmp_path}/pulled:latest")
    _run("umoci", "unpack", "--rootless", "--image", f"{tmp_path}/pulled:latest", str(tmp_path / "bundle"))
    assert tree_of_dir(tmp_path / "bundle" / "rootfs") == tree_of_dir(ctx.root)
    again = _push(built, "1.0.0", "latest", keychain=Keychain(creds))
    assert (again.unchanged, again.bytes_uploaded) == (True, 0)


@pytest.mark.engine
@pytest.mark.registry
def test_registry_base_is_pinned_and_its_layers_mounted(make_context: MakeContext, busybox_base: str,
                                                        registry: Any, unique_repo: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    base_ref = f"{registry.host}/{unique_repo}-base:1"
    user = f"{registry.username}:{registry.password}"
    _run("skopeo", "copy", "-q", "--dest-creds", user, "--dest-tls-verify=false",
         f"docker-daemon:{busybox_base}", f"docker://{base_ref}")
    base_digest = json.loads(_run("skopeo", "inspect", "--creds", user, "--tls-verify=false",
                                  f"docker://{base_ref}"))["Digest"]
    ctx = make_context(runtime=base_ref)
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    auth = base64.b64encode(user.encode()).decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    builder = make_builder("oci", OCIOptions(cache=tmp_path / "cache"))  # the base comes from the runtime ref
    built = builder.build(BuildRequest(ctx, f"{registry.host}/{unique_repo}", "1.0.0"))
    pushed = _push(built)
    base = built.result.base
    assert base is not None and (base.ref, base.digest) == (base_ref, base_digest)
    image = built.image
    assert image.manifest.annotations["org.opencontainers.image.base.digest"] == base_digest
    base_layer = image.manifest.layers[0]
    assert pushed.bytes_skipped is not None and pushed.bytes_skipped >= base_layer.size  # mounted


def test_runtime_python_and_platform_for_wheels() -> None:
    from hydro_ci.build.oci import pip_platforms
    from hydro_ci.build.python import runtime_python
    from hydro_ci.errors import UsageError
    from hydro_ci.image.model import ImageConfig, Platform

    with_env = ImageConfig({"config": {"Env": ["PYTHON_VERSION=3.12.4"]}})
    assert runtime_python(with_env, "python:3.12-slim").version == "3.12"
    hydrosphere = "hydrosphere/serving-runtime-python-3.7:3.0.0"
    assert runtime_python(ImageConfig.empty(), hydrosphere).version == "3.7"
    assert runtime_python(ImageConfig.empty(), "busybox").version == "3.11"
    assert runtime_python(ImageConfig.empty(), "busybox", "3.10").version == "3.10"
    with pytest.raises(UsageError, match=r"3\.10 contradicts the base's PYTHON_VERSION=3\.12\.4"):
        runtime_python(with_env, "x", "3.10")
    assert pip_platforms(Platform("arm64", "linux")) == ["manylinux_2_28_aarch64"]
    with pytest.raises(OCIBuildError, match="cannot pick wheels for platform windows/amd64"):
        pip_platforms(Platform("amd64", "windows"))


@pytest.mark.registry
def test_missing_registry_base_fails_with_one_line(make_context: MakeContext, open_registry: Any,
                                                   unique_repo: str, tmp_path: Path) -> None:
    missing = f"{open_registry.host}/{unique_repo}:1"
    ctx = make_context(runtime=missing)
    builder = make_builder("oci", OCIOptions(cache=tmp_path / "cache"))
    with pytest.raises(OCIBuildError, match=f"cannot read base image {missing} from its registry") as err:
        builder.build(BuildRequest(ctx, REPO, "1.0.0"))
    assert "\n" not in str(err.value) and err.value.hint


@pytest.mark.engine
def test_bases_from_scratch_and_from_a_docker_archive(make_context: MakeContext, busybox_base: str,
                                                      docker_client: Any, tmp_path: Path) -> None:
    ctx = make_context()
    scratch = make_builder("oci", OCIOptions(cache=tmp_path / "cache", base_from="scratch"))
    built = scratch.build(BuildRequest(ctx, REPO, "1.0.0"))
    LayoutPublisher(tmp_path / "scratch", REPO).publish(built.image, TagSet.given("1.0.0"))
    image = layout.read_layout(tmp_path / "scratch", "1.0.0")
    assert [x.klass for x in built.result.layers] == ["weights", "code", "contract"]
    assert len(image.layers) == 3 and image.config.working_dir == "/model/files"
    _run("umoci", "unpack", "--rootless", "--image", f"{tmp_path}/scratch:1.0.0", str(tmp_path / "bundle"))
    assert sorted(p.name for p in (tmp_path / "bundle" / "rootfs").iterdir()) == ["model"]

    archive = tmp_path / "base.tar"
    with archive.open("wb") as f:
        for chunk in docker_client.images.get(busybox_base).save(named=True):
            f.write(chunk)
    options = OCIOptions(cache=tmp_path / "cache", base_from=f"docker-archive:{archive}")
    from_archive = make_builder("oci", options)
    img = from_archive.build(BuildRequest(ctx, REPO, "1.0.0")).image
    assert len(img.layers) == 4
    # The layers we add are the same whatever the base.
    assert [str(d.digest) for d in img.manifest.layers[1:]] == [str(d.digest) for d in image.manifest.layers]


@pytest.mark.engine
@pytest.mark.registry
def test_weights_changed_after_build_are_refused_and_no_tag_appears(
        make_context: MakeContext, busybox_layout: Path, open_registry: Any, unique_repo: str,
        tmp_path: Path) -> None:
    from hydro_ci.image.layer import LayerError
    from hydro_ci.registry.client import client_for

    ctx = make_context(files=demo_files(os.urandom(5 << 20)))
    builder = _builder(tmp_path, busybox_layout)
    built = builder.build(BuildRequest(ctx, f"{open_registry.host}/{unique_repo}", "1.0.0"))
    weights = ctx.root / "model/files/weights.bin"
    weights.chmod(0o644)
    weights.write_bytes(os.urandom(5 << 20))  # same size, other bytes, newer mtime
    with pytest.raises(LayerError, match="changed after the image was built"):
        _push(built, "1.0.0", "latest")
    client = client_for(open_registry.host)
    assert client.head_manifest(unique_repo, "1.0.0") is None
    assert client.head_manifest(unique_repo, "latest") is None


@pytest.mark.engine
def test_platform_must_match_a_single_platform_base(make_context: MakeContext, busybox_layout: Path,
                                                    tmp_path: Path) -> None:
    ctx = make_context()
    with pytest.raises(OCIBuildError, match=r"is linux/amd64, not linux/arm64"):
        _builder(tmp_path, busybox_layout, platform="linux/arm64").build(BuildRequest(ctx, REPO, "1.0.0"))
    arm = make_builder("oci", OCIOptions(cache=tmp_path / "cache", base_from="scratch",
                                         platform="linux/arm64"))
    built = arm.build(BuildRequest(ctx, REPO, "1.0.0")).image
    assert isinstance(built, Image) and str(built.config.platform) == "linux/arm64"


@pytest.mark.registry
@pytest.mark.parametrize("version", ["v2", "2.0", "nightly"])
def test_a_version_that_is_not_semver_is_still_never_overwritten(
        make_context: MakeContext, open_registry: Any, unique_repo: str, tmp_path: Path,
        version: str) -> None:
    from hydro_ci.errors import TagExistsError
    from hydro_ci.registry.client import client_for

    image = f"{open_registry.host}/{unique_repo}"
    builder = make_builder("oci", OCIOptions(cache=tmp_path / "cache", base_from="scratch"))
    ctx_a = make_context("a", {"src/a.py": "A = 1\n"}, version=version)
    first = builder.build(BuildRequest(ctx_a, image, version))
    _push(first)
    ctx_b = make_context("b", {"src/a.py": "A = 2\n"}, version=version)
    other = builder.build(BuildRequest(ctx_b, image, version))
    assert other.result.digest != first.result.digest
    with pytest.raises(TagExistsError):
        _push(other)
    assert client_for(open_registry.host).head_manifest(unique_repo, version) == first.result.digest


def test_a_linked_context_builds_the_same_image_and_refuses_weights_changed_since_render(
        make_context: MakeContext, tmp_path: Path) -> None:
    from hydro_ci.errors import ContextError
    from hydro_ci.render.context import load_context

    files = demo_files(os.urandom(3 << 20))
    copied = make_context("copied", files)
    linked = make_context("linked", files, link=True)
    assert (linked.root / "model/files/weights.bin").is_symlink()
    # separate caches, so the linked build really reads the model folder's file through the link
    digests = [make_builder("oci", OCIOptions(cache=tmp_path / f"cache-{c.root.name}", base_from="scratch"))
               .build(BuildRequest(c, REPO, "1.0.0")).result.digest for c in (copied, linked)]
    assert digests[0] == digests[1]
    (tmp_path / "linked/weights.bin").write_bytes(os.urandom(3 << 20))  # rewritten after the render
    builder = make_builder("oci", OCIOptions(cache=tmp_path / "cache-3", base_from="scratch"))
    with pytest.raises(ContextError, match="changed after the context"):
        builder.build(BuildRequest(load_context(linked.root), REPO, "1.0.0"))
