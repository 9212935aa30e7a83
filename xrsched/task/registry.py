"""Task classes by family: the metaclass that names, registers and caches tasks, and namespaces.

Every ``Task`` subclass is registered under its family (``namespace.ClassName``) so a worker
can rebuild a task from what the scheduler sends. Building a task with parameters it was built
with before returns the earlier object, as Luigi does.
"""

from __future__ import annotations

from typing import Any

from .parameters import Parameter


class TaskClassException(LookupError):
    """A family name does not name exactly one task class."""


class _Auto:
    """Namespace marker: use the defining module's name."""


_AUTO = _Auto()
_namespaces: dict[str, str | _Auto] = {}  # module prefix -> namespace for classes defined there
_families: dict[str, dict[tuple[str, str], type]] = {}  # family -> (module, qualname) -> class
_params: dict[type, tuple[tuple[str, Parameter[Any]], ...]] = {}
_instances: dict[Any, Any] | None = {}


def namespace(namespace: str | None = None, scope: str = "") -> None:
    """Give tasks defined from now on in modules under ``scope`` (all modules by default) a namespace.

    A ``task_namespace`` class attribute, set on the class or inherited, takes precedence.
    """
    _namespaces[scope] = namespace or ""


def auto_namespace(scope: str = "") -> None:
    """Like ``namespace`` but each task's namespace is the name of the module that defines it."""
    _namespaces[scope] = _AUTO


def _namespace_for(module: str) -> str | _Auto:
    scopes = [s for s in _namespaces if not s or module == s or module.startswith(s + ".")]
    return _namespaces[max(scopes, key=len)] if scopes else ""


def task_namespace_of(cls: type) -> str:
    """The namespace a task class's family starts with ("" for none)."""
    explicit = getattr(cls, "task_namespace", None)
    if explicit is not None:
        return explicit
    at_definition = getattr(cls, "_namespace_at_class_time", "")
    return cls.__module__ if isinstance(at_definition, _Auto) else at_definition


def task_family_of(cls: type) -> str:
    """``namespace.ClassName``, or the class name when there is no namespace."""
    prefix = task_namespace_of(cls)
    return f"{prefix}.{cls.__name__}" if prefix else cls.__name__


def task_class(family: str) -> type:
    """The task class registered as ``family``; TaskClassException if none or several."""
    found = list(_families.get(family, {}).values())
    if not found:
        raise TaskClassException(f"no task class is registered as {family!r} (is its module imported?)")
    if len(found) > 1:
        where = ", ".join(sorted(f"{c.__module__}.{c.__qualname__}" for c in found))
        raise TaskClassException(f"task family {family!r} is ambiguous: {where}")
    return found[0]


class Register(type):
    """Metaclass of Task: registers each class by family and caches instances by parameters."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any], **kwargs: Any) -> Register:
        cls = super().__new__(mcs, name, bases, attrs, **kwargs)
        cls._namespace_at_class_time = _namespace_for(cls.__module__)
        for value in attrs.values():
            if isinstance(value, Parameter):
                value.normalize_default(cls)
        _families.setdefault(task_family_of(cls), {})[(cls.__module__, cls.__qualname__)] = cls
        return cls

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if _instances is None:
            return super().__call__(*args, **kwargs)
        values = cls.get_param_values(cls.get_params(), args, kwargs)  # type: ignore[attr-defined]
        key = (cls, tuple(values))
        try:
            found = _instances.get(key)
        except TypeError:  # an unhashable value (only the plain Parameter allows those)
            return super().__call__(*args, **kwargs)
        if found is None:
            found = _instances.setdefault(key, super().__call__(*args, **kwargs))
        return found

    def __setattr__(cls, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if isinstance(value, Parameter):
            value.__set_name__(cls, name)
            value.normalize_default(cls)
        _params.clear()

    def __delattr__(cls, name: str) -> None:
        super().__delattr__(name)
        _params.clear()

    @property
    def task_family(cls) -> str:
        """The family of this task class."""
        return task_family_of(cls)

    def params_of(cls) -> tuple[tuple[str, Parameter[Any]], ...]:
        """Declared parameters: base classes first, each class in declaration order."""
        cached = _params.get(cls)
        if cached is None:
            found: dict[str, Parameter[Any]] = {}
            for klass in reversed(cls.__mro__):
                for attr, value in vars(klass).items():
                    if isinstance(value, Parameter):
                        found[attr] = value  # an override keeps its base's position
                    elif attr in found:
                        del found[attr]  # a plain attribute shadows an inherited parameter
            cached = _params[cls] = tuple(found.items())
        return cached

    @staticmethod
    def clear_instance_cache() -> None:
        """Forget cached task instances (and re-enable caching if it was disabled)."""
        global _instances
        _instances = {}

    @staticmethod
    def disable_instance_cache() -> None:
        """Build a new object on every call from now on."""
        global _instances
        _instances = None
