"""Azurite fixtures (Azure Blob emulator): written by the Azure backend work."""
