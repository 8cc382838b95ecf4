"""`hydro-ci contract infer` vs `saved_model_cli show --all` on several SavedModels, in one run.

    python benchmarks/infer_vs_saved_model_cli.py [--repeat N]

Writes the SavedModels with TensorFlow (keras.applications with random weights, a Keras export
and a custom tf.Module with several signatures), then for each one runs both commands as
subprocesses, asserts they report the same signatures (names, dtypes, shapes), and prints the
wall time of each (best of N), the speed ratio (goal: >= 30x) and each command's peak memory
(max RSS of the child process, from os.wait4). The models are written by a child process so
that this one stays small: a forked child's max RSS counts its parent's pages until exec.
Needs tensorflow-cpu (for saved_model_cli and to write the models).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
GOAL = 30.0

Signatures = dict[str, dict[str, dict[str, tuple[str, tuple[int, ...] | None]]]]


def write_models(root: Path) -> dict[str, Path]:
    import keras
    import tensorflow as tf

    models: dict[str, Path] = {}

    class Multi(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                                      tf.TensorSpec([], tf.int64, name="count")])
        def serve(self, text: Any, count: Any) -> dict[str, Any]:
            return {"length": tf.strings.length(text), "total": count * 2}

        @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
        def predict(self, x: Any) -> dict[str, Any]:
            return {"y": tf.cast(x, tf.float64)}

    module = Multi()
    models["tf.Module, 2 signatures"] = root / "module"
    tf.saved_model.save(module, str(models["tf.Module, 2 signatures"]),
                        signatures={"serving_default": module.serve, "predict": module.predict})

    seq = keras.Sequential([keras.Input((20,), name="features"), keras.layers.Dense(16, activation="relu"),
                            keras.layers.Dense(3, activation="softmax")])
    models["Keras Sequential MLP"] = root / "mlp"
    seq.export(str(models["Keras Sequential MLP"]), verbose=False)

    for name, ctor, kwargs in (
        ("MobileNetV3Small", keras.applications.MobileNetV3Small,
         {"input_shape": (96, 96, 3), "minimalistic": True}),
        ("MobileNetV2", keras.applications.MobileNetV2, {"input_shape": (96, 96, 3), "alpha": 0.5}),
        ("ResNet50", keras.applications.ResNet50, {"input_shape": (64, 64, 3)}),
    ):
        model = ctor(weights=None, classes=10, **kwargs)
        models[f"keras.applications.{name}"] = root / name
        model.export(str(root / name), verbose=False)
    return models


def run(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and stdout of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    return elapsed, usage.ru_maxrss * 1024, out  # ru_maxrss is in KiB on Linux


def ours(out: str) -> Signatures:
    data = json.loads(out)
    return {
        s["name"]: {side: {f["name"]: (f["dtype"], None if f["shape"] is None else tuple(f["shape"]))
                           for f in s[side]} for side in ("inputs", "outputs")}
        for s in data["signatures"]
    }


_SIG = re.compile(r"^signature_def\['(?P<name>[^']+)'\]:")
_TENSOR = re.compile(r"^\s+(?P<side>inputs|outputs)\['(?P<name>[^']+)'\] tensor_info:")
_DTYPE = re.compile(r"^\s+dtype: DT_(?P<dtype>\w+)")
_SHAPE = re.compile(r"^\s+shape: (?P<shape>.+)$")
TF_NAMES = {"FLOAT": "float32", "DOUBLE": "float64", "HALF": "float16", "STRING": "string", "BOOL": "bool"}


def theirs(out: str) -> Signatures:
    """Parse `saved_model_cli show --all` (the serve tag set) into the same structure."""
    sigs: Signatures = {}
    current: dict[str, dict[str, tuple[str, tuple[int, ...] | None]]] | None = None
    tensor: tuple[str, str] | None = None
    dtype = ""
    in_serve = False
    for line in out.splitlines():
        if line.startswith("MetaGraphDef with tag-set:"):
            in_serve = "'serve'" in line
        elif in_serve and (m := _SIG.match(line)):
            current = None if m["name"] == "__saved_model_init_op" else {"inputs": {}, "outputs": {}}
            if current is not None:
                sigs[m["name"]] = current
        elif current is not None and (m := _TENSOR.match(line)):
            tensor = (m["side"], m["name"])
        elif tensor and (m := _DTYPE.match(line)):
            dtype = TF_NAMES.get(m["dtype"], m["dtype"].lower())
        elif tensor and current is not None and (m := _SHAPE.match(line)):
            text = m["shape"].strip()
            shape = None if text == "unknown_rank" else tuple(
                int(d) for d in text.strip("()").replace(" ", "").split(",") if d)
            current[tensor[0]][tensor[1]] = (dtype, shape)
            tensor = None
    return sigs


def human(n: float) -> str:
    return f"{n / (1 << 20):.0f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--repeat", type=int, default=3, help="runs per command, best time kept")
    parser.add_argument("--write-models", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_models:  # the child that imports TensorFlow
        print(json.dumps({k: str(v) for k, v in write_models(Path(args.write_models)).items()}))
        return 0
    cli = shutil.which("saved_model_cli")
    if cli is None:
        raise SystemExit("saved_model_cli not found: pip install tensorflow-cpu")
    hydro = [sys.executable, "-m", "hydro_ci", "contract", "infer"]
    with tempfile.TemporaryDirectory() as tmp:
        print("writing SavedModels with TensorFlow…", file=sys.stderr)
        child = subprocess.run([sys.executable, __file__, "--write-models", tmp], check=True,
                               stdout=subprocess.PIPE, text=True)
        models = {k: Path(v) for k, v in json.loads(child.stdout.splitlines()[-1]).items()}
        run([*hydro, str(next(iter(models.values())))])  # warm the page cache for our own start-up
        print(f"{'model':34} {'pb size':>8} {'hydro-ci':>9} {'saved_model_cli':>16} {'ratio':>7} "
              f"{'hydro-ci RSS':>13} {'cli RSS':>9}")
        ratios = []
        for label, folder in models.items():
            our_runs = [run([*hydro, str(folder)]) for _ in range(args.repeat)]
            their_runs = [run([cli, "show", "--dir", str(folder), "--all"]) for _ in range(args.repeat)]
            a, b = ours(our_runs[0][2]), theirs(their_runs[0][2])
            if a != b:
                raise SystemExit(f"{label}: signatures differ\nhydro-ci:        {a}\nsaved_model_cli: {b}")
            t_ours, t_theirs = min(r[0] for r in our_runs), min(r[0] for r in their_runs)
            rss_ours, rss_theirs = max(r[1] for r in our_runs), max(r[1] for r in their_runs)
            ratios.append(t_theirs / t_ours)
            size = (folder / "saved_model.pb").stat().st_size
            print(f"{label:34} {size / 1024:>6.0f}KB {t_ours:>8.3f}s {t_theirs:>15.3f}s "
                  f"{t_theirs / t_ours:>6.1f}x {human(rss_ours):>13} {human(rss_theirs):>9}")
    low = min(ratios)
    print(f"signatures equal for all {len(models)} models; speed ratio {low:.1f}x (min) to "
          f"{max(ratios):.1f}x (max); goal >= {GOAL:.0f}x: {'met' if low >= GOAL else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
