"""Blue/green on a Docker Swarm cluster: observe it, deploy stacks, wait for them."""
