"""X.509 helpers: read certificates, describe them as APIM and .NET show them, check chains.

Pure functions over ``cryptography`` objects; nothing here calls Azure. ``facts`` reads one
certificate (thumbprint, serial, key, CA flags, self-signature), ``names`` renders and reads
distinguished names in .NET's form, ``times`` judges validity, ``chains`` builds issuing chains.

Import from the modules: the package imports none of them, so that ``times`` and ``names`` do
not load ``cryptography`` (a scan of exported files with no certificates in them never needs it).
"""
