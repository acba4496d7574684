"""Imports the file target by its module name, as a program's other modules may."""

from types import ModuleType


def imported_app() -> ModuleType:
    import app

    return app
