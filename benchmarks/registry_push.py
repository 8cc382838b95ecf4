"""Push of one OCI layout to a registry: our client against ``skopeo copy``, plus the re-push.

    python benchmarks/registry_push.py [--size 512MiB] [--layers 4] [--registry 127.0.0.1:5001] [--rounds 2]

The image has ``--layers`` layers of random (incompressible) bytes, ``--size`` in total, written
once as an OCI layout; each round pushes it to two fresh repositories, one by skopeo, one by
``push_image``, alternating who goes first, then re-pushes ours unchanged. Every round uses new
bytes: skopeo remembers where blobs live (its blob-info cache) and would mount them otherwise.
Goals: ours at least as fast as skopeo (ratio ≥ 1.0), re-push under 1 s with 0 bytes sent.
Note that skopeo gzips uncompressed layers on their way to a registry (its default for docker://
destinations) while we send them as the layout stores them: that is part of the difference.
Needs skopeo and a registry (``bash .ci/services.sh``); an anonymous one by default.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hydro_ci.image.layout import read_layout, write_layout
from hydro_ci.image.model import OCI_LAYER, Descriptor, Digest, FileBlob, Image, ImageConfig
from hydro_ci.image.reference import ImageReference
from hydro_ci.image.remote import push_image
from hydro_ci.registry import RegistryClient, client_for

MiB = 1 << 20


def parse_size(text: str) -> int:
    units = {"gib": 1 << 30, "mib": MiB, "kib": 1 << 10, "": 1}
    for unit, factor in units.items():
        if text.lower().endswith(unit) and (unit or text.isdigit()):
            return int(float(text[: len(text) - len(unit)] if unit else text) * factor)
    raise SystemExit(f"bad size {text!r}: use e.g. 512MiB or 1GiB")


def make_layout(root: Path, size: int, layers: int) -> Image:
    blobs = []
    per = size // layers
    for i in range(layers):
        path = root / f"layer{i}.bin"
        with path.open("wb") as f:
            left = per
            while left:
                block = os.urandom(min(MiB, left))
                f.write(block)
                left -= len(block)
        blobs.append(FileBlob(Descriptor(OCI_LAYER, Digest.of_file(path), per), path))
    config = ImageConfig.empty().to_dict()
    config["rootfs"]["diff_ids"] = [str(b.descriptor.digest) for b in blobs]
    write_layout(root / "layout", {"bench": Image.assemble(ImageConfig(config), blobs)})
    for i in range(layers):
        (root / f"layer{i}.bin").unlink()
    return read_layout(root / "layout", "bench")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--size", default="512MiB")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--registry", default=os.environ.get("HYDRO_CI_BENCH_REGISTRY", "127.0.0.1:5001"))
    args = parser.parse_args()
    if shutil.which("skopeo") is None:
        raise SystemExit("skopeo is not installed (bash .ci/services.sh)")
    size = parse_size(args.size)
    ours_t: list[float] = []
    skopeo_t: list[float] = []
    repush_t: list[float] = []
    with tempfile.TemporaryDirectory(prefix="hydro-ci-bench-") as tmp:
        for n in range(args.rounds):
            work = Path(tmp) / f"round{n}"
            work.mkdir()
            image = make_layout(work, size, args.layers)
            client = client_for(args.registry)
            theirs = f"bench/skopeo-{uuid.uuid4().hex[:8]}"
            ours = ImageReference(args.registry, f"bench/ours-{uuid.uuid4().hex[:8]}")

            def run_skopeo(layout: Path = work / "layout", repo: str = theirs) -> None:
                t = time.perf_counter()
                subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{layout}:bench",
                                f"docker://{args.registry}/{repo}:1.0.0"], check=True)
                skopeo_t.append(time.perf_counter() - t)

            def run_ours(image: Image = image, ref: ImageReference = ours,
                         client: RegistryClient = client) -> None:
                t = time.perf_counter()
                push_image(client, ref, image, tags=["1.0.0"])
                ours_t.append(time.perf_counter() - t)

            for step in (run_skopeo, run_ours) if n % 2 == 0 else (run_ours, run_skopeo):
                step()
            t = time.perf_counter()
            again = push_image(client, ours, image, tags=["1.0.0"])
            repush_t.append(time.perf_counter() - t)
            assert again.skipped and again.bytes_uploaded == 0
            shutil.rmtree(work)
    o, s, r = statistics.median(ours_t), statistics.median(skopeo_t), statistics.median(repush_t)
    print(f"push of {size / MiB:.0f} MiB in {args.layers} layers to {args.registry}, "
          f"median of {args.rounds}:")
    print(f"  skopeo copy     {s:7.2f} s")
    print(f"  hydro-ci push   {o:7.2f} s   skopeo/ours = {s / o:.2f}x  (goal >= 1.0x: "
          f"{'ok' if s / o >= 1.0 else 'MISSED'})")
    print(f"  re-push         {r * 1000:7.0f} ms  0 bytes  (goal < 1 s: {'ok' if r < 1 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
