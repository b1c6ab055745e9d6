"""Nova over HTTP: parse, check the microversion, call the domain, render Nova's views."""
