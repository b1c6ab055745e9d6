"""Network rules: IPAM, VLAN allocation, policy, quotas."""
