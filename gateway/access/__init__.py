"""Who may do what, and what carries it: the authorization vocabulary (``permissions.py``: every permission, what each
role holds, what a client may be granted) and the access tokens that carry a principal (``tokens.py``). Below the
HTTP plumbing (``gateway.api``) that checks them and the authentication flows (``gateway.auth``) that issue them."""
