"""Write this example's model file with scikit-learn itself: `python make_model.py`.

A logistic regression on the iris data set that ships inside scikit-learn (no download), saved
with joblib as `model.joblib`. The output is deterministic (fixed solver, no randomness): with the
versions in `written-with.txt` (which the script writes) it gives the same bytes again; other versions
of scikit-learn, SciPy, NumPy or joblib give the same predictions in other bytes.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
WRITERS = ("scikit-learn", "scipy", "numpy", "joblib")  # what decides the bytes of model.joblib


def main() -> None:
    iris = load_iris()
    model = LogisticRegression(max_iter=500).fit(iris.data, iris.target)
    joblib.dump(model, HERE / "model.joblib", compress=3)
    (HERE / "written-with.txt").write_text("".join(f"{name}=={version(name)}\n" for name in WRITERS))
    accuracy = model.score(iris.data, iris.target)
    print(f"wrote {HERE / 'model.joblib'} (accuracy on the training data {accuracy:.3f})")


if __name__ == "__main__":
    main()
