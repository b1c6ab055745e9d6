"""Neutron v2.0: networks, subnets and ports on vSphere distributed switches."""
