"""What HTTP routes need of the running hub (`Components`): dependencies, and its own endpoints."""
