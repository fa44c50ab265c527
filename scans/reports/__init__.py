"""What is made from a stored scan for people to read: heat-map images and PDF reports."""
