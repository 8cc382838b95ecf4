"""The whole job on a bundled example: `hydro-ci pipeline` vs a hand-written `docker build` + `docker save`.

Both end in a local image file from the same folder. hydro-ci also checks the contract, decides the
version, writes the summary and an OCI layout, without a daemon; the peer only builds and saves.
Each side runs twice from a cold start (hydro-ci: empty layer cache; docker: --no-cache) in two
different directories, and the script prints the wall times, their ratio, and whether each side
produced the same image twice (the manifest digest for hydro-ci, the image id for docker).

    python benchmarks/pipeline_vs_docker.py [MODEL_DIR]   # default examples/iris-sklearn

The peer needs a Docker engine (`bash .ci/services.sh`); without one only hydro-ci is measured.
The hand-written Dockerfile is FROM scratch, like the example's base, so nothing is pulled.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEER_DOCKERFILE = """FROM scratch
COPY . /model/files
WORKDIR /model/files
LABEL MODEL_NAME={name} MODEL_VERSION=0.1.0
"""


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout


def hydro_ci_once(model: Path, work: Path) -> tuple[float, str]:
    env = {**os.environ, "HYDRO_CI_CACHE": str(work / "cache"), "SOURCE_DATE_EPOCH": "1700000000"}
    start = time.perf_counter()
    run([sys.executable, "-m", "hydro_ci", "pipeline", str(model)], work, env)
    elapsed = time.perf_counter() - start
    summary = json.loads((work / ".hydro-ci" / model.name / "summary.json").read_text())
    return elapsed, str(summary["digest"])


def docker_once(model: Path, work: Path, name: str) -> tuple[float, str]:
    context = work / "context"
    shutil.copytree(model, context)
    (context / "Dockerfile").write_text(PEER_DOCKERFILE.format(name=name))
    tag = f"hydro-ci-bench/{name}:{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    run(["docker", "build", "--no-cache", "-q", "-t", tag, "."], context)
    run(["docker", "save", "-o", str(work / "image.tar"), tag], work)
    elapsed = time.perf_counter() - start
    image_id = run(["docker", "image", "inspect", "-f", "{{.Id}}", tag], work).strip()
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    return elapsed, image_id


def engine_available() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True).returncode == 0


def main() -> None:
    model = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / "examples" / "iris-sklearn"
    name = model.name
    print(f"model folder: {model}")
    with tempfile.TemporaryDirectory(prefix="hydro-ci-bench-") as tmp:
        ours = []
        for i in range(2):
            work = Path(tmp) / f"ours-{i}"
            work.mkdir()
            ours.append(hydro_ci_once(model, work))
            print(f"  hydro-ci pipeline (cold cache) run {i + 1}: {ours[-1][0]:6.2f} s  {ours[-1][1][:19]}")
        same = ours[0][1] == ours[1][1]
        print(f"  hydro-ci: same digest twice: {same}")
        if not engine_available():
            print("  docker: no engine; peer skipped")
            return
        peer = []
        for i in range(2):
            work = Path(tmp) / f"peer-{i}"
            work.mkdir()
            peer.append(docker_once(model, work, name))
            print(f"  docker build --no-cache + save run {i + 1}: {peer[-1][0]:6.2f} s  {peer[-1][1][:19]}")
        print(f"  docker: same image id twice: {peer[0][1] == peer[1][1]}")
        mean_ours = sum(t for t, _ in ours) / len(ours)
        mean_peer = sum(t for t, _ in peer) / len(peer)
        print(f"ratio docker/hydro-ci wall time: {mean_peer / mean_ours:.2f}x "
              f"(hydro-ci {mean_ours:.2f} s incl. contract check, versioning and summary; "
              f"docker {mean_peer:.2f} s build+save only)")


if __name__ == "__main__":
    main()
