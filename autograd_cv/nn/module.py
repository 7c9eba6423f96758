"""`Module`: parameters, buffers and submodules registered by attribute assignment.

As in torch.nn, assigning a `Parameter`, a `Module` or (after `register_buffer`) a
Tensor to an attribute registers it, in assignment order, so `named_parameters()` and
`state_dict()` always list the same names in the same order. Registered values also
live in the instance `__dict__`, so reading `self.weight` in `forward` is a plain
attribute lookup with no `__getattr__` detour.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from autograd_cv import backend, devices
from autograd_cv.autograd.hooks import RemovableHandle, add_hook
from autograd_cv.autograd.node import next_sequence
from autograd_cv.nn.parameter import Parameter
from autograd_cv.tensor import Tensor


class LoadResult(tuple):
    """`(missing_keys, unexpected_keys)` from `load_state_dict`, plus `mismatched_keys`.

    Unpacks as torch's pair; `mismatched_keys` lists `(key, model_shape, given_shape)`
    for entries skipped because their shapes differ (only possible with strict=False).
    """

    def __new__(
        cls,
        missing_keys: list[str],
        unexpected_keys: list[str],
        mismatched_keys: list[tuple[str, tuple, tuple]],
    ) -> LoadResult:
        result = super().__new__(cls, (missing_keys, unexpected_keys))
        result.mismatched_keys = mismatched_keys
        return result

    @property
    def missing_keys(self) -> list[str]:
        """Keys the model has that the state dict lacked."""
        return self[0]

    @property
    def unexpected_keys(self) -> list[str]:
        """Keys in the state dict that the model does not have."""
        return self[1]

    @property
    def skipped(self) -> list[str]:
        """Every model key that was not loaded (missing or shape-mismatched)."""
        return self[0] + [key for key, _, _ in self.mismatched_keys]

    def __repr__(self) -> str:
        return (
            f"LoadResult(missing_keys={self[0]}, unexpected_keys={self[1]}, "
            f"mismatched_keys={self.mismatched_keys})"
        )


class Module:
    """Base class of every layer and model: subclass it, assign layers in `__init__`,
    write `forward`, and call the instance."""

    training: bool

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent", set())
        set_(self, "_modules", OrderedDict())
        set_(self, "_forward_hooks", {})
        set_(self, "_call_span", None)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The span lets the graph drawer group the nodes this call created:
        # exactly those with first < node.sequence < last.
        first = next_sequence()
        output = self.forward(*args, **kwargs)
        object.__setattr__(self, "_call_span", (first, next_sequence()))
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                replaced = hook(self, args, output)
                if replaced is not None:
                    output = replaced
        return output

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call `hook(module, inputs, output)` after every forward; it may return a new output."""
        return add_hook(self._forward_hooks, hook)

    # ----- registration -------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError(
                    f"cannot assign parameter '{name}' before Module.__init__() is called"
                )
            self._forget(name, keep="_parameters")
            params[name] = value
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError(
                    f"cannot assign module '{name}' before Module.__init__() is called"
                )
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif params is not None:
            if name in params:
                if value is not None:
                    raise TypeError(
                        f"cannot assign {type(value).__name__} as parameter '{name}' "
                        "(nn.Parameter or None expected)"
                    )
                params[name] = None
            elif name in self._modules:
                if value is not None:
                    raise TypeError(
                        f"cannot assign {type(value).__name__} as child module '{name}' "
                        "(nn.Module or None expected)"
                    )
                self._modules[name] = None
            elif name in self._buffers:
                if value is not None and not isinstance(value, Tensor):
                    raise TypeError(
                        f"cannot assign {type(value).__name__} as buffer '{name}' "
                        "(Tensor or None expected)"
                    )
                self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str, keep: str = "") -> None:
        """Drop `name` from the registries, except `keep` (so a re-assignment keeps its place)."""
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                getattr(self, registry).pop(name, None)
        if keep != "_buffers":
            self._non_persistent.discard(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (or None, e.g. an absent bias) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: '{name}' must be an nn.Parameter or None, "
                f"got {type(param).__name__}"
            )
        self._forget(name, keep="_parameters")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register a non-learnable state tensor (saved in `state_dict` when persistent)."""
        if "." in name or not name:
            raise KeyError(f"register_buffer: invalid buffer name {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(np.asarray(tensor))
        self._forget(name, keep="_buffers")
        self._buffers[name] = tensor
        self._non_persistent.discard(name)
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a child module under `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' is a {type(module).__name__}, not a Module")
        self._forget(name, keep="_modules")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # ----- walking the tree ---------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = ""
    ) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, pre-order, each once, with dotted names."""
        memo = set() if memo is None else memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in memo:
                continue
            memo.add(id(module))
            yield name, module
            children = [
                (f"{name}.{child_name}" if name else child_name, child)
                for child_name, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct submodules with their attribute names."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """Direct submodules."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, kind: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        pairs = self.named_modules() if recurse else [("", self)]
        for module_name, module in pairs:
            for name, value in getattr(module, kind).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name (`features.0.weight`), each once."""
        return self._named_members("_parameters", recurse)  # type: ignore[return-value]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, each once, in registration order."""
        for _, param in self.named_parameters(recurse):
            yield param

    def named_buffers(self, recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Every buffer with its dotted name."""
        return self._named_members("_buffers", recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer."""
        for _, buffer in self.named_buffers(recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        """The submodule at a dotted path like `features.0`."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule '{part}'")
            module = child
        return module

    # ----- modes and bulk changes ---------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch norm uses batch statistics) recursively."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode recursively (same as `train(False)`)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set `requires_grad` on every parameter (False freezes the module)."""
        for param in self.parameters():
            param.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient (to None by default, as torch)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.data.fill(0)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every submodule (children first) and on self, as torch."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def astype(self, dtype: Any) -> Module:
        """Cast every floating parameter and buffer to `dtype` in place."""
        for tensor in [*self.parameters(), *self.buffers()]:
            if tensor.data.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype)
                tensor.bump_version()
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """`to(device)`, `to(dtype)` or both, in place, as torch (only the CPU in this build)."""
        kwargs.pop("non_blocking", None)
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"Module.to: unexpected arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif devices.is_device(arg):
                device = arg
            elif arg is not None:
                dtype = arg
        if device is not None:
            self._move(devices.resolve(device, "Module.to"))
        if dtype is not None:
            if np.dtype(dtype).kind != "f":
                raise TypeError(f"Module.to: dtype must be floating, got {np.dtype(dtype)}")
            self.astype(dtype)
        return self

    def _move(self, where: devices.device) -> None:
        """Move every parameter, gradient and buffer to `where`, keeping the same Tensors."""
        for tensor in [*self.parameters(), *self.buffers()]:
            moved = backend.to_device(tensor.data, where)
            if moved is not tensor.data:
                tensor.data = moved
                tensor.bump_version()
            if tensor.grad is not None:
                tensor.grad.data = backend.to_device(tensor.grad.data, where)

    def cpu(self) -> Module:
        """This module with its parameters and buffers moved to the CPU, in place."""
        return self.to(devices.CPU)

    def cuda(self, device: Any = None) -> Module:
        """This module with its parameters and buffers moved to a CUDA GPU, in place."""
        return self.to(devices.device("cuda", device))

    def float(self) -> Module:
        """Floating parameters and buffers as float32."""
        return self.astype(np.float32)

    def double(self) -> Module:
        """Floating parameters and buffers as float64."""
        return self.astype(np.float64)

    # ----- state ------------------------------------------------------------------------
    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        """Parameters then persistent buffers, module by module (torch's state_dict order)."""
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    yield prefix + name, param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    yield prefix + name, buffer

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Name -> copy of the array, for every parameter and persistent buffer."""
        return OrderedDict((name, tensor.data.copy()) for name, tensor in self._state_items())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy arrays into the parameters and buffers in place.

        strict=True raises on any missing, unexpected or wrongly shaped key; strict=False
        skips those and reports them in the returned `LoadResult`.
        """
        own = OrderedDict(self._state_items())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        mismatched = []
        for key, tensor in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value.data if isinstance(value, Tensor) else value
            value = value if backend.is_array(value) else np.asarray(value)
            if value.shape != tensor.data.shape:
                mismatched.append((key, tuple(tensor.data.shape), tuple(value.shape)))
        if strict and (missing or unexpected or mismatched):
            problems = []
            if missing:
                problems.append(f"missing keys: {missing}")
            if unexpected:
                problems.append(f"unexpected keys: {unexpected}")
            for key, model_shape, given_shape in mismatched:
                problems.append(
                    f"size mismatch for '{key}': the model has shape {model_shape}, "
                    f"the state dict has shape {given_shape}"
                )
            raise RuntimeError(
                f"load_state_dict: error(s) loading into {type(self).__name__}:\n  "
                + "\n  ".join(problems)
            )
        skip = {key for key, _, _ in mismatched}
        for key, tensor in own.items():
            if key in state_dict and key not in skip:
                value = state_dict[key]
                value = value.data if isinstance(value, Tensor) else value
                value = value if backend.is_array(value) else np.asarray(value)
                value = backend.to_device(value, backend.device_of(tensor.data))
                # In place, so optimizers holding these parameters keep working.
                np.copyto(tensor.data, value, casting="unsafe")
                tensor.bump_version()
        return LoadResult(missing, unexpected, mismatched)

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of scalar parameters."""
        return sum(p.data.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ----- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's arguments, shown inside its repr; subclasses override."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, module in self._modules.items():
            body = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        head = type(self).__name__ + "("
        if not self._modules and "\n" not in extra:
            return head + (extra if extra else "") + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied in order; indexable, sliceable, `len`-able; accepts an OrderedDict."""

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice | str) -> Any:
        if isinstance(index, str):
            return self._modules[index]
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        try:
            return items[index][1]
        except IndexError:
            raise IndexError(
                f"Sequential: index {index} is out of range for {len(items)} modules"
            ) from None

    def __setitem__(self, index: int | str, module: Module) -> None:
        name = index if isinstance(index, str) else list(self._modules)[index]
        # Replace in place, keeping the position in the ordered registry.
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: cannot set a {type(module).__name__} as a module")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    def append(self, module: Module) -> Sequential:
        """Add a module at the end."""
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (no forward of its own)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for module in modules or ():
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        """Add a module at the end."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add several modules at the end."""
        for module in modules:
            self.append(module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        values = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(values[index])
        return values[index]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[index]
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: cannot set a {type(module).__name__} as a module")
        self._modules[name] = module
        object.__setattr__(self, name, module)


class ModuleDict(Module):
    """Modules held by name, registered in insertion order, as torch.nn.ModuleDict."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        """The names."""
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        """The modules."""
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        """(name, module) pairs."""
        return self._modules.items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace modules from a mapping or (name, module) pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self.add_module(key, module)

    def pop(self, key: str) -> Module:
        """Remove `key` and return its module."""
        module = self._modules[key]
        del self[key]
        return module


class ParameterList(Module):
    """Parameters held in a list and registered as '0', '1', ..., as torch.nn.ParameterList."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        for value in values or ():
            self.append(value)

    def append(self, value: Any) -> ParameterList:
        """Add a parameter (a plain tensor or array becomes one)."""
        if not isinstance(value, Parameter):
            value = Parameter(value.data if isinstance(value, Tensor) else np.asarray(value))
        self.register_parameter(str(len(self._parameters)), value)
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Add several parameters."""
        for value in values:
            self.append(value)
        return self

    def __len__(self) -> int:
        return len(self._parameters)

    def extra_repr(self) -> str:
        """One line per parameter: its index, shape and dtype."""
        return "\n".join(
            f"({name}): Parameter of shape {tuple(p.shape)}, {p.dtype}"
            for name, p in self._parameters.items()
        )

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def __getitem__(self, index: int) -> Parameter:
        return list(self._parameters.values())[index]

    def __setitem__(self, index: int, value: Parameter) -> None:
        self.register_parameter(str(range(len(self))[index]), value)
