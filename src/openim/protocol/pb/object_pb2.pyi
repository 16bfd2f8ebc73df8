from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeyValues(_message.Message):
    __slots__ = ("key", "values")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    key: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class SignPart(_message.Message):
    __slots__ = ("partNumber", "url", "query", "header")
    PARTNUMBER_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    partNumber: int
    url: str
    query: _containers.RepeatedCompositeFieldContainer[KeyValues]
    header: _containers.RepeatedCompositeFieldContainer[KeyValues]
    def __init__(self, partNumber: _Optional[int] = ..., url: _Optional[str] = ..., query: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., header: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ...) -> None: ...

class AuthSignParts(_message.Message):
    __slots__ = ("url", "query", "header", "parts")
    URL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    url: str
    query: _containers.RepeatedCompositeFieldContainer[KeyValues]
    header: _containers.RepeatedCompositeFieldContainer[KeyValues]
    parts: _containers.RepeatedCompositeFieldContainer[SignPart]
    def __init__(self, url: _Optional[str] = ..., query: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., header: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., parts: _Optional[_Iterable[_Union[SignPart, _Mapping]]] = ...) -> None: ...

class PartLimitReq(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PartLimitResp(_message.Message):
    __slots__ = ("minPartSize", "maxPartSize", "maxNumSize")
    MINPARTSIZE_FIELD_NUMBER: _ClassVar[int]
    MAXPARTSIZE_FIELD_NUMBER: _ClassVar[int]
    MAXNUMSIZE_FIELD_NUMBER: _ClassVar[int]
    minPartSize: int
    maxPartSize: int
    maxNumSize: int
    def __init__(self, minPartSize: _Optional[int] = ..., maxPartSize: _Optional[int] = ..., maxNumSize: _Optional[int] = ...) -> None: ...

class PartSizeReq(_message.Message):
    __slots__ = ("size",)
    SIZE_FIELD_NUMBER: _ClassVar[int]
    size: int
    def __init__(self, size: _Optional[int] = ...) -> None: ...

class PartSizeResp(_message.Message):
    __slots__ = ("size",)
    SIZE_FIELD_NUMBER: _ClassVar[int]
    size: int
    def __init__(self, size: _Optional[int] = ...) -> None: ...

class InitiateMultipartUploadReq(_message.Message):
    __slots__ = ("hash", "size", "partSize", "maxParts", "cause", "name", "contentType", "urlPrefix")
    HASH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PARTSIZE_FIELD_NUMBER: _ClassVar[int]
    MAXPARTS_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    URLPREFIX_FIELD_NUMBER: _ClassVar[int]
    hash: str
    size: int
    partSize: int
    maxParts: int
    cause: str
    name: str
    contentType: str
    urlPrefix: str
    def __init__(self, hash: _Optional[str] = ..., size: _Optional[int] = ..., partSize: _Optional[int] = ..., maxParts: _Optional[int] = ..., cause: _Optional[str] = ..., name: _Optional[str] = ..., contentType: _Optional[str] = ..., urlPrefix: _Optional[str] = ...) -> None: ...

class UploadInfo(_message.Message):
    __slots__ = ("uploadID", "partSize", "sign", "expireTime")
    UPLOADID_FIELD_NUMBER: _ClassVar[int]
    PARTSIZE_FIELD_NUMBER: _ClassVar[int]
    SIGN_FIELD_NUMBER: _ClassVar[int]
    EXPIRETIME_FIELD_NUMBER: _ClassVar[int]
    uploadID: str
    partSize: int
    sign: AuthSignParts
    expireTime: int
    def __init__(self, uploadID: _Optional[str] = ..., partSize: _Optional[int] = ..., sign: _Optional[_Union[AuthSignParts, _Mapping]] = ..., expireTime: _Optional[int] = ...) -> None: ...

class InitiateMultipartUploadResp(_message.Message):
    __slots__ = ("url", "upload")
    URL_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    url: str
    upload: UploadInfo
    def __init__(self, url: _Optional[str] = ..., upload: _Optional[_Union[UploadInfo, _Mapping]] = ...) -> None: ...

class AuthSignReq(_message.Message):
    __slots__ = ("uploadID", "partNumbers")
    UPLOADID_FIELD_NUMBER: _ClassVar[int]
    PARTNUMBERS_FIELD_NUMBER: _ClassVar[int]
    uploadID: str
    partNumbers: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, uploadID: _Optional[str] = ..., partNumbers: _Optional[_Iterable[int]] = ...) -> None: ...

class AuthSignResp(_message.Message):
    __slots__ = ("url", "query", "header", "parts")
    URL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    url: str
    query: _containers.RepeatedCompositeFieldContainer[KeyValues]
    header: _containers.RepeatedCompositeFieldContainer[KeyValues]
    parts: _containers.RepeatedCompositeFieldContainer[SignPart]
    def __init__(self, url: _Optional[str] = ..., query: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., header: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., parts: _Optional[_Iterable[_Union[SignPart, _Mapping]]] = ...) -> None: ...

class CompleteMultipartUploadReq(_message.Message):
    __slots__ = ("uploadID", "parts", "name", "contentType", "cause", "urlPrefix")
    UPLOADID_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    URLPREFIX_FIELD_NUMBER: _ClassVar[int]
    uploadID: str
    parts: _containers.RepeatedScalarFieldContainer[str]
    name: str
    contentType: str
    cause: str
    urlPrefix: str
    def __init__(self, uploadID: _Optional[str] = ..., parts: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., contentType: _Optional[str] = ..., cause: _Optional[str] = ..., urlPrefix: _Optional[str] = ...) -> None: ...

class CompleteMultipartUploadResp(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...

class AccessURLReq(_message.Message):
    __slots__ = ("name", "query")
    class QueryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    name: str
    query: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., query: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AccessURLResp(_message.Message):
    __slots__ = ("url", "expireTime")
    URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRETIME_FIELD_NUMBER: _ClassVar[int]
    url: str
    expireTime: int
    def __init__(self, url: _Optional[str] = ..., expireTime: _Optional[int] = ...) -> None: ...

class InitiateFormDataReq(_message.Message):
    __slots__ = ("name", "size", "contentType", "group", "millisecond", "absolute")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    MILLISECOND_FIELD_NUMBER: _ClassVar[int]
    ABSOLUTE_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    contentType: str
    group: str
    millisecond: int
    absolute: bool
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., contentType: _Optional[str] = ..., group: _Optional[str] = ..., millisecond: _Optional[int] = ..., absolute: _Optional[bool] = ...) -> None: ...

class InitiateFormDataResp(_message.Message):
    __slots__ = ("id", "url", "file", "header", "formData", "expires", "successCodes")
    class FormDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    FORMDATA_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    SUCCESSCODES_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    file: str
    header: _containers.RepeatedCompositeFieldContainer[KeyValues]
    formData: _containers.ScalarMap[str, str]
    expires: int
    successCodes: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., file: _Optional[str] = ..., header: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., formData: _Optional[_Mapping[str, str]] = ..., expires: _Optional[int] = ..., successCodes: _Optional[_Iterable[int]] = ...) -> None: ...

class CompleteFormDataReq(_message.Message):
    __slots__ = ("id", "urlPrefix")
    ID_FIELD_NUMBER: _ClassVar[int]
    URLPREFIX_FIELD_NUMBER: _ClassVar[int]
    id: str
    urlPrefix: str
    def __init__(self, id: _Optional[str] = ..., urlPrefix: _Optional[str] = ...) -> None: ...

class CompleteFormDataResp(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...
