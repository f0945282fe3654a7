"""Edit operations on a label store; each returns the box it changed."""
