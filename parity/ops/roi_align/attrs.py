"""roi_align's signature: a torchvision ``roi_align`` call's parameters (the language every roi_align case is written in)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Attrs:
    """A torchvision ``roi_align`` call's parameters (the language every case is written in)."""

    output_size: tuple[int, int]
    spatial_scale: float = 1.0
    sampling_ratio: int = -1
    aligned: bool = False

    def label(self) -> str:
        ph, pw = self.output_size
        return f"aligned={int(self.aligned)},sr={self.sampling_ratio},out={ph}x{pw},s={self.spatial_scale:g}"

    def to_json(self) -> dict[str, Any]:
        return {
            "output_size": list(self.output_size),
            "spatial_scale": self.spatial_scale,
            "sampling_ratio": self.sampling_ratio,
            "aligned": self.aligned,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attrs:
        ph, pw = d["output_size"]
        return cls((int(ph), int(pw)), float(d["spatial_scale"]), int(d["sampling_ratio"]), bool(d["aligned"]))
