"""Daemonless (oci) build+push against the engine, the floor, re-push, code change and skopeo copy.

One run, one model folder with a weights file of ``--size`` (default 1 GiB, random so
incompressible like real weights), one registry:

1. floor: ``sha256sum`` of the weights plus a copy of them (what any push must at least do);
2. oci: render + daemonless build + push (fresh layer cache)        goal <= 1.5x the floor;
3. engine: render + engine build + push                               goal >= 3x slower than oci;
4. re-push of the unchanged image                                      goal < 1 s, 0 blob bytes;
5. code-only change, committed a day later (a new epoch): render + build + push of the next version
                                                                       goal < 1 % of bytes re-sent;
6. push of the same OCI layout to a fresh repository: ours vs ``skopeo copy``  goal >= 1.0x.

    python benchmarks/build_oci_vs_engine.py [--size 1GiB] [--registry 127.0.0.1:5001]

Needs a Docker engine, a registry and skopeo (``bash .ci/services.sh``). The base is busybox,
``docker import``ed here, so nothing is pulled.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_engine import BASE, import_busybox, parse_size, timed, write_folder

from hydro_ci.build import BuildRequest, Credentials
from hydro_ci.build.engine import EngineBuilder
from hydro_ci.build.oci import OCIBuilder
from hydro_ci.image import layout, remote
from hydro_ci.image.reference import parse_reference
from hydro_ci.registry.client import client_for
from hydro_ci.render.assemble import RenderOptions, render_folder

EPOCH = 1_800_000_000  # the first build's commit time; the code change comes a day later


def floor(weights: Path, tmp: Path) -> None:
    subprocess.run(["sha256sum", str(weights)], check=True, capture_output=True)
    shutil.copyfile(weights, tmp / "floor-copy.bin")
    (tmp / "floor-copy.bin").unlink()


def py_floor(weights: Path, tmp: Path) -> None:
    """The same floor with Python's hashlib (often faster than coreutils' sha256sum)."""
    import hashlib

    h = hashlib.sha256()
    with open(weights, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    shutil.copyfile(weights, tmp / "floor-copy.bin")
    (tmp / "floor-copy.bin").unlink()


def goal(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--size", default="1GiB", help="weights file size (default 1GiB)")
    parser.add_argument("--registry", default=os.environ.get("HYDRO_CI_BENCH_REGISTRY", "127.0.0.1:5001"))
    parser.add_argument("--username", default=os.environ.get("HYDRO_CI_BENCH_USER"))
    parser.add_argument("--skip-engine", action="store_true", help="leave out the engine build+push")
    args = parser.parse_args()
    size = parse_size(args.size)
    password = os.environ.get("HYDRO_CI_BENCH_PASSWORD")
    creds = Credentials(args.username, password) if args.username and password else None
    skopeo_creds = ["--dest-creds", f"{args.username}:{password}"] if creds else []
    run_id = uuid.uuid4().hex[:8]
    repo = f"{args.registry}/bench/oci-{run_id}"
    import_busybox()
    t: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hydro-ci-bench-") as tmp_name:
        tmp = Path(tmp_name)
        subprocess.run(["skopeo", "copy", "-q", f"docker-daemon:{BASE}", f"oci:{tmp}/base:base"],
                       check=True, capture_output=True)
        folder = write_folder(tmp / "model", size)
        print(f"model folder: {size / (1 << 20):.0f} MiB of weights; registry {args.registry}")

        print("floor (sha256sum + copy):")
        timed("floor", t, lambda: floor(folder.root / "weights.bin", tmp))
        timed("floor (hashlib)", t, lambda: py_floor(folder.root / "weights.bin", tmp))

        print("hydro-ci --builder oci:")
        builder = OCIBuilder(cache=tmp / "cache", base_from=f"oci:{tmp}/base:base")
        # As `hydro-ci build --builder oci` and the pipeline render: large files linked, not copied.
        ctx = timed("oci render", t, lambda: render_folder(
            folder, RenderOptions(output=tmp / "ctx", version="1.0.0", link_large_files=True, epoch=EPOCH)))
        result = timed("oci build", t, lambda: builder.build(BuildRequest(ctx, repo, "1.0.0")))
        pushed = timed("oci push", t, lambda: builder.push(result, credentials=creds))
        t["oci"] = t["oci render"] + t["oci build"] + t["oci push"]
        image_bytes = result.extra["size"]

        print("re-push of the unchanged image:")
        again = timed("re-push", t, lambda: builder.push(result, credentials=creds))

        print("code-only change (next version, committed a day later):")
        (folder.root / "src/func_main.py").write_text("def infer(x):\n    return {'y': x * 2}\n")
        ctx2 = timed("code render", t, lambda: render_folder(folder, RenderOptions(
            output=tmp / "ctx2", version="1.0.1", link_large_files=True, epoch=EPOCH + 86_400)))
        result2 = timed("code build", t, lambda: builder.build(BuildRequest(ctx2, repo, "1.0.1")))
        pushed2 = timed("code push", t, lambda: builder.push(result2, credentials=creds))

        print("push of the same OCI layout to a fresh repository:")
        built = builder.image_of(result)
        timed("write layout", t, lambda: layout.write_layout(tmp / "layout", {"1.0.0": built}))
        image = layout.read_layout(tmp / "layout", "1.0.0")
        ours_ref = parse_reference(f"{args.registry}/bench/layout-ours-{run_id}:1.0.0")
        client = client_for(args.registry, username=args.username if creds else None,
                            password=password if creds else None)
        timed("ours (layout)", t, lambda: remote.push_image(client, ours_ref, image, tags=("1.0.0",)))
        skopeo_dest = f"docker://{args.registry}/bench/layout-skopeo-{run_id}:1.0.0"
        timed("skopeo copy", t, lambda: subprocess.run(
            ["skopeo", "copy", "-q", "--dest-tls-verify=false", *skopeo_creds, f"oci:{tmp}/layout:1.0.0",
             skopeo_dest], check=True, capture_output=True))

        if not args.skip_engine:
            print("hydro-ci --builder docker:")
            engine = EngineBuilder()
            erepo = f"{args.registry}/bench/engine-{run_id}"
            ectx = timed("engine render", t, lambda: render_folder(
                folder, RenderOptions(output=tmp / "ectx", version="1.0.0")))
            eres = timed("engine build", t, lambda: engine.build(BuildRequest(ectx, erepo, "1.0.0")))
            timed("engine push", t, lambda: engine.push(eres, credentials=creds))
            t["engine"] = t["engine render"] + t["engine build"] + t["engine push"]
            subprocess.run(["docker", "rmi", "-f", f"{erepo}:1.0.0"], capture_output=True)

    print()
    print(f"oci build+push {t['oci']:.2f} s (render {t['oci render']:.2f}, build {t['oci build']:.2f}, "
          f"push {t['oci push']:.2f}); {pushed.bytes_uploaded or 0:,} bytes sent")
    if "engine" in t:
        r = t["engine"] / t["oci"]
        print(f"engine / oci:            {r:6.2f}x  (goal >= 3x: {goal(r >= 3)})")
    r = t["oci"] / t["floor"]
    print(f"oci / floor:             {r:6.2f}x  (goal <= 1.5x: {goal(r <= 1.5)}); "
          f"build+push without render {(t['oci build'] + t['oci push']) / t['floor']:.2f}x; "
          f"vs a hashlib floor {t['oci'] / t['floor (hashlib)']:.2f}x")
    print(f"re-push unchanged:       {t['re-push']:6.2f} s, {again.bytes_uploaded or 0} blob bytes "
          f"(goal < 1 s, 0 bytes: {goal(t['re-push'] < 1 and not again.bytes_uploaded)})")
    sent = (pushed2.bytes_uploaded or 0) / image_bytes
    print(f"code-only change:        {sent:6.3%} of {image_bytes:,} bytes re-sent "
          f"(goal < 1%: {goal(sent < 0.01)}); build {t['code build']:.2f} s, push {t['code push']:.2f} s")
    r = t["skopeo copy"] / t["ours (layout)"]
    print(f"skopeo copy / ours:      {r:6.2f}x  (goal >= 1.0x: {goal(r >= 1.0)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
