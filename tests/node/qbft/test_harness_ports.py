"""The QBFT test network survives a port taken between picking it and binding it.

Before, the harness picked ports that were free at the time and passed them to the nodes; on a busy machine one
was taken before its node bound it and the test failed (``test_permissioning_of_nodes_and_of_validator_keys``).
Now the RPC binds port 0 and the harness reads the port back from the node's log, and a taken p2p port makes the
network start again on other ports.
"""

from __future__ import annotations

import socket
from pathlib import Path

from scripts.harness.qbft_network import Network, wait_until


def test_a_taken_p2p_port_moves_the_network_to_other_ports(tmp_path: Path) -> None:
    net = Network(tmp_path / "net", validators=4)
    squatter = socket.socket()
    taken = int(net.summary["nodes"][1]["p2p_port"])
    squatter.bind(("127.0.0.1", taken))
    squatter.listen()
    try:
        net.start()
        assert int(net.summary["nodes"][1]["p2p_port"]) != taken
        assert all(rpc.url != "http://127.0.0.1:0" for rpc in net.rpcs)
        peered = lambda: all(int(net.rpcs[i].call("net_peerCount"), 16) == 3 for i in range(4))  # noqa: E731
        wait_until(peered, 120, "every validator peered with the three others")
    finally:
        squatter.close()
        net.close()
