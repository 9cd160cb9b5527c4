"""A correct web_sync written another way: requests streaming the body in chunks, written in binary mode."""

import requests


def get_content(url):
    with requests.get(url, stream=True, timeout=10) as response:
        return b"".join(response.iter_content(chunk_size=7))


def write_content(content, file):
    with open(file, "wb") as output:
        for start in range(0, len(content), 100):
            output.write(content[start : start + 100])
