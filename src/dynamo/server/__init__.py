"""The inventory server: the service holding the image, the scheduler, the application runner."""
