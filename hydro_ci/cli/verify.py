"""``hydro-ci verify IMAGE``: check signature and provenance, rebuild, compare digests."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", metavar="IMAGE", help="REGISTRY/REPO:TAG or @sha256:DIGEST")
    p.add_argument(
        "--key",
        type=Path,
        metavar="FILE",
        help="cosign public key (cosign.pub): require its signature on the image and provenance",
    )
    p.add_argument(
        "--no-rebuild",
        action="store_true",
        help="check signature and attestations only; do not build the image again",
    )
    p.add_argument(
        "--source",
        metavar="DIR|URL",
        help="clone this instead of the repository the provenance names (a mirror, a local clone)",
    )
    p.add_argument(
        "--base-from",
        metavar="SOURCE",
        help="read the base from here instead of the recorded registry digest (oci:DIR:TAG, …)",
    )
    p.add_argument("--insecure", action="store_true", help="plain HTTP (registries on this machine only)")
    p.add_argument("--json", action="store_true", help="the result as JSON on standard output")


def run(args: argparse.Namespace) -> int:
    from hydro_ci.attest.verify import verify

    result = verify(
        args.image,
        key=args.key,
        rebuild=not args.no_rebuild,
        source=args.source,
        base_from=args.base_from,
        insecure=args.insecure or None,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for line in result.lines:
            print(line)
    for problem in result.problems:
        print(f"error: {problem}", file=sys.stderr)
    return 0 if result.ok else 1
