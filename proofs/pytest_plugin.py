"""pytest plugin (entry point ``nnmath``): fixtures for testing your own implementations."""
