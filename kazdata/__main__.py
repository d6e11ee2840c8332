"""``python -m kazdata``: the ``kazdata`` command run by this interpreter, whatever is on PATH
(the tests start every server and command this way, so they run the code under test)."""

import sys

from kazdata.cli import main

# the guard matters: a process started by multiprocessing's spawn (granian's workers) imports
# this module again as ``__mp_main__``, and must not run the command a second time
if __name__ == "__main__":
    sys.exit(main())
