"""A broken web_sync: the page is returned as text, and written as text."""

import requests


def get_content(url: str) -> str:
    return requests.get(url, timeout=10).text


def write_content(content: bytes, file) -> None:
    with open(file, "w") as output:
        output.write(content.decode())
