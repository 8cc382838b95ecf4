"""One pipeline of the race test: reserve the next version, then push an image under its tag.

Run as a separate process: ``python race_worker.py CLONE REGISTRY_HOST REPOSITORY GO_FILE RUN_ID``;
credentials come from HYDRO_CI_TEST_REGISTRY_USER/PASSWORD. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from hydro_ci.image.mutate import configure, scratch, with_config
from hydro_ci.image.reference import ImageReference
from hydro_ci.image.remote import push_image
from hydro_ci.render.labels import CONTRACT_LABEL, contract_label_value
from hydro_ci.version.decision import context_for, decide
from hydro_ci.version.reserve import reserve


def main() -> int:
    from hydro_ci.contract.serving import load_model_folder

    clone, host, repository, go, run_id = sys.argv[1:6]
    folder = load_model_folder(Path(clone) / "models/titanic")
    ctx = context_for(folder, source="both", bump="auto", image=f"{host}/{repository}", branch="main",
                      username=os.environ.get("HYDRO_CI_TEST_REGISTRY_USER"),
                      password=os.environ.get("HYDRO_CI_TEST_REGISTRY_PASSWORD"))
    while not Path(go).exists():  # start together
        time.sleep(0.01)
    decision = reserve(lambda: decide(ctx), Path(clone), run_id=run_id)
    assert folder.contract is not None
    base = scratch()
    image = with_config(base, configure(base.config, labels={
        CONTRACT_LABEL: contract_label_value(folder.contract), "run": run_id}))
    assert ctx.client is not None
    pushed = push_image(ctx.client, ImageReference(host, repository), image,
                        immutable_tags=[t.name for t in decision.tags if t.kind == "immutable"])
    print(json.dumps({"run": run_id, "version": str(decision.version), "digest": pushed.digest,
                      "git_tag": decision.git_tag, "notes": decision.notes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
