"""Run kazdata on the bundled dataset: ``python server.py`` (http://127.0.0.1:5000/).

Builds ./release (or ``--release``) from the sources when it does not exist yet, saying where,
then serves it under the production server: ``kazdata serve --build-missing``. Takes the same
flags as ``kazdata serve`` (``--help``).
"""

import sys

from kazdata.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", "--build-missing", *sys.argv[1:]]))
