"""The edge data plane driven by Neutron: the database compiled into an `EdgeState` and applied.

`compile.read_state` turns one read-only transaction into the state of the local edge node,
`sync.EdgeSync` applies it after every committed write (scheduling from a background thread,
each pass run by `worker.WorkerPasses` in a process of its own), and
`dhcp_ports.DhcpPorts` keeps each network's DHCP port in step with its DHCP-enabled subnets
(Neutron's DHCP agent does the same). Edge mode only; see docs/edge.md.
"""
