"""`save` and `load`: nested dicts of arrays and numbers in a `.npz` file, never pickled.

A nested object such as `{"model": sd, "optimizer": opt.state_dict(), "epoch": 3}` is
flattened to entries named `model/conv1.weight`, `optimizer/state/0/exp_avg`,
`epoch`, ... Numbers and strings become 0-d arrays (strings as unicode, never object
arrays). One more entry, `__structure__`, holds a JSON description of the nesting
(dict keys with their int/str type, lists, tuples, which leaves were Python numbers),
so `load` gives back the same structure. Files are read with `allow_pickle=False`.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from autograd_cv.tensor import Tensor

STRUCTURE_KEY = "__structure__"
_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}


def _leaf_name(path: list[str]) -> str:
    return "/".join(path) if path else "value"


def _flatten(obj: Any, path: list[str], arrays: dict[str, np.ndarray]) -> Any:
    """Record every array leaf in `arrays`; return the JSON node describing `obj`."""
    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "O":
            raise TypeError(f"save: '{_leaf_name(path)}' is an object array; only plain dtypes")
        arrays[_leaf_name(path)] = obj
        return {"array": _leaf_name(path)}
    if isinstance(obj, np.generic):
        arrays[_leaf_name(path)] = np.asarray(obj)
        return {"array": _leaf_name(path)}
    if type(obj) in _SCALARS:
        arrays[_leaf_name(path)] = np.asarray(obj)
        return {"scalar": _leaf_name(path), "type": _SCALARS[type(obj)]}
    if obj is None:
        return {"none": True}
    if isinstance(obj, Mapping):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(
                    f"save: dict keys must be str or int, got {key!r} under '{_leaf_name(path)}'"
                )
            text = str(key)
            if "/" in text or not text or (not path and text == STRUCTURE_KEY):
                raise ValueError(f"save: invalid key {key!r} (no '/', not empty, not reserved)")
            items.append([key, _flatten(value, [*path, text], arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        numbers = obj and all(type(v) in (int, float) for v in obj)
        if numbers:
            # A list of plain numbers (like param group indices) is one array, not N entries.
            is_int = all(type(v) is int for v in obj)
            arrays[_leaf_name(path)] = np.asarray(obj, dtype=np.int64 if is_int else np.float64)
            return {"numbers": _leaf_name(path), "kind": kind, "type": "int" if is_int else "float"}
        return {kind: [_flatten(v, [*path, str(i)], arrays) for i, v in enumerate(obj)]}
    raise TypeError(
        f"save: cannot store a {type(obj).__name__} at '{_leaf_name(path)}' "
        "(arrays, Tensors, numbers, strings, None, dicts, lists and tuples only)"
    )


def _unflatten(node: dict, arrays: Mapping[str, np.ndarray], where: str) -> Any:
    try:
        if "array" in node:
            return arrays[node["array"]]
        if "scalar" in node:
            value = arrays[node["scalar"]]
            return {"bool": bool, "int": int, "float": float, "str": str}[node["type"]](value[()])
        if "none" in node:
            return None
        if "dict" in node:
            return OrderedDict((key, _unflatten(v, arrays, where)) for key, v in node["dict"])
        if "list" in node:
            return [_unflatten(v, arrays, where) for v in node["list"]]
        if "tuple" in node:
            return tuple(_unflatten(v, arrays, where) for v in node["tuple"])
        if "numbers" in node:
            values = arrays[node["numbers"]].tolist()
            return tuple(values) if node["kind"] == "tuple" else values
    except KeyError as missing:
        raise ValueError(f"load: '{where}' lacks the entry {missing} its structure names") from None
    raise ValueError(f"load: '{where}' has an unreadable structure entry {node!r}")


def _nest_by_path(arrays: Mapping[str, np.ndarray]) -> OrderedDict:
    """Nested dicts from 'a/b/c' names, for .npz files written without a structure entry."""
    root: OrderedDict = OrderedDict()
    for name, array in arrays.items():
        *parents, leaf = name.split("/")
        level = root
        for part in parents:
            level = level.setdefault(part, OrderedDict())
        level[leaf] = array
    return root


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Write `path` through a temporary file beside it, renamed over `path` on success.

    A crash or an exception leaves the old file (if any) untouched and no temporary file
    behind. The new file gets the permissions a plain `open(path, "w")` would give (the
    umask's), not mkstemp's private 0600. The data and the rename are flushed to disk.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    handle = tempfile.NamedTemporaryFile(
        mode, dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    try:
        # Make the rename itself durable (not possible on every platform).
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` (a state dict or nested dict of arrays/numbers/strings) to a `.npz` file.

    The file is written to a temporary file in the same folder, flushed to disk and then
    renamed over `path`, so a crash never leaves a half-written checkpoint behind.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    structure = _flatten(obj, [], arrays)
    arrays[STRUCTURE_KEY] = np.asarray(json.dumps(structure))
    with atomic_file(path, "wb") as handle:
        np.savez(handle, **arrays)


def load(
    path: str | os.PathLike, map_location: Any = None, weights_only: bool = True, **_: Any
) -> Any:
    """Read a file written by `save` (or any `.npz` of plain arrays) without unpickling.

    torch.load's `map_location` (a CPU device) and `weights_only` are accepted: nothing is
    ever unpickled, so every load is weights-only.
    """
    if (
        map_location is not None
        and not callable(map_location)
        and not isinstance(map_location, dict)
    ):
        from autograd_cv.devices import resolve

        resolve(map_location, "load")
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"load: '{path}' is not a readable .npz checkpoint ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load: '{path}' holds a single .npy array, not a .npz checkpoint")
    try:
        with archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError as error:
        if "pickle" in str(error):
            raise ValueError(
                f"load: '{path}' contains an object array, which would need unpickling; refused"
            ) from None
        raise ValueError(f"load: '{path}' is damaged or truncated ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, zlib.error) as error:
        raise ValueError(f"load: '{path}' is damaged or truncated ({error})") from None
    structure = arrays.pop(STRUCTURE_KEY, None)
    if structure is None:
        return _nest_by_path(arrays)
    try:
        node = json.loads(str(structure[()]))
    except (ValueError, TypeError) as error:
        raise ValueError(f"load: '{path}' has a corrupt structure entry ({error})") from None
    return _unflatten(node, arrays, str(path))
