"""The desktop bundle's ``tessera`` executable (packaging/build_bundle.py freezes this)."""

import sys

from app.launcher import main

if __name__ == "__main__":
    sys.exit(main())
