"""Live conformance: load the model with its real framework, feed one batch made from the contract,
and check every output's dtype and shape. Opt-in (``hydro-ci contract verify``): this is the one
place that imports ML frameworks, each only when the model needs it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydro_ci.contract.model import DType, Field, Shape, Signature, shape_text
from hydro_ci.diagnostics import Location, Problem
from hydro_ci.errors import HydroCIError, MissingExtraError, ModelFileError, UsageError
from hydro_ci.infer.compare import shapes_compatible
from hydro_ci.infer.detect import (
    PYTHON_ENTRY,
    Format,
    ModelFile,
    find_model_files,
    find_model_files_in,
    has_python_entry,
)

BATCH = 2  # the size given to the first unknown dimension
OTHER = 3  # the size given to any other unknown dimension

_NUMPY_NAMES = {DType.string: "object", DType.float16: "float16"}
# The pip extra that brings each framework (pyproject optional-dependencies).
_EXTRAS = {"tensorflow": "tensorflow", "keras": "tensorflow", "onnxruntime": "onnx", "torch": "torch",
           "sklearn": "sklearn", "joblib": "sklearn"}
# The extra for each model format; NumPy, which every format needs, comes with it (onnx and sklearn
# list it, TensorFlow depends on it) except with torch, which does not depend on NumPy.
FORMAT_EXTRAS = {Format.saved_model: "tensorflow", Format.keras: "tensorflow", Format.keras_h5: "tensorflow",
                 Format.onnx: "onnx", Format.torch_export: "torch", Format.sklearn: "sklearn"}

Runner = Callable[[dict[str, Any]], dict[str, Any]]


def verify_folder(root: Path, signature: Signature, *, within: Sequence[Path] | None = None) -> list[Problem]:
    """Problems where the model's real outputs disagree with ``signature`` (the declared contract);
    ``within``: the model's files are there (one of several Models' payload), not the whole folder."""
    entry = _python_entry(root, within)
    model = None if entry is not None else _model(root, within)
    np = _numpy(model)
    runner, source = _runner(entry, model, signature)
    feeds = {f.name: sample(np, f) for f in signature.inputs}
    try:
        outputs = runner(feeds)
    except HydroCIError:
        raise
    except Exception as exc:  # noqa: BLE001 - the model's own failure is the finding
        return [Problem(Location(str(source)), f"the model failed on a batch made from the contract: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                        "verify-run")]
    return check_outputs(np, signature, outputs, Location(str(source)))


def sample(np: Any, f: Field) -> Any:
    """A small array of the field's dtype and shape (unknown dims filled, unknown rank → [BATCH])."""
    dims = list(f.shape) if f.shape is not None else [-1]
    sizes = [d if d >= 0 else (BATCH if i == 0 else OTHER) for i, d in enumerate(dims)]
    if f.dtype is DType.string:
        return np.full(sizes, "a", dtype=object)
    if f.dtype is DType.bool:
        return np.zeros(sizes, dtype=bool)
    if f.dtype is None:
        raise ModelFileError(f"input {f.name!r} is a record of subfields: verify feeds tensors only")
    name = _NUMPY_NAMES.get(f.dtype, f.dtype.name)
    try:
        return np.ones(sizes, dtype=np.dtype(name))
    except TypeError:
        raise ModelFileError(f"input {f.name!r}: no NumPy type for {f.dtype.name}") from None


def check_outputs(np: Any, signature: Signature, outputs: dict[str, Any], where: Location) -> list[Problem]:
    problems = []
    for f in signature.outputs:
        if f.name not in outputs:
            got = ", ".join(repr(k) for k in outputs) or "none"
            problems.append(Problem(where, f"output {f.name!r} is declared but the model returned {got}",
                                    "verify-output-missing"))
            continue
        value = np.asarray(outputs[f.name])
        dtype = numpy_dtype(value)
        if f.dtype is not None and dtype is not f.dtype:
            problems.append(Problem(where, f"output {f.name!r}: declared dtype {f.dtype.name}, the model "
                                    f"returned {dtype.name if dtype else value.dtype}", "verify-dtype"))
        shape: Shape = tuple(int(d) for d in value.shape)
        if not shapes_compatible(f.shape, shape):
            problems.append(Problem(where, f"output {f.name!r}: declared shape {shape_text(f.shape)}, "
                                    f"the model returned {shape_text(shape)}", "verify-shape"))
    return problems


def numpy_dtype(value: Any) -> DType | None:
    kind = value.dtype.kind
    if kind in "OUS":
        return DType.string
    return DType.parse(value.dtype.name)


def _need(module: str, feature: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"{feature} for this model ({module})", _EXTRAS.get(module, module)) from None


def numpy_hint(model: ModelFile | None) -> str:
    """How to install NumPy for verifying ``model`` (None: a python runtime's func_main)."""
    extra = FORMAT_EXTRAS.get(model.format) if model is not None else None
    if extra is None:
        return "pip install numpy"
    return f"pip install 'hydro-ci[{extra}]'"


def _numpy(model: ModelFile | None) -> Any:
    try:
        return importlib.import_module("numpy")
    except ImportError:
        what = f"{model.format.framework} model" if model is not None else "python runtime model"
        raise UsageError(f"contract verify of this {what} needs numpy, which is not installed",
                         hint=numpy_hint(model)) from None


def _python_entry(root: Path, within: Sequence[Path] | None) -> Path | None:
    """The python runtime's func_main.py: at src/ of the folder, or of the payload (its ``src``)."""
    # A python-runtime folder serves through func_main, whatever model files it ships for it to load.
    if within is None:
        return root / PYTHON_ENTRY if has_python_entry(root) else None
    for source in within:  # the entry landing at /model/files/src, or "." (the folder itself)
        is_src = source.name == PYTHON_ENTRY.parent.name
        entry = source / PYTHON_ENTRY.name if is_src else source / PYTHON_ENTRY
        if entry.is_file():
            return entry
    return None


def _model(root: Path, within: Sequence[Path] | None = None) -> ModelFile:
    """The model file verify loads."""
    models = find_model_files(root) if within is None else find_model_files_in(within)
    if not models:
        raise ModelFileError(f"{root}: no model file to load")
    if models[0].format not in FORMAT_EXTRAS:
        raise ModelFileError(f"{models[0].path}: contract verify cannot load "
                             f"{models[0].format.framework} models")
    return models[0]


def _runner(entry: Path | None, model: ModelFile | None, signature: Signature) -> tuple[Runner, Path]:
    if model is None:
        assert entry is not None
        return _python(entry, signature.name), entry
    makers: dict[Format, Callable[[ModelFile, Signature], Runner]] = {
        Format.saved_model: _tensorflow, Format.onnx: _onnx, Format.torch_export: _torch,
        Format.sklearn: _sklearn, Format.keras: _keras, Format.keras_h5: _keras,
    }
    return makers[model.format](model, signature), model.path


def _tensorflow(model: ModelFile, signature: Signature) -> Runner:
    tf = _need("tensorflow", "contract verify")
    fn = tf.saved_model.load(str(model.path.parent)).signatures[signature.name]

    def run(feeds: dict[str, Any]) -> dict[str, Any]:
        return {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in feeds.items()}).items()}
    return run


def _keras(model: ModelFile, signature: Signature) -> Runner:
    keras = _need("keras", "contract verify")
    loaded = keras.saving.load_model(str(model.path), compile=False)

    def run(feeds: dict[str, Any]) -> dict[str, Any]:
        names = [f.name for f in signature.outputs]
        result = loaded.predict(feeds if len(feeds) > 1 else next(iter(feeds.values())), verbose=0)
        if isinstance(result, dict):
            return dict(result)
        values = result if isinstance(result, list | tuple) else [result]
        return dict(zip(names, values, strict=False))
    return run


def _onnx(model: ModelFile, signature: Signature) -> Runner:
    ort = _need("onnxruntime", "contract verify")
    session = ort.InferenceSession(str(model.path), providers=["CPUExecutionProvider"])

    def run(feeds: dict[str, Any]) -> dict[str, Any]:
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, feeds), strict=True))
    return run


def _torch(model: ModelFile, signature: Signature) -> Runner:
    torch = _need("torch", "contract verify")
    module = torch.export.load(str(model.path)).module()

    def run(feeds: dict[str, Any]) -> dict[str, Any]:
        result = module(*(torch.from_numpy(feeds[f.name]) for f in signature.inputs))
        values = result if isinstance(result, list | tuple) else [result]
        return {f"output_{i}": v.detach().numpy() for i, v in enumerate(values)}
    return run


def _sklearn(model: ModelFile, signature: Signature) -> Runner:
    _need("sklearn", "contract verify")
    joblib = _need("joblib", "contract verify")
    np = _numpy(model)
    # Verify runs the model for real: loading a pickle executes its code, which is why it is opt-in.
    estimator = joblib.load(model.path)

    def run(feeds: dict[str, Any]) -> dict[str, Any]:
        if list(feeds) == ["input"]:
            X = feeds["input"].astype(float)
        elif importlib.util.find_spec("pandas") is not None:
            X = importlib.import_module("pandas").DataFrame({k: v.astype(float) for k, v in feeds.items()})
        else:
            X = np.column_stack([v.astype(float) for v in feeds.values()])
        name = signature.outputs[0].name if signature.outputs else "label"
        method = estimator.transform if not hasattr(estimator, "predict") else estimator.predict
        return {name: method(X)}
    return run


def _python(entry: Path, name: str) -> Runner:
    spec = importlib.util.spec_from_file_location("func_main", entry)
    if spec is None or spec.loader is None:
        raise ModelFileError(f"{entry}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    # As in the runtime: the folder (/model/files) is the working directory, src/ is importable.
    folder = entry.parent.parent
    sys.path.insert(0, str(entry.parent))
    try:
        with contextlib.chdir(folder):
            spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(entry.parent))
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ModelFileError(f"{entry}: no function {name!r}")

    def run(feeds: dict[str, Any]) -> dict[str, Any]:
        with contextlib.chdir(folder):
            result = fn(**feeds)
        if not isinstance(result, dict):
            raise ModelFileError(f"{entry}: {name}() returned {type(result).__name__}, not a dict of outputs")
        return result
    return run
