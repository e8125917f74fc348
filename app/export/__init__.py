"""Export and Export all: the options, the queue, the side panel and the batch session."""
