"""parity: cross-framework parity testing of RoIAlign (torchvision, MindSpore, a float64 reference).

``parity.capture(DIR)`` records the roi_align calls a model makes (parity.capture, light: it
imports no framework).  ``parity.check(features, rois, output_size=7, spatial_scale=1/16,
sampling_ratio=2, aligned=True)`` runs every installed framework on your arrays
(parity.user_check); it is imported on first use, so that ``import parity`` stays free.
"""
from __future__ import annotations

from typing import Any

from parity.capture import CaptureSummary, capture

__all__ = ["CaptureSummary", "capture", "check"]


def __getattr__(name: str) -> Any:
    if name == "check":
        from parity.user_check import check

        return check
    raise AttributeError(f"module 'parity' has no attribute {name!r}")
