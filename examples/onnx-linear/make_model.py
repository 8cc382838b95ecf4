"""Write this example's model file with PyTorch's own exporter: `python make_model.py`.

A linear layer (3 features → 2 scores) with fixed weights, exported by ``torch.onnx.export`` with a
dynamic batch dimension, so the inferred contract shows an unknown (-1) dim. With the versions in
`written-with.txt` (which the script writes) it gives the same bytes again.
"""

from __future__ import annotations

import warnings
from importlib.metadata import version
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
WRITERS = ("torch", "onnx")  # what decides the bytes of model.onnx


def main() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2).eval()
    example = torch.zeros(1, 3)
    # dynamo=False: the TorchScript exporter needs no onnxscript and writes a tiny, stable graph.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model, (example,), str(HERE / "model.onnx"),
            input_names=["features"], output_names=["scores"],
            dynamic_axes={"features": {0: "batch"}, "scores": {0: "batch"}},
            opset_version=17, dynamo=False,
        )
    (HERE / "written-with.txt").write_text("".join(f"{name}=={version(name)}\n" for name in WRITERS))
    print(f"wrote {HERE / 'model.onnx'}")


if __name__ == "__main__":
    main()
