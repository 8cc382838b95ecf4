"""Benchmark: `hydro-ci version next` on a clone with 10 000 tags and on a registry repository with
2 000 tags (goals: under 1 s and under 3 s), against what people run by hand: `git describe` for the
latest tag and `skopeo list-tags` for the registry.

    python benchmarks/version_next.py [--git-tags 10000] [--registry-tags 2000]

The registry is the test one (.ci/services.sh): HYDRO_CI_TEST_REGISTRY (127.0.0.1:5000),
HYDRO_CI_TEST_REGISTRY_USER / _PASSWORD. Times are wall clock of whole processes, best of 3.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SERVING = """kind: Model
name: titanic
runtime: "hydrosphere/serving-runtime-python-3.7:3.0.0"
contract:
  name: predict
  inputs:
    x: {shape: [-1, 3], type: float32}
  outputs:
    y: {shape: [-1], type: float32}
"""
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def sh(cwd: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True, input=stdin,
                          env=ENV).stdout


def best_of(n: int, args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(n):
        start = time.perf_counter()
        proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env or ENV)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(args)} failed: {proc.stderr.strip()}")
        out = proc.stdout
    return min(times), out


def make_repo(root: Path, n_tags: int) -> Path:
    """A bare remote with n tags (mostly this model's, some another's) and a full clone of it."""
    remote, work = root / "remote.git", root / "work"
    sh(root, "git", "init", "-q", "--bare", "-b", "main", str(remote))
    sh(root, "git", "init", "-q", "-b", "main", str(work))
    (work / "models/titanic").mkdir(parents=True)
    (work / "models/titanic/serving.yaml").write_text(SERVING)
    (work / "models/titanic/src").mkdir()
    (work / "models/titanic/src/func_main.py").write_text("def predict(**tensors):\n    return tensors\n")
    sh(work, "git", "add", "-A")
    sh(work, "git", "commit", "-q", "-m", "model")
    head = sh(work, "git", "rev-parse", "HEAD").strip()
    lines = []
    for i in range(n_tags):
        name = f"titanic-v{i // 1000}.{i // 10 % 100}.{i % 10}" if i % 5 else f"other-v{i}.0.0"
        lines.append(f"create refs/tags/{name} {head}\n")
    sh(work, "git", "update-ref", "--stdin", stdin="".join(lines))
    sh(work, "git", "pack-refs", "--all")
    sh(work, "git", "remote", "add", "origin", f"file://{remote}")
    sh(work, "git", "push", "-q", "origin", "main", "--tags")
    return work


def fill_registry(host: str, user: str | None, password: str | None, repository: str, n_tags: int) -> None:
    from hydro_ci.image.mutate import scratch
    from hydro_ci.image.reference import ImageReference
    from hydro_ci.image.remote import push_image
    from hydro_ci.registry.client import client_for

    image = scratch()
    with client_for(host, username=user, password=password) as client:
        push_image(client, ImageReference(host, repository), image, tags=["0.0.0"])
        tags = [f"{i // 100}.{i % 100}.0" for i in range(1, n_tags)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda t: client.put_manifest(repository, t, image.manifest_bytes,
                                                        image.manifest_media_type), tags))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--git-tags", type=int, default=10_000)
    parser.add_argument("--registry-tags", type=int, default=2_000)
    args = parser.parse_args()
    hydro = [sys.executable, "-m", "hydro_ci"]
    host = os.environ.get("HYDRO_CI_TEST_REGISTRY", "127.0.0.1:5000")
    user = os.environ.get("HYDRO_CI_TEST_REGISTRY_USER", "hydro")
    password = os.environ.get("HYDRO_CI_TEST_REGISTRY_PASSWORD", "hydro-test-secret-8c1f")
    rows = []
    with tempfile.TemporaryDirectory(prefix="hydro-ci-bench-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        work = make_repo(root, args.git_tags)
        print(f"setup: {args.git_tags} git tags in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        ours, out = best_of(3, [*hydro, "version", "next", "models/titanic", "--source", "git",
                                "--bump", "patch", "--json"], work)
        decision = json.loads(out)
        peer, desc = best_of(3, ["git", "describe", "--tags", "--abbrev=0", "--match", "titanic-v*"], work)
        rows.append(("git", args.git_tags, ours, 1.0, "git describe --tags --abbrev=0", peer,
                     f"{decision['previous']['version']} -> {decision['version']} "
                     f"(git describe: {desc.strip()})"))

        repository = f"bench/{uuid.uuid4().hex[:12]}"
        start = time.perf_counter()
        fill_registry(host, user, password, repository, args.registry_tags)
        print(f"setup: {args.registry_tags} registry tags in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
        docker_config = root / "docker"
        docker_config.mkdir()
        import base64

        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        (docker_config / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
        env = {**ENV, "DOCKER_CONFIG": str(docker_config), "REGISTRY_AUTH_FILE": str(docker_config /
                                                                                   "config.json")}
        ours, out = best_of(3, [*hydro, "version", "next", str(work / "models/titanic"), "--source",
                                "registry", "--image", f"{host}/{repository}", "--bump", "patch",
                                "--json"], root, env)
        decision = json.loads(out)
        peer, tags_out = best_of(3, ["skopeo", "list-tags", "--tls-verify=false",
                                     f"docker://{host}/{repository}"], root, env)
        n_listed = len(json.loads(tags_out)["Tags"])
        rows.append(("registry", args.registry_tags, ours, 3.0, "skopeo list-tags (listing only)", peer,
                     f"{decision['previous']['version']} -> {decision['version']} "
                     f"(skopeo listed {n_listed} tags)"))

    print(f"{'source':<9} {'tags':>6} {'version next':>13} {'goal':>6}  {'peer':<32} {'peer time':>9} "
          f"{'ratio':>6}")
    for source, n, ours, goal, peer_name, peer, what in rows:
        ok = "ok" if ours < goal else "MISSED"
        print(f"{source:<9} {n:>6} {ours:>11.3f} s {goal:>4.0f} s  {peer_name:<32} {peer:>7.3f} s "
              f"{ours / peer:>5.1f}x  {ok}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
