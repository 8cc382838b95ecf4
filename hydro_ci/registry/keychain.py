"""The one keychain: which credentials a registry gets, for every verb and pipeline stage.

In order, as go-containerregistry's ``authn.DefaultKeychain`` with given credentials in front:

1. credentials given to this run: ``--username``/``--password-stdin``, else the environment's
   ``HYDRO_CI_REGISTRY_USERNAME``/``HYDRO_CI_REGISTRY_PASSWORD`` (what the GitHub Action sets),
   and only for the registries they are given for (the ``--image`` registry): a base image read
   from Docker Hub never receives the token of the registry the model is pushed to;
2. Docker's config: ``credHelpers`` → ``credsStore`` → ``auths`` (``docker login``, login actions);
3. anonymous.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hydro_ci.errors import CredentialsError
from hydro_ci.registry.credentials import Credentials, from_docker_config, normalize_registry

ENV_USERNAME = "HYDRO_CI_REGISTRY_USERNAME"
ENV_PASSWORD = "HYDRO_CI_REGISTRY_PASSWORD"


@dataclass(frozen=True)
class Keychain:
    """``given`` credentials for ``given_for`` (registry names; None: whatever registry is asked),
    then Docker's config read through ``env`` (None: this process's environment)."""

    given: Credentials | None = None
    given_for: frozenset[str] | None = None
    env: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, username: str | None, password: str | None, *, registries: Iterable[str] | None = None,
           env: Mapping[str, str] | None = None) -> Keychain:
        """The keychain of a command line: the flags' credentials, else the environment's, for
        ``registries`` (None: any registry the command names); Docker's config after them."""
        environ = os.environ if env is None else env
        if username is None and password is None:
            username = environ.get(ENV_USERNAME) or None
            password = environ.get(ENV_PASSWORD) or None
            if not (username and password):  # half of a pair in the environment: not a login
                username = password = None
        if (username is None) != (password is None) or username == "":
            raise CredentialsError("a registry user name needs a password and vice versa",
                                   hint="pass both --username and --password-stdin")
        given = Credentials(username, password) if username is not None and password is not None else None
        scope = None if registries is None else frozenset(normalize_registry(r) for r in registries)
        return cls(given, scope, env)

    def only_for(self, registries: Iterable[str]) -> Keychain:
        """This keychain with its given credentials kept for ``registries`` alone."""
        return Keychain(self.given, frozenset(normalize_registry(r) for r in registries), self.env)

    def resolve(self, registry: str) -> Credentials | None:
        """The credentials ``registry`` (host[:port]) gets; None: anonymous."""
        if self.given is not None and (self.given_for is None
                                       or normalize_registry(registry) in self.given_for):
            return self.given
        return from_docker_config(registry, env=self.env)


DEFAULT_KEYCHAIN = Keychain()  # nothing given: Docker's config, else anonymous
