"""The model contract: pure model, wire format, loaders, validation and comparison."""

from hydro_ci.contract.model import (
    DEFAULT_SIGNATURE,
    UNKNOWN_DIM,
    Contract,
    DType,
    Field,
    Profile,
    Shape,
    Signature,
)

__all__ = [
    "DEFAULT_SIGNATURE",
    "UNKNOWN_DIM",
    "Contract",
    "DType",
    "Field",
    "Profile",
    "Shape",
    "Signature",
]
