"""The ``campaignlab`` command line, at the top of the flow: it depends on every package, none on it.

``campaignlab.cli.main`` parses the command and imports only the package that runs it
(:mod:`optimizer`, :mod:`simulation` or :mod:`scenarios`); the Python API is those packages.
"""
