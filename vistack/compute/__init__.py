"""Nova v2.1 on vSphere clusters: servers as VMs, clusters as compute nodes."""
