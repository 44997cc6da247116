"""Distinguished names: :mod:`dynamo.dn`, re-exported where the API has always found them.

The module moved below the layers so that the sources' user sync (``dynamo.sources``), which
may not import the API, normalises DNs exactly as the user directory does.
"""

from dynamo.dn import (
    PROXY_CERT_INFO,
    InvalidDnError,
    dn_of_name,
    is_proxy,
    normalize_dn,
    owner_dn,
    owner_dn_of_pem_chain,
    strip_proxy_components,
)

__all__ = [
    "PROXY_CERT_INFO",
    "InvalidDnError",
    "dn_of_name",
    "is_proxy",
    "normalize_dn",
    "owner_dn",
    "owner_dn_of_pem_chain",
    "strip_proxy_components",
]
