"""Start RasterLab.

``python main.py [MESH]`` opens the desktop application; ``python main.py render ...`` and
``python main.py fit ...`` run the headless command line (``--help`` on each lists the options).
"""

import sys

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("render", "fit"):
        from cli.main import main as cli_main

        sys.exit(cli_main(sys.argv[1:]))
    from viewer.app import main

    sys.exit(main())
