"""Project commands: New / Open / Save / Save As / Close Project, Add Images,
next and previous image (their menu entries are made in :mod:`app.project.menus`).

:class:`ProjectCommands` owns the open :class:`segcore.project.Project` (also
``session.project``, with the image on screen as ``session.project_image``) and
opens its images: the image file is read in a worker, then its label store
becomes the document's labels and its editor the annotation context's. Every
committed stroke is already in the project's journal, so closing (or a crash)
never loses one; Save is a checkpoint, and closing the window or the project
saves.

The dialogs are in :mod:`app.project.dialogs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app import errors
from app.context import AppContext
from app.layerset import reinstall_label_layers
from app.project.dialogs import (
    DEFAULT_CLASSES,
    ask_accept_loss,
    ask_add_image,
    ask_classes,
    ask_folder,
    ask_images,
    ask_locate,
    ask_new_project,
    ask_project,
    classes_text,
    parse_classes,
    show_open_report,
)
from app.session import ImageDocument, load_document
from app.settings import add_recent_project, open_settings, recent_projects
from app.tools.context import AnnotationContext
from app.worker import Worker
from segcore.errors import LabelError, ProjectError, TesseraError
from segcore.labels.editor import Editor
from segcore.labels.schema import ClassInfo
from segcore.project import ImageEntry, Project
from segcore.project.predictions import StoredPrediction, read_prediction


class ProjectCommands(QObject):
    """The open project and the commands on it."""

    project_changed = Signal(object)  # Project | None
    images_changed = Signal()  # images added or relocated, progress saved
    image_opened = Signal(str)  # image id
    recent_changed = Signal()  # the recent-projects list changed

    def __init__(self, context: AppContext, editing: AnnotationContext, image_filter: str) -> None:
        super().__init__(context.shell.widget)
        self.context, self.editing, self.image_filter = context, editing, image_filter
        self.session, self.dialog_parent = context.session, context.shell.widget
        self.settings = open_settings()
        self.project: Project | None = None
        self._offered: Path | None = None  # the image already offered to the project
        self._loading = context.jobs.slot(
            "open the image",
            returned=self._image_loaded,
            errored=self._load_failed,
            stale=lambda result: result[1].source.close(),  # superseded by a later request
        )
        self._loading_id: str | None = None
        self.session.document_changed.connect(self._document_changed)

    @property
    def image_id(self) -> str | None:
        """The project image on screen."""
        return self.session.project_image

    # -- project -------------------------------------------------------------------

    def new_project(
        self, directory: Path | None = None, classes: list[ClassInfo] | None = None
    ) -> Project | None:
        """Create a project; the image on screen (if it is a file) becomes its first image."""
        directory = directory or ask_folder(self.dialog_parent, "New Project")
        if directory is None:
            return None
        if classes is None:
            known = self._known_classes()
            text = ask_classes(
                self.dialog_parent, classes_text(known) if known else DEFAULT_CLASSES
            )
            if text is None:
                return None
            try:
                classes = parse_classes(text, known)
            except LabelError as exc:
                errors.report(exc, context="create the project")
                return None
        if not self.close_project():
            return None
        try:
            project = Project.create(directory, classes=classes)
        except TesseraError as exc:
            errors.report(exc, context="create the project")
            return None
        self._set_project(project)
        self._remember(project)
        doc = self.session.document
        if doc is not None and doc.path is not None and doc.path.is_file():
            self._adopt(doc)
        hint = "" if project.images else "; add images with File > Add Images to Project"
        self.context.say(f"Created project {project.name} in {project.root}{hint}", 8000)
        return project

    def open_project(self, directory: Path | None = None) -> Project | None:
        """Open a project (its journals are replayed) and show its last image.

        The new project is opened before the current one is closed: when opening
        fails, a dialog says why and the current project stays open and on screen.
        """
        directory = directory or ask_project(self.dialog_parent, self._start_folder())
        if directory is None:
            return None
        current = self.project
        if current is not None and Path(directory).absolute() == current.root:
            return current  # already open (its lock is ours)
        try:
            project = Project.open(directory)
        except TesseraError as exc:
            errors.report(exc, context=f"open the project {directory}")
            return None
        if not self.close_project():
            project.close(save=False)
            return None
        self._set_project(project)
        self._remember(project)
        lines = project.report()
        if lines:
            lost = bool(project.damage) or any(r.lost for r in project.recovery.values())
            show_open_report(self.dialog_parent, lines, damaged=lost)
        last = project.settings.get("last_image")
        ids = [e.id for e in project.images]
        if ids:
            self.open_image(last if last in ids else ids[0])
        else:
            self.context.say("The project has no images yet: File > Add Images to Project", 8000)
        return project

    def recent_projects(self) -> list[str]:
        """Project folders opened or created lately, newest first."""
        return recent_projects(self.settings)

    def _remember(self, project: Project) -> None:
        add_recent_project(self.settings, project.root)
        self.recent_changed.emit()

    def _start_folder(self) -> str:
        """Where Open Project starts: beside the last project, else the home folder."""
        recent = self.recent_projects()
        for folder in recent:
            parent = Path(folder).parent
            if parent.is_dir():
                return str(parent)
        return str(Path.home())

    def save(self) -> bool:
        """Checkpoint the project (labels flushed, journals emptied, project.json replaced)."""
        project = self.project
        if project is None:
            self.context.say("No project is open", 3000)
            return False
        self.editing.finish_job()
        self.editing.commit()
        try:
            with self.editing.lock:
                project.save()
        except TesseraError as exc:
            errors.report(exc, context="save the project")
            return False
        self.images_changed.emit()
        self.context.say(f"Saved {project.root}", 3000)
        return True

    def save_as(self, directory: Path | None = None) -> bool:
        """Copy the project to a new folder and continue there."""
        project = self.project
        if project is None:
            return False
        directory = directory or ask_folder(self.dialog_parent, "Save Project As")
        if directory is None:
            return False
        self.editing.finish_job()
        self.editing.commit()
        doc = self.session.document
        try:
            with self.editing.lock:
                project.save_as(directory)
                if doc is not None and self.image_id is not None:
                    doc.labels = project.label_store(self.image_id)
        except TesseraError as exc:
            errors.report(exc, context="save the project as")
            return False
        if doc is not None and self.image_id is not None:
            reinstall_label_layers(self.context.canvas, doc)  # over the moved store
        self.project_changed.emit(project)
        self.context.say(f"Saved as {project.root}", 3000)
        return True

    def close_project(self) -> bool:
        """Save and close the project and its image; False if saving failed (it stays open)."""
        project = self.project
        if project is None:
            return True
        self._cancel_loading()
        self.editing.detach()
        if self.image_id is not None:
            self.session.set_document(None)
        self.context.canvas.loader.wait()  # no tile thread reads a store being closed
        try:
            project.close(save=True)
        except TesseraError as exc:
            errors.report(exc, context="save the project")
            return False
        self._set_project(None)
        return True

    def shutdown(self) -> None:
        """The window is closing: save; on failure the journal still holds every edit."""
        project = self.project
        if project is None:
            return
        self._cancel_loading()
        self.editing.detach()
        self.context.canvas.loader.wait()
        try:
            project.close(save=True)
        except (TesseraError, OSError) as exc:
            errors.report(exc, context="save the project")
        self._set_project(None)

    # -- images ----------------------------------------------------------------------

    def add_images(self, paths: Sequence[Path] | None = None) -> list[ImageEntry]:
        """Add image files; the first one is opened if nothing is on screen."""
        project = self.project
        if project is None:
            self.context.say("Create or open a project first", 4000)
            return []
        paths = (
            list(paths) if paths is not None else ask_images(self.dialog_parent, self.image_filter)
        )
        added: list[ImageEntry] = []
        for path in paths:
            try:
                added.append(project.add_image(path))
            except TesseraError as exc:
                errors.report(exc, context=f"add {Path(path).name}")
        if added:
            self.images_changed.emit()
            if self.image_id is None and self._loading_id is None:
                self.open_image(added[0].id)
        return added

    def offer_project(self) -> None:
        """A tool was used on an image that is not in a project: offer to add it (once)."""
        doc = self.session.document
        if doc is None or self.image_id is not None or self._loading_id is not None:
            return
        path = doc.path if doc.path is not None and doc.path.is_file() else None
        project = self.project
        if path is None:
            self.context.say("This image is not a file: save it first to label it in a project")
            return
        where = f"project {project.name}" if project is not None else "a project"
        self.context.say(f"{doc.name} is not in {where}: labels need a project", 8000)
        if self._offered == path:
            return
        self._offered = path
        if project is None:
            if ask_new_project(self.dialog_parent, doc.name):
                self.new_project()
        elif ask_add_image(self.dialog_parent, doc.name, project.name):
            self.add_shown_image()

    def add_shown_image(self) -> ImageEntry | None:
        """File > Add This Image to Project: the image on screen joins the project."""
        doc = self.session.document
        if self.project is None or doc is None or doc.path is None or self.image_id is not None:
            return None
        return self._adopt(doc)

    def open_image(self, image_id: str) -> Worker | None:
        """Show a project image with its labels (a missing file is asked for first)."""
        project = self.project
        if project is None:
            return None
        try:
            entry = project.image(image_id)
        except TesseraError as exc:
            errors.report(exc, context="open the image")
            return None
        if entry.missing:
            located = self.locate(image_id)
            if located is None:
                return None
            entry = located
        self._cancel_loading()
        self.editing.detach()
        path = entry.path
        self._loading_id = image_id
        self.context.say(f"Opening {path.name}...")
        root = project.root
        return self._loading.start(
            lambda: (image_id, load_document(path), read_prediction(root, image_id)),
            replace=True,
        )

    def locate(self, image_id: str) -> ImageEntry | None:
        """Ask where a missing image went and point the project there."""
        project = self.project
        if project is None:
            return None
        entry = project.image(image_id)
        path = ask_locate(self.dialog_parent, entry, self.image_filter)
        if path is None:
            return None
        try:
            entry = project.relocate(image_id, path)
        except TesseraError as exc:
            errors.report(exc, context=f"locate {entry.path.name}")
            return None
        self.images_changed.emit()
        return entry

    def step_image(self, step: int) -> Worker | None:
        """Open the next (``step=1``) or previous (``-1``) image of the project."""
        project = self.project
        if project is None or not project.images:
            return None
        ids = [e.id for e in project.images]
        here = ids.index(self.image_id) if self.image_id in ids else -1
        target = here + step
        if not 0 <= target < len(ids):
            self.context.say("No more images that way", 2000)
            return None
        return self.open_image(ids[target])

    # -- internals ---------------------------------------------------------------------

    def _image_loaded(self, result: tuple[str, ImageDocument, StoredPrediction | None]) -> None:
        image_id, doc, prediction = result
        project = self.project
        if project is None or self._loading_id != image_id:
            doc.source.close()  # superseded by a later request
            return
        self._loading_id = None
        try:
            entry = project.image(image_id)
            if (doc.source.width, doc.source.height) != (entry.width, entry.height):
                raise ProjectError(
                    f"{entry.path} is {doc.source.width}x{doc.source.height} pixels but the "
                    f"project's labels of '{image_id}' are {entry.width}x{entry.height}; "
                    "the file was replaced by another image: put the original back"
                )
            damage = project.damage.get(image_id)
            if damage is not None:
                if not ask_accept_loss(self.dialog_parent, damage.line()):
                    doc.source.close()
                    self.context.say("The image was not opened", 4000)
                    return
                note = project.accept_loss(image_id)
                self.context.say(note, 10_000)
            editor = project.editor(image_id)
        except TesseraError as exc:
            doc.source.close()
            self.context.status.clearMessage()
            errors.report(exc, context=f"open {doc.name}")
            return
        self.show(image_id, doc, editor)
        if prediction is not None:
            self._show_prediction(prediction)

    def _show_prediction(self, prediction: StoredPrediction) -> None:
        """A stored prediction (``tessera infer --project``) becomes the prediction layer."""
        doc = self.session.document
        if doc is None or doc.size != (prediction.width, prediction.height):
            return  # made for another version of the image
        self.session.new_prediction(prediction.classes)
        for x, y, labels in prediction.blocks:
            self.session.add_prediction(x, y, labels, None)
        self.context.say("Showing the stored prediction (tessera infer --project)", 6000)

    def _adopt(self, doc: ImageDocument) -> ImageEntry | None:
        """Make the document on screen an image of the project (no reload)."""
        project = self.project
        assert project is not None and doc.path is not None
        try:
            source = doc.source
            entry = project.add_image(
                doc.path, width=source.width, height=source.height, depth=source.depth
            )
            editor = project.editor(entry.id)
        except TesseraError as exc:
            errors.report(exc, context=f"add {doc.name} to the project")
            return None
        self.images_changed.emit()
        self.show(entry.id, doc, editor)
        self.context.say(f"Added {doc.name} to project {project.name}", 6000)
        return entry

    def show(self, image_id: str, doc: ImageDocument, editor: Editor) -> None:
        """Put ``doc`` on screen as project image ``image_id``, edited by ``editor``."""
        project = self.project
        assert project is not None
        doc.labels = editor.store
        doc.classes = tuple(project.classes)
        self.session.project_image = image_id
        keep = self.editing.class_id  # the class being painted stays current across images
        self.editing.attach(image_id, editor)
        self.session.set_document(doc)
        if keep is None or not self.editing.set_class(keep):
            self.context.classes.select_index(0)
        project.settings["last_image"] = image_id
        self.image_opened.emit(image_id)

    def _load_failed(self, exc: BaseException) -> None:
        self._loading_id = None
        self.context.status.clearMessage()
        errors.report(exc, context="open the image")

    def _cancel_loading(self) -> None:
        self._loading.cancel()
        self._loading_id = None

    def _set_project(self, project: Project | None) -> None:
        self.project = project
        self.session.project_image = None
        self.session.project = project
        self.project_changed.emit(project)
        self.session.project_changed.emit(project)

    def _known_classes(self) -> tuple[ClassInfo, ...]:
        session = self.session
        doc = session.document
        if doc is not None and doc.classes:
            return doc.classes
        if session.prediction_classes:
            return tuple(session.prediction_classes)
        return tuple(session.model.meta.classes) if session.model is not None else ()

    def _document_changed(self, doc: ImageDocument | None) -> None:
        if self.image_id is not None and (doc is None or self.editing.editor is None):
            self.session.project_image = None
            self.image_opened.emit("")
