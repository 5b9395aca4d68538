import pytest
from tollama import errors


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_every_error_code_has_exactly_one_status() -> None:
    import tollama.creating
    import tollama.worker_client  # noqa: F401 - subclasses defined elsewhere count too

    codes = {cls.code for cls in [errors.TollamaError, *_subclasses(errors.TollamaError)]}
    assert codes <= set(errors.STATUS), f"codes without a status: {codes - set(errors.STATUS)}"


@pytest.mark.parametrize("cls", [c for c in _subclasses(errors.TollamaError) if c.__module__ == "tollama.errors"])
def test_error_bodies_carry_error_and_code(cls: type[errors.TollamaError]) -> None:
    exc = cls("boom", path="$.x") if cls is not errors.InvalidValue else cls("boom", path="$.x", value=3, limit=2)
    body = exc.body()
    assert body["error"] == "boom"
    assert body["code"] == cls.code
    assert 400 <= errors.status_of(exc) < 600


def test_client_errors_are_4xx_and_server_errors_5xx() -> None:
    assert errors.status_of(errors.InvalidValue("x", path="$")) == 400
    assert errors.status_of(errors.ModelNotFound("x")) == 404
    assert errors.status_of(errors.Busy("x")) == 503
    assert errors.status_of(errors.UpstreamError("x")) == 502
