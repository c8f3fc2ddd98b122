"""DNA splice junctions (UCI primate splice-junction data): the reader, the gene-family split and the classifier."""
