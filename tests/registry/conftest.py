"""Fixtures for the registry tests: clients for the real test registries, an empty Docker config."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from regkit import FAST

from hydro_ci.registry import RegistryClient
from hydro_ci.registry.credentials import Credentials


@pytest.fixture
def auth_client(registry: Any) -> Iterator[RegistryClient]:
    assert registry.username and registry.password
    with RegistryClient(registry.host, credentials=Credentials(registry.username, registry.password),
                        insecure=True, retries=FAST) as c:
        yield c


@pytest.fixture
def open_client(open_registry: Any) -> Iterator[RegistryClient]:
    with RegistryClient(open_registry.host, insecure=True, retries=FAST) as c:
        yield c


@pytest.fixture
def empty_docker_config(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> str:
    """DOCKER_CONFIG pointing at an empty folder, so the host's own login never leaks into a test."""
    path = os.path.join(str(tmp_path), "docker-config")
    os.makedirs(path, exist_ok=True)
    monkeypatch.setenv("DOCKER_CONFIG", path)
    return path
