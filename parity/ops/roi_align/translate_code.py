"""``parity translate --format python``: the translation as a script to paste (parity.ops.roi_align.translate owns it).

The script imports only numpy and the target framework: the op built with the translated
arguments, the roi shift as array code, and a function with the source framework's argument
order.  Run as ``python script.py FEATURES.npy ROIS.npy OUT.npy`` it writes the target's output,
so that a test (and a user) can check it against the source framework on real arrays.
"""
from __future__ import annotations

from parity.ops.roi_align.mapping import MindSporeCall
from parity.ops.roi_align.attrs import Attrs
from parity.ops.roi_align.translate import RoiShift, Translation

_SHIFT = '''

def {name}(rois):
    """{source}'s [K, 5] rois (batch index, x1, y1, x2, y2) -> the rois this {target} call needs.

    {shift}; computed in float64 and rounded back to the rois' dtype.
    """
    rois = np.asarray(rois)
    shifted = rois.astype(np.float64)  # a copy
    shifted[:, [1, 2]] += {start!r}
    shifted[:, [3, 4]] += {end!r}
    return shifted.astype(rois.dtype)
'''

_MAIN = '''

if __name__ == "__main__":
    import sys

    if len(sys.argv) != 4:
        sys.exit("usage: python " + sys.argv[0] + " FEATURES.npy ROIS.npy OUT.npy")
    features, rois = np.load(sys.argv[1], allow_pickle=False), np.load(sys.argv[2], allow_pickle=False)
    np.save(sys.argv[3], {function}(features, rois))
'''


def _header(t: Translation) -> str:
    lines = [f"# {t.source}", f"# is reproduced exactly by {t.target}", f"# with {t.shift.render()}, when:"]
    lines += [f"#   - {cond}" for cond in t.exact_when]
    return "\n".join(lines) + "\n"


def _shift_code(name: str, shift: RoiShift, source: str, target: str) -> str:
    if shift.start == 0 and shift.end == 0:
        return f"\n\ndef {name}(rois):\n    \"\"\"The rois as they are: this translation needs no roi shift.\"\"\"\n    return np.asarray(rois)\n"
    return _SHIFT.format(name=name, source=source, target=target, shift=shift.render(), start=float(shift.start), end=float(shift.end))


def to_mindspore_script(call: MindSporeCall, t: Translation) -> str:
    """A script computing torchvision's roi_align(features, rois, ...) with MindSpore."""
    body = _header(t) + (
        'import os\n\nimport numpy as np\n\nos.environ.setdefault("GLOG_v", "3")  # MindSpore\'s log level: errors only\n'
        "import mindspore  # noqa: E402\nfrom mindspore import ops  # noqa: E402\n\n"
        f"roi_align = ops.ROIAlign(pooled_height={call.pooled_height}, pooled_width={call.pooled_width}, "
        f"spatial_scale={float(call.spatial_scale)!r}, sample_num={call.sample_num}, roi_end_mode={call.roi_end_mode})\n"
    )
    body += _shift_code("mindspore_rois", t.shift, "torchvision", "MindSpore")
    body += '''

def roi_align_like_torchvision(features, rois):
    """features [N, C, H, W] and rois [K, 5] as numpy arrays (float16/float32) -> [K, C, PH, PW]."""
    return roi_align(mindspore.Tensor(features), mindspore.Tensor(mindspore_rois(rois))).asnumpy()
'''
    return body + _MAIN.format(function="roi_align_like_torchvision")


def to_torchvision_script(attrs: Attrs, t: Translation) -> str:
    """A script computing MindSpore's ROIAlign(...)(features, rois) with torchvision."""
    body = _header(t) + "import numpy as np\nimport torch\nfrom torchvision.ops import roi_align\n"
    body += _shift_code("torchvision_rois", t.shift, "MindSpore", "torchvision")
    body += f'''

def roi_align_like_mindspore(features, rois):
    """features [N, C, H, W] and rois [K, 5] as numpy arrays -> [K, C, PH, PW]."""
    return roi_align(
        torch.from_numpy(np.ascontiguousarray(features)), torch.from_numpy(torchvision_rois(rois)),
        output_size={tuple(attrs.output_size)!r}, spatial_scale={float(attrs.spatial_scale)!r},
        sampling_ratio={attrs.sampling_ratio}, aligned={attrs.aligned},
    ).numpy()
'''
    return body + _MAIN.format(function="roi_align_like_mindspore")
