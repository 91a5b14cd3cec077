"""Start RasterLab: ``python main.py`` opens the window, ``python main.py --help`` lists the options."""

import sys

from viewer.app import main

if __name__ == "__main__":
    sys.exit(main())
