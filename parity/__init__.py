"""parity: cross-framework parity testing of RoIAlign (torchvision, MindSpore, a float64 reference).

``parity.capture(DIR)`` records the roi_align calls a model makes (parity.ops.roi_align.capture, light: it
imports no framework).  ``parity.check(features, rois, output_size=7, spatial_scale=1/16,
sampling_ratio=2, aligned=True)`` runs every installed framework on your arrays
(parity.ops.roi_align.user_check); it is imported on first use, so that ``import parity`` stays free.
"""
from __future__ import annotations

from typing import Any

__all__ = ["CaptureSummary", "capture", "check"]


def __getattr__(name: str) -> Any:
    if name in ("capture", "CaptureSummary"):
        from parity.ops.roi_align import capture as module

        return getattr(module, name)
    if name == "check":
        from parity.ops.roi_align.user_check import check

        return check
    raise AttributeError(f"module 'parity' has no attribute {name!r}")
