from annotate_helpers import *
from app_helpers import pixel, settle
from PySide6.QtCore import Qt
def test_dbg(qtbot, tmp_path):
    win = make_window(qtbot); open_project(qtbot, win, tmp_path)
    ctx = win.annotation.ctx
    win.annotation.toolbar.choose("brush"); ctx.set_class(2); ctx.set_brush_size(6)
    c = win.canvas
    settle(qtbot, c)
    print("keys0", [(k, c.cache.peek(k).stale) for k in c.cache.snapshot() if k.layer == "semantic"])
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(win, 8, 30))
    qtbot.mouseMove(c, at(win, 40, 30))
    print("keys1", [(k, c.cache.peek(k).stale) for k in c.cache.snapshot() if k.layer == "semantic"])
    settle(qtbot, c)
    print("keys2", [(k, c.cache.peek(k).stale) for k in c.cache.snapshot() if k.layer == "semantic"])
    img = c.grab().toImage()
    print(pixel(img, *at(win, 24, 30).toTuple()), pixel(img, *at(win, 24, 40).toTuple()))
    t = c.cache.peek([k for k in c.cache.snapshot() if k.layer == "semantic"][0])
    print(t.raw[31, 20:30])
