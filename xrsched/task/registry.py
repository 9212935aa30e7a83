"""Task classes by family: the metaclass that names, registers and caches tasks, and namespaces.

Every ``Task`` subclass is registered under its family (``namespace.ClassName``) so a worker
can rebuild a task from what the scheduler sends. Building a task with parameters it was built
with before returns the earlier object, as Luigi does.
"""

from __future__ import annotations

from typing import Any

from .binding import ParamPlan, hand_over, make_plan
from .parameters import Parameter


class TaskClassException(LookupError):
    """A family name does not name exactly one task class."""


class _Auto:
    """Namespace marker: use the defining module's name."""


_AUTO = _Auto()
_namespaces: dict[str, str | _Auto] = {}  # module prefix -> namespace for classes defined there
_families: dict[str, dict[tuple[str, str], type]] = {}  # family -> (module, qualname) -> class
_params: dict[type, tuple[tuple[str, Parameter[Any]], ...]] = {}
#: Derived from ``_params`` (and class attributes): cleared with it whenever a class changes.
_plans: dict[type, ParamPlan] = {}
_family_names: dict[type, str] = {}
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
    family = _family_names.get(cls)
    if family is None:
        prefix = task_namespace_of(cls)
        family = _family_names[cls] = f"{prefix}.{cls.__name__}" if prefix else cls.__name__
    return family


def _forget_derived() -> None:
    """A class changed (a parameter or attribute set or deleted): what was derived from classes
    is worked out again when next needed."""
    _params.clear()
    _plans.clear()
    _family_names.clear()


def task_class(family: str) -> type:
    """The task class registered as ``family``; TaskClassException if none or several."""
    found = list(_families.get(family, {}).values())
    if not found:
        raise TaskClassException(f"no task class is registered as {family!r} (is its module imported?)")
    if len(found) > 1:
        where = ", ".join(sorted(f"{c.__module__}.{c.__qualname__}" for c in found))
        raise TaskClassException(f"task family {family!r} is ambiguous: {where}")
    return found[0]


def _adopt(cls: type, params: tuple[tuple[str, Parameter[Any]], ...]) -> None:
    """Name the parameters ``get_params()`` made outside any class body and check their defaults,
    as a class body's are (a string default of a typed parameter is parsed)."""
    for name, param in params:
        if not param.name:
            param.__set_name__(cls, name)
            param.normalize_default(cls)


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
        values = cls._bind_arguments(args, kwargs)  # type: ignore[attr-defined]
        key: tuple[Any, ...] | None = (cls, tuple(values))
        try:
            found = _instances.get(key)
        except TypeError:  # an unhashable value (only the plain Parameter allows those)
            found = key = None
        if found is None:
            made = cls._build(values, args, kwargs)  # type: ignore[attr-defined]
            found = made if key is None else _instances.setdefault(key, made)
        return found

    def _build(cls, values: list[tuple[str, Any]], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A new task from ``values`` (bound from ``args`` and ``kwargs`` a moment ago). A class
        that keeps Task's own ``__new__`` and ``__init__`` is set up from them directly (a big
        graph builds tens of thousands of tasks); any other is built as Python builds it, its
        ``__init__`` taking the values bound here instead of binding the same arguments again."""
        if cls.__init__ is cls._plain_init and cls.__new__ is object.__new__:  # type: ignore[attr-defined]
            made = object.__new__(cls)
            made._set_up(values)
            return made
        hand_over(cls, args, kwargs, values)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            hand_over(cls, args, kwargs, None)

    def __setattr__(cls, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if isinstance(value, Parameter):
            value.__set_name__(cls, name)
            value.normalize_default(cls)
        _forget_derived()

    def __delattr__(cls, name: str) -> None:
        super().__delattr__(name)
        _forget_derived()

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

    def plan_of(cls) -> ParamPlan:
        """What binding and naming a task of this class needs (see :mod:`.binding`), made from its
        ``get_params()``. A class that overrides that method is asked again at each use, as Luigi
        asks it for everything; its plan is made again only when the answer changed."""
        plan = _plans.get(cls)
        if plan is not None and not plan.asked:
            return plan
        params = tuple(cls.get_params())  # type: ignore[attr-defined]
        if plan is None or not plan.matches(params):
            _adopt(cls, params)
            plan = _plans[cls] = make_plan(params, asked=cls._overrides_get_params())  # type: ignore[attr-defined]
        return plan

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
