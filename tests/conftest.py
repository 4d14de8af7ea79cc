"""Shared fixtures: emulator servers and the one store fixture parametrised over every backend."""

pytest_plugins = ["emulators.moto", "emulators.azurite"]
