"""Archibot's development tools, apart from the `archibot` wheel (the client): ``archibot demo``
and ``archibot bench`` (``demo``, ``bench``), and ``local``, which starts the simulator and
worker processes they and the tests run. Its own distribution, ``archibot-devtools``, installed
by ``./dev``.
"""
