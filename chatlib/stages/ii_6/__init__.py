"""Stage ii_6, disconnection: departures are announced; the client stops when the server goes."""
