"""One pipeline of the race test: `version next --reserve`, then push an image under its version tag.

Run as a separate process: ``python race_worker.py CLONE REGISTRY_HOST REPOSITORY GO_FILE RUN_ID``;
credentials come from HYDRO_CI_TEST_REGISTRY_USER/PASSWORD. Prints one JSON line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

from hydro_ci.cli import main as hydro_ci
from hydro_ci.image.mutate import configure, scratch, with_config
from hydro_ci.image.remote import push_image
from hydro_ci.reference import ImageReference
from hydro_ci.registry import Credentials, Keychain
from hydro_ci.registry.client import client_for
from hydro_ci.render.labels import CONTRACT_LABEL


def main() -> int:
    clone, host, repository, go, run_id = sys.argv[1:6]
    user, password = os.environ["HYDRO_CI_TEST_REGISTRY_USER"], os.environ["HYDRO_CI_TEST_REGISTRY_PASSWORD"]
    Path(f"{go}.{run_id}.ready").touch()
    while not Path(go).exists():  # start together
        time.sleep(0.01)
    sys.stdin = io.StringIO(password)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = hydro_ci(["version", "next", f"{clone}/models/titanic", "--source", "both", "--image",
                         f"{host}/{repository}", "--branch", "main", "--reserve", "--json",
                         "--username", user, "--password-stdin"])
    if code != 0:
        return code
    decision = json.loads(out.getvalue())
    contract = json.dumps(json.loads((Path(clone) / "contract.json").read_text()), sort_keys=True,
                          separators=(",", ":"))
    base = scratch()
    image = with_config(base, configure(base.config, labels={CONTRACT_LABEL: contract, "run": run_id}))
    with client_for(host, Keychain(Credentials(user, password) if user and password else None)) as client:
        pushed = push_image(client, ImageReference(host, repository), image,
                            immutable_tags=[t["tag"] for t in decision["tags"] if t["kind"] == "immutable"])
    print(json.dumps({"run": run_id, "version": decision["version"], "digest": pushed.digest,
                      "git_tag": decision["git_tag"], "notes": decision["notes"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
