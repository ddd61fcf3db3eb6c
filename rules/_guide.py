"""The steps of the setup guide that built-in rules check (a rule's ``guide``), each written
once. A rule the guide does not cover says ``beyond``; a live probe rule says how to test by
hand."""

REQUEST_CERTIFICATES = "Configure the gateway to request client certificates"
CUSTOM_DOMAIN = "Prerequisites: a custom domain for the gateway"
UPLOAD_CA = "Upload CA certificates"
VALIDATE_IN_POLICY = "Validate the client certificate in policy"
TROUBLESHOOT_403 = "Troubleshooting: 403 responses"
KEY_VAULT = "Use Key Vault certificates"
BACKEND_CERTIFICATE = "Secure the backend with a client certificate"
REMOVE_DEBUG_LOGGING = "Remove debug logging before production"
