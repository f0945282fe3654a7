"""Projects: a folder of images, their label stores, models and edit journals."""

from segcore.project.images import ImageEntry
from segcore.project.project import Project

__all__ = ["ImageEntry", "Project"]
