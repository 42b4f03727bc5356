"""A registry of RPC modules whose methods are looked up by their wire name.

Each module (``eth``, ``net``, ``web3``, ``medledger``) is a class; a method is registered by
decorating it with :func:`rpc_method` and the wire name is ``<module>_<name>``. The registry
binds and validates positional params before the method runs, so method bodies only see
decoded values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from ledger.rpc.errors import MethodNotFound
from ledger.rpc.params import Param, bind

F = TypeVar("F", bound=Callable[..., Any])
_SPEC_ATTR = "__rpc_spec__"


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    params: tuple[Param, ...]


def rpc_method(name: str, *params: Param) -> Callable[[F], F]:
    """Register the decorated module method under ``<module>_<name>`` with these params."""

    def decorate(func: F) -> F:
        setattr(func, _SPEC_ATTR, MethodSpec(name, params))
        return func

    return decorate


class RPCModule:
    """Base of RPC modules; ``name`` is the prefix of its methods on the wire."""

    name: ClassVar[str]

    def close(self) -> None:
        """Release what the module holds (subscriptions); called at server shutdown."""


@dataclass(frozen=True, slots=True)
class BoundMethod:
    func: Callable[..., Any]
    params: tuple[Param, ...]

    def __call__(self, raw_params: Any) -> Any:
        return self.func(*bind(self.params, raw_params))


class Registry:
    """Wire method name → bound method of a module instance."""

    def __init__(self, modules: Iterable[RPCModule]) -> None:
        self._methods: dict[str, BoundMethod] = {}
        self.modules = list(modules)
        for module in self.modules:
            for attr in dir(type(module)):
                spec = getattr(getattr(type(module), attr), _SPEC_ATTR, None)
                if isinstance(spec, MethodSpec):
                    wire = f"{module.name}_{spec.name}"
                    if wire in self._methods:
                        raise ValueError(f"duplicate RPC method {wire}")
                    self._methods[wire] = BoundMethod(getattr(module, attr), spec.params)

    def lookup(self, method: str) -> BoundMethod:
        try:
            return self._methods[method]
        except KeyError:
            raise MethodNotFound(
                f"the method {method[:100]} does not exist/is not available"
            ) from None

    def __contains__(self, method: object) -> bool:
        return method in self._methods

    def close(self) -> None:
        for module in self.modules:
            module.close()

    def names(self) -> list[str]:
        return sorted(self._methods)
