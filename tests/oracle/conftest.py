"""Session fixtures: the hs 3 and hs 2 oracles (tests/oracle/envs.py). Made on first use; a
machine without a package index skips these tests locally and fails them in CI."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.oracle.envs import OracleUnavailable, run_driver

Driver = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def _oracle(name: str) -> Driver:
    try:
        run_driver(name, [])  # makes the venv, or says why it cannot
    except OracleUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the {name} oracle cannot be installed: {exc}")
        pytest.skip(f"the {name} oracle cannot be installed here: {exc}")
    return lambda cases: run_driver(name, cases)


@pytest.fixture(scope="session")
def hs3() -> Driver:
    return _oracle("hs3")


@pytest.fixture(scope="session")
def hs2() -> Driver:
    return _oracle("hs2")
