"""scikit-learn: a contract from a pickled or joblib'd estimator, without unpickling it for real.

The file is read by ``_safepickle`` (no code from it runs, sklearn is never imported). Inputs come
from ``n_features_in_`` — one ``input`` tensor ``[-1, n]`` — or, when the model was fitted on a
data frame, ``feature_names_in_``: one ``[-1]`` column per feature. scikit-learn does not record
column dtypes; columns an encoder learnt categories for take the categories' dtype (strings, ints),
the others are assumed float64, with a note. Outputs follow the final estimator's
kind: classifiers give ``label`` with the dtype of ``classes_``, regressors ``prediction``
(float64), clusterers ``label`` (int32), transformers ``output`` (float64).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydro_ci.contract.model import DEFAULT_SIGNATURE, DType, Field, Shape, Signature
from hydro_ci.infer._safepickle import Array, Stub, UnsafePickleError, load_marked, python2_message
from hydro_ci.infer.reading import ModelReading, unreadable

# Wrappers whose behaviour (and inputs) are those of an inner estimator.
_META_INNER = ("best_estimator_", "estimator_", "estimator")
_REGRESSOR_NAMES = frozenset({
    "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV", "Lars", "LarsCV",
    "LassoLars", "LassoLarsCV", "LassoLarsIC", "BayesianRidge", "ARDRegression", "SVR", "NuSVR",
    "LinearSVR", "KernelRidge", "OrthogonalMatchingPursuit", "PLSRegression", "TheilSenRegressor",
})
_LABEL_TRANSFORMERS = frozenset({"LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer"})
_KIND_DTYPES = {"b": DType.bool, "U": DType.string, "S": DType.string, "O": DType.string}
_SIZED_DTYPES = {("i", 8): DType.int64, ("i", 4): DType.int32, ("i", 2): DType.int16,
                 ("i", 1): DType.int8, ("u", 1): DType.uint8, ("u", 2): DType.uint16,
                 ("u", 4): DType.uint32, ("u", 8): DType.uint64, ("f", 8): DType.float64,
                 ("f", 4): DType.float32, ("f", 2): DType.float16}


def read_sklearn(path: Path) -> ModelReading:
    try:
        root, python2 = load_marked(path)
    except OSError as exc:
        raise unreadable(path, f"cannot read: {exc.strerror}") from None
    except UnsafePickleError as exc:
        raise unreadable(path, f"cannot be read safely: {exc}") from None
    if python2 is not None:  # scikit-learn of the Python 2 era recorded no n_features_in_ either
        raise unreadable(path, python2_message(python2))
    if not isinstance(root, Stub) or not root.module.startswith("sklearn"):
        what = root.fullname if isinstance(root, Stub) else type(root).__name__
        raise unreadable(path, f"holds a {what}, not a scikit-learn estimator")
    notes: list[str] = []
    try:
        inputs = _inputs(path, root, notes)
        outputs = _outputs(path, _final(root), notes)
    except _TooDeep:
        raise unreadable(path, f"estimators nested deeper than {MAX_NESTING} levels") from None
    except RecursionError:  # str() or == of values the pickle nested thousands of lists deep
        raise unreadable(path, "holds values nested too deeply to read") from None
    return ModelReading((Signature(DEFAULT_SIGNATURE, inputs, outputs),), tuple(notes), source=path,
                        exact_dtypes=not any(f.name != "input" for f in inputs))


def _steps(obj: Stub) -> list[Any]:
    steps = obj.attrs().get("steps")
    return [s[1] for s in steps] if isinstance(steps, list) else []


MAX_NESTING = 100  # pipelines inside pipelines (and meta-estimators): real models nest a few


def _first(obj: Stub) -> Stub:
    """The estimator that receives the raw features (pipelines delegate to their first step)."""
    for _ in range(MAX_NESTING):
        steps = [s for s in _steps(obj) if isinstance(s, Stub)]
        if not steps:
            return obj
        obj = steps[0]
    raise _TooDeep


def _final(obj: Stub) -> Stub:
    """The estimator whose predictions the model returns."""
    for _ in range(MAX_NESTING):
        steps = [s for s in _steps(obj) if isinstance(s, Stub)]
        attrs = obj.attrs()
        inner = next((attrs[k] for k in _META_INNER if isinstance(attrs.get(k), Stub)), None)
        if steps:
            obj = steps[-1]
        elif "classes_" not in attrs and "n_features_in_" not in attrs and inner is not None:
            obj = inner
        else:
            return obj
    raise _TooDeep


class _TooDeep(Exception):
    """Estimators nested deeper than MAX_NESTING."""


def _inputs(path: Path, root: Stub, notes: list[str]) -> tuple[Field, ...]:
    attrs = root.attrs()
    first_stub = _first(root)
    first = first_stub.attrs()
    names = attrs.get("feature_names_in_", first.get("feature_names_in_"))
    count = attrs.get("n_features_in_", first.get("n_features_in_"))
    if isinstance(names, Array) and names.values:
        columns = [str(n) for n in names.values]
        known = column_dtypes(first_stub, columns)
        assumed = [c for c in columns if c not in known]
        if assumed:
            notes.append("scikit-learn does not record column dtypes: assumed float64 for "
                         + ", ".join(repr(c) for c in assumed))
        return tuple(Field(c, dtype=known.get(c, DType.float64), shape=(-1,)) for c in columns)
    if isinstance(count, int):
        return (Field("input", dtype=DType.float64, shape=(-1, count)),)
    raise unreadable(path, f"{root.qualname} records no n_features_in_ (not fitted, or scikit-learn < 1.0)")


def column_dtypes(first: Stub, columns: list[str]) -> dict[str, DType]:
    """Dtypes of the columns an encoder learnt categories for (strings, ints), by column name."""
    attrs = first.attrs()
    if first.qualname != "ColumnTransformer":
        return _encoder_dtypes(first, columns)
    found: dict[str, DType] = {}
    indices = attrs.get("_transformer_to_input_indices")
    for entry in attrs.get("transformers_") or []:
        if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[1], Stub)):
            continue
        name, transformer, selected = entry
        chosen = indices.get(name) if isinstance(indices, dict) else None
        picks = chosen.values if isinstance(chosen, Array) and chosen.values is not None else selected
        if not isinstance(picks, list):
            continue
        names = [columns[c] if isinstance(c, int) and 0 <= c < len(columns) else str(c) for c in picks]
        found.update(_encoder_dtypes(_first(transformer), names))
    return found


def _encoder_dtypes(encoder: Stub, columns: list[str]) -> dict[str, DType]:
    categories = encoder.attrs().get("categories_")
    if not isinstance(categories, list) or len(categories) != len(columns):
        return {}
    found = {}
    for column, values in zip(columns, categories, strict=True):
        dtype = array_dtype(values) if isinstance(values, Array) else None
        if dtype is not None:
            found[column] = dtype
    return found


def _outputs(path: Path, final: Stub, notes: list[str]) -> tuple[Field, ...]:
    attrs = final.attrs()
    name = final.qualname
    classes = attrs.get("classes_")
    if isinstance(classes, Array) and name not in _LABEL_TRANSFORMERS:
        return (Field("label", dtype=_dtype(path, classes), shape=(-1,)),)
    if isinstance(classes, list):  # multi-output classifiers keep one array per output
        notes.append("multi-output classifier: label dtype taken from the first output")
        arrays = [c for c in classes if isinstance(c, Array)]
        dtype = _dtype(path, arrays[0]) if arrays else DType.float64
        return (Field("label", dtype=dtype, shape=(-1, len(classes))),)
    if "cluster_centers_" in attrs or "labels_" in attrs:
        return (Field("label", dtype=DType.int32, shape=(-1,)),)
    if _is_regressor(name, attrs):
        return (Field("prediction", dtype=DType.float64, shape=_targets(attrs)),)
    if "n_features_in_" in attrs:
        notes.append(f"{name} is treated as a transformer: its output width is not recorded")
        return (Field("output", dtype=DType.float64, shape=(-1, -1)),)
    raise unreadable(path, f"cannot tell what {final.fullname} predicts; declare the contract")


def _is_regressor(name: str, attrs: dict[str, Any]) -> bool:
    return name.endswith(("Regressor", "Regression")) or name in _REGRESSOR_NAMES or "coef_" in attrs


def _targets(attrs: dict[str, Any]) -> Shape:
    outputs = attrs.get("n_outputs_")
    coef = attrs.get("coef_")
    if isinstance(outputs, int) and outputs > 1:
        return (-1, outputs)
    if isinstance(coef, Array) and len(coef.shape) == 2 and "classes_" not in attrs and coef.shape[0] > 1:
        return (-1, coef.shape[0])
    return (-1,)


def _dtype(path: Path, array: Array) -> DType:
    found = array_dtype(array)
    if found is None:
        raise unreadable(path, f"classes_ has numpy dtype kind {array.dtype.kind!r}, which a contract "
                         "cannot express")
    return found


def array_dtype(array: Array) -> DType | None:
    kind = array.dtype.kind
    if kind == "O" and array.values and not all(isinstance(v, str) for v in array.values):
        if all(isinstance(v, bool) for v in array.values):
            return DType.bool
        if all(isinstance(v, int) for v in array.values):
            return DType.int64
    return _KIND_DTYPES.get(kind) or _SIZED_DTYPES.get((kind, array.dtype.itemsize))
