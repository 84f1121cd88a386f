"""User-facing errors: the CLI prints their message and exits non-zero, never a traceback."""

from __future__ import annotations


class CodequarryError(Exception):
    """A mistake the user can fix (bad input, missing file, unknown name): the message says what to do."""

    exit_code = 2


class NotYetImplemented(CodequarryError):
    """A request that this version cannot honour yet; says so instead of pretending."""

    exit_code = 3


class MissingDependency(CodequarryError):
    """An optional dependency is needed; the message carries the pip line that installs it."""

    def __init__(self, what: str, extra: str | None = None, package: str | None = None) -> None:
        line = f"pip install 'codequarry[{extra}]'" if extra else f"pip install {package or what}"
        super().__init__(f"{what} is not installed; install it with: {line}")


def require(module: str, *, extra: str | None = None, package: str | None = None):
    """Import an optional module or raise MissingDependency with the install line."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(package or module, extra=extra, package=package) from exc


def one_line(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line (library messages may span several), for error text."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
