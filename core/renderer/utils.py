"""Batched tensor-valued properties shared by cameras, lights and materials.

`TensorProperties` stores each keyword argument as a tensor with a leading batch dimension.
Arguments given with a batch of 1 (or as scalars / plain sequences) broadcast to the largest
batch among the arguments; any other mismatch raises a ValueError naming the argument.
"""
from __future__ import annotations

import copy
from typing import Any, Union

import torch

Device = Union[str, torch.device]


def make_device(device: Device) -> torch.device:
    """Return a torch.device; a bare "cuda" gets the current CUDA device index."""
    device = torch.device(device) if isinstance(device, str) else device
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{torch.cuda.current_device()}")
    return device


def _as_batched_tensor(name: str, value: Any, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Convert a scalar, sequence or tensor to a tensor whose first dimension is the batch."""
    if isinstance(value, torch.Tensor):
        t = value.to(device=device)
        if not t.is_floating_point():
            t = t.to(dtype)
    else:
        try:
            t = torch.tensor(value, dtype=dtype, device=device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a number, a sequence or a tensor; got {type(value).__name__}") from exc
    return t.view(1) if t.dim() == 0 else t


class TensorProperties(torch.nn.Module):
    """A batch of named tensors with a common leading dimension N (batch-of-1 broadcasts)."""

    def __init__(self, dtype: torch.dtype = torch.float32, device: Device = "cpu", **kwargs: Any) -> None:
        super().__init__()
        self.device = make_device(device)
        self._N = 0
        tensors = {}
        for name, value in kwargs.items():
            if value is None:
                setattr(self, name, None)
                continue
            if isinstance(value, (str, bool)):
                setattr(self, name, value)
                continue
            tensors[name] = _as_batched_tensor(name, value, dtype, self.device)
        sizes = {name: t.shape[0] for name, t in tensors.items()}
        batch = max(sizes.values(), default=1)
        for name, t in tensors.items():
            if t.shape[0] not in (1, batch):
                raise ValueError(
                    f"{type(self).__name__}: {name} has batch size {t.shape[0]} but other arguments have "
                    f"batch size {batch}; give each argument a batch of 1 or {batch}"
                )
            if t.shape[0] == 1 and batch > 1:
                t = t.expand(batch, *t.shape[1:])
            setattr(self, name, t)
        self._N = batch
        self._tensor_names = list(tensors)

    def __len__(self) -> int:
        return self._N

    def isempty(self) -> bool:
        return self._N == 0

    def __getitem__(self, index: Union[int, slice]) -> "TensorAccessor":
        """A view of batch element(s) `index` (int or slice), PyTorch3D's: `lights[1].location`
        reads row 1 of `lights.location`, and assigning to it writes that row in place."""
        if isinstance(index, bool) or not isinstance(index, (int, slice)):
            raise ValueError(f"Expected index of type int or slice; got {type(index).__name__}")
        return TensorAccessor(self, index)

    def clone(self, other: "TensorProperties" | None = None) -> "TensorProperties":
        other = copy.copy(self) if other is None else other
        for name in self._tensor_names:
            setattr(other, name, getattr(self, name).clone())
        return other

    def to(self, device: Device = "cpu", *args: Any, **kwargs: Any) -> "TensorProperties":  # type: ignore[override]
        device = make_device(device)
        for name in self._tensor_names:
            setattr(self, name, getattr(self, name).to(device))
        self.device = device
        return self

    def cpu(self) -> "TensorProperties":  # type: ignore[override]
        return self.to("cpu")

    def cuda(self, device: Any = None) -> "TensorProperties":  # type: ignore[override]
        return self.to("cuda" if device is None else device)

    def gather_props(self, batch_idx: torch.Tensor) -> "TensorProperties":
        """Expand every property from (N, ...) to (len(batch_idx), ...) by indexing with batch_idx.

        Used to turn per-mesh properties into per-packed-element ones.
        """
        for name in self._tensor_names:
            t = getattr(self, name)
            if t.shape[0] == self._N:
                setattr(self, name, t[batch_idx])
        return self


class TensorAccessor:
    """Element `index` (an int or a slice) of a TensorProperties' batch, read and written through
    attributes: `accessor.name` is `obj.name[index]`, and `accessor.name = value` writes
    `obj.name[index]` in place (value converted to the tensor's dtype and device). As in
    PyTorch3D, an argument given with a batch of 1 is broadcast as one shared row: writing it
    through any element writes it for all. Attributes that are not tensors read as they are
    and cannot be set."""

    def __init__(self, class_object: TensorProperties, index: Union[int, slice]) -> None:
        self.__dict__["class_object"] = class_object
        self.__dict__["index"] = index

    def __getattr__(self, name: str) -> Any:
        obj = self.__dict__["class_object"]
        if not hasattr(obj, name):
            raise AttributeError(f"{type(obj).__name__} has no attribute {name!r}")
        value = getattr(obj, name)
        return value[self.__dict__["index"]] if torch.is_tensor(value) else value

    def __setattr__(self, name: str, value: Any) -> None:
        obj, index = self.__dict__["class_object"], self.__dict__["index"]
        target = getattr(obj, name, None)
        if not torch.is_tensor(target):
            raise AttributeError(f"can only set tensor attributes of {type(obj).__name__}; {name!r} is not one")
        value = torch.as_tensor(value, dtype=target.dtype, device=target.device)
        if target.dim() > 1 and value.dim() > 1 and value.shape[1:] != target.shape[1:]:
            raise ValueError(f"{name}: expected rows of shape {tuple(target.shape[1:])}; got {tuple(value.shape)}")
        target[index] = value
