"""`python -m verifily` runs the CLI."""

from verifily.cli import main

if __name__ == "__main__":
    main()
