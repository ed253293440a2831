"""``python -m lgp_engine ...`` is the same as the ``lgp`` command."""

from .cli import main

if __name__ == "__main__":
    main()
