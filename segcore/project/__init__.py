"""Projects: a folder of images, their label stores, models and edit journals."""

from segcore.project.project import ImageEntry, Project

__all__ = ["ImageEntry", "Project"]
