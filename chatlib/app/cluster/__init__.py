"""Part IV: chat servers that share rooms, users and history through NATS (docs/CLUSTER.md).

``chat-server --cluster nats://HOST:PORT`` runs the ordinary server (``chatlib.app.server``)
as one node of a cluster; only ``ClusterSharing`` (sharing.py), handed to ``ChatServer`` through
its ``sharing`` seam, knows about NATS:

- ``subjects``: where everything lives in NATS; ``envelope``: what nodes send each other;
- ``publisher``: a node's room batches, stored by JetStream and then published live;
- ``users``: known users in a key-value bucket; ``neighbours``: the other nodes' states;
- ``node``: the ``chat-server --cluster`` command; ``nats_server``: NATS on this machine
  (one node, or three as a cluster) for the demo, the notebook, the benchmark and the tests;
  ``demo``: ``python3 course.py cluster``.
"""
