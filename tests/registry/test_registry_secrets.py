"""Credentials never appear in output, logs, exceptions, reprs or JSON (grepped for everywhere)."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from faultproxy import Fault, FaultProxy
from regkit import FAST, make_image

from hydro_ci.errors import HydroCIError
from hydro_ci.image.remote import push_image, read_labels
from hydro_ci.reference import ImageReference
from hydro_ci.registry import Keychain, RegistryClient, client_for
from hydro_ci.registry.credentials import Credentials

pytestmark = pytest.mark.registry


def test_password_is_nowhere(registry: Any, unique_repo: str, empty_docker_config: str,
                             capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, requests, urllib3
    wrong = "wrong-pw-5d1e0c"
    secrets = [registry.password, wrong]
    secrets += [base64.b64encode(f"{registry.username}:{p}".encode()).decode() for p in secrets]
    seen: list[str] = []

    client = client_for(registry.host, Keychain(Credentials(registry.username, registry.password)))
    seen += [repr(client), repr(client.auth), str(client.__dict__)]
    ref = ImageReference(registry.host, unique_repo)
    result = push_image(client, ref, make_image({"a": "b"}), immutable_tags=["1.0.0"], moving_tags=["latest"],
                        progress=lambda p: seen.append(repr(p)))
    seen.append(json.dumps(result.to_dict()))
    seen.append(repr(result))
    seen.append(json.dumps(read_labels(client, ref.with_tag("1.0.0"))))

    # Retries and faults log too: go through the proxy with a few of them.
    with FaultProxy(registry.host) as proxy:
        proxy.add(Fault("status", "HEAD", "/manifests/", status=503), Fault("drop", "GET", "/manifests/"),
                  Fault("unauthorized", "GET", "/tags/list"))
        via = RegistryClient(proxy.host, credentials=Credentials(registry.username, registry.password),
                             insecure=True, retries=FAST)
        push_image(via, ImageReference(proxy.host, unique_repo), make_image({"a": "b"}),
                   immutable_tags=["1.0.0"])
        via.list_tags(unique_repo)

    # Failures: wrong password, permanent fault, a tag conflict.
    failures: list[HydroCIError] = []
    for action in (
        lambda: client_for(registry.host, Keychain(Credentials(registry.username, wrong))).ping(),
        lambda: push_image(client, ref, make_image({"other": "image"}), immutable_tags=["1.0.0"]),
        lambda: RegistryClient("127.0.0.1:9", credentials=Credentials("u", registry.password),
                               insecure=True, retries=FAST).ping(),
    ):
        with pytest.raises(HydroCIError) as err:
            action()
        failures.append(err.value)
    for e in failures:
        seen += [str(e), repr(e), str(e.hint), str(e.__dict__), str(e.__cause__), str(e.__context__)]

    out, errout = capfd.readouterr()
    seen += [out, errout]
    seen += [r.getMessage() for r in caplog.records] + [repr(r.__dict__) for r in caplog.records]
    everything = "\n".join(seen)
    assert len(caplog.records) > 10  # the logs were really captured
    for secret in secrets:
        assert secret not in everything


def _cli(args: list[str], stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hydro_ci", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)


def test_password_is_nowhere_in_cli_output(registry: Any, unique_repo: str, tmp_path: Path,
                                           empty_docker_config: str) -> None:
    """`hydro-ci push --builder oci` end to end, right and wrong password, docker config too."""
    from hydro_ci.image.layout import write_layout

    layout = tmp_path / "layout"
    write_layout(layout, {"1.0.0": make_image({"a": "b"})})
    env = {**os.environ, "DOCKER_CONFIG": empty_docker_config}
    push = ["push", "--image", f"{registry.host}/{unique_repo}", "--version", "1.0.0", "--tag", "latest",
            "--builder", "oci", "--layout", str(layout), "--json"]
    wrong = "wrong-pw-77e2a1"
    ok = _cli([*push, "--username", registry.username, "--password-stdin"], registry.password + "\n", env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["digest"].startswith("sha256:")
    bad = _cli([*push, "--username", registry.username, "--password-stdin"], wrong + "\n", env)
    assert bad.returncode == 1
    first_line = bad.stderr.splitlines()[0]
    assert first_line.startswith("error: registry") and "refused the credentials" in first_line
    auth = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    config = {"auths": {registry.host: {"auth": auth}}}
    Path(empty_docker_config, "config.json").write_text(json.dumps(config))
    again = _cli(push, "", env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["bytes_uploaded"] == 0
    everything = "\n".join(p.stdout + p.stderr for p in (ok, bad, again))
    for secret in (registry.password, wrong, auth):
        assert secret not in everything
