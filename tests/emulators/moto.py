"""moto_server fixtures (S3 emulator): written by the S3 backend work."""
