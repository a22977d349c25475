"""parity: cross-framework parity testing of RoIAlign (``parity.capture`` records a model's calls)."""
from parity.capture import CaptureSummary, capture

__all__ = ["CaptureSummary", "capture"]
