"""The main window: canvas in the middle, docks around it, menus, status bar.

The window is where the app is put together. It builds one
:class:`~app.context.AppContext` (session, canvas, current class, status bar,
job slots, and itself as the :class:`~app.context.Shell` that holds menus, docks
and tool bars) and installs each feature with it: annotation and projects
(``window.annotation``), label import/export and metrics (``window.io``),
training (``window.training_dock``). Features never see the window; what one
needs of another is handed to it here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QSlider,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app import errors
from app.annotation import install_annotation
from app.cache_dialog import install as install_cache
from app.canvas.layers import ImageLayer
from app.canvas.render import Display
from app.canvas.view import CanvasView
from app.context import AppContext
from app.dialogs import ShortcutsDialog, show_about
from app.docks.classes_dock import ClassesDock
from app.docks.layers_dock import LayersDock
from app.docks.model_dock import ModelDock
from app.docks.navigator_dock import NavigatorDock
from app.io_actions import install as install_io
from app.layerset import install_label_layers, install_prediction_layers
from app.menus import build_menus, fill_recent
from app.open_bands import install as install_bands
from app.prediction_volume import PredictionVolume
from app.session import (
    SAMPLE_IMAGE,
    SAMPLE_MODEL,
    ImageDocument,
    Session,
    load_document,
    synthetic_document,
)
from app.settings import add_recent, open_settings, recent_files, remove_recent
from app.training_actions import install as install_training
from app.volume_actions import install as install_volume
from app.worker import Jobs, JobSlot, Worker, wait_for_jobs

IMAGE_FILTER = (
    "Images (*.tif *.tiff *.svs *.ndpi *.mrxs *.scn *.vms *.bif *.png *.jpg *.jpeg *.bmp "
    "*.dcm *.nii *.nii.gz *.zarr *.jp2 *.vrt);;All files (*)"
)
MODEL_SUFFIXES = (".safetensors", ".onnx", ".pth")
# Docks stacked per area before more become tabs (see MainWindow.add_dock).
STACK = {Qt.DockWidgetArea.LeftDockWidgetArea: 3, Qt.DockWidgetArea.RightDockWidgetArea: 2}


class MainWindow(QMainWindow):
    """See the module docstring; the window is also the features' :class:`~app.context.Shell`."""

    closing = Signal()  # first thing on close: features save (the project), then jobs stop

    def __init__(self, *, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Tessera")
        self.resize(1400, 900)
        self.settings = settings or open_settings()
        self.session = Session(self)
        self.canvas = CanvasView()
        self.menus: dict[str, QMenu] = {}
        self.docks: dict[str, QDockWidget] = {}
        self._stacked: dict[Qt.DockWidgetArea, list[QDockWidget]] = {}
        self.recent_menu: QMenu
        self.docks_menu: QMenu
        self.toolbar: QToolBar
        self._failed_layers: set[str] = set()

        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.canvas, 1)
        self.slice_bar = QWidget()
        row = QHBoxLayout(self.slice_bar)
        row.setContentsMargins(8, 2, 8, 2)
        self.slice_slider = QSlider(Qt.Orientation.Horizontal)
        self.slice_slider.setToolTip("Slice of the volume (PgUp / PgDown)")
        self.slice_label = QLabel("")
        self.slice_slider.valueChanged.connect(self._slice_changed)
        row.addWidget(QLabel("Slice"))
        row.addWidget(self.slice_slider, 1)
        row.addWidget(self.slice_label)
        self.slice_bar.hide()
        column.addWidget(self.slice_bar)
        self.setCentralWidget(central)

        from app.statusbar import StatusBar

        self.status = StatusBar(self.canvas)
        self.setStatusBar(self.status)
        self.jobs = Jobs(self)
        self.layers_dock = LayersDock(self.canvas, self.set_display)
        self.classes_dock = ClassesDock()
        self.context = AppContext(
            self.session, self.canvas, self.classes_dock, self.status, self.jobs, self
        )
        self.navigator_dock = NavigatorDock(self.canvas)
        self.model_dock = ModelDock(self.context)
        self._opening_path = Path()
        self._opening = self.jobs.slot(
            "open the image",
            returned=lambda doc: self.document_opened(self._opening_path, doc),
            errored=lambda exc: self.open_failed(self._opening_path, exc),
            stale=lambda doc: doc.source.close(),  # superseded by a later open
        )
        self._open_job: JobSlot = self._opening  # the one opening an image now
        self._then: Callable[[], object] | None = None  # after the image opens
        self._synthetic = self.jobs.slot("make a synthetic scene", returned=self.open_document)
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.actions_by_name: dict[str, QAction] = {}
        self.actions_by_name = build_menus(self)
        self.add_dock(self.layers_dock, left)
        self.add_dock(self.classes_dock, left)
        self.add_dock(self.navigator_dock, right)
        self.add_dock(self.model_dock, right)
        for number in range(1, 10):
            self._number_key(number)

        self.session.document_changed.connect(self._document_changed)
        self.session.prediction_changed.connect(self._prediction_changed)
        self.session.labels_changed.connect(lambda _box: self.status.refresh())
        self.canvas.tile_failed.connect(self._tile_failed)
        self.setAcceptDrops(True)
        self._refresh_recent()
        self.annotation = install_annotation(self.context, IMAGE_FILTER)  # tools, projects
        self.io = install_io(self.context, self.annotation.ctx)  # export, import, metrics
        self.slice_actions = install_volume(self.context, self.annotation.ctx)  # Edit > Slices
        self.io.labels_imported.connect(
            lambda _report: self.annotation.projects.images_changed.emit()
        )
        self.training_dock = install_training(
            self.context, self.model_dock, self.annotation.projects, self.annotation.ctx
        )
        self.bands = install_bands(self.context, self.open_path)  # File > Open Bands...
        self.cache = install_cache(self.context)  # Edit > Cache...
        self._restore_layout()

    # -- the shell features put their UI in -------------------------------------

    @property
    def widget(self) -> QWidget:
        return self

    def add_dock(
        self, dock: QDockWidget, area: Qt.DockWidgetArea, *, tab_with: QDockWidget | None = None
    ) -> None:
        """Add a dock (it needs a unique objectName so its place is remembered).

        An area stacks up to ``STACK[area]`` docks; later ones become tabs of the
        last stacked one, so the default layout stays readable (the user's own
        layout, saved on close, wins from then on). ``tab_with`` puts the dock
        in a tab beside that one instead.
        """
        if not dock.objectName():
            raise ValueError(f"dock {dock.windowTitle()!r} needs an objectName")
        stacked = self._stacked.setdefault(area, [])
        if tab_with is not None:
            self.addDockWidget(area, dock)
            self.tabifyDockWidget(tab_with, dock)
        elif len(stacked) < STACK.get(area, 3):
            self.addDockWidget(area, dock)
            stacked.append(dock)
        else:
            self.tabifyDockWidget(stacked[-1], dock)
            stacked[-1].raise_()
        self.docks[dock.objectName()] = dock
        self.docks_menu.addAction(dock.toggleViewAction())

    def add_toolbar(self, toolbar: QToolBar) -> None:
        """A tool bar on a row of its own: side by side, the last boxes fell off-screen."""
        if self.findChildren(QToolBar):
            self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    # -- opening --------------------------------------------------------------

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Image", "", IMAGE_FILTER)
        if path:
            self.open_path(path)

    def open_path(
        self, path: str | Path, *, then: Callable[[], object] | None = None
    ) -> Worker | None:
        """Open an image (or a model file) in the background; a dialog says what failed.

        ``then()`` runs once the image is on screen.
        """
        path = Path(path)
        if path.suffix.lower() in MODEL_SUFFIXES:
            self.model_dock.open_model(path)
            return None
        self._open_job.cancel()  # another open (the command line's one too) is superseded
        self._opening_path, self._then = path, then
        worker = self._opening.start(lambda: load_document(path), replace=True)
        self.opening(path, self._opening)
        return worker

    def opening(self, path: Path, job: JobSlot) -> None:
        """Note that ``job`` is opening ``path`` (cancelled if another open starts)."""
        self._open_job = job
        if job.running:
            self.statusBar().showMessage(f"Opening {path.name}...")

    @property
    def _open_worker(self) -> Worker | None:
        return self._open_job.worker

    def document_opened(self, path: Path, doc: ImageDocument) -> None:
        """A file finished opening: show it and put it first in the recent files."""
        self.open_document(doc)
        self._refresh_recent(add_recent(self.settings, path))
        then, self._then = self._then, None
        if then is not None:
            then()

    def open_failed(self, path: Path, exc: BaseException) -> None:
        self._then = None
        self.statusBar().clearMessage()
        if not path.exists():
            self._refresh_recent(remove_recent(self.settings, str(path)))
        errors.report(exc, context=f"open {path.name}")

    def open_document(self, doc: ImageDocument) -> None:
        self.session.set_document(doc)

    def open_sample(self) -> Worker | None:
        """The bundled sample with its model's prediction (as the README shows it), or a
        synthetic scene when none is bundled."""
        if not SAMPLE_IMAGE.is_file():
            return self.open_synthetic()
        then = self._predict_sample if SAMPLE_MODEL.is_file() else None
        return self.open_path(SAMPLE_IMAGE, then=then)

    def _predict_sample(self) -> None:
        if self.model_dock.open_model(SAMPLE_MODEL):
            self.model_dock.run("image")  # the sample is small: a second or two on a CPU

    def open_synthetic(self) -> Worker | None:
        self.statusBar().showMessage("Making a synthetic scene...")
        return self._synthetic.start(synthetic_document, replace=True)

    def close_image(self) -> None:
        self.session.set_document(None)  # a model run on it stops first (_document_changed)

    def _refresh_recent(self, paths: list[str] | None = None) -> None:
        fill_recent(self.recent_menu, recent_files(self.settings) if paths is None else paths,
                    self.open_path)  # fmt: skip

    # -- reacting to the session ----------------------------------------------

    def _document_changed(self, doc: ImageDocument | None) -> None:
        self.model_dock.shutdown()  # a run on the old image stops before that image closes
        self.statusBar().clearMessage()
        self._failed_layers.clear()
        if doc is None:
            self.canvas.clear()
            self.setWindowTitle("Tessera")
            self.classes_dock.set_classes(())
            self.slice_bar.hide()
            return
        self.setWindowTitle(f"{doc.name} - Tessera")
        self.canvas.set_image(ImageLayer(doc.source, doc.display), doc.thumbnail)
        install_label_layers(self.canvas, doc)
        meta = doc.source.metadata
        self.layers_dock.display.load(
            doc.display, doc.source.band_names, doc.thumbnail,
            nodata=doc.source.nodata, file_window=meta.window,
        )  # fmt: skip
        # No labels: no classes to offer (a project's would paint nothing here).
        self.classes_dock.set_classes(doc.classes, origin="labels")
        depth = doc.source.depth
        self.slice_bar.setVisible(depth > 1)
        self.slice_slider.setRange(0, max(depth - 1, 0))
        self.slice_slider.setValue(depth // 2 if depth > 1 else 0)
        self._slice_changed(self.slice_slider.value())

    def _prediction_changed(self, box: tuple[int, int, int, int] | None) -> None:
        doc, pred = self.session.document, self.session.prediction
        if doc is None or pred is None:
            return
        if box is None:  # a new run: fresh layers
            install_prediction_layers(self.canvas, doc, pred, self.session.prediction_classes)
            if not self.classes_dock.classes:
                model = self.session.model
                origin = f"model {model.path.name}" if model else "model"
                self.classes_dock.set_classes(self.session.prediction_classes, origin=origin)
            return
        self.canvas.invalidate("prediction", box)
        self.canvas.invalidate("confidence", box)

    def set_display(self, display: Display) -> None:
        """New display settings for the image (from the Layers dock)."""
        layer, doc = self.canvas.image_layer, self.session.document
        if layer is None or doc is None:
            return
        layer.display = doc.display = display
        self.canvas.refresh_thumbnail(doc.thumbnail)

    def _tile_failed(self, key: Any, exc: BaseException) -> None:
        if key.layer in self._failed_layers:
            return  # one dialog per layer, not one per tile
        self._failed_layers.add(key.layer)
        errors.report(exc, context=f"read part of the {key.layer} layer")

    # -- slices ---------------------------------------------------------------

    def _slice_changed(self, value: int) -> None:
        doc = self.session.document
        depth = doc.source.depth if doc is not None else 1
        self.slice_label.setText(f"{value + 1} / {depth}")
        pred = self.session.prediction
        if isinstance(pred, PredictionVolume):
            pred.shown = value
        self.canvas.set_z(value)
        self.status.show_zoom()

    def step_slice(self, step: int) -> None:
        self.slice_slider.setValue(self.slice_slider.value() + step)

    def _number_key(self, number: int) -> None:
        action = QAction(f"Class {number}", self)
        action.setShortcut(str(number))
        action.triggered.connect(lambda: self.classes_dock.select_index(number - 1))
        self.addAction(action)

    # -- edit and help --------------------------------------------------------

    def copy_view_box(self) -> None:
        x, y, w, h = self.canvas.visible_box()
        QGuiApplication.clipboard().setText(f"{x} {y} {w} {h}")
        self.statusBar().showMessage(f"Copied view box {x} {y} {w} {h}", 3000)

    def clear_prediction(self) -> None:
        self.model_dock.shutdown()
        for layer_id in ("prediction", "confidence"):
            self.canvas.remove_layer(layer_id)
        self.session.drop_prediction()

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self.actions_by_name.values(), self).exec()

    def show_about(self) -> None:
        show_about(self)

    # -- window events --------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
        event.acceptProposedAction()

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Save the layout and the project, cancel jobs cleanly, stop tile reads, close."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        self.closing.emit()
        self._open_job.cancel()
        self.jobs.shutdown()
        wait_for_jobs()
        self.canvas.shutdown()
        self.session.close()
        super().closeEvent(event)
