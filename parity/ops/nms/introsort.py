"""libstdc++'s ``std::sort`` (introsort: median-of-three quicksort down to 16 elements, heapsort
past 2 log2 N levels, a final insertion sort), step for step, so that the order it leaves equal
keys in can be predicted: Paddle's CPU ``argsort`` (stable=False) is this sort with the
comparator "NaN first, then greater value" over (value, index) pairs in index order.  Also
``std::priority_queue`` built from a vector (make_heap, then pop_heap per pop), as ONNX Runtime's
NonMaxSuppression visits boxes: where a NaN score compares false both ways, that order is neither
by score nor by index."""
from __future__ import annotations

import math
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")

#: Below this many elements libstdc++ leaves a range to the final insertion sort.
THRESHOLD = 16


def std_sort(items: Sequence[T], before: Callable[[T, T], bool]) -> list[T]:
    """``items`` sorted as ``std::sort(first, last, before)`` leaves them (``before``: strict)."""
    a = list(items)
    n = len(a)
    if n < 2:
        return a

    def unguarded_linear(i: int) -> None:
        v, j = a[i], i - 1
        while before(v, a[j]):
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v

    def insertion(first: int, last: int) -> None:
        for i in range(first + 1, last):
            v = a[i]
            if before(v, a[first]):
                a[first + 1:i + 1] = a[first:i]
                a[first] = v
            else:
                unguarded_linear(i)

    def median_to_first(result: int, x: int, y: int, z: int) -> None:
        if before(a[x], a[y]):
            pick = y if before(a[y], a[z]) else z if before(a[x], a[z]) else x
        else:
            pick = x if before(a[x], a[z]) else z if before(a[y], a[z]) else y
        a[result], a[pick] = a[pick], a[result]

    def partition(first: int, last: int, pivot: int) -> int:
        while True:
            while before(a[first], a[pivot]):
                first += 1
            last -= 1
            while before(a[pivot], a[last]):
                last -= 1
            if not first < last:
                return first
            a[first], a[last] = a[last], a[first]
            first += 1

    def adjust_heap(base: int, hole: int, length: int, value: T) -> None:
        top = child = hole
        while child < (length - 1) // 2:
            child = 2 * (child + 1)
            if before(a[base + child], a[base + child - 1]):
                child -= 1
            a[base + hole], hole = a[base + child], child
        if length % 2 == 0 and child == (length - 2) // 2:
            child = 2 * (child + 1)
            a[base + hole], hole = a[base + child - 1], child - 1
        parent = (hole - 1) // 2
        while hole > top and before(a[base + parent], value):
            a[base + hole], hole = a[base + parent], parent
            parent = (hole - 1) // 2
        a[base + hole] = value

    def heap_sort(first: int, last: int) -> None:  # std::partial_sort(first, last, last)
        length = last - first
        for parent in range((length - 2) // 2, -1, -1):
            adjust_heap(first, parent, length, a[first + parent])
        for end in range(last - 1, first, -1):
            v, a[end] = a[end], a[first]
            adjust_heap(first, 0, end - first, v)

    def loop(first: int, last: int, depth: int) -> None:
        while last - first > THRESHOLD:
            if depth == 0:
                heap_sort(first, last)
                return
            depth -= 1
            median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
            cut = partition(first + 1, last, first)
            loop(cut, last, depth)
            last = cut

    loop(0, n, 2 * int(math.log2(n)))
    if n > THRESHOLD:
        insertion(0, THRESHOLD)
        for i in range(THRESHOLD, n):
            unguarded_linear(i)
    else:
        insertion(0, n)
    return a


def _sift(a: list[T], hole: int, length: int, value: T, less: Callable[[T, T], bool]) -> None:
    """std::__adjust_heap on a[:length]: the hole down to a leaf, then ``value`` back up."""
    top = child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if less(a[child], a[child - 1]):
            child -= 1
        a[hole], hole = a[child], child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[hole], hole = a[child - 1], child - 1
    parent = (hole - 1) // 2
    while hole > top and less(a[parent], value):
        a[hole], hole = a[parent], parent
        parent = (hole - 1) // 2
    a[hole] = value


def priority_queue_order(items: Sequence[T], less: Callable[[T, T], bool]) -> list[T]:
    """The order ``std::priority_queue(less, std::move(vector))`` pops ``items`` in."""
    a = list(items)
    for parent in range((len(a) - 2) // 2, -1, -1):
        _sift(a, parent, len(a), a[parent], less)
    out = []
    while a:
        out.append(a[0])
        last = a.pop()
        if a:
            _sift(a, 0, len(a), last, less)
    return out


def onnxruntime_descending(scores: Sequence[float]) -> list[int]:
    """The order ONNX Runtime's NonMaxSuppression visits boxes in: a max-heap on (score, then lower
    index); without NaN that is decreasing score, equal scores by ascending index."""
    def less(left: tuple[float, int], right: tuple[float, int]) -> bool:
        return left[0] < right[0] or (left[0] == right[0] and left[1] > right[1])

    return [i for _, i in priority_queue_order([(float(v), i) for i, v in enumerate(scores)], less)]


def paddle_descending(scores: Sequence[float]) -> list[int]:
    """The indices ``paddle.argsort(scores, descending=True)`` returns on CPU."""
    def before(left: tuple[float, int], right: tuple[float, int]) -> bool:
        return (math.isnan(left[0]) and not math.isnan(right[0])) or left[0] > right[0]

    return [i for _, i in std_sort([(float(v), i) for i, v in enumerate(scores)], before)]
