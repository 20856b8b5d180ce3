"""todohub: the realtime hub (Starlette app, sockets, rooms, brokers, REST)."""
