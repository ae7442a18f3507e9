"""Errors the `study` command turns into a clear message instead of a traceback."""


class StudyError(RuntimeError):
    """Something the reader can fix; the message says how."""
