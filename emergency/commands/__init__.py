"""Feature sub-commands of `python -m emergency`.

Each module here defines `register(command)`, where `command(name, help)` returns an argparse
sub-parser that already has --db; it adds its arguments and returns {name: handler}, a handler
being `handler(db, args) -> exit code`. cli.py discovers the modules; no central list to edit.
"""
