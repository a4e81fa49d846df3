"""The commands of ``python -m autograd``, one module each, and what they share."""

import os


def add_output_arguments(parser, default, what):
    """--out and --force, the same for every command that writes a file."""
    parser.add_argument("--out", default=default, help=f"where to write {what} (default {default})")
    parser.add_argument("--force", action="store_true",
                        help="overwrite --out if it exists (otherwise a new name is chosen)")


def free_name(path, reserve=False):
    """``path`` if nothing is there, else the first free name-1.ext, name-2.ext, ...

    With ``reserve`` the name is taken by creating an empty file exclusively, so two runs
    finishing at once never pick the same name; the real file then replaces it.
    """
    stem, ext = os.path.splitext(path)
    k = 0
    while True:
        candidate = path if k == 0 else f"{stem}-{k}{ext}"
        if reserve:
            try:
                with open(candidate, "x"):
                    return candidate
            except FileExistsError:
                pass
        elif not os.path.exists(candidate):
            return candidate
        k += 1
