"""Hydrosphere python-runtime entry point: one top-level function per signature name.

The runtime calls ``predict(features=<ndarray float64 [n, 4]>)`` and sends back the dict's values
as the outputs named in serving.yaml's contract.
"""

from pathlib import Path

import joblib
import numpy as np

# The runtime starts in /model/files, where the payload is.
_MODEL = joblib.load(Path(__file__).resolve().parent.parent / "model.joblib")


def predict(features):
    x = np.asarray(features, dtype=np.float64).reshape(-1, 4)
    return {"species": _MODEL.predict(x).astype(np.int64)}
