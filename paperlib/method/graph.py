"""Partition points of any PyTorch model, from its torch.fx graph
(docs/decisions/graph-and-hardware.md §1-§3).

A model is traced once (:func:`analyse`, cached per architecture). In the traced graph, a place in
the topological order is a **valid cut** when exactly one input-dependent value is live across it
(:func:`valid_cuts`): everything after it sees the input only through that tensor, which is the IR
the edge sends. The **partition units** are the valid cuts that end a *block-level module*
(docs/decisions/graph-and-hardware.md §1):

* the block-level modules are the children of the model, with every *stage container*
  (``nn.Sequential``/``ModuleList``/``ModuleDict``) replaced by its children, recursively; a
  container of leaf layers with at most one conv/linear layer (``Sequential(conv, bn, relu)``) is
  not a stage container but one block;
* the last child the forward calls is the **head** (the classifier, always in the cloud);
* a unit ends where a block-level module called once ends, if exactly its output is live there.
  Everything up to the first such cut is the **stem** (always on the edge); the head is everything
  after the last one. A block whose end is not a valid cut (a skip connection runs past it) joins
  the next unit, so a skip spanning several blocks leaves fewer partition points.

For the built-in models this gives exactly their stem and blocks (tested). Splitting (:func:`split`,
:func:`segments`) runs on a second trace in which the block-level modules are single calls, so
the pieces share the model's modules and their forward hooks fire (the IR quantizer of
:func:`paperlib.method.quant.quantize_edge` is one); ``cloud(edge(x))`` equals ``model(x)`` bit for bit.

A model that torch.fx cannot trace gets :class:`UntraceableModelError`, naming the module and the
source line that stopped the trace and how to mark that module a leaf (:func:`leaf`): a leaf is
kept as one opaque call (no cut inside it; its conv/linear layers still count, in registration
order).
"""

from __future__ import annotations

import hashlib
import traceback
import weakref
from dataclasses import dataclass
from typing import Any, Iterator

from torch import fx, nn

QUANTIZABLE = (nn.Conv2d, nn.Linear)  # the layers the paper quantizes and the energy model costs
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_LEAF_FLAG = "__paperlib_leaf__"


class UntraceableModelError(ValueError):
    """torch.fx could not trace the model (the message says where and what to do)."""


class PartitionError(ValueError):
    """The traced model has no usable partition point, or a construct paperlib cannot split."""


def leaf(cls: type[nn.Module]) -> type[nn.Module]:
    """Mark a module class as a leaf: traced as one opaque call (usable as a class decorator).

    Use it for a module whose forward torch.fx cannot trace (data-dependent control flow, calls
    into numpy, ...). No partition point falls inside a leaf; its ``Conv2d``/``Linear`` layers are
    still quantized and costed, in registration order."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"leaf() takes an nn.Module subclass, got {cls!r}")
    setattr(cls, _LEAF_FLAG, True)
    return cls


def is_marked_leaf(module: nn.Module) -> bool:
    return bool(getattr(type(module), _LEAF_FLAG, False))


# --- tracing -------------------------------------------------------------------------------------

class _Tracer(fx.Tracer):
    """torch.fx's tracer with conv/linear layers (also subclasses such as the fake-quant ones),
    marked leaves and ``extra_leaves`` (qualified names) kept as single calls."""

    def __init__(self, extra_leaves: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.extra_leaves = extra_leaves

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (module_qualified_name in self.extra_leaves or isinstance(m, QUANTIZABLE)
                or is_marked_leaf(m) or super().is_leaf_module(m, module_qualified_name))


def _user_frame(exc: BaseException) -> str:
    """``file:line: code`` of the innermost traceback frame outside torch (the model's code)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "/torch/" not in f.filename.replace("\\", "/")
              and not f.filename.endswith("paperlib/method/graph.py")]
    if not frames:
        return "(no frame outside torch)"
    f = frames[-1]
    return f"{f.filename}:{f.lineno}: {(f.line or '').strip()}"


def _trace(net: nn.Module, extra_leaves: frozenset[str] = frozenset()) -> tuple[fx.Graph, dict[str, int]]:
    """The fx graph of ``net`` and how often each module was called, or a clear error."""
    tracer = _Tracer(extra_leaves)
    try:
        graph = tracer.trace(net)
    except Exception as exc:  # noqa: BLE001 - any trace failure becomes one clear error
        stack = list(tracer.module_stack.values())
        where = _user_frame(exc)
        model = type(net).__name__
        if stack:
            path, mtype = stack[-1]
            name = getattr(mtype, "__name__", str(mtype))
            fix = (f"make that code traceable (e.g. torch.where instead of a Python `if` on a "
                   f"tensor), or mark the module a leaf so that paperlib treats it as one opaque "
                   f"layer: `paperlib.method.graph.leaf({name})` before building the model, or decorate "
                   f"`class {name}` with `@paperlib.method.graph.leaf` (no partition point is then "
                   f"placed inside it)")
            site = f"module {path!r} ({name})"
        else:
            fix = ("make it traceable, or move the untraceable code into a submodule and mark "
                   "that module's class a leaf with `paperlib.method.graph.leaf`")
            site = f"the forward of {model} itself"
        raise UntraceableModelError(
            f"torch.fx cannot trace {model}: the trace stopped in {site} at {where} "
            f"({type(exc).__name__}: {exc}). paperlib needs the graph to find partition points; "
            f"{fix}.") from exc
    return graph, dict(tracer.num_calls)


# --- liveness ------------------------------------------------------------------------------------

def _input_dependent(nodes: list[fx.Node]) -> set[fx.Node]:
    """Nodes whose value depends on a placeholder (constants and parameters do not)."""
    dep: set[fx.Node] = set()
    for n in nodes:
        if n.op == "placeholder" or any(a in dep for a in n.all_input_nodes):
            dep.add(n)
    return dep


def live_sets(graph: fx.Graph) -> list[frozenset[fx.Node]]:
    """For every place ``i`` (after node ``i`` of ``graph.nodes``), the input-dependent values
    defined at or before it and used after it."""
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    dep = _input_dependent(nodes)
    last_use = {n: max((index[u] for u in n.users), default=index[n]) for n in dep}
    out: list[frozenset[fx.Node]] = []
    live: set[fx.Node] = set()
    for i, n in enumerate(nodes):
        if n in dep:
            live.add(n)
        live = {v for v in live if last_use[v] > i}
        out.append(frozenset(live))
    return out


def valid_cuts(graph: fx.Graph) -> list[int]:
    """Places ``i`` (after node ``i``, before the output) where exactly one value is live: the valid
    cuts (docs/decisions/graph-and-hardware.md §1.1). A chain network has one after every operation; inside a residual block there is
    none."""
    nodes = list(graph.nodes)
    return [i for i, live in enumerate(live_sets(graph))
            if len(live) == 1 and i < len(nodes) - 1 and nodes[i + 1].op != "output"]


# --- the module hierarchy ------------------------------------------------------------------------

def _is_leaf(module: nn.Module) -> bool:
    return (not any(True for _ in module.children()) or isinstance(module, QUANTIZABLE)
            or is_marked_leaf(module) or _Tracer().is_leaf_module(module, ""))


def _is_stage_container(module: nn.Module) -> bool:
    """A container whose children are blocks: not a leaf group (all children leaves and at most
    one conv/linear layer among them, e.g. ``Sequential(conv, bn, relu, pool)``)."""
    if not isinstance(module, CONTAINERS) or is_marked_leaf(module):
        return False
    children = list(module.children())
    leaf_group = (all(_is_leaf(c) for c in children)
                  and sum(isinstance(c, QUANTIZABLE) for c in children) <= 1)
    return not leaf_group


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _model_root(net: nn.Module) -> str:
    """The path of the module whose children are the top level: the model itself, or the single
    container it wraps (``self.net = nn.Sequential(...)``)."""
    path, module = "", net
    while True:
        children = list(module.named_children())
        if len(children) == 1 and isinstance(children[0][1], CONTAINERS):
            path, module = _join(path, children[0][0]), children[0][1]
        else:
            return path


def _block_level(module: nn.Module, prefix: str, exclude: str) -> Iterator[str]:
    for name, child in module.named_children():
        path = _join(prefix, name)
        if path != exclude and _is_stage_container(child):
            yield from _block_level(child, path, exclude)
        else:
            yield path


def _owner(node: fx.Node, paths: set[str]) -> str | None:
    """The call key (``path`` or ``path@k``) of the outermost module in ``paths`` that ``node``
    belongs to."""
    for key, (path, _type) in (node.meta.get("nn_module_stack") or {}).items():
        if path in paths:
            return key
    return None


def _top_level_path(node: fx.Node, root: str) -> str | None:
    """The child of the model root that ``node`` belongs to (None for a root-level op)."""
    for _key, (path, _type) in (node.meta.get("nn_module_stack") or {}).items():
        if root == "" or path.startswith(root + "."):
            rest = path[len(root) + 1:] if root else path
            if rest:
                return _join(root, rest.split(".")[0])
    return None


# --- the partition structure ---------------------------------------------------------------------

@dataclass(frozen=True)
class Partition:
    """The partition structure of one architecture (names only: valid for every instance).

    ``unit_modules[p]``: the module whose output leaves the edge at partition point ``p`` (the
    stem's last block first); ``layers``: every conv/linear layer in forward order with
    ``layer_units`` (0 = stem, ``i`` = unit ``i``, ``num_units + 1`` = head); ``cuts``: the valid
    cuts of the full trace; ``boundaries``: the places in it where units end.
    """

    model: str
    graph: fx.Graph  # the full trace
    coarse: fx.Graph  # block-level modules and the head as single calls
    constants: tuple[tuple[str, Any], ...]  # tensor constants the trace created
    block_modules: tuple[str, ...]
    head: str
    unit_modules: tuple[str, ...]
    boundaries: tuple[int, ...]
    cuts: tuple[int, ...]
    layers: tuple[str, ...]
    layer_units: tuple[int, ...]

    @property
    def num_units(self) -> int:
        """The largest partition point: units after the stem."""
        return len(self.unit_modules) - 1

    def unit_layers(self) -> list[list[str]]:
        """Per unit (stem first), the names of its conv/linear layers."""
        out: list[list[str]] = [[] for _ in range(self.num_units + 1)]
        for name, u in zip(self.layers, self.layer_units):
            if u <= self.num_units:
                out[u].append(name)
        return out

    def head_layers(self) -> list[str]:
        return [n for n, u in zip(self.layers, self.layer_units) if u > self.num_units]


def _layers_of_call(net: nn.Module, node: fx.Node) -> list[str]:
    """The conv/linear layers a ``call_module`` node runs: itself, or (a leaf) its own ones in
    registration order."""
    module = net.get_submodule(node.target)
    if isinstance(module, QUANTIZABLE):
        return [node.target]
    return [_join(node.target, n) for n, m in module.named_modules()
            if n and isinstance(m, QUANTIZABLE)]


def _analyse(net: nn.Module) -> Partition:
    model = type(net).__name__
    graph, calls = _trace(net)
    nodes = list(graph.nodes)
    if sum(n.op == "placeholder" for n in nodes) != 1:
        names = [n.target for n in nodes if n.op == "placeholder"]
        raise PartitionError(f"{model}.forward takes {len(names)} inputs ({', '.join(names)}); "
                             "paperlib partitions models with one input tensor")
    root = _model_root(net)
    top_calls = [p for n in nodes if (p := _top_level_path(n, root)) is not None]
    if not top_calls:
        raise PartitionError(f"{model} calls no submodule in its forward; nothing to partition")
    head = top_calls[-1]
    root_module = net.get_submodule(root) if root else net
    blocks = tuple(b for b in _block_level(root_module, root, exclude=head) if b != head)
    block_set = set(blocks) | {head}
    head_start = next(i for i, n in enumerate(nodes) if _top_level_path(n, root) == head)

    # where each block-level module's call ends (modules called more than once never end a unit)
    ends: dict[str, int] = {}
    for i, n in enumerate(nodes[:head_start]):
        key = _owner(n, block_set)
        if key is not None:
            ends[key] = i
    live = live_sets(graph)
    boundaries, unit_modules = [], []
    for key, i in sorted(ends.items(), key=lambda kv: kv[1]):
        path = key.split("@")[0]
        if calls.get(path, 0) == 1 and live[i] == {nodes[i]}:
            boundaries.append(i)
            unit_modules.append(path)
    if not boundaries:
        raise PartitionError(
            f"{model} has no partition point: no block-level module before the head ({head!r}) "
            f"ends where exactly one tensor is live (block-level modules: {', '.join(blocks)}). "
            "Split the model into submodules whose outputs carry everything the rest needs.")

    layers, layer_units = [], []
    for i, n in enumerate(nodes):
        if n.op == "call_module":
            unit = sum(i > b for b in boundaries)  # after the last boundary: the head
            for name in _layers_of_call(net, n):
                layers.append(name)
                layer_units.append(unit)
    repeated = sorted({n for n in layers if layers.count(n) > 1})
    if repeated:
        raise PartitionError(
            f"{model} calls layer(s) {', '.join(repeated)} more than once; each call would need "
            "its own bit width and energy entry. Give every call its own module.")

    coarse, _ = _trace(net, frozenset(block_set))
    constants = tuple((n.target, _resolve(net, n.target)) for n in graph.nodes
                      if n.op == "get_attr" and n.target.startswith("_tensor_constant"))
    return Partition(model=model, graph=graph, coarse=coarse, constants=constants,
                     block_modules=blocks, head=head, unit_modules=tuple(unit_modules),
                     boundaries=tuple(boundaries), cuts=tuple(valid_cuts(graph)),
                     layers=tuple(layers), layer_units=tuple(layer_units))


def submodule(net: nn.Module, name: str) -> nn.Module:
    """``net.get_submodule(name)`` through the registered children only (fast: the layer lists
    are resolved on every call, since layers may be swapped, e.g. by ``quant.quantize_edge``)."""
    module = net
    try:
        for part in name.split("."):
            module = module._modules[part]
    except KeyError:
        raise AttributeError(f"{type(net).__name__} has no submodule {name!r}") from None
    return module


def _resolve(net: nn.Module, target: str) -> Any:
    obj: Any = net
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _kind(module: nn.Module) -> tuple:
    base = (nn.Conv2d if isinstance(module, nn.Conv2d) else nn.Linear
            if isinstance(module, nn.Linear) else type(module))
    return base, is_marked_leaf(module)


def fingerprint(net: nn.Module) -> tuple:
    """What the partition structure depends on: the model class and every submodule's name and
    kind (a fake-quant conv counts as a conv, so a quantized copy shares the structure)."""
    return (type(net), is_marked_leaf(net),
            tuple((name, _kind(m)) for name, m in net.named_modules()))


def architecture_digest(net: nn.Module) -> str:
    """A sha256 of the architecture as traced: the forward's graph and every module's repr (its
    hyper-parameters). Editing a model's file changes it; retraining does not
    (docs/decisions/graph-and-hardware.md §9)."""
    part = analyse(net)
    text = f"{type(net).__qualname__}\n{part.graph}\n{net!r}"
    return hashlib.sha256(text.encode()).hexdigest()


_BY_FINGERPRINT: dict[tuple, Partition] = {}
_BY_INSTANCE: "weakref.WeakKeyDictionary[nn.Module, Partition]" = weakref.WeakKeyDictionary()


def analyse(net: nn.Module) -> Partition:
    """The partition structure of ``net`` (traced once per architecture, then cached)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be an nn.Module, got {type(net).__name__}")
    part = _BY_INSTANCE.get(net)
    if part is None:
        fp = fingerprint(net)
        part = _BY_FINGERPRINT.get(fp)
        if part is None:
            part = _BY_FINGERPRINT[fp] = _analyse(net)
        _BY_INSTANCE[net] = part
    return part


# --- splitting -----------------------------------------------------------------------------------

def _cut_nodes(part: Partition) -> list[fx.Node]:
    by_target = {n.target: n for n in part.coarse.nodes if n.op == "call_module"}
    return [by_target[m] for m in part.unit_modules]


def _piece(net: nn.Module, part: Partition, start: fx.Node | None, end: fx.Node | None,
           name: str) -> fx.GraphModule:
    """The part of the coarse graph after ``start`` (None: from the input) up to ``end`` (None: to
    the output), as a GraphModule sharing ``net``'s modules."""
    nodes = list(part.coarse.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    lo = index[start] + 1 if start is not None else 0
    hi = index[end] if end is not None else len(nodes) - 1
    keep = nodes[lo:hi + 1]
    if end is not None:  # only what the cut value needs
        need: set[fx.Node] = set()
        stack = [end]
        while stack:
            n = stack.pop()
            if n not in need and index[n] >= lo:
                need.add(n)
                stack.extend(n.all_input_nodes)
        keep = [n for n in keep if n in need or n.op == "placeholder"]
    g = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    if start is not None:
        env[start] = g.placeholder("ir")

    def copy_constant(n: fx.Node) -> fx.Node:  # an input-independent value from before the cut
        if n not in env:
            for a in n.all_input_nodes:
                copy_constant(a)
            env[n] = g.node_copy(n, lambda a: env[a])
        return env[n]

    for n in keep:
        for a in n.all_input_nodes:
            if a not in env and index[a] < lo:
                copy_constant(a)
        if n.op == "output":
            g.node_copy(n, lambda a: env[a])
        else:
            env[n] = g.node_copy(n, lambda a: env[a])
    if end is not None:
        g.output(env[end])
    attrs: dict[str, Any] = dict(part.constants)
    for n in g.nodes:
        if n.op in ("call_module", "get_attr") and n.target not in attrs:
            attrs[n.target] = _resolve(net, n.target)
    return fx.GraphModule(attrs, g, class_name=name)


def check_partition(net: nn.Module, p: int) -> None:
    """A clear error unless ``p`` is a partition point of ``net`` (an int in 0..num_units)."""
    n = analyse(net).num_units
    if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= n:
        raise ValueError(
            f"partition point p={p!r} is out of range: it counts the units on the edge after "
            f"the stem and must be an integer in 0..{n} for this model")


def split(net: nn.Module, p: int) -> tuple[fx.GraphModule, fx.GraphModule]:
    """Edge (stem and the first ``p`` units) and cloud (the rest and the head) of ``net``; both
    share ``net``'s modules and ``cloud(edge(x))`` equals ``net(x)`` bit for bit."""
    check_partition(net, p)
    part = analyse(net)
    cut = _cut_nodes(part)[p]
    return _piece(net, part, None, cut, "Edge"), _piece(net, part, cut, None, "Cloud")


def segments(net: nn.Module, upto: int | None = None) -> list[fx.GraphModule]:
    """The stem, every unit and the head as composable pieces (``upto``: stop after unit
    ``upto``, no head): ``segments(net)[-1](... segments(net)[0](x))`` equals ``net(x)``."""
    part = analyse(net)
    cuts: list[fx.Node | None] = [None, *_cut_nodes(part), None]
    last = part.num_units + 1 if upto is None else upto
    if upto is not None:
        check_partition(net, upto)
    names = ["Stem", *(f"Unit{i}" for i in range(1, part.num_units + 1)), "Head"]
    return [_piece(net, part, cuts[i], cuts[i + 1], names[i]) for i in range(last + 1)]


def units(net: nn.Module) -> list[nn.Module]:
    """Per partition point ``p``, the module whose output is the IR that leaves the edge (a
    forward hook on it sees that IR); for the built-in models the stem and every block."""
    return [submodule(net, m) for m in analyse(net).unit_modules]


__all__ = ["QUANTIZABLE", "Partition", "architecture_digest", "PartitionError", "UntraceableModelError", "analyse",
           "check_partition", "fingerprint", "leaf", "live_sets", "segments", "split", "submodule",
           "units", "valid_cuts"]
