"""Part I's infrastructure, given: what your steps in mycode/ run against and share.

- ``standin_site``: the local web site every step runs against, offline
  (``python -m chatlib.first_steps.standin_site --port 8000``);
- ``url_files``: a URL's safe file name, and the reader of URL list files;
- ``downloads``: the download error, one download's outcome, and the final report.

The steps themselves are yours: ``mycode/sleep_sync.py`` ... ``mycode/web_async_multiple.py``.
"""
