"""What SBOM + provenance + signature add to a 1 GiB daemonless build + push.

One git repository with a model folder holding ``--size`` (default 1 GiB) of random weights. Each
round runs the pipeline in this process twice, to fresh repositories with fresh layer caches (so
both hash and upload everything): plainly, and with ``--sbom --provenance --sign-key``; the order
alternates between rounds. It prints each run's time and the attest stage's own time (from the
stage events), and the overhead: median(attested) / median(plain) - 1, and attest / median(plain).
Goal: < 5 %.

    python benchmarks/attest_overhead.py [--size 1GiB] [--rounds 3] [--registry 127.0.0.1:5001]

Measured on the 2-core machine, quiet, 1 GiB, local registry (docker-registry 2.8: the referrers
tag fallback), 3 rounds: see docs/attest.md#benchmark.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_engine import parse_size

from hydro_ci.build import ProgressEvent
from hydro_ci.pipeline import PipelineOptions, PipelineState, run_pipeline
from hydro_ci.pipeline.stages import STAGE_EVENT
from hydro_ci.sign.keys import generate_key_pair

SERVING = """kind: Model
name: bench
runtime: "hydrosphere/serving-runtime-python-3.11:3.0.0"
payload: ["src/", "weights.bin"]
contract:
  name: infer
  inputs: {x: {shape: [-1, 4], type: float32}}
  outputs: {y: {shape: [-1], type: float32}}
hydro-ci: {base-image: scratch}
"""


def write_repo(root: Path, size: int) -> Path:
    folder = root / "models" / "bench"
    (folder / "src").mkdir(parents=True)
    (folder / "serving.yaml").write_text(SERVING)
    (folder / "src/func_main.py").write_text("def infer(x):\n    return {'y': x}\n")
    with (folder / "weights.bin").open("wb") as f:  # random: incompressible, like real weights
        left = size
        while left:
            n = min(left, 16 << 20)
            f.write(os.urandom(n))
            left -= n
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return folder


def run_once(folder: Path, image: str, tmp: Path, attest: bool, key: Path) -> tuple[float, float]:
    """(whole pipeline seconds, attest stage seconds)."""
    os.environ["HYDRO_CI_CACHE"] = str(tmp / f"cache-{uuid.uuid4().hex[:6]}")
    marks: dict[str, float] = {}

    def progress(event: ProgressEvent) -> None:
        if event.id == STAGE_EVENT:
            marks[event.stage] = time.perf_counter()

    out = tmp / f"out-{uuid.uuid4().hex[:6]}"
    options = PipelineOptions(model_dir=folder, image=image, push=True, version="1.0.0", output=out / "o",
                              dist=out / "dist", sbom=attest, provenance=attest,
                              sign_key=key if attest else None)
    start = time.perf_counter()
    run_pipeline(options, state=PipelineState(options=options, progress=progress))
    total = time.perf_counter() - start
    stage = marks["attest"] - marks["push"] if attest else 0.0
    return total, stage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--registry", default=os.environ.get("HYDRO_CI_BENCH_REGISTRY", "127.0.0.1:5001"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hydro-ci-bench-") as d:
        tmp = Path(d)
        folder = write_repo(tmp / "repo", parse_size(args.size))
        key = tmp / "cosign.key"
        key.write_bytes(generate_key_pair(b"bench")[0])
        os.environ["COSIGN_PASSWORD"] = "bench"
        os.environ.pop("SOURCE_DATE_EPOCH", None)
        plain: list[float] = []
        attested: list[float] = []
        stages: list[float] = []
        for r in range(args.rounds):
            for attest in ((False, True) if r % 2 == 0 else (True, False)):
                image = f"{args.registry}/bench/attest-{uuid.uuid4().hex[:8]}"
                total, stage = run_once(folder, image, tmp, attest, key)
                (attested if attest else plain).append(total)
                if attest:
                    stages.append(stage)
                print(f"  round {r + 1} {'attested' if attest else 'plain   '} {total:7.2f} s"
                      + (f"  (attest stage {stage:.2f} s)" if attest else ""), flush=True)
        base, with_attest, stage = (statistics.median(plain), statistics.median(attested),
                                    statistics.median(stages))
        print(f"build + push, median of {args.rounds}: plain {base:.2f} s, with SBOM + provenance + "
              f"signature {with_attest:.2f} s")
        print(f"overhead: end to end {100 * (with_attest / base - 1):+.1f} %, attest stage "
              f"{stage:.2f} s = {100 * stage / base:.1f} % of a plain run (goal < 5 %: "
              f"{'ok' if stage / base < 0.05 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
