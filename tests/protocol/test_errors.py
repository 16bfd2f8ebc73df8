"""Error classes carry OpenIM's codes and names, and print as OpenIM's envelope fields."""

from __future__ import annotations

import pytest

from openim.protocol import errors


@pytest.mark.parametrize(
    ("cls", "code", "name"),
    [
        (errors.ServerInternalError, 500, "ServerInternalError"),
        (errors.ArgsError, 1001, "ArgsError"),
        (errors.NoPermissionError, 1002, "NoPermissionError"),
        (errors.RecordNotFoundError, 1004, "RecordNotFoundError"),
        (errors.RegisteredAlreadyError, 1102, "RegisteredAlreadyError"),
        (errors.GroupIDExisted, 1202, "GroupIDExisted"),
        (errors.CanNotAddYourselfError, 1301, "CanNotAddYourselfError"),
        (errors.MsgAlreadyRevoke, 1404, "MsgAlreadyRevoke"),
        (errors.TokenExpiredError, 1501, "TokenExpiredError"),
        (errors.TokenMalformedError, 1503, "TokenMalformedError"),
        (errors.TokenKickedError, 1506, "TokenKickedError"),
        (errors.TokenNotExistError, 1507, "TokenNotExistError"),
        (errors.ConnOverMaxNumLimit, 1601, "ConnOverMaxNumLimit"),
        (errors.ConnArgsError, 1602, "args err, need token, sendID, platformID"),
    ],
)
def test_codes_and_names_are_openims(cls: type[errors.OpenIMError], code: int, name: str) -> None:
    """Each class has OpenIM's number and errMsg (servererrs/code.go, tools errs/predefine.go)."""
    assert cls.code == code and cls.msg == name
    assert errors.by_code(code) is cls


def test_wire_fields_fall_back_to_the_name() -> None:
    """errDlt is the detail, or the errMsg when there is none, as OpenIM's wrapped errors print."""
    assert errors.ArgsError("userID is empty").to_wire() == {
        "errCode": 1001,
        "errMsg": "ArgsError",
        "errDlt": "userID is empty",
    }
    assert errors.NoPermissionError().to_wire()["errDlt"] == "NoPermissionError"


def test_not_found_kinds() -> None:
    """1101 and 1201 are kinds of 1004, and 1202 a kind of 1003, as OpenIM's Is() relations."""
    assert issubclass(errors.UserIDNotFoundError, errors.RecordNotFoundError)
    assert issubclass(errors.GroupIDNotFoundError, errors.RecordNotFoundError)
    assert issubclass(errors.GroupIDExisted, errors.DuplicateKeyError)


def test_unknown_code_maps_to_internal_error() -> None:
    """A code we do not know is treated as 500."""
    assert errors.by_code(424242) is errors.ServerInternalError
