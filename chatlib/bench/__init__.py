"""The fan-out benchmark of the finished chat server: ``python -m chatlib.bench``.

It starts the server in its own process (or targets a running one), opens N clients from
separate load processes, has S of them send M messages each, in flood or window mode, and
reports deliveries per second, delivery latency, and the server's CPU and memory.
"""
