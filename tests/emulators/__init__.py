"""Storage emulators the test session starts on 127.0.0.1 and stops by PID at its end."""
