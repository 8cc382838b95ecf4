"""Keras: inputs and outputs from a Keras 3 ``.keras`` archive (``config.json``) or a legacy ``.h5``
file (its ``model_config`` attribute), without importing Keras.

Keras 3 records the shape and dtype of every tensor flowing INTO a layer, so an output's shape
is one shape rule away (the output layer's, applied to its recorded input). Keras 2 configs record
only the input layers, so there we propagate through the graph with the same rules. Layers we have
no rule for leave the output shape as any rank, with a note.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from hydro_ci.contract.model import DEFAULT_SIGNATURE, DType, Field, Shape, Signature
from hydro_ci.errors import HydroCIError, MissingExtraError, NoModelInFileError
from hydro_ci.infer.reading import (
    MAX_MEMBER_BYTES,
    ModelReading,
    load_json,
    open_zip,
    unreadable,
    zip_member,
)
from hydro_ci.input_files import open_regular
from hydro_ci.limited_child import run_limited

Json = Any
Tensor = tuple[Shape, str]  # (shape, keras dtype name)


def read_keras(path: Path) -> ModelReading:
    try:
        with open_zip(path) as z:
            raw = zip_member(path, z, "config.json")
    except KeyError:
        raise unreadable(path, "not a Keras archive: no config.json inside") from None
    # ValueError: a member name that is not UTF-8; NotImplementedError: a zip version it does not know
    except (OSError, ValueError, EOFError, NotImplementedError, zipfile.BadZipFile) as exc:
        raise unreadable(path, f"not a Keras archive (truncated or corrupt zip?): {exc}") from None
    return _read_config(path, _json(path, raw))


# HDF5 is a C library reading a file of the pull request: it reads in a child limited like a user's
# template (a crash, a hang or a huge allocation ends the child, and is one error here).
H5_CPU_SECONDS = 5  # opening a file and reading one attribute takes milliseconds
H5_MEMORY = 512 << 20


def read_keras_h5(path: Path) -> ModelReading:
    try:
        import h5py  # a file-format library, not a framework; only legacy .h5 needs it
    except ImportError:
        raise MissingExtraError(f"reading the legacy Keras file {path}", "keras") from None

    def model_config() -> bytes:
        """b"C" + the model_config attribute, b"N" when there is none, b"L" + its size when it is
        too large, b"E" + why it is no HDF5 file."""
        try:
            # a regular file only; a link is followed, as h5py did (the finder keeps links inside)
            with open_regular(os.path.realpath(path)) as fh, h5py.File(fh, "r") as f:
                raw = f.attrs.get("model_config")
        except OSError as exc:
            return b"E" + str(exc).encode("utf-8", "replace")[:500]
        if raw is None:
            return b"N"
        data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
        return b"L%d" % len(data) if len(data) > MAX_MEMBER_BYTES else b"C" + data

    answer = run_limited(model_config, cpu_seconds=H5_CPU_SECONDS, memory=H5_MEMORY,
                         max_output=MAX_MEMBER_BYTES + 1)
    if answer is None:
        raise unreadable(path, f"the HDF5 library failed reading it, or took more than {H5_CPU_SECONDS} s "
                               f"of CPU or {H5_MEMORY >> 20} MiB of memory (a damaged or hostile file?)")
    if answer[:1] == b"L":
        size = answer[1:].decode()
        raise unreadable(path, f"its model_config is {size} bytes (more than {MAX_MEMBER_BYTES})")
    if answer[:1] == b"E":
        why = answer[1:].decode("utf-8", "replace")
        raise unreadable(path, f"not an HDF5 file (truncated or corrupt?): {why}")
    if answer[:1] == b"N":
        raise NoModelInFileError(
            f"{path}: HDF5 file without a 'model_config' attribute (weights only, or not Keras)",
            hint="fix or remove the file, or declare the contract in serving.yaml / contract.prototxt")
    return _read_config(path, _json(path, answer[1:]))


def _json(path: Path, raw: bytes | str) -> Json:
    return load_json(path, raw, "model config")


def _read_config(path: Path, config: Json) -> ModelReading:
    notes: list[str] = []
    try:
        inputs, outputs = model_io(config, notes)
    except HydroCIError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ZeroDivisionError,
            OverflowError) as exc:
        raise unreadable(path, f"unexpected Keras model config ({type(exc).__name__}: {exc})") from None
    sig = Signature(
        DEFAULT_SIGNATURE,
        tuple(_field(path, name, t) for name, t in inputs),
        tuple(_field(path, name, t) for name, t in outputs),
    )
    return ModelReading((sig,), tuple(notes), source=path)


def _field(path: Path, name: str, tensor: Tensor) -> Field:
    shape, dtype_name = tensor
    dtype = DType.parse(dtype_name)
    if dtype is None or dtype in (DType.any, DType.map):
        raise unreadable(path, f"tensor {name!r} has dtype {dtype_name}, which a contract cannot express")
    return Field(name, dtype=dtype, shape=shape)


def model_io(config: Json, notes: list[str]) -> tuple[list[tuple[str, Tensor]], list[tuple[str, Tensor]]]:
    kind = config["class_name"]
    if kind == "Sequential":
        return _sequential(config, notes)
    if kind in ("Functional", "Model"):
        return _functional(config["config"], notes)
    raise ValueError(f"model class {kind!r} is a subclassed model: its config has no graph")


def _sequential(config: Json, notes: list[str]) -> tuple[list[tuple[str, Tensor]], list[tuple[str, Tensor]]]:
    # Keras <= 2.2 wrote a Sequential's config as the bare list of its layers; later ones as
    # {"name", "layers"}. Hydrosphere's manager read only the list form, and named the input after
    # the first layer (its test: flatten_1 [-1,28,28] -> dense_3 [-1,10]); that name is kept here.
    legacy = isinstance(config["config"], list)
    layers = config["config"] if legacy else config["config"]["layers"]
    first = layers[0]
    if first["class_name"] == "InputLayer":
        name, current = first["config"]["name"], _input_layer(first["config"])
        layers = layers[1:]
    else:  # no InputLayer: the first layer (Keras 2) or the model build config records the input
        shape = first["config"].get("batch_input_shape") or (first.get("build_config") or {}).get(
            "input_shape") or (config.get("build_config") or {}).get("input_shape")
        name = first["config"]["name"] if legacy else f"{first['config']['name']}_input"
        current = (_shape(shape), _input_dtype(first["config"]))
    inputs = [(name, current)]
    for layer in layers:
        recorded = (layer.get("build_config") or {}).get("input_shape")
        given = (_shape(recorded), current[1]) if recorded is not None else current
        current = _apply(layer, [given], notes)
    return inputs, [(layers[-1]["config"]["name"] if layers else name, current)]


def _functional(config: Json, notes: list[str]) -> tuple[list[tuple[str, Tensor]], list[tuple[str, Tensor]]]:
    layers = {layer.get("name") or layer["config"]["name"]: layer for layer in config["layers"]}
    memo: dict[_Ref, Tensor] = {}

    def output_of(wanted: _Ref) -> Tensor:
        """A layer node's output, its inputs first, with an explicit stack: a chain of thousands of
        layers (Keras 2 records no shapes) is a long graph, not a deep recursion."""
        stack, waiting = [wanted], set()
        while stack:
            ref = stack[-1]
            if ref in memo:
                stack.pop()
                continue
            layer = layers[ref.name]
            if layer["class_name"] == "InputLayer":
                memo[ref] = _input_layer(layer["config"])
            elif ref.tensor > 0:
                notes.append(f"layer {ref.name!r} output {ref.tensor}: shape not inferred")
                memo[ref] = (None, _compute_dtype(layer["config"]))
            else:
                items = _node_inputs(layer["inbound_nodes"][ref.node])
                missing = [i for i in items if isinstance(i, _Ref) and i not in memo]
                if missing:
                    if ref in waiting:
                        raise ValueError(f"layer {ref.name!r} takes its own output (a cycle in the graph)")
                    waiting.add(ref)
                    stack.extend(missing)
                    continue
                memo[ref] = _apply(layer, [memo[i] if isinstance(i, _Ref) else i for i in items], notes)
            stack.pop()
        return memo[wanted]

    inputs = [(name, output_of(ref)) for name, ref in _refs(config["input_layers"])]
    outputs = [(name, output_of(ref)) for name, ref in _refs(config["output_layers"])]
    return inputs, outputs


class _Ref(NamedTuple):
    """A Keras 2 reference to a layer's output: [layer name, node index, tensor index]."""

    name: str
    node: int
    tensor: int


def _refs(spec: Json) -> list[tuple[str, _Ref]]:
    """(serving name, reference) from input_layers/output_layers in any Keras layout."""
    if isinstance(spec, dict):
        return [(key, _Ref(ref[0], ref[1], ref[2])) for key, ref in spec.items()]
    if spec and isinstance(spec[0], str):
        spec = [spec]  # a single [name, node, index]
    return [(ref[0], _Ref(ref[0], ref[1], ref[2])) for ref in spec]


def _node_inputs(node: Json) -> list[_Ref | Tensor]:
    """What a node feeds its layer, in order: Keras 3 records each tensor (shape, dtype), Keras 2
    refers to another layer's output."""
    found: list[_Ref | Tensor] = []
    todo = [node["args"] if isinstance(node, dict) else node]  # depth-first, in order, no recursion
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "__keras_tensor__":  # Keras 3: shape and dtype recorded
                found.append((_shape(item["config"]["shape"]), item["config"]["dtype"]))
            else:
                todo.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            if len(item) >= 3 and isinstance(item[0], str) and isinstance(item[1], int):
                found.append(_Ref(item[0], item[1], item[2]))  # Keras 2: [layer, node, index, kw]
            else:
                todo.extend(reversed(item))
    return found


def _input_layer(config: Json) -> Tensor:
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    if shape is None and config.get("shape") is not None:
        shape = [None, *config["shape"]]
    return _shape(shape), _input_dtype(config)


def _input_dtype(config: Json) -> str:
    dtype = config.get("dtype") or "float32"
    return dtype if isinstance(dtype, str) else _policy_dtype(dtype)


def _compute_dtype(config: Json) -> str:
    dtype = config.get("dtype") or "float32"
    if isinstance(dtype, dict):
        return _policy_dtype(dtype)
    return str(dtype)


def _policy_dtype(policy: Json) -> str:
    name = str((policy.get("config") or {}).get("name", "float32"))
    return name.removeprefix("mixed_") if name.startswith("mixed_") else name


def _shape(shape: Json) -> Shape:
    if shape is None:
        return None
    return tuple(-1 if d is None else int(d) for d in shape)


# ------------------------------------------------------------------ shape rules, one per layer class

def _apply(layer: Json, ins: list[Tensor], notes: list[str]) -> Tensor:
    kind, config = layer["class_name"], layer["config"]
    dtype = _compute_dtype(config)
    if kind in ("Functional", "Sequential", "Model"):
        _, outs = model_io(layer, notes)
        return outs[0][1] if len(outs) == 1 else (None, dtype)
    if kind == "TimeDistributed":
        return _time_distributed(config, ins, notes)
    shapes = [s for s, _ in ins]
    rule = _RULES.get(kind)
    if kind in _IDENTITY:
        shape = shapes[0] if shapes else None
    elif rule is not None and shapes and all(s is not None for s in shapes):
        shape = rule(config, [s for s in shapes if s is not None])
    else:
        shape = None
    if shape is None and kind not in _IDENTITY:
        notes.append(f"layer {config.get('name', kind)!r} ({kind}): output shape not inferred")
    return shape, dtype


def _time_distributed(config: Json, ins: list[Tensor], notes: list[str]) -> Tensor:
    """The wrapped layer applied to each step: its rule on (batch, *step), the time axis put back."""
    shape, dtype = ins[0] if ins else (None, "float32")
    inner = config["layer"]
    if shape is None or len(shape) < 2:
        notes.append(f"layer {config.get('name', 'TimeDistributed')!r} (TimeDistributed): output shape "
                     "not inferred")
        return None, _compute_dtype(inner["config"])
    step, out_dtype = _apply(inner, [((shape[0], *shape[2:]), dtype)], notes)
    return (None if step is None else (shape[0], shape[1], *step[1:])), out_dtype


_IDENTITY = frozenset({
    "Activation", "Dropout", "BatchNormalization", "LayerNormalization", "GroupNormalization",
    "UnitNormalization", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU",
    "GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "Rescaling", "Normalization", "ActivityRegularization", "Masking", "Identity",
})


def _dense(c: Json, s: list[tuple[int, ...]]) -> Shape:
    return (*s[0][:-1], int(c["units"]))


def _embedding(c: Json, s: list[tuple[int, ...]]) -> Shape:
    return (*s[0], int(c["output_dim"]))


def _flatten(c: Json, s: list[tuple[int, ...]]) -> Shape:
    rest = s[0][1:]
    return (s[0][0], -1 if any(d < 0 for d in rest) else math.prod(rest))


def _reshape(c: Json, s: list[tuple[int, ...]]) -> Shape:
    target = [int(d) for d in c["target_shape"]]
    known = math.prod(d for d in s[0][1:]) if all(d >= 0 for d in s[0][1:]) else None
    if -1 in target and known is not None:
        rest = math.prod(d for d in target if d != -1)
        target = [known // rest if d == -1 else d for d in target]
    return (s[0][0], *target)


def _concatenate(c: Json, s: list[tuple[int, ...]]) -> Shape:
    axis = int(c.get("axis", -1)) % len(s[0])
    total = -1 if any(x[axis] < 0 for x in s) else sum(x[axis] for x in s)
    return tuple(total if i == axis else d for i, d in enumerate(s[0]))


def _merge(c: Json, s: list[tuple[int, ...]]) -> Shape:
    rank = max(len(x) for x in s)
    padded = [(1,) * (rank - len(x)) + x for x in s]
    out = []
    for dims in zip(*padded, strict=True):
        known = [d for d in dims if d > 1]
        out.append(known[0] if known else (-1 if any(d < 0 for d in dims) else 1))
    return tuple(out)


def _global_pool(c: Json, s: list[tuple[int, ...]]) -> Shape:
    first = c.get("data_format") == "channels_first"
    channels = s[0][1] if first else s[0][-1]
    if c.get("keepdims"):
        ones = (1,) * (len(s[0]) - 2)
        return (s[0][0], channels, *ones) if first else (s[0][0], *ones, channels)
    return (s[0][0], channels)


def _recurrent(c: Json, s: list[tuple[int, ...]]) -> Shape:
    units = int(c["units"])
    return (s[0][0], s[0][1], units) if c.get("return_sequences") else (s[0][0], units)


def _window(c: Json, s: list[tuple[int, ...]], channels: int | None) -> Shape:
    """Conv/pooling: each spatial dim from kernel (or pool) size, strides, padding, dilation."""
    shape = s[0]
    first = c.get("data_format") == "channels_first"
    spatial = shape[2:] if first else shape[1:-1]
    n = len(spatial)

    def per_dim(key: str, default: int) -> list[int]:
        value = c.get(key)
        if value is None:
            return [default] * n
        return [int(v) for v in value] if isinstance(value, list) else [int(value)] * n

    kernel = per_dim("kernel_size", 1) if "kernel_size" in c else per_dim("pool_size", 2)
    if c.get("strides") is not None:
        strides = per_dim("strides", 1)
    else:  # pooling strides default to the pool size
        strides = kernel if "pool_size" in c else [1] * n
    dilation = per_dim("dilation_rate", 1)
    out = []
    for size, k, st, dil in zip(spatial, kernel, strides, dilation, strict=True):
        if size < 0:
            out.append(-1)
        elif c.get("padding", "valid") == "same":
            out.append(-(-size // st))
        else:
            out.append((size - (k - 1) * dil - 1) // st + 1)
    kept = shape[1] if first else shape[-1]
    ch = kept if channels is None else channels
    return (shape[0], ch, *out) if first else (shape[0], *out, ch)


def _conv(c: Json, s: list[tuple[int, ...]]) -> Shape:
    return _window(c, s, int(c["filters"]))


def _depthwise(c: Json, s: list[tuple[int, ...]]) -> Shape:
    first = c.get("data_format") == "channels_first"
    ch = s[0][1] if first else s[0][-1]
    return _window(c, s, -1 if ch < 0 else ch * int(c.get("depth_multiplier", 1)))


def _pool(c: Json, s: list[tuple[int, ...]]) -> Shape:
    return _window(c, s, None)


def _zero_padding(c: Json, s: list[tuple[int, ...]]) -> Shape:
    shape = s[0]
    first = c.get("data_format") == "channels_first"
    spatial = list(shape[2:] if first else shape[1:-1])
    pads = c["padding"]
    pads = [pads] * len(spatial) if isinstance(pads, int) else pads
    out = []
    for size, pad in zip(spatial, pads, strict=True):
        total = sum(pad) if isinstance(pad, list) else 2 * int(pad)
        out.append(-1 if size < 0 else size + total)
    return (shape[0], shape[1], *out) if first else (shape[0], *out, shape[-1])


def _repeat_vector(c: Json, s: list[tuple[int, ...]]) -> Shape:
    return (s[0][0], int(c["n"]), s[0][1])


def _permute(c: Json, s: list[tuple[int, ...]]) -> Shape:
    return (s[0][0], *(s[0][int(d)] for d in c["dims"]))


_RULES: dict[str, Callable[[Json, list[tuple[int, ...]]], Shape]] = {
    "Dense": _dense,
    "Embedding": _embedding,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Concatenate": _concatenate,
    **dict.fromkeys(("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"), _merge),
    **dict.fromkeys(
        ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
         "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"), _global_pool),
    **dict.fromkeys(("LSTM", "GRU", "SimpleRNN"), _recurrent),
    **dict.fromkeys(("Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D"), _conv),
    **dict.fromkeys(("DepthwiseConv1D", "DepthwiseConv2D"), _depthwise),
    **dict.fromkeys(("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
                     "AveragePooling2D", "AveragePooling3D"), _pool),
    **dict.fromkeys(("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"), _zero_padding),
    "RepeatVector": _repeat_vector,
    "Permute": _permute,
}
