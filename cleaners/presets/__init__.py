"""Recipe presets as data: one YAML file per preset (``csn``, ``codexglue``, ``default``)."""
