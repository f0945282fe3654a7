"""Which overlay layers an image gets: its labels (semantic, instance, panoptic) and predictions.

Layer ids are fixed so other parts can find them on the canvas:
``"image"``, ``"semantic"``, ``"instance"``, ``"panoptic"``, ``"prediction"``, ``"confidence"``.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.canvas.overlays import HeatOverlay, InstanceOverlay, PanopticOverlay, SemanticOverlay
from app.canvas.view import CanvasView
from app.session import ImageDocument
from segcore.labels.reader import LabelReader
from segcore.labels.schema import ClassInfo

LABEL_LAYERS = ("semantic", "instance", "panoptic")


def install_label_layers(canvas: CanvasView, doc: ImageDocument) -> None:
    """Add the overlays of ``doc.labels``: semantic shown, instance and panoptic hidden."""
    for layer_id in LABEL_LAYERS:
        canvas.remove_layer(layer_id)
    if doc.labels is None:
        return
    lock, classes = doc.labels_lock, doc.classes
    canvas.add_layer(SemanticOverlay("semantic", "Labels", doc.labels, classes, lock=lock))
    canvas.add_layer(
        InstanceOverlay("instance", "Instances", doc.labels, classes, lock=lock, visible=False)
    )
    canvas.add_layer(
        PanopticOverlay("panoptic", "Panoptic", doc.labels, classes, lock=lock, visible=False)
    )


def reinstall_label_layers(canvas: CanvasView, doc: ImageDocument) -> None:
    """Rebuild the label overlays (a moved store, new classes), each looking as before."""
    looks = {}
    for layer_id in LABEL_LAYERS:
        old = canvas.layer(layer_id)
        if old is not None:
            looks[layer_id] = (old.visible, old.opacity, old.outlines)
    install_label_layers(canvas, doc)
    for layer_id, (visible, opacity, outlines) in looks.items():
        new = canvas.layer(layer_id)
        if new is not None:
            new.visible, new.opacity, new.outlines = visible, opacity, outlines


def install_prediction_layers(
    canvas: CanvasView,
    doc: ImageDocument,
    prediction: LabelReader,
    classes: Sequence[ClassInfo],
) -> None:
    """Replace the prediction and confidence layers with ones over ``prediction``.

    A volume's prediction (one class map per slice) keeps no confidence: it
    gets no Uncertainty layer.
    """
    lock = doc.labels_lock
    canvas.add_layer(SemanticOverlay("prediction", "Prediction", prediction, classes, lock=lock))
    if int(getattr(prediction, "depth", 1)) > 1:
        canvas.remove_layer("confidence")
        return
    canvas.add_layer(
        HeatOverlay("confidence", "Uncertainty", prediction, classes, lock=lock, visible=False)
    )
