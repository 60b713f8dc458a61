"""Count the demo walk: the path of the model from ``audiolrp demo`` to the report (issue 22's
goal: at most 25 stops and at most 10 returns to a module already left).

How it is counted (``python benchmarks/demo_walk.py``; ``--json`` for the machine-readable
record, ``--list`` for every stop):

* The real ``demo`` command function (:func:`audiolrp.cli.demo.demo`, defaults, ``--quiet``)
  runs once in this process under :func:`sys.settrace`. Its ``model`` argument is a fresh
  string object (not the interned literal), so that only that value is followed, not every
  ``"intensity"`` feature name.
* **Followed objects**: that string; everything a stop returns that is a model object (an
  :class:`~audiolrp.app.explainer.Explainer`, a :class:`~audiolrp.models.LoadedModel` or a
  ``torch.nn.Module``: what the model *became*); and the model objects such a value holds as
  an attribute (``Explainer.model`` -> ``LoadedModel``, ``LoadedModel.model`` -> the CRNN).
* **A stop** is a function of the ``audiolrp`` package that receives a followed object as an
  argument (``self`` included: a method call on the model passes it), except a property read
  (no call is written) and an object's call of its own methods (``self.input(...)`` inside
  :class:`LoadedModel`). Each function counts once, at its first call (a loop over batches or
  windows is one stop, as a reader walking the code meets it once); the stops are listed in the
  order of those first calls, which is the code order of the walk.
* **Where the walk goes**: through the orchestration layers (``app``, ``report``, ``cli``, and
  the base modules), into the layers below them once per call: a call into ``models``,
  ``lrp``, ``analysis``, ``plots``, ... is a stop, what that library does inside is its own
  business and not walked (``--deep`` walks it too, for a look at the engine).
* **Modules** are the modules of the stops; a **return** is a stop in a module that the walk
  had already left (the previous stop was in another module, and an earlier one in this
  module); a **climb** is a return to a higher layer (``tests/test_layout.py``'s ranks, e.g.
  from ``app`` back to ``report``... or from ``lrp`` back to ``app``).

Torch's and NumPy's own functions are never stops (only ``audiolrp`` code is walked).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import audiolrp

PACKAGE_DIR = str(Path(audiolrp.__file__).resolve().parent)

#: Layer rank of each part of the package (as ``tests/test_layout.py``).
LAYERS: dict[str, float] = {
    "": 0, "constants": 0, "errors": 0, "io": 0, "audio_io": 0, "progress": 0,
    "signal": 1, "simulation": 2, "data": 3, "models": 4, "training": 4.5, "evaluation": 4.5,
    "yardstick": 4.5, "lrp": 5, "analysis": 6, "plots": 7, "app": 8, "report": 9, "cli": 10,
}

#: Layers the walk goes through (deeper ones are entered once per call, not walked).
ORCHESTRATION_RANK = 8

#: The goal of issue 22.
MAX_STOPS = 25
MAX_RETURNS = 10


@dataclass
class Stop:
    """One function of the walk, at its first call."""

    module: str
    function: str
    argument: str  # the parameter that received the followed object


def layer(module: str) -> float:
    """Layer rank of an ``audiolrp`` module."""
    parts = module.split(".")
    return LAYERS.get(parts[1] if len(parts) > 1 else "", 0)


class Walk:
    """A :func:`sys.settrace` tracer following one model value through ``audiolrp`` code."""

    def __init__(self, start: object, deep: bool = False) -> None:
        import torch

        from audiolrp.app.explainer import Explainer
        from audiolrp.models import LoadedModel

        self.model_types: tuple[type, ...] = (Explainer, LoadedModel, torch.nn.Module)
        self.followed: dict[int, object] = {id(start): start}  # keeps the objects alive
        self.stops: list[Stop] = []
        self._seen: set[tuple[str, str]] = set()
        self.deep = deep
        self._library: FrameType | None = None  # the library call being inside (not walked)

    def _follow(self, obj: object) -> None:
        if not isinstance(obj, self.model_types) or id(obj) in self.followed:
            return
        self.followed[id(obj)] = obj
        for attr in ("model",):  # the parts it holds: Explainer.model, LoadedModel.model
            part = getattr(obj, attr, None)
            if isinstance(part, self.model_types):
                self._follow(part)

    def _argument(self, frame: FrameType) -> str | None:
        """The first parameter of ``frame`` holding a followed object (one level into
        ``*args`` / ``**kwargs``)."""
        code = frame.f_code
        n = code.co_argcount + code.co_kwonlyargcount
        n += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
        for name in code.co_varnames[:n]:
            value = frame.f_locals.get(name)
            values = (value.values() if isinstance(value, dict)
                      else value if isinstance(value, tuple) else (value,))
            if any(id(v) in self.followed for v in values):
                return name
        return None

    def _internal(self, frame: FrameType) -> bool:
        """Whether ``frame`` is a property read or an object calling its own method."""
        code = frame.f_code
        if not code.co_argcount or code.co_varnames[0] != "self":
            return False
        obj = frame.f_locals.get("self")
        if isinstance(inspect.getattr_static(type(obj), code.co_name, None), property):
            return True
        caller = frame.f_back
        while caller is not None and not caller.f_code.co_filename.startswith(PACKAGE_DIR):
            caller = caller.f_back  # torch's Module.__call__ and the like
        return caller is not None and caller.f_locals.get("self") is obj

    def tracer(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        """Global trace function: a call into ``audiolrp`` code receiving a followed object
        is a stop; its return value is followed when it is a model object."""
        if (event != "call" or self._library is not None
                or not frame.f_code.co_filename.startswith(PACKAGE_DIR)):
            return None
        name = self._argument(frame)
        if name is None or self._internal(frame):
            return None
        module = str(frame.f_globals.get("__name__", "?"))
        key = (module, frame.f_code.co_qualname)
        if key not in self._seen:
            self._seen.add(key)
            self.stops.append(Stop(module, frame.f_code.co_qualname, name))
        for value in list(frame.f_locals.values()):
            if id(value) in self.followed:
                self._follow(value)  # its parts (e.g. the CRNN a LoadedModel holds)
        if not self.deep and layer(module) < ORCHESTRATION_RANK and layer(module) > 0:
            self._library = frame  # a library call: entered, not walked
        frame.f_trace_lines = False
        return self._local

    def _local(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event == "return":
            self._follow(arg)
            if frame is self._library:
                self._library = None
        return self._local


def summarise(stops: list[Stop]) -> dict[str, Any]:
    """Stops, modules, returns to a module already left and climbs back to a higher layer."""
    returns: list[str] = []
    climbs: list[str] = []
    left: set[str] = set()
    for prev, stop in zip(stops, stops[1:], strict=False):
        if stop.module != prev.module:
            left.add(prev.module)
            if stop.module in left:
                returns.append(f"{prev.module} -> {stop.module}")
                if layer(stop.module) > layer(prev.module):
                    climbs.append(f"{prev.module} -> {stop.module}")
    modules = list(dict.fromkeys(s.module for s in stops))
    return {
        "stops": len(stops),
        "modules": len(modules),
        "returns": len(returns),
        "climbs": len(climbs),
        "goal": {"max_stops": MAX_STOPS, "max_returns": MAX_RETURNS},
        "meets_goal": len(stops) <= MAX_STOPS and len(returns) <= MAX_RETURNS,
        "module_order": modules,
        "return_moves": returns,
        "walk": [asdict(s) for s in stops],
    }


def trace_demo(
    out_dir: str | Path, model: str = "intensity", deep: bool = False
) -> dict[str, Any]:
    """Run ``audiolrp demo --model MODEL --out OUT_DIR --quiet`` (the command function) under
    the tracer (``deep``: into the libraries too); returns :func:`summarise`'s record."""
    from audiolrp.cli.demo import demo

    name = "".join(list(model))  # a fresh object: only this value is followed
    walk = Walk(name, deep)
    sys.settrace(walk.tracer)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            demo(model=name, out=Path(out_dir), quiet=True)
    finally:
        sys.settrace(None)
    return summarise(walk.stops)


def main(argv: list[str] | None = None) -> int:
    """Print the walk's counts (and with ``--list`` every stop); exit 1 when over the goal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="intensity")
    parser.add_argument("--json", action="store_true", help="print the record as JSON")
    parser.add_argument("--list", action="store_true", help="list every stop")
    parser.add_argument("--deep", action="store_true",
                        help="walk inside the library layers too (not the goal's count)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        record = trace_demo(Path(tmp) / "demo", args.model, args.deep)
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        if args.list:
            for i, s in enumerate(record["walk"], 1):
                print(f"{i:3d}  {s['module']:38s} {s['function']}  ({s['argument']})")
        print(f"demo walk ({args.model}): {record['stops']} stops, {record['modules']} modules, "
              f"{record['returns']} returns to a module already left ({record['climbs']} "
              f"climbing to a higher layer); goal <= {MAX_STOPS} stops, <= {MAX_RETURNS} "
              f"returns: {'met' if record['meets_goal'] else 'NOT met'}")
    return 0 if record["meets_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
