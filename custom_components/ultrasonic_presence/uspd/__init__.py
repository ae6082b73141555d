"""uspd: the ultrasonic presence engine.

Home Assistant free on purpose: the integration, the `uspd` CLI and a remote sensor
node all run this same code. Only relative imports inside the package, so it works
both as `custom_components.ultrasonic_presence.uspd` (shipped by HACS) and as the
top-level distribution `uspd` (pip install -e .).
"""

__version__ = "0.1.0"
