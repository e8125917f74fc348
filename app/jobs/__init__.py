"""What runs off the GUI thread: the network's job queue, the workers, decoding photos."""
