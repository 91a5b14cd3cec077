"""The value every mesh loss returns for a batch without any non-empty mesh."""
from __future__ import annotations

from typing import Any

import torch


def empty_loss(meshes: Any) -> torch.Tensor:
    """PyTorch3D's value for a batch without any non-empty mesh: tensor([0.]) requiring grad."""
    return torch.tensor([0.0], dtype=torch.float32, device=meshes.device, requires_grad=True)
