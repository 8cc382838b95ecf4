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
    DT_BFLOAT16: _ClassVar[DataType]
    DT_QINT16: _ClassVar[DataType]
    DT_QUINT16: _ClassVar[DataType]
    DT_UINT16: _ClassVar[DataType]
    DT_COMPLEX128: _ClassVar[DataType]
    DT_HALF: _ClassVar[DataType]
    DT_RESOURCE: _ClassVar[DataType]
    DT_VARIANT: _ClassVar[DataType]
    DT_UINT32: _ClassVar[DataType]
    DT_UINT64: _ClassVar[DataType]
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
DT_BFLOAT16: DataType
DT_QINT16: DataType
DT_QUINT16: DataType
DT_UINT16: DataType
DT_COMPLEX128: DataType
DT_HALF: DataType
DT_RESOURCE: DataType
DT_VARIANT: DataType
DT_UINT32: DataType
DT_UINT64: DataType
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

class TensorShapeProto(_message.Message):
    __slots__ = ("dim", "unknown_rank")
    class Dim(_message.Message):
        __slots__ = ("size", "name")
        SIZE_FIELD_NUMBER: _ClassVar[int]
        NAME_FIELD_NUMBER: _ClassVar[int]
        size: int
        name: str
        def __init__(self, size: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...
    DIM_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_RANK_FIELD_NUMBER: _ClassVar[int]
    dim: _containers.RepeatedCompositeFieldContainer[TensorShapeProto.Dim]
    unknown_rank: bool
    def __init__(self, dim: _Optional[_Iterable[_Union[TensorShapeProto.Dim, _Mapping]]] = ..., unknown_rank: bool = ...) -> None: ...

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
    shape: TensorShapeProto
    subfields: ModelField.Subfield
    dtype: DataType
    profile: DataProfileType
    def __init__(self, name: _Optional[str] = ..., shape: _Optional[_Union[TensorShapeProto, _Mapping]] = ..., subfields: _Optional[_Union[ModelField.Subfield, _Mapping]] = ..., dtype: _Optional[_Union[DataType, str]] = ..., profile: _Optional[_Union[DataProfileType, str]] = ...) -> None: ...

class ModelSignature(_message.Message):
    __slots__ = ("signature_name", "inputs", "outputs")
    SIGNATURE_NAME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    signature_name: str
    inputs: _containers.RepeatedCompositeFieldContainer[ModelField]
    outputs: _containers.RepeatedCompositeFieldContainer[ModelField]
    def __init__(self, signature_name: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[ModelField, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[ModelField, _Mapping]]] = ...) -> None: ...

class ModelContractV2(_message.Message):
    __slots__ = ("model_name", "predict")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    PREDICT_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    predict: ModelSignature
    def __init__(self, model_name: _Optional[str] = ..., predict: _Optional[_Union[ModelSignature, _Mapping]] = ...) -> None: ...

class ModelContractV01(_message.Message):
    __slots__ = ("model_name", "signatures")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    signatures: _containers.RepeatedCompositeFieldContainer[ModelSignature]
    def __init__(self, model_name: _Optional[str] = ..., signatures: _Optional[_Iterable[_Union[ModelSignature, _Mapping]]] = ...) -> None: ...

class TensorInfo(_message.Message):
    __slots__ = ("dtype", "tensor_shape")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    TENSOR_SHAPE_FIELD_NUMBER: _ClassVar[int]
    dtype: DataType
    tensor_shape: TensorShapeProto
    def __init__(self, dtype: _Optional[_Union[DataType, str]] = ..., tensor_shape: _Optional[_Union[TensorShapeProto, _Mapping]] = ...) -> None: ...

class V1Field(_message.Message):
    __slots__ = ("field_name", "subfields", "info")
    class ComplexField(_message.Message):
        __slots__ = ("data",)
        DATA_FIELD_NUMBER: _ClassVar[int]
        data: _containers.RepeatedCompositeFieldContainer[V1Field]
        def __init__(self, data: _Optional[_Iterable[_Union[V1Field, _Mapping]]] = ...) -> None: ...
    FIELD_NAME_FIELD_NUMBER: _ClassVar[int]
    SUBFIELDS_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    field_name: str
    subfields: V1Field.ComplexField
    info: TensorInfo
    def __init__(self, field_name: _Optional[str] = ..., subfields: _Optional[_Union[V1Field.ComplexField, _Mapping]] = ..., info: _Optional[_Union[TensorInfo, _Mapping]] = ...) -> None: ...

class V1Signature(_message.Message):
    __slots__ = ("signature_name", "inputs", "outputs")
    SIGNATURE_NAME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    signature_name: str
    inputs: _containers.RepeatedCompositeFieldContainer[V1Field]
    outputs: _containers.RepeatedCompositeFieldContainer[V1Field]
    def __init__(self, signature_name: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[V1Field, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[V1Field, _Mapping]]] = ...) -> None: ...

class ModelContractV1(_message.Message):
    __slots__ = ("model_name", "signatures")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    signatures: _containers.RepeatedCompositeFieldContainer[V1Signature]
    def __init__(self, model_name: _Optional[str] = ..., signatures: _Optional[_Iterable[_Union[V1Signature, _Mapping]]] = ...) -> None: ...
