"""Objects stay separate: a thing stroke away from the current object starts a new one."""

from __future__ import annotations

from label_helpers import StoreFactory

from segcore.labels.box import Box
from segcore.labels.editor import Editor
from segcore.labels.edits.paint import paint_rectangle
from segcore.labels.schema import make_classes

CLASSES = make_classes(["background", "building"], things={"building"})


def _draw(ed: Editor, class_id: int, box: Box) -> None:
    ed.apply(paint_rectangle, box, paint=ed.paint_for(class_id))


def test_a_far_stroke_is_a_new_object_a_touching_one_extends(new_store: StoreFactory) -> None:
    store = new_store(24, 16, chunk=8)
    ed = Editor(store, classes=CLASSES)
    _draw(ed, 1, Box(0, 0, 4, 4))  # building one
    _draw(ed, 0, Box(10, 10, 2, 2))  # some background in between
    _draw(ed, 1, Box(18, 8, 4, 4))  # far away, across chunks: a second building
    inst = store.read("instance", 0, 0, 24, 16)
    first, second = int(inst[0, 0]), int(inst[8, 18])
    assert first != 0 and second != 0 and first != second
    assert ed.current_instance == second
    _draw(ed, 1, Box(22, 8, 2, 2))  # touches the second building: extends it
    assert int(store.read("instance", 22, 8, 1, 1)[0, 0]) == second
    assert ed.undo() is not None and ed.undo() is not None  # each stroke one undo step
    assert int(store.read("instance", 18, 8, 1, 1)[0, 0]) == 0


def test_touching_across_a_chunk_border_extends(new_store: StoreFactory) -> None:
    store = new_store(16, 8, chunk=8)
    ed = Editor(store, classes=CLASSES)
    _draw(ed, 1, Box(4, 0, 4, 4))  # ends at column 7 (chunk 0)
    _draw(ed, 0, Box(0, 6, 1, 1))
    _draw(ed, 1, Box(8, 3, 3, 3))  # starts at column 8 (chunk 1), diagonal neighbour
    inst = store.read("instance", 0, 0, 16, 8)
    assert int(inst[0, 4]) == int(inst[3, 8]) != 0


def test_the_option_keeps_the_old_behaviour(new_store: StoreFactory) -> None:
    store = new_store(24, 16, chunk=8)
    ed = Editor(store, classes=CLASSES, separate_objects=False)
    _draw(ed, 1, Box(0, 0, 4, 4))
    _draw(ed, 0, Box(10, 10, 2, 2))
    _draw(ed, 1, Box(18, 8, 4, 4))
    inst = store.read("instance", 0, 0, 24, 16)
    assert int(inst[0, 0]) == int(inst[8, 18]) != 0


def test_a_selected_object_is_extended_wherever_the_stroke_is(new_store: StoreFactory) -> None:
    store = new_store(24, 16, chunk=8)
    ed = Editor(store, classes=CLASSES)
    _draw(ed, 1, Box(0, 0, 4, 4))
    _draw(ed, 1, Box(18, 8, 4, 4))  # a second building
    assert ed.select(1, 1) == (1, int(store.read("instance", 1, 1, 1, 1)[0, 0]))
    _draw(ed, 1, Box(10, 12, 2, 2))  # asked for: the first building gets a second part
    assert int(store.read("instance", 10, 12, 1, 1)[0, 0]) == int(
        store.read("instance", 0, 0, 1, 1)[0, 0]
    )
