"""What an instance model's dense outputs mean (shared by the engine and training).

An instance model of the segmentation-driven family (``ModelMeta.task ==
"instance"``) maps an image to dense logit maps, one per channel:

* ``foreground``: the pixel belongs to some object;
* ``boundary``: the pixel lies on an object's outline (the part that separates
  touching objects);
* ``distance``: the distance to the object's outline, divided by the largest
  such distance in that object (1 at its centre, near 0 at its edge), so seeds
  are scale-free;
* with more than one object class, one logit per class of ``meta.classes``
  (the object's class is the arg-max of their mean over its pixels).

:mod:`segcore.engine.grouping` turns these maps into objects by seeded
watershed; :mod:`segcore.training.instance_targets` derives them from instance
maps for training.
"""

from __future__ import annotations

DENSE = ("foreground", "boundary", "distance")
FOREGROUND, BOUNDARY, DISTANCE = 0, 1, 2
DEFAULT_MAX_OBJECT = 64  # pixels: the default largest object side (the stitching margin)


def dense_channels(num_classes: int) -> int:
    """Output channels for ``num_classes`` classes (background + one object class: 3)."""
    return len(DENSE) + (num_classes if num_classes > 2 else 0)
