"""Look up generated kernels by name: ``from numeric.kernels import kernels as K; K.relu_grad(x)``.

The kernels live in the generated modules ``numeric/kernels/<topic>.py`` (every module of
this package except this one is written by ``nnmath codegen`` and never edited by hand). A name is
resolved on first use, so a layer module imports even while a derivation (and so its
kernel) is still missing; using the missing kernel then raises ``MissingKernel`` naming it.
"""
from __future__ import annotations

import importlib
import pathlib
from typing import Any, Callable

_HERE = pathlib.Path(__file__).resolve().parent


class MissingKernel(AttributeError):
    """A layer needs a kernel that ``nnmath codegen`` has not generated."""


class KernelTable:
    """Attribute access to every generated kernel; ``names()`` lists them."""

    def __init__(self) -> None:
        self._cache: dict[str, Callable[..., Any]] | None = None

    def _load(self) -> dict[str, Callable[..., Any]]:
        if self._cache is None:
            table: dict[str, Callable[..., Any]] = {}
            for path in sorted(_HERE.glob("*.py")):
                if path.stem.startswith("_"):
                    continue
                module = importlib.import_module(f"{__package__}.{path.stem}")
                for name in getattr(module, "__all__", ()):
                    table[name] = getattr(module, name)
            self._cache = table
        return self._cache

    def names(self) -> list[str]:
        return sorted(self._load())

    def module_of(self, name: str) -> str:
        return self[name].__module__

    def __getitem__(self, name: str) -> Callable[..., Any]:
        try:
            return self._load()[name]
        except KeyError:
            raise MissingKernel(
                f"kernel {name!r} has not been generated: its derivation is missing or "
                f"failed to build; run `nnmath codegen` (generated: "
                f"{', '.join(self.names()) or 'none'})") from None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __contains__(self, name: str) -> bool:
        return name in self._load()


kernels = KernelTable()
