"""Write this example's SavedModel with TensorFlow itself: `python make_model.py`.

A tiny ``tf.Module`` (y = x·w + b, then a sigmoid) with fixed weights, exported with a
``serving_default`` signature whose batch dimension is unknown.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter out

import tensorflow as tf

HERE = Path(__file__).resolve().parent
# Hydrosphere-style layout: saved_model.pb and variables/ at the top of the model folder.
FILES = ("saved_model.pb", "fingerprint.pb", "variables")


class Scorer(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = tf.Variable([[0.5], [-0.25]], dtype=tf.float32, name="w")
        self.b = tf.Variable([0.1], dtype=tf.float32, name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"probability": tf.sigmoid(tf.matmul(x, self.w) + self.b)}


def main() -> None:
    module = Scorer()
    with tempfile.TemporaryDirectory() as tmp:
        tf.saved_model.save(module, tmp, signatures={"serving_default": module.serve})
        for name in FILES:
            target = HERE / name
            if target.is_dir():
                shutil.rmtree(target)
            shutil.move(str(Path(tmp) / name), str(target))
    print(f"wrote {', '.join(str(HERE / n) for n in FILES)}")


if __name__ == "__main__":
    main()
