"""Cinder v3: block storage volumes as stand-alone VMDKs on vSphere datastores."""
