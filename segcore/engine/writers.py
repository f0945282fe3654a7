"""Write finished row bands to disk on a writer thread, under a temporary name.

One :class:`WriterThread` per output file takes row bands (uint8, or uint32 instance
ids: ``OutputSpec.dtype``) from a small queue and hands them, as one stream, to a
sink chosen by the file suffix:

* ``.tif`` / ``.tiff`` of a georeferenced image: a GeoTIFF through rasterio with
  the input's CRS and transform (shifted to the region of interest), tiled,
  deflate-compressed, nodata 255 and the class colours as a colour map;
* ``.tif`` / ``.tiff`` otherwise: a tiled, compressed BigTIFF through tifffile;
* ``.zarr``: a chunked zarr v3 array, with CRS, transform and classes as attributes;
* ``.png``: an 8-bit PNG (palette of class colours), for small images only.

Every file is written under a temporary name beside the target
(:func:`segcore.files.part_path`). :meth:`WriterThread.finish` waits for the
last rows and checks the library's errors at close (a GeoTIFF is read back,
since GDAL reports a failed write at close only on stderr); the run renames
its files into place with :func:`segcore.files.publish` once all of them are
complete. :meth:`WriterThread.abort` (a failed or cancelled run) deletes the
temporary file, so no half-written file looks finished.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from segcore.errors import InferenceError
from segcore.files import fsync_file, part_path, remove
from segcore.io.libtiff import quiet_libtiff
from segcore.io.readback import check_written, crc_of
from segcore.labels.schema import UNLABELLED, ClassInfo

BLOCK = 256  # rows (and columns) of a TIFF tile or zarr chunk
PNG_LIMIT = 64_000_000  # pixels; bigger outputs should be TIFF or zarr
SUFFIXES = (".tif", ".tiff", ".zarr", ".png")


@dataclass(frozen=True)
class OutputSpec:
    """What an output file holds: size, georeference and (for class maps) classes."""

    width: int
    height: int
    crs: str | None = None
    transform: tuple[float, float, float, float, float, float] | None = None
    classes: tuple[ClassInfo, ...] = ()  # empty: a score map, not class ids
    nodata: int | None = UNLABELLED
    dtype: str = "uint8"  # "uint32": instance ids (GeoTIFF, BigTIFF, zarr; not PNG)


class Sink(Protocol):
    temp: Path
    final: Path

    def consume(self, rows: Iterator[np.ndarray]) -> None:
        """Write all rows (consecutive uint8 bands from the top) and close."""
        ...


def _blocks(rows: Iterator[np.ndarray], block: int) -> Iterator[tuple[int, np.ndarray]]:
    """Regroup bands of any height into blocks of ``block`` rows: (top row, rows)."""
    parts: list[np.ndarray] = []
    have, top = 0, 0
    for band in rows:
        parts.append(band)
        have += band.shape[0]
        while have >= block:
            joined = np.concatenate(parts) if len(parts) > 1 else parts[0]
            yield top, joined[:block]
            top += block
            rest = joined[block:]
            parts, have = ([rest] if len(rest) else []), len(rest)
    if have:
        yield top, np.concatenate(parts)


class GeoTiffSink:
    def __init__(self, final: Path, spec: OutputSpec) -> None:
        import rasterio
        from affine import Affine

        self.final, self.temp = final, part_path(final)
        tiled = spec.width >= BLOCK and spec.height >= BLOCK
        profile: dict[str, Any] = {
            "driver": "GTiff",
            "width": spec.width,
            "height": spec.height,
            "count": 1,
            "dtype": spec.dtype,
            "compress": "deflate",
            "BIGTIFF": "IF_SAFER",
            "nodata": spec.nodata,
            "crs": spec.crs,
        }
        if tiled:
            profile |= {"tiled": True, "blockxsize": BLOCK, "blockysize": BLOCK}
        if spec.transform is not None:
            profile["transform"] = Affine(*spec.transform)
        self.spec = spec
        quiet_libtiff()  # a failed write is found by the read-back, not printed
        self._ds = rasterio.open(self.temp, "w", **profile)
        if spec.classes and spec.dtype == "uint8":
            self._ds.write_colormap(1, {c.id: (*c.color, 255) for c in spec.classes})

    def consume(self, rows: Iterator[np.ndarray]) -> None:
        import rasterio
        from rasterio.windows import Window

        crc, bands = 0, []
        with rasterio.Env():  # this thread's GDAL messages go to logging too
            try:
                for top, block in _blocks(rows, BLOCK):
                    window = Window(0, top, block.shape[1], block.shape[0])
                    self._ds.write(block[None], window=window)
                    crc = crc_of(block, crc)
                    bands.append((0, top, block.shape[1], block.shape[0]))
            finally:
                self._ds.close()
        check_written(self.temp, bands, crc)  # GDAL only logs a failed write at close


class TiffSink:
    def __init__(self, final: Path, spec: OutputSpec) -> None:
        import tifffile

        self.final, self.temp, self.spec = final, part_path(final), spec
        self._tif = tifffile.TiffWriter(self.temp, bigtiff=True)

    def consume(self, rows: Iterator[np.ndarray]) -> None:
        spec = self.spec
        try:
            self._tif.write(
                self._tiles(rows),
                shape=(spec.height, spec.width),
                dtype=spec.dtype,
                tile=(BLOCK, BLOCK),
                compression="zlib",
                metadata=None,
            )
        finally:
            self._tif.close()

    def _tiles(self, rows: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for _, block in _blocks(rows, BLOCK):
            for x in range(0, block.shape[1], BLOCK):
                tile = np.zeros((BLOCK, BLOCK), block.dtype)
                part = block[:, x : x + BLOCK]
                tile[: part.shape[0], : part.shape[1]] = part
                yield tile


class ZarrSink:
    def __init__(self, final: Path, spec: OutputSpec) -> None:
        import zarr

        self.final, self.temp = final, part_path(final)
        self._array = zarr.create_array(
            store=str(self.temp),
            shape=(spec.height, spec.width),
            chunks=(min(BLOCK, spec.height), min(BLOCK, spec.width)),
            dtype=spec.dtype,
            fill_value=spec.nodata or 0,
        )
        attrs: dict[str, Any] = {"nodata": spec.nodata}
        if spec.crs is not None:
            attrs["crs"] = spec.crs
        if spec.transform is not None:
            attrs["transform"] = list(spec.transform)
        if spec.classes:
            attrs["classes"] = [c.to_json() for c in spec.classes]
        self._array.attrs.update(attrs)

    def consume(self, rows: Iterator[np.ndarray]) -> None:
        for top, block in _blocks(rows, BLOCK):
            self._array[top : top + block.shape[0]] = block


class PngSink:
    def __init__(self, final: Path, spec: OutputSpec) -> None:
        if spec.dtype != "uint8":
            raise InferenceError(f"{final}: PNG holds 8-bit maps only; write .tif or .zarr")
        if spec.width * spec.height > PNG_LIMIT:
            raise InferenceError(
                f"{final}: a {spec.width} x {spec.height} output is too big for PNG; "
                "write .tif or .zarr instead"
            )
        self.final, self.temp, self.spec = final, part_path(final), spec
        self.temp.touch()  # fails now, not at the end, if the folder is not writable

    def consume(self, rows: Iterator[np.ndarray]) -> None:
        from PIL import Image

        image = Image.fromarray(np.concatenate(list(rows)))
        if self.spec.classes:
            palette = np.zeros((256, 3), np.uint8)
            for c in self.spec.classes:
                palette[c.id] = c.color
            image = image.convert("P")
            image.putpalette(palette.ravel().tolist())
        image.save(self.temp, format="PNG")


def check_output(path: str | Path) -> Path:
    """``path`` if its type is known and its folder exists, else InferenceError."""
    final = Path(path)
    suffix = final.suffix.lower()
    if suffix not in SUFFIXES:
        raise InferenceError(
            f"{final}: unknown output type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}"
        )
    if not final.parent.is_dir():
        raise InferenceError(f"{final}: the folder {final.parent} does not exist; create it first")
    if final.is_dir() and suffix != ".zarr":
        raise InferenceError(f"{final}: is a folder; give a file name")
    return final


def open_sink(path: str | Path, spec: OutputSpec) -> Sink:
    """A sink for ``path`` chosen by its suffix; raises InferenceError if it cannot be written."""
    final = check_output(path)
    suffix = final.suffix.lower()
    kind: type[GeoTiffSink | TiffSink | ZarrSink | PngSink]
    if suffix == ".zarr":
        kind = ZarrSink
    elif suffix == ".png":
        kind = PngSink
    elif spec.crs is not None or spec.transform is not None:
        kind = GeoTiffSink
    else:
        kind = TiffSink
    try:
        return kind(final, spec)
    except InferenceError:
        raise
    except Exception as exc:
        for partial in final.parent.glob(f".{final.stem}.{os.getpid()}-*.part{final.suffix}"):
            remove(partial)  # what the sink had begun
        raise InferenceError(f"{final}: cannot write the output here: {exc}") from exc


_END = object()
_CANCEL = object()


class _Cancelled(Exception):
    pass


class WriterThread:
    """Feed one sink from a bounded queue on its own thread."""

    def __init__(self, sink: Sink, *, depth: int = 4) -> None:
        self.sink = sink
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._main, name=f"tessera-write-{sink.final.name}", daemon=True
        )
        self._thread.start()

    def _rows(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if item is _CANCEL:
                raise _Cancelled
            yield item  # type: ignore[misc]

    def _main(self) -> None:
        try:
            self.sink.consume(self._rows())
        except _Cancelled:
            pass
        except BaseException as exc:  # handed to the job's thread by _check
            self._error = exc
        finally:  # let a blocked producer go on
            while not self._queue.empty():
                self._queue.get_nowait()

    def _check(self) -> None:
        if self._error is not None:
            raise InferenceError(
                f"{self.sink.final}: writing the output failed: {self._error}"
            ) from self._error

    def _put(self, item: object) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        self._check()

    def write(self, rows: np.ndarray) -> None:
        self._check()
        self._put(rows)

    def finish(self) -> tuple[Path, Path]:
        """Wait for the last rows, check the file is whole; return (temporary, final) names.

        The caller renames every output of a run with :func:`segcore.files.publish`
        once all of them have finished.
        """
        self._put(_END)
        self._thread.join()
        self._check()
        try:
            fsync_file(self.sink.temp)
        except OSError as exc:
            raise InferenceError(f"{self.sink.final}: writing the output failed: {exc}") from exc
        return self.sink.temp, self.sink.final

    def abort(self) -> None:
        """Stop, join the thread and delete the temporary file."""
        if self._thread.is_alive():
            self._put(_CANCEL)
        self._thread.join()
        remove(self.sink.temp)
