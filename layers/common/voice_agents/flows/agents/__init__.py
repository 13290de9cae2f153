"""Create, update, delete and read an agent; removing its paid resources."""
