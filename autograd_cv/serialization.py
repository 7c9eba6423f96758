"""`save` and `load`: nested dicts of arrays and numbers in a `.npz` file, never pickled.

A nested object such as `{"model": sd, "optimizer": opt.state_dict(), "epoch": 3}` is
flattened to entries named `model/conv1.weight`, `optimizer/state/0/exp_avg`,
`epoch`, ... Numbers and strings become 0-d arrays (strings as unicode, never object
arrays). One more entry, `__structure__`, holds a JSON description of the nesting
(dict keys with their int/str type, lists, tuples, which leaves were Python numbers),
so `load` gives back the same structure. Files are read with `allow_pickle=False`.

Hostile files are refused before they cost memory: `load` reads each member's header from
the zip directory and the `.npy` header, refuses object arrays and members whose header
disagrees with their size, and stops at `max_bytes` (4 GiB unless told) in all.
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

from autograd_cv import backend, devices
from autograd_cv.tensor import Tensor

STRUCTURE_KEY = "__structure__"
_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}
#: the most array bytes `load` reads unless told otherwise
DEFAULT_MAX_BYTES = 4 << 30
#: how deeply dicts, lists and tuples may nest in a saved object
MAX_DEPTH = 100
#: the longest list of plain numbers a structure entry may name (they become Python objects)
_MAX_NUMBERS = 1 << 20
_INT64 = np.iinfo(np.int64)


def _check_int(value: int, path: list[str]) -> None:
    if not _INT64.min <= value <= _INT64.max:
        raise ValueError(
            f"save: the int at '{_leaf_name(path)}' does not fit in 64 bits; store it as a "
            "float or a string"
        )


def _leaf_name(path: list[str]) -> str:
    return "/".join(path) if path else "value"


def _flatten(obj: Any, path: list[str], arrays: dict[str, np.ndarray]) -> Any:
    """Record every array leaf in `arrays`; return the JSON node describing `obj`."""
    if len(path) > MAX_DEPTH:
        raise ValueError(f"save: nesting deeper than {MAX_DEPTH} levels at '{_leaf_name(path)}'")
    if isinstance(obj, Tensor):
        obj = obj.data
    if backend.is_array(obj) and type(obj) is not np.ndarray:
        obj = backend.to_host(obj)  # files hold host arrays, whatever device they came from
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "O":
            raise TypeError(f"save: '{_leaf_name(path)}' is an object array; only plain dtypes")
        arrays[_leaf_name(path)] = obj
        return {"array": _leaf_name(path)}
    if isinstance(obj, np.generic):
        arrays[_leaf_name(path)] = np.asarray(obj)
        return {"array": _leaf_name(path)}
    if type(obj) is str and obj.endswith("\0"):
        # NumPy's unicode arrays drop trailing NULs; UTF-8 bytes keep every character.
        arrays[_leaf_name(path)] = np.frombuffer(obj.encode("utf-8", "surrogatepass"), np.uint8)
        return {"scalar": _leaf_name(path), "type": "utf8"}
    if type(obj) is int:
        _check_int(obj, path)
    if type(obj) in _SCALARS:
        arrays[_leaf_name(path)] = np.asarray(obj)
        return {"scalar": _leaf_name(path), "type": _SCALARS[type(obj)]}
    if obj is None:
        return {"none": True}
    if isinstance(obj, Mapping):
        items = []
        names: dict[str, Any] = {}
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(
                    f"save: dict keys must be str or int, got {key!r} under '{_leaf_name(path)}'"
                )
            text = str(key)
            if "/" in text or not text or (not path and text == STRUCTURE_KEY):
                raise ValueError(f"save: invalid key {key!r} (no '/', not empty, not reserved)")
            if text in names:
                raise ValueError(
                    f"save: keys {names[text]!r} and {key!r} under '{_leaf_name(path)}' would be "
                    "stored under one name"
                )
            names[text] = key
            items.append([key, _flatten(value, [*path, text], arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        numbers = obj and all(type(v) in (int, float) for v in obj)
        if numbers:
            # A list of plain numbers (like param group indices) is one array, not N entries.
            is_int = all(type(v) is int for v in obj)
            for value in obj if is_int else ():
                _check_int(value, path)
            arrays[_leaf_name(path)] = np.asarray(obj, dtype=np.int64 if is_int else np.float64)
            return {"numbers": _leaf_name(path), "kind": kind, "type": "int" if is_int else "float"}
        return {kind: [_flatten(v, [*path, str(i)], arrays) for i, v in enumerate(obj)]}
    raise TypeError(
        f"save: cannot store a {type(obj).__name__} at '{_leaf_name(path)}' "
        "(arrays, Tensors, numbers, strings, None, dicts, lists and tuples only)"
    )


def _unflatten(node: dict, arrays: Mapping[str, np.ndarray], depth: int = 0) -> Any:
    """The object `_flatten` described; a damaged structure raises KeyError, TypeError, ..."""
    if depth > MAX_DEPTH + 1:
        raise ValueError(f"nesting deeper than {MAX_DEPTH} levels")
    if "array" in node:
        return arrays[node["array"]]
    if "scalar" in node:
        value = arrays[node["scalar"]]
        if node["type"] == "utf8":
            if value.dtype != np.uint8 or value.ndim != 1:
                raise TypeError("a utf8 string entry is not a byte vector")
            return value.tobytes().decode("utf-8", "surrogatepass")
        return {"bool": bool, "int": int, "float": float, "str": str}[node["type"]](value[()])
    if "none" in node:
        return None
    if "dict" in node:
        return OrderedDict((_key(key), _unflatten(v, arrays, depth + 1)) for key, v in node["dict"])
    if "list" in node:
        return [_unflatten(v, arrays, depth + 1) for v in node["list"]]
    if "tuple" in node:
        return tuple(_unflatten(v, arrays, depth + 1) for v in node["tuple"])
    if "numbers" in node:
        numbers = arrays[node["numbers"]]
        if numbers.ndim != 1 or numbers.size > _MAX_NUMBERS:
            raise TypeError(f"a list of numbers has shape {numbers.shape}")
        values = numbers.tolist()
        return tuple(values) if node["kind"] == "tuple" else values
    raise ValueError(f"unreadable structure entry {str(node)[:80]!r}")


def _key(key: Any) -> str | int:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise TypeError(f"dict key {key!r} is not a str or int")
    return key


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
    path: str | os.PathLike,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    map_location: Any = None,
    weights_only: bool = True,
    **_: Any,
) -> Any:
    """Read a file written by `save` (or any `.npz` of plain arrays) without unpickling.

    Refuses, before reading them, arrays that would take more than `max_bytes` in all.
    torch.load's `map_location` ('cpu', 'cuda', a device) places every array there (host
    arrays otherwise); `weights_only` is accepted: nothing is ever unpickled, so every load is
    weights-only.
    """
    if map_location is None or devices.device(map_location) == devices.CPU:
        return _load(Path(path), max_bytes)
    where = devices.resolve(map_location, "load")
    return _place(_load(Path(path), max_bytes), where)


def _place(obj: Any, where: devices.device) -> Any:
    """`obj` with every array leaf moved to `where` (the same containers rebuilt)."""
    if isinstance(obj, np.ndarray):
        return backend.to_device(obj, where)
    if isinstance(obj, OrderedDict):
        return OrderedDict((key, _place(value, where)) for key, value in obj.items())
    if isinstance(obj, dict):
        return {key: _place(value, where) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_place(value, where) for value in obj]
    if isinstance(obj, tuple):
        return tuple(_place(value, where) for value in obj)
    return obj


def _load(path: Path, max_bytes: int) -> Any:
    with open(path, "rb") as probe:  # FileNotFoundError as it is
        if probe.read(6) == b"\x93NUMPY":
            raise ValueError(f"load: '{path}' holds a single .npy array, not a .npz checkpoint")
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = _read_members(archive, path, max_bytes)
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as error:
        raise ValueError(f"load: '{path}' is damaged or not a .npz checkpoint ({error})") from None
    structure = arrays.pop(STRUCTURE_KEY, None)
    if structure is None:
        return _nest_by_path(arrays)
    try:
        node = json.loads(str(structure[()]))
        return _unflatten(node, arrays)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as error:
        raise ValueError(
            f"load: '{path}' has a damaged structure entry ({type(error).__name__}: {error})"
        ) from None


def _read_members(archive: zipfile.ZipFile, path: Path, max_bytes: int) -> dict[str, np.ndarray]:
    """Every member as an array, each header checked against its size before any is read."""
    arrays, total = {}, 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = info.filename.removesuffix(".npy")
        with archive.open(info) as member:
            shape, fortran, dtype, header = _npy_header(member, f"'{path}' member {name}")
        if dtype.hasobject:
            raise ValueError(
                f"load: '{path}' contains an object array ({name}), which would need "
                "unpickling; refused"
            )
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if header + nbytes != info.file_size:
            raise ValueError(
                f"load: '{path}' is damaged: member {name} declares {shape} {dtype} "
                f"({nbytes} bytes) but holds {info.file_size - header}"
            )
        total += nbytes
        if total > max_bytes:
            raise ValueError(
                f"load: '{path}' holds more than max_bytes={max_bytes} bytes of arrays "
                f"(at member {name}); pass a larger max_bytes if you trust it"
            )
        with archive.open(info) as member:
            arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
            if member.read(1):  # also reaches the end, where the zip checks the CRC
                raise ValueError(f"load: '{path}' is damaged: member {name} is too long")
    return arrays


def _npy_header(member: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and header length of a `.npy` stream."""
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except ValueError as error:
        raise ValueError(f"load: {where} is not a .npy array ({error})") from None
    if any(size < 0 for size in shape):
        raise ValueError(f"load: {where} declares the shape {shape}")
    return shape, fortran, np.dtype(dtype), member.tell()
