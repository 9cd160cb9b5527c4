"""A correct ii_2 written another way: a handler with readexactly-free reads and its own names; a client
with socket.socket(), connect() and a recv loop until the newline."""

import asyncio
import socket


async def handle_client(reader, writer, show=print):
    client_ip, client_port = writer.get_extra_info("peername")
    received = await reader.read(1024)
    show(f"Message received from {client_ip}:{client_port} : {received.decode()}")
    writer.write(f"Hello {client_ip}:{client_port}\n".encode())
    await writer.drain()
    writer.close()


def say_hello(host, port, show=print):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect((host, port))
    sock.sendall(b"Hello")
    answer = b""
    while not answer.endswith(b"\n"):
        part = sock.recv(1024)
        if not part:
            break
        answer += part
    sock.close()
    text = answer.decode().rstrip("\n")
    show(text)
    return text
