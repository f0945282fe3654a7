"""Quality measures: semantic (confusion matrix), instance (COCO AP), panoptic (PQ)."""

from segcore.metrics.confusion import ConfusionMatrix, SemanticScores, semantic_scores
from segcore.metrics.panoptic import PanopticQuality, PanopticScores

__all__ = [
    "ConfusionMatrix",
    "PanopticQuality",
    "PanopticScores",
    "SemanticScores",
    "semantic_scores",
]
