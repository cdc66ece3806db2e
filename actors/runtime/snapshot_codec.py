"""A core's state as bytes and back: the typed, versioned snapshot a restart loads instead of replaying years of
journal.

Every attribute of the core is walked, so nothing is left out by forgetting to list it; each value is written with
its type (msgspec Structs, config sections and enums by their class, containers, dates, numpy arrays and random
generators by kind, the project's own objects attribute by attribute), and read back into exactly those types, never
by unpickling: a class is only ever looked up in the project's packages. Written with `msgspec.msgpack`.

What is not state stays as the freshly built core has it: config sections (a restart reads the config again, and
an operator may have changed it), functions, and the attributes a class names in `SNAPSHOT_FRESH` (values derived
from config or from the process, e.g. a limit read from config, an event calendar read from its file, or the sim
exchange's "rebuilding" flag). An object the fresh core has no counterpart of (one held in a dict, say) keeps what
was written for it; and objects whose class says it holds no state (`SNAPSHOT_STATELESS`, e.g. the market calendar).

The version is the snapshot format plus a fingerprint of the source of every module whose classes the state holds:
a snapshot is restored only by the code that wrote it. After an upgrade the first start replays from zero and the
next snapshot is of the new code.
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import hashlib
import importlib
import importlib.util
import sys
import types
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import numpy as np

from actors.config_section import Section

SNAPSHOT_FORMAT = 1
OWN_PACKAGES = ("actors.", "messages.", "storage.")
"""Where a snapshot's classes may come from: decoding never imports anything else."""
_BIG = 2**63


class SnapshotError(ValueError):
    """A state that cannot be snapshotted or a snapshot that cannot be restored; the text names where."""


def _path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _class(path: str) -> type:
    module_name, _, qualname = path.partition(":")
    if not module_name.startswith(OWN_PACKAGES):
        raise SnapshotError(f"snapshot names {path}, outside the project's packages")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise SnapshotError(f"snapshot names {path}, which this code does not have: {exc}") from None
    if not isinstance(found, type):
        raise SnapshotError(f"snapshot names {path}, which is not a class")
    return found


def _fresh_names(cls: type) -> frozenset[str]:
    return frozenset(name for klass in cls.__mro__ for name in getattr(klass, "SNAPSHOT_FRESH", ()))


def _attributes(obj: object) -> Iterable[tuple[str, Any]]:
    slots = [name for klass in type(obj).__mro__ for name in getattr(klass, "__slots__", ())
             if name not in ("__dict__", "__weakref__")]
    for name in slots:
        if hasattr(obj, name):
            yield name, getattr(obj, name)
    yield from getattr(obj, "__dict__", {}).items()


class _Encoder:
    def __init__(self, keep_fresh: bool) -> None:
        self.keep_fresh = keep_fresh
        """True writes what a restore would leave fresh too: to compare two cores' whole state, not to restore."""
        self.modules: set[str] = set()

    def tree(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, float, str, bytes)):
            return value
        if value is msgspec.UNSET:  # msgspec's "not given": messages and the state built from them carry it
            return {"$": "unset"}
        if isinstance(value, int) and not isinstance(value, enum.Enum):
            return value if -_BIG < value < _BIG else {"$": "bigint", "v": str(value)}
        if isinstance(value, Section):
            self.modules.add(type(value).__module__)
            return {"$": "config", "c": _path(type(value)), "b": msgspec.msgpack.encode(value)}
        if isinstance(value, msgspec.Struct):
            self.modules.add(type(value).__module__)
            return {"$": "struct", "c": _path(type(value)), "b": msgspec.msgpack.encode(value)}
        if isinstance(value, enum.Enum):
            self.modules.add(type(value).__module__)
            return {"$": "enum", "c": _path(type(value)), "v": value.value}
        if isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type)):
            return {"$": "fresh", "v": getattr(value, "__qualname__", repr(value)) if self.keep_fresh else None}
        return self._container(value, where)

    def _container(self, value: Any, where: str) -> Any:
        items = self._items
        if isinstance(value, collections.Counter):
            return {"$": "counter", "v": items(value.items(), where)}
        if isinstance(value, collections.defaultdict):
            factory = value.default_factory
            if factory is not None and not isinstance(factory, type):
                raise SnapshotError(f"{where}: a defaultdict whose factory is not a type cannot be snapshotted")
            return {"$": "defaultdict", "f": factory.__name__ if factory else None, "v": items(value.items(), where)}
        if isinstance(value, dict):
            return {"$": "dict", "v": items(value.items(), where)}
        if isinstance(value, list):
            return [self.tree(item, f"{where}[{n}]") for n, item in enumerate(value)]
        if isinstance(value, tuple):
            return {"$": "tuple", "v": [self.tree(item, f"{where}[{n}]") for n, item in enumerate(value)]}
        if isinstance(value, collections.deque):
            return {"$": "deque", "m": value.maxlen, "v": [self.tree(item, where) for item in value]}
        if isinstance(value, (set, frozenset)):
            encoded = sorted((self.tree(item, where) for item in value), key=msgspec.msgpack.encode)  # set order is
            return {"$": "frozenset" if isinstance(value, frozenset) else "set", "v": encoded}  # the process's, not state
        return self._scalar_or_object(value, where)

    def _items(self, pairs: Iterable[tuple[Any, Any]], where: str) -> list[list[Any]]:
        return [[self.tree(key, where), self.tree(item, f"{where}[{key!r}]")] for key, item in pairs]

    def _scalar_or_object(self, value: Any, where: str) -> Any:
        if isinstance(value, dt.datetime):
            zone = value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else None
            return {"$": "datetime", "v": value.isoformat(), "z": zone}
        if isinstance(value, dt.date):
            return {"$": "date", "v": value.isoformat()}
        if isinstance(value, dt.timedelta):
            return {"$": "timedelta", "v": [value.days, value.seconds, value.microseconds]}
        if isinstance(value, ZoneInfo):
            return {"$": "zone", "v": value.key}
        if isinstance(value, np.ndarray):
            return {"$": "ndarray", "d": value.dtype.str, "s": list(value.shape), "b": value.tobytes()}
        if isinstance(value, np.generic):
            return self.tree(value.item(), where)
        if isinstance(value, np.random.Generator):
            bits = value.bit_generator
            return {"$": "generator", "c": type(bits).__name__, "v": self.tree(bits.state, where)}
        cls = type(value)
        if getattr(cls, "SNAPSHOT_STATELESS", False):
            return {"$": "fresh", "v": _path(cls) if self.keep_fresh else None}
        return self.obj(value, where)

    def obj(self, value: Any, where: str, root: bool = False) -> Any:
        """A project object attribute by attribute. What it names fresh is written too (kept for an object a restore
        has no fresh one of, one held in a dict say), except on the core itself: its factory always builds a fresh
        core, and a fresh attribute there may be live (a connection with its thread) and is never walked."""
        cls = type(value)
        if not cls.__module__.startswith(OWN_PACKAGES):
            raise SnapshotError(f"{where}: {_path(cls)} is not the project's and has no snapshot form")
        self.modules.add(cls.__module__)
        fresh = _fresh_names(cls)
        attributes = []
        for name, item in _attributes(value):
            if name in fresh and not self.keep_fresh and root:
                attributes.append([name, {"$": "fresh", "v": None}])
            elif name in fresh and not self.keep_fresh:
                attributes.append([name, {"$": "fresh", "v": self.tree(item, f"{where}.{name}"), "kept": True}])
            else:
                attributes.append([name, self.tree(item, f"{where}.{name}")])
        return {"$": "obj", "c": _path(cls), "a": attributes}


class _Decoder:
    def __init__(self, configs: dict[type, Section]) -> None:
        self._configs = configs
        """The freshly built core's config sections by class: a held object gets the config of now, not of then."""

    def value(self, tree: Any, fresh: Any = None, has_fresh: bool = False) -> Any:
        if isinstance(tree, list):
            return [self.value(item) for item in tree]
        if not isinstance(tree, dict):
            return tree
        kind = tree["$"]
        if kind == "fresh":
            if has_fresh:
                return fresh
            if tree.get("kept"):
                return self.value(tree["v"])
            raise SnapshotError("snapshot leaves a value to the fresh core, which has none there")
        if kind == "obj":
            cls = _class(tree["c"])
            if has_fresh and type(fresh) is cls:
                self.into(fresh, tree)  # in place: it keeps what the fresh object holds from config
                return fresh
            made = cls.__new__(cls)
            self.into(made, tree)
            return made
        if kind == "config":
            cls = _class(tree["c"])
            if has_fresh and type(fresh) is cls:
                return fresh
            return self._configs.get(cls) or msgspec.msgpack.decode(tree["b"], type=cls)
        return self._simple(kind, tree)

    def _simple(self, kind: str, tree: dict[str, Any]) -> Any:
        value = tree.get("v")
        if kind == "struct":
            return msgspec.msgpack.decode(tree["b"], type=_class(tree["c"]))
        if kind == "enum":
            return _class(tree["c"])(value)
        if kind in ("dict", "counter", "defaultdict"):
            pairs = [(_hashable(self.value(k)), self.value(v)) for k, v in value]
            if kind == "counter":
                return collections.Counter(dict(pairs))
            if kind == "defaultdict":
                factory = {"list": list, "dict": dict, "set": set, "int": int, "float": float}.get(tree["f"])
                return collections.defaultdict(factory, pairs)
            return dict(pairs)
        decoders = {
            "tuple": lambda: tuple(self.value(item) for item in value),
            "set": lambda: {_hashable(self.value(item)) for item in value},
            "frozenset": lambda: frozenset(_hashable(self.value(item)) for item in value),
            "deque": lambda: collections.deque((self.value(item) for item in value), maxlen=tree["m"]),
            "bigint": lambda: int(value),
            "unset": lambda: msgspec.UNSET,
            "datetime": lambda: _datetime(value, tree["z"]),
            "date": lambda: dt.date.fromisoformat(value),
            "timedelta": lambda: dt.timedelta(*value),
            "zone": lambda: ZoneInfo(value),
            "ndarray": lambda: np.frombuffer(tree["b"], dtype=np.dtype(tree["d"])).reshape(tree["s"]).copy(),
            "generator": lambda: _generator(tree["c"], self.value(value)),
        }
        if kind not in decoders:
            raise SnapshotError(f"snapshot holds an unknown kind of value: {kind!r}")
        return decoders[kind]()

    def into(self, target: object, tree: dict[str, Any]) -> None:
        for name, item in tree["a"]:
            current = getattr(target, name, None)
            try:
                object.__setattr__(target, name, self.value(item, current, hasattr(target, name)))
            except SnapshotError as exc:
                raise SnapshotError(f"{type(target).__name__}.{name}: {exc}") from None


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _datetime(text: str, zone: str | None) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value.astimezone(ZoneInfo(zone)) if zone else value


def _generator(bit_generator: str, state: dict) -> np.random.Generator:
    if bit_generator not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
        raise SnapshotError(f"snapshot holds an unknown random generator: {bit_generator}")
    bits = getattr(np.random, bit_generator)()
    bits.state = state
    return np.random.Generator(bits)


def _configs_of(core: object) -> dict[type, Section]:
    found: dict[type, Section] = {}
    for _, value in _attributes(core):
        if isinstance(value, Section):
            found.setdefault(type(value), value)
    return found


def encode_state(core: object, *, keep_fresh: bool = False) -> tuple[bytes, tuple[str, ...]]:
    """The core's state, and the modules whose classes it holds (its version is their source)."""
    encoder = _Encoder(keep_fresh)
    tree = encoder.obj(core, type(core).__name__, root=True)
    return msgspec.msgpack.encode(tree), tuple(sorted(encoder.modules))


def restore_state(core: object, state: bytes) -> None:
    """Overlay a snapshot onto a freshly built core of the same class."""
    tree = msgspec.msgpack.decode(state)
    if not isinstance(tree, dict) or tree.get("$") != "obj" or _class(tree["c"]) is not type(core):
        raise SnapshotError(f"snapshot is not of a {type(core).__name__}")
    _Decoder(_configs_of(core)).into(core, tree)


def schema_of(modules: Iterable[str]) -> str:
    """The snapshot format and the source of these modules: equal only for the code that wrote the snapshot."""
    digest = hashlib.sha256(f"format {SNAPSHOT_FORMAT}".encode())
    for name in sorted(modules):
        module = sys.modules.get(name) or importlib.import_module(name)
        spec = importlib.util.find_spec(module.__name__)
        origin = spec.origin if spec is not None else None
        digest.update(name.encode())
        if origin and origin.endswith(".py"):
            with open(origin, "rb") as source:
                digest.update(source.read())
    return digest.hexdigest()[:32]

