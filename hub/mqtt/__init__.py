"""MQTT transport: the hub's broker connection and the embedded broker."""
