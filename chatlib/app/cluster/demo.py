"""A demo cluster on this machine: NATS and two chat nodes, until Ctrl+C (``python3 course.py cluster``).

    python -m chatlib.app.cluster.demo                  # NATS + nodes on 127.0.0.1:9001 and :9002
    python -m chatlib.app.cluster.demo --nats 3 --nodes 3 --first-port 9101

Then, in other terminals: ``chat-client -a 127.0.0.1:9001,127.0.0.1:9002`` (and the same with
the addresses the other way round, to start on the other node). Every process started here is
stopped on Ctrl+C; the NATS data lives in a temporary folder, deleted then.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chatlib.app.cluster.nats_server import OUT_OF_CTRL_C_REACH, LocalNats, NatsProblem

NODE_START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def start_chat_node(port: int, cluster: str, work_dir: Path, number: int) -> subprocess.Popen[bytes]:
    """``chat-server -p PORT --cluster ...`` in its own process, its logs in ``work_dir``."""
    empty_config = work_dir / "demo.env"  # so that no chat.env of the user's applies
    empty_config.write_text("", encoding="utf-8")
    command = [sys.executable, "-m", "chatlib.app.server", "-a", "127.0.0.1", "-p", str(port), "-q"]
    command += ["--cluster", cluster, "--config", str(empty_config), "--log-dir", str(work_dir / f"node{number}")]
    command += ["--data-dir", str(work_dir / f"node{number}")]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, **OUT_OF_CTRL_C_REACH)


def wait_until_listening(process: subprocess.Popen[bytes], port: int) -> None:
    """Wait until the node accepts connections; SystemExit with its status if it stopped."""
    import socket

    give_up = time.monotonic() + NODE_START_TIMEOUT
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise SystemExit(f"the chat node on port {port} stopped at start (status {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the chat node on port {port} did not listen within {NODE_START_TIMEOUT:.0f} s")


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """Ask each process to stop (SIGTERM: clients are told), then wait; kill any that hangs."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    """Start NATS and the chat nodes, print how to join them, and stop everything on Ctrl+C."""
    parser = argparse.ArgumentParser(prog="python3 course.py cluster", description=__doc__.split("\n")[0])
    parser.add_argument("--nats", type=int, choices=(1, 3), default=1, help="NATS servers (3: a NATS cluster)")
    parser.add_argument("--nodes", type=int, default=2, help="chat nodes (default 2)")
    parser.add_argument("--first-port", type=int, default=9001, help="the first chat node's port (default 9001)")
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` stops the demo as Ctrl+C does
    nodes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="chat-cluster-demo-") as folder:
        work_dir = Path(folder)
        nats = LocalNats(options.nats, work_dir=work_dir / "nats")
        try:
            nats.start()
            ports = [options.first_port + number for number in range(options.nodes)]
            for number, port in enumerate(ports, start=1):
                nodes.append(start_chat_node(port, nats.cluster_option, work_dir, number))
            for node, port in zip(nodes, ports):
                wait_until_listening(node, port)
            addresses = ",".join(f"127.0.0.1:{port}" for port in ports)
            print(f"NATS: {nats.cluster_option}", flush=True)
            print(f"Chat nodes: {addresses}  (Ctrl+C stops everything)", flush=True)
            print(f"Join from other terminals:  chat-client -a {addresses}", flush=True)
            while all(node.poll() is None for node in nodes):
                time.sleep(0.2)
            print("A chat node stopped; stopping the demo.", flush=True)
            return 1
        except NatsProblem as problem:
            print(f"course.py cluster: {problem}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(flush=True)
            return 0
        finally:
            stop_all(nodes)
            nats.stop()
            print("The chat nodes and NATS are stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
