"""Write this example's model file with scikit-learn itself: `python make_model.py`.

A logistic regression on the iris data set that ships inside scikit-learn (no download), saved
with joblib as `model.joblib`. The output is deterministic (fixed solver, no randomness), so running
the script again gives the same predictions; joblib's bytes may differ across library versions.
"""

from __future__ import annotations

from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent


def main() -> None:
    iris = load_iris()
    model = LogisticRegression(max_iter=500).fit(iris.data, iris.target)
    joblib.dump(model, HERE / "model.joblib", compress=3)
    accuracy = model.score(iris.data, iris.target)
    print(f"wrote {HERE / 'model.joblib'} (accuracy on the training data {accuracy:.3f})")


if __name__ == "__main__":
    main()
