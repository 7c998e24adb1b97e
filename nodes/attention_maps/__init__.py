"""PLADIS Attention Maps: the parts the node is built from (word → key matching, the grid drawing)."""
