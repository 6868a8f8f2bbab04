"""The Atrium hub: hears every device over MQTT, keeps what they say, serves the API."""
