"""Cinder v3's HTTP layer: parse, authorise through the domain, render Cinder's views."""
