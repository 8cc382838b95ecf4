"""A registry cannot park a CI job in silence, or make us misname what it holds.

A far-future ``Retry-After`` (delta seconds or an HTTP date) used to mean 120 s of silence per try;
the wait is now capped at 30 s and said in a line. Messages name a manifest by digest as
``repo@sha256:…`` (``repo:sha256:…`` is no reference at all).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from registry.faultproxy import Fault, FaultProxy

from hydro_ci.errors import NotFoundError
from hydro_ci.registry import RegistryClient, RetryPolicy

pytestmark = pytest.mark.registry


class Sleeps:
    def __init__(self) -> None:
        self.asked: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


@pytest.fixture
def proxy(open_registry: Any) -> Iterator[FaultProxy]:
    with FaultProxy(open_registry.host) as p:
        yield p


@pytest.mark.parametrize("retry_after", ["86400", "Fri, 31 Dec 2100 23:59:59 GMT"])
def test_a_far_future_retry_after_is_capped_and_said(proxy: FaultProxy, unique_repo: str, retry_after: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    sleeps = Sleeps()
    client = RegistryClient(proxy.host, insecure=True, retries=RetryPolicy(attempts=3, sleep=sleeps))
    proxy.add(Fault("status", "GET", r"/tags/list", times=2, status=503, retry_after=retry_after))
    with caplog.at_level(logging.WARNING, logger="hydro_ci"):
        assert client.list_tags(unique_repo) == []
    assert sleeps.asked == [30.0, 30.0]
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 2 and all("asked to wait" in m and "waiting 30 s" in m for m in said), said


def test_an_upload_lost_to_a_far_future_retry_after_is_capped(proxy: FaultProxy, unique_repo: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    from registry.regkit import make_image

    from hydro_ci.image.reference import ImageReference
    from hydro_ci.image.remote import push_image

    sleeps = Sleeps()
    client = RegistryClient(proxy.host, insecure=True, retries=RetryPolicy(attempts=3, sleep=sleeps))
    proxy.add(Fault("status", "PUT", r"/blobs/uploads/", times=1, status=503, retry_after="99999"))
    with caplog.at_level(logging.WARNING, logger="hydro_ci"):
        push_image(client, ImageReference(proxy.host, unique_repo), make_image({"a": "b"}), tags=["1.0.0"])
    assert max(sleeps.asked) == 30.0
    assert any("99999" in r.getMessage() for r in caplog.records)


def test_a_manifest_named_by_digest_is_written_with_an_at(open_registry: Any, unique_repo: str) -> None:
    client = RegistryClient(open_registry.host, insecure=True)
    digest = "sha256:" + "0" * 64
    with pytest.raises(NotFoundError) as err:
        client.get_manifest(unique_repo, digest)
    assert f"{unique_repo}@{digest}" in str(err.value) and f"{unique_repo}:{digest}" not in str(err.value)
