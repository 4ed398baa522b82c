"""Unpickling that builds only the types rewardlab stores, never arbitrary callables.

``pickle.load`` of an untrusted file runs code: a pickle may name any importable callable
(``os.system``) and call it. The Python documentation's remedy is an unpickler whose
``find_class`` admits an allow-list (https://docs.python.org/3/library/pickle.html#restricting-globals);
:class:`SafeUnpickler` is that, for what rewardlab's checkpoints hold: simulators and their
parameters (classes defined in ``rewardlab.core`` and ``rewardlab.envs``), NumPy arrays, scalars,
dtypes and random generators, Gymnasium spaces, and plain containers. Functions are admitted
only from the short list in :data:`ALLOWED` (NumPy's array and generator constructors); a
rewardlab class may be instantiated, a rewardlab function may not be called. A simulator class
of your own (``train --env mymodule:MySim``) and its parameter dataclasses load only from a
module that is imported already: nothing is imported on a file's say-so (``import mymodule``
first).

    state = safe_loads(blob)                   # raises UnsafePickleError for anything else
    stats = safe_load(handle, extra={("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize")})
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import sys
from collections.abc import Iterable
from typing import IO, Any

import numpy as np

from rewardlab.core.errors import RewardlabError


def _numpy_array_constructors() -> set[tuple[str, str]]:
    """The constructors that NumPy's own pickles of arrays and scalars name, read from their reduce
    output: where they live is NumPy's internal layout, which moves between releases, so the
    names are asked of the installed NumPy instead of written here. Arrays pickled under another
    NumPy major version name other paths and are refused."""
    found = set()
    for obj, protocol in ((np.zeros(1), 2), (np.zeros(1), 5), (np.float64(0.0), 2)):
        constructor = obj.__reduce_ex__(protocol)[0]
        found.add((constructor.__module__, constructor.__name__))
    return found


#: (module, name) pairs admitted besides rewardlab's own classes.
ALLOWED: frozenset[tuple[str, str]] = frozenset({
    ("builtins", name) for name in ("set", "frozenset", "slice", "complex", "range", "bytearray", "object",
                                    "tuple", "list", "dict", "int", "float", "bool", "str", "bytes")
} | {
    ("copyreg", "_reconstructor"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("collections", "deque"),
} | _numpy_array_constructors() | {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._generator", "Generator"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random._pcg64", "PCG64DXSM"),
    ("numpy.random._mt19937", "MT19937"),
    ("numpy.random._philox", "Philox"),
    ("numpy.random._sfc64", "SFC64"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),  # Cython's rebuild of a SeedSequence
} | {
    ("gymnasium.spaces.box", "Box"),
    ("gymnasium.spaces.discrete", "Discrete"),
    ("gymnasium.spaces.multi_discrete", "MultiDiscrete"),
    ("gymnasium.spaces.multi_binary", "MultiBinary"),
    ("gymnasium.spaces.dict", "Dict"),
    ("gymnasium.spaces.tuple", "Tuple"),
})

#: Packages whose classes (not functions) a checkpoint may instantiate.
REWARDLAB_PACKAGES = ("rewardlab.core.", "rewardlab.envs.")


class UnsafePickleError(RewardlabError):
    """A pickle names something outside the allow-list (or is not a pickle at all)."""


class SafeUnpickler(pickle.Unpickler):
    """An unpickler admitting :data:`ALLOWED`, rewardlab's classes and ``extra`` (see the module doc)."""

    def __init__(self, file: IO[bytes], extra: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(file)
        self._extra = frozenset(extra)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED or (module, name) in self._extra:
            return super().find_class(module, name)
        if module.startswith("numpy.dtypes") or (module == "numpy" and name.endswith("DType")):
            return super().find_class(module, name)  # dtype classes (Float64DType, ...)
        if module.startswith(REWARDLAB_PACKAGES) and "." not in name:
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        loaded = sys.modules.get(module)
        if loaded is not None and "." not in name:  # a user's simulator: its module imported already
            found = getattr(loaded, name, None)
            if isinstance(found, type) and (_is_sim_class(found) or dataclasses.is_dataclass(found)):
                return found
        raise UnsafePickleError(
            f"refusing to load {module}.{name}: not one of the types rewardlab stores "
            "(a foreign or crafted file; only load files you trust)"
        )


def _is_sim_class(cls: type) -> bool:
    from rewardlab.core.sim import BatchedSim

    return issubclass(cls, BatchedSim)


def safe_load(handle: IO[bytes], extra: Iterable[tuple[str, str]] = ()) -> Any:
    """``pickle.load`` restricted to the allow-list; UnsafePickleError for anything else."""
    try:
        return SafeUnpickler(handle, extra).load()
    except UnsafePickleError:
        raise
    except Exception as err:  # truncated, not a pickle, an allowed class given bad state
        raise UnsafePickleError(f"not a readable pickle ({type(err).__name__}: {err})") from None


def safe_loads(data: bytes, extra: Iterable[tuple[str, str]] = ()) -> Any:
    return safe_load(io.BytesIO(data), extra)
