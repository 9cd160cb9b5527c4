"""Part I: first steps with async, one small module per step of the lab sheet.

- ``sleep_and_print`` / ``sleep_and_print_async``: two counts, one after the other, then interleaved;
- ``web_sync`` / ``web_async``: download one page (requests + open, then aiohttp + aiofiles);
- ``web_sync_multiple`` / ``web_async_multiple``: download a list of pages, in turn, then with gather;
- ``measure``: time both multiple downloads on the same pages;
- ``standin_site``: the local web site every step runs against, offline;
- ``url_files`` (URL -> safe file name, URL list reader) and ``downloads`` (shared error and report).

Each step runs from a terminal as ``python -m chatlib.first_steps.<module> --help``.
"""
