"""Base images made for a test: an OCI layout with a few tiny layers and the config env we choose.

No engine and no registry: what a base's config says (PYTHON_VERSION) and how many blobs a push
sends are then up to the test.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hydro_ci.image import layout, mutate
from hydro_ci.image.layer import bytes_entry, write_layer
from hydro_ci.image.model import History, Platform


def write_base(root: Path, *, layers: int = 1, env: Mapping[str, str] | None = None,
               tag: str = "base") -> str:
    """Write the base at ``root``; returns the ``--base-from`` source naming it."""
    image = mutate.scratch(Platform("amd64", "linux"))
    addenda = []
    for i in range(layers):
        # Distinct bytes per layer, so each is its own blob.
        layer = write_layer([bytes_entry(f"base/{i}.txt", f"layer {i}\n".encode() * (i + 1))],
                            root.parent / f"{root.name}-spool", epoch=0, compression="gzip")
        addenda.append(mutate.Addendum(layer, layer.diff_id, History(created_by=f"test layer {i}")))
    image = mutate.append_layers(image, addenda)
    if env:
        image = mutate.with_config(image, mutate.configure(image.config, env=env))
    layout.write_layout(root, {tag: image})
    return f"oci:{root}:{tag}"
