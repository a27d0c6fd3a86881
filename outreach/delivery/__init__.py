"""Delivery: the queue, the sender, transports, rate limits, locks and send plans."""
