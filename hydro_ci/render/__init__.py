"""Rendering a model folder into a build context: Dockerfile (from Jinja templates), payload, plan."""
