"""Stage ii_4, a working chat: the server keeps CLIENTS and relays each message to the others."""
