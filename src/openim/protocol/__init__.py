"""Wire vocabulary shared by every layer: error codes, constants, identifiers. Imports nothing else from openim."""
