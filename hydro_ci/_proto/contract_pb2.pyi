from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DT_INVALID: _ClassVar[DataType]
    DT_FLOAT: _ClassVar[DataType]
    DT_DOUBLE: _ClassVar[DataType]
    DT_INT32: _ClassVar[DataType]
    DT_UINT8: _ClassVar[DataType]
    DT_INT16: _ClassVar[DataType]
    DT_INT8: _ClassVar[DataType]
    DT_STRING: _ClassVar[DataType]
    DT_COMPLEX64: _ClassVar[DataType]
    DT_INT64: _ClassVar[DataType]
    DT_BOOL: _ClassVar[DataType]
    DT_QINT8: _ClassVar[DataType]
    DT_QUINT8: _ClassVar[DataType]
    DT_QINT32: _ClassVar[DataType]
    DT_QINT16: _ClassVar[DataType]
    DT_QUINT16: _ClassVar[DataType]
    DT_UINT16: _ClassVar[DataType]
    DT_COMPLEX128: _ClassVar[DataType]
    DT_HALF: _ClassVar[DataType]
    DT_UINT32: _ClassVar[DataType]
    DT_UINT64: _ClassVar[DataType]
    DT_ANY: _ClassVar[DataType]
    DT_MAP: _ClassVar[DataType]

class DataProfileType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NONE: _ClassVar[DataProfileType]
    CATEGORICAL: _ClassVar[DataProfileType]
    NOMINAL: _ClassVar[DataProfileType]
    ORDINAL: _ClassVar[DataProfileType]
    NUMERICAL: _ClassVar[DataProfileType]
    CONTINUOUS: _ClassVar[DataProfileType]
    INTERVAL: _ClassVar[DataProfileType]
    RATIO: _ClassVar[DataProfileType]
    IMAGE: _ClassVar[DataProfileType]
    VIDEO: _ClassVar[DataProfileType]
    AUDIO: _ClassVar[DataProfileType]
    TEXT: _ClassVar[DataProfileType]
DT_INVALID: DataType
DT_FLOAT: DataType
DT_DOUBLE: DataType
DT_INT32: DataType
DT_UINT8: DataType
DT_INT16: DataType
DT_INT8: DataType
DT_STRING: DataType
DT_COMPLEX64: DataType
DT_INT64: DataType
DT_BOOL: DataType
DT_QINT8: DataType
DT_QUINT8: DataType
DT_QINT32: DataType
DT_QINT16: DataType
DT_QUINT16: DataType
DT_UINT16: DataType
DT_COMPLEX128: DataType
DT_HALF: DataType
DT_UINT32: DataType
DT_UINT64: DataType
DT_ANY: DataType
DT_MAP: DataType
NONE: DataProfileType
CATEGORICAL: DataProfileType
NOMINAL: DataProfileType
ORDINAL: DataProfileType
NUMERICAL: DataProfileType
CONTINUOUS: DataProfileType
INTERVAL: DataProfileType
RATIO: DataProfileType
IMAGE: DataProfileType
VIDEO: DataProfileType
AUDIO: DataProfileType
TEXT: DataProfileType

class TensorShape(_message.Message):
    __slots__ = ("dims",)
    DIMS_FIELD_NUMBER: _ClassVar[int]
    dims: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, dims: _Optional[_Iterable[int]] = ...) -> None: ...

class ModelField(_message.Message):
    __slots__ = ("name", "shape", "subfields", "dtype", "profile")
    class Subfield(_message.Message):
        __slots__ = ("data",)
        DATA_FIELD_NUMBER: _ClassVar[int]
        data: _containers.RepeatedCompositeFieldContainer[ModelField]
        def __init__(self, data: _Optional[_Iterable[_Union[ModelField, _Mapping]]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    SUBFIELDS_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    name: str
    shape: TensorShape
    subfields: ModelField.Subfield
    dtype: DataType
    profile: DataProfileType
    def __init__(self, name: _Optional[str] = ..., shape: _Optional[_Union[TensorShape, _Mapping]] = ..., subfields: _Optional[_Union[ModelField.Subfield, _Mapping]] = ..., dtype: _Optional[_Union[DataType, str]] = ..., profile: _Optional[_Union[DataProfileType, str]] = ...) -> None: ...

class ModelSignature(_message.Message):
    __slots__ = ("signature_name", "inputs", "outputs")
    SIGNATURE_NAME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    signature_name: str
    inputs: _containers.RepeatedCompositeFieldContainer[ModelField]
    outputs: _containers.RepeatedCompositeFieldContainer[ModelField]
    def __init__(self, signature_name: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[ModelField, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[ModelField, _Mapping]]] = ...) -> None: ...
