"""Matching: task queues that hand tasks to long-polling workers, in memory."""
