"""The one settings table (:class:`~framecast.config.settings.Settings`) and what is derived from
it: command-line flags, environment variables, keyword arguments, the config file, the docs."""
