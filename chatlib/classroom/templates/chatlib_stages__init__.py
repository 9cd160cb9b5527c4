"""Part II's shared command line, given (``cli``): the address options, clean exits, the keyboard.

The stages themselves are yours: ``mycode/ii_2_server.py``, ``mycode/ii_2_client.py`` ... ``ii_6``.
"""
