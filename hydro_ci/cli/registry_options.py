"""How every verb that talks to a registry reaches it: the same flags, the same keychain."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from hydro_ci.errors import UsageError
from hydro_ci.registry.keychain import Keychain


def add_credential_options(parser: argparse.ArgumentParser) -> None:
    """--username/--password-stdin and --insecure."""
    parser.add_argument("--username", "-u",
                        help="registry user (default: HYDRO_CI_REGISTRY_USERNAME/PASSWORD, else the "
                             "docker config)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the registry password from standard input")
    parser.add_argument("--insecure", action="store_true", default=None,
                        help="plain HTTP to a registry on this machine (loopback only; its default)")


def keychain(args: argparse.Namespace, registries: Iterable[str] | None) -> Keychain:
    """The keychain of this command line: --username/--password-stdin (never a password on the
    command line itself), else the environment's, for ``registries``; then Docker's config."""
    if args.password_stdin and not args.username:
        raise UsageError("--password-stdin needs --username")
    if args.username and not args.password_stdin:
        raise UsageError("--username needs --password-stdin",
                         hint="echo \"$TOKEN\" | hydro-ci … --username USER --password-stdin")
    password = None
    if args.username:
        password = sys.stdin.read().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input was empty")
    return Keychain.of(args.username or None, password, registries=registries)
