"""One registry per extensible kind of thing (models, search methods, ε estimators, attacks,
defences, schedulers, executors): a name → entry table with the metadata the rest of the package
needs (display label, plot colour and marker, ...).

Adding a new model, search method, attack or defence is one file plus one registration::

    from paperlib.method.models import MODELS

    @MODELS.register("tiny", label="TinyNet", dataset="cifar10", unit_name="block")
    def tiny(num_classes: int) -> nn.Module: ...

CLI choices, profile recipes, plot labels and notebook loops read the registries; nothing else
lists the names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered object with its metadata."""

    name: str
    obj: T
    label: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:  # entry.dataset, entry.color, ...
        try:
            return self.meta[key]
        except KeyError:
            raise AttributeError(f"{self.name!r} has no metadata field {key!r}") from None


class Registry(Generic[T]):
    """Name → :class:`Entry` for one kind of thing (``kind`` names it in error messages).

    ``required`` lists metadata every entry must carry; ``defaults`` fills optional fields.
    """

    def __init__(self, kind: str, *, required: tuple[str, ...] = (),
                 defaults: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.required = required
        self.defaults = dict(defaults or {})
        self._entries: dict[str, Entry[T]] = {}

    def add(self, name: str, obj: T, *, label: str | None = None, replace: bool = False,
            **meta: Any) -> T:
        """Register ``obj`` under ``name``; refuses a duplicate unless ``replace=True``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} needs a non-empty string name, got {name!r}")
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered "
                             "(pass replace=True to overwrite it)")
        missing = [k for k in self.required if k not in meta]
        if missing:
            raise ValueError(f"{self.kind} {name!r} needs metadata {', '.join(missing)}")
        self._entries[name] = Entry(name, obj, label or name, {**self.defaults, **meta})
        return obj

    def register(self, name: str, *, label: str | None = None, replace: bool = False,
                 **meta: Any) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""
        def deco(obj: T) -> T:
            return self.add(name, obj, label=label, replace=replace, **meta)
        return deco

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests register toy entries and clean up after themselves)."""
        self.entry(name)
        del self._entries[name]

    def entry(self, name: str) -> Entry[T]:
        """The entry of ``name``, with an error that lists the registered names."""
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of "
                             f"{', '.join(self._entries) or '(none registered)'}") from None

    def get(self, name: str) -> T:
        """The registered object of ``name``."""
        return self.entry(name).obj

    def settings(self, name: str, values: Mapping[str, Mapping[str, Any]] | None = None, *,
                 where: str = "settings") -> Any:
        """The settings object of ``name`` (the dataclass registered as its ``settings`` metadata)
        built from a profile's plain values ``values[name]`` (field -> value); ``None`` for an
        entry registered without settings. ``where`` names the profile field the values come from
        in error messages; values for an unregistered name, an unknown field, or values for an
        entry without settings are refused (docs/decisions/layout.md §6)."""
        strangers = sorted(set(values or {}) - set(self._entries))
        if strangers:
            raise ValueError(f"{where} names {', '.join(map(repr, strangers))}, which is not a "
                             f"registered {self.kind}; choose among {', '.join(self._entries)}")
        kind = self.entry(name).meta.get("settings")
        given = dict((values or {}).get(name, {}))
        if kind is None:
            if given:
                raise ValueError(f"{self.kind} {name!r} has no settings; remove "
                                 f"{where}[{name!r}] = {given!r}")
            return None
        known = {f.name for f in dataclasses.fields(kind)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"{where}[{name!r}]: unknown setting(s) {', '.join(unknown)}; "
                             f"{kind.__name__} has {', '.join(sorted(known))}")
        return kind(**given)

    def label(self, name: str) -> str:
        """Display label of ``name`` (falls back to the name for unregistered ones)."""
        return self._entries[name].label if name in self._entries else name

    def names(self, **where: Any) -> tuple[str, ...]:
        """Registered names in registration order, optionally filtered by metadata values."""
        return tuple(n for n, e in self._entries.items()
                     if all(e.meta.get(k) == v for k, v in where.items()))

    def labels(self) -> dict[str, str]:
        return {n: e.label for n, e in self._entries.items()}

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"


__all__ = ["Entry", "Registry"]
