"""The projects' local recipes, imported from their folders: ``study.local.<package>`` is
``projects/NN-<name>/local/`` (see study.projects)."""

import sys

from study.projects import RecipeFinder

if not any(isinstance(finder, RecipeFinder) for finder in sys.meta_path):
    sys.meta_path.append(RecipeFinder())
