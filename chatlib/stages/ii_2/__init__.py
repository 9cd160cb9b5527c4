"""Stage ii_2, first version: the server answers `Hello {IP}:{Port}`; a blocking socket client."""
