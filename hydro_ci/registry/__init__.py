"""The registry as an HTTP service: our OCI distribution client, its auth and credentials."""

from hydro_ci.registry.client import MANIFEST_ACCEPT, RegistryClient, client_for
from hydro_ci.registry.credentials import Credentials
from hydro_ci.registry.keychain import Keychain
from hydro_ci.registry.retry import RetryPolicy

__all__ = ["MANIFEST_ACCEPT", "Credentials", "Keychain", "RegistryClient", "RetryPolicy", "client_for"]
