"""What the server and the client both use beside the protocol.

``settings_file``: the ``KEY=VALUE`` config file and the options both commands share;
``logfiles``: the conversation logs and where they go; ``terminal_text``: peer text made safe
for a terminal or a log; ``images``: checking a PNG or JPEG and drawing it as ASCII art;
``sample_image``: a picture made by code, to send in the notebook and the tests.
"""
