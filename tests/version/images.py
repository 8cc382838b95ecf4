"""Tiny images (an empty config with labels) pushed to the real test registry."""

from __future__ import annotations

from collections.abc import Iterable

from hydro_ci.contract.model import Contract
from hydro_ci.image.model import Image
from hydro_ci.image.mutate import configure, scratch, with_config
from hydro_ci.image.remote import push_image
from hydro_ci.reference import ImageReference
from hydro_ci.registry import Credentials, Keychain
from hydro_ci.registry.client import RegistryClient, client_for
from hydro_ci.render.labels import CONTRACT_LABEL, contract_label_value


def tiny_image(labels: dict[str, str]) -> Image:
    base = scratch()
    return with_config(base, configure(base.config, labels=labels))


def contract_image(contract: Contract | None, **labels: str) -> Image:
    if contract is not None:
        labels = {**labels, CONTRACT_LABEL: contract_label_value(contract)}
    return tiny_image(labels)


def push(client: RegistryClient, repository: str, image: Image, tags: Iterable[str]) -> str:
    ref = ImageReference(client.registry, repository)
    return push_image(client, ref, image, immutable_tags=list(tags)).digest


def client(host: str, username: str | None, password: str | None) -> RegistryClient:
    return client_for(host, Keychain(Credentials(username, password) if username and password else None))
