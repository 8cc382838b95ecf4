"""Credentials never appear in output, logs, exceptions, reprs or JSON (grepped for everywhere)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from faultproxy import Fault, FaultProxy
from regkit import FAST, make_image

from hydro_ci.errors import HydroCIError
from hydro_ci.image.reference import ImageReference
from hydro_ci.image.remote import push_image, read_labels
from hydro_ci.registry import RegistryClient, client_for
from hydro_ci.registry.credentials import Credentials

pytestmark = pytest.mark.registry


def test_password_is_nowhere(registry: Any, unique_repo: str, empty_docker_config: str,
                             capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, requests, urllib3
    wrong = "wrong-pw-5d1e0c"
    secrets = [registry.password, wrong]
    secrets += [base64.b64encode(f"{registry.username}:{p}".encode()).decode() for p in secrets]
    seen: list[str] = []

    client = client_for(registry.host, username=registry.username, password=registry.password)
    seen += [repr(client), repr(client.auth), str(client.__dict__)]
    ref = ImageReference(registry.host, unique_repo)
    result = push_image(client, ref, make_image({"a": "b"}), tags=["1.0.0", "latest"],
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
        push_image(via, ImageReference(proxy.host, unique_repo), make_image({"a": "b"}), tags=["1.0.0"])
        via.list_tags(unique_repo)

    # Failures: wrong password, permanent fault, a tag conflict.
    failures: list[HydroCIError] = []
    for action in (
        lambda: client_for(registry.host, username=registry.username, password=wrong).ping(),
        lambda: push_image(client, ref, make_image({"other": "image"}), tags=["1.0.0"]),
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
