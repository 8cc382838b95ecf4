"""Render + engine build + push of a model folder with a large weights file, stage by stage.

The baseline the daemonless builder is measured against. The peer in the same run is what people
write by hand: ``docker build`` of ``FROM base / COPY . /model/files`` and ``docker push`` (CLI).
Then a code-only change (the next version, one source file edited) is built and pushed by both, with
the engine's cache: hydro-ci's Dockerfile copies weights and code in separate steps, so only the code
layer is new; the hand-written one copies everything at once and pushes the weights again.

    python benchmarks/build_engine.py [--size 1GiB] [--registry 127.0.0.1:5001]

Needs a Docker engine and a registry (``bash .ci/services.sh`` starts both). The base is busybox,
``docker import``ed here, so nothing is pulled.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hydro_ci.build import BuildRequest, Credentials
from hydro_ci.build.engine import EngineBuilder
from hydro_ci.contract.model import Contract, DType, Field, ModelFolder, Signature
from hydro_ci.render.assemble import RenderOptions, render_folder

BASE = "hydro-ci-bench/busybox:1"
T = TypeVar("T")


def parse_size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.lower().removesuffix("ib").removesuffix("b")
    return int(float(t[:-1]) * units[t[-1]]) if t and t[-1] in units else int(t)


def timed(label: str, results: dict[str, float], fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - start
    print(f"  {label:<22} {results[label]:8.2f} s", flush=True)
    return value


def import_busybox() -> None:
    busybox = shutil.which("busybox")
    if busybox is None:
        sys.exit("busybox not found (apt-get install busybox-static)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = Path(busybox).read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "busybox"
        tar.addfile(link)
    subprocess.run(["docker", "import", "-", BASE], input=buf.getvalue(), check=True, capture_output=True)


def write_folder(root: Path, size: int) -> ModelFolder:
    (root / "src").mkdir(parents=True)
    (root / "src/func_main.py").write_text("def infer(x):\n    return {'y': x}\n")
    with (root / "weights.bin").open("wb") as f:  # random: incompressible, like real weights
        left = size
        while left:
            n = min(left, 16 << 20)
            f.write(os.urandom(n))
            left -= n
    sig = Signature("infer", (Field("x", dtype=DType.float32, shape=(-1, 4)),),
                    (Field("y", dtype=DType.float32, shape=(-1,)),))
    return ModelFolder(root=root, name="bench", runtime=BASE, contract=Contract("bench", (sig,)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--size", default="1GiB", help="weights file size (default 1GiB)")
    parser.add_argument("--registry", default=os.environ.get("HYDRO_CI_BENCH_REGISTRY", "127.0.0.1:5001"))
    parser.add_argument("--username", default=os.environ.get("HYDRO_CI_BENCH_USER"))
    args = parser.parse_args()
    size = parse_size(args.size)
    password = os.environ.get("HYDRO_CI_BENCH_PASSWORD")
    creds = Credentials(args.username, password) if args.username and password else None
    repo = f"{args.registry}/bench/engine-{uuid.uuid4().hex[:8]}"
    import_busybox()
    ours: dict[str, float] = {}
    peer: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hydro-ci-bench-") as tmp:
        folder = write_folder(Path(tmp) / "model", size)
        print(f"model folder: {size / (1 << 20):.0f} MiB of weights; registry {args.registry}")
        print("hydro-ci (engine builder):")
        ctx = timed("render", ours, lambda: render_folder(
            folder, RenderOptions(output=Path(tmp) / "ctx", version="1.0.0")))
        builder = EngineBuilder()
        result = timed("build", ours, lambda: builder.build(BuildRequest(ctx, repo, "1.0.0")))
        timed("push", ours, lambda: builder.push(result, credentials=creds))

        print("hand-written Dockerfile + docker CLI:")
        (folder.root / "Dockerfile").write_text(f"FROM {BASE}\nCOPY . /model/files\nWORKDIR /model/files\n")
        ref = f"{repo}-peer:1.0.0"
        timed("docker build", peer, lambda: subprocess.run(
            ["docker", "build", "--no-cache", "-q", "-t", ref, str(folder.root)], check=True,
            capture_output=True))
        timed("docker push", peer, lambda: subprocess.run(["docker", "push", "-q", ref], check=True,
                                                          capture_output=True))

        print("code-only change, next version (engine cache kept):")
        (folder.root / "src/func_main.py").write_text("def infer(x):\n    return {'y': x * 2}\n")
        again: dict[str, float] = {}
        ctx2 = timed("render 1.0.1", again, lambda: render_folder(
            folder, RenderOptions(output=Path(tmp) / "ctx2", version="1.0.1")))
        result2 = timed("build 1.0.1", again, lambda: builder.build(BuildRequest(ctx2, repo, "1.0.1")))
        timed("push 1.0.1", again, lambda: builder.push(result2, credentials=creds))
        ref2 = f"{repo}-peer:1.0.1"
        timed("docker build 1.0.1", again, lambda: subprocess.run(
            ["docker", "build", "-q", "-t", ref2, str(folder.root)], check=True, capture_output=True))
        timed("docker push 1.0.1", again, lambda: subprocess.run(["docker", "push", "-q", ref2], check=True,
                                                                 capture_output=True))
        subprocess.run(["docker", "rmi", "-f", f"{repo}:1.0.0", ref, f"{repo}:1.0.1", ref2],
                       capture_output=True)

    total_ours, total_peer = sum(ours.values()), sum(peer.values())
    print(f"total: hydro-ci {total_ours:.2f} s (render {ours['render']:.2f} + build {ours['build']:.2f} "
          f"+ push {ours['push']:.2f}); hand-written {total_peer:.2f} s")
    print(f"ratio hydro-ci / hand-written: {total_ours / total_peer:.2f}x "
          f"(build+render {(ours['render'] + ours['build']) / peer['docker build']:.2f}x, "
          f"push {ours['push'] / peer['docker push']:.2f}x)")
    change_ours = again["render 1.0.1"] + again["build 1.0.1"] + again["push 1.0.1"]
    change_peer = again["docker build 1.0.1"] + again["docker push 1.0.1"]
    print(f"code-only change: hydro-ci {change_ours:.2f} s, hand-written {change_peer:.2f} s: "
          f"hand-written / hydro-ci {change_peer / change_ours:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
