"""The metadata definitions catalogue: the JSON schemas it publishes and the catalogue it ships.

`schemas` holds the documents served at `/v2/schemas/metadefs/*` and checks request bodies
against those very documents; `seed/*.json` is the vSphere catalogue loaded at start-up.
"""
