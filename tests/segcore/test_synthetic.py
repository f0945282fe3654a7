import numpy as np
import rasterio

from segcore.synthetic import (
    BUILDING,
    SCENE_CLASSES,
    TREE,
    SceneSpec,
    make_scene,
    render_region,
    write_geotiff,
)


def test_same_seed_same_scene_other_seed_differs() -> None:
    a, b = make_scene(96, 128, seed=5), make_scene(96, 128, seed=5)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.instance, b.instance)
    assert not np.array_equal(a.image, make_scene(96, 128, seed=6).image)


def test_any_window_matches_the_whole_scene() -> None:
    whole = make_scene(400, 500, seed=2)
    part = render_region(SceneSpec(seed=2), 130, 70, 250, 190)
    assert np.array_equal(part.image, whole.image[70:260, 130:380])
    assert np.array_equal(part.semantic, whole.semantic[70:260, 130:380])
    assert np.array_equal(part.instance, whole.instance[70:260, 130:380])


def test_things_have_instances_and_stuff_does_not() -> None:
    scene = make_scene(768, 768, seed=0)
    things = np.isin(scene.semantic, [BUILDING, TREE])
    assert things.any()
    assert (scene.instance[things] > 0).all()
    assert (scene.instance[~things] == 0).all()
    assert {c.thing for c in SCENE_CLASSES} == {True, False}


def test_classes_are_textured_not_flat() -> None:
    scene = make_scene(256, 256, seed=1)
    for cls in np.unique(scene.semantic):
        pixels = scene.image[scene.semantic == cls].astype(float)
        assert pixels.std(axis=0).max() > 4.0


def test_bands_and_dtypes() -> None:
    scene = make_scene(32, 40, seed=0, bands=6, dtype="uint16")
    assert scene.image.shape == (32, 40, 6) and scene.image.dtype == np.uint16
    assert make_scene(8, 8, bands=1).image.shape == (8, 8, 1)


def test_write_geotiff_region_by_region(tmp_path) -> None:  # type: ignore[no-untyped-def]
    image, labels = tmp_path / "scene.tif", tmp_path / "labels.tif"
    write_geotiff(image, 700, 600, spec=SceneSpec(seed=4), block=256, labels_path=labels)
    expected = make_scene(600, 700, seed=4)
    with rasterio.open(image) as ds:
        assert ds.crs.to_epsg() == 32616 and ds.res == (0.5, 0.5)
        assert ds.block_shapes[0] == (256, 256)
        assert np.array_equal(np.moveaxis(ds.read(), 0, -1), expected.image)
    with rasterio.open(labels) as ds:
        assert np.array_equal(ds.read(1), expected.semantic)
